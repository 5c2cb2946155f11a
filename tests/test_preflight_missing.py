"""Missing or unreachable parts: preflight names what is wrong and how to fix it before any load
starts, through the real entry point against the session's demo backend and database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from perfdash.demo.pgcluster import ThrowawayPostgres

from .conftest import ROOT, DemoService

pytestmark = pytest.mark.e2e
PERFDASH = str(Path(sys.executable).parent / "perfdash")


def run(demo_service: DemoService, results: Path, extra_env: dict[str, str],
        database_url: str | None = None, args: tuple[str, ...] = ()) -> tuple[int, str, Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PERF_", "PERFDASH_"))}
    env.update(PERF_BASE_URL=demo_service.base_url, PERF_API_TOKEN=demo_service.token.reveal(),
               PERF_DATABASE_URL=database_url or demo_service.database_url.reveal(), **extra_env)
    out = subprocess.run([PERFDASH, "run", "--profile", "smoke", "--env", "local", "--headless",
                          "--results-dir", str(results), *args], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=180, check=False)
    run_dir = next(results.iterdir())
    return out.returncode, out.stdout + out.stderr, run_dir


def assert_no_load(run_dir: Path) -> None:
    assert not (run_dir / "k6.stdout.log").exists()
    assert not (run_dir / "artillery.stdout.log").exists()
    assert json.loads((run_dir / "summary.json").read_text())["status"] == "incomplete"


def test_no_k6(demo_service: DemoService, tmp_path: Path) -> None:
    code, out, run_dir = run(demo_service, tmp_path, {"PERFDASH_K6": str(tmp_path / "no-k6")})
    assert code == 3
    assert "[FAIL] k6 runnable: PERFDASH_K6 names" in out
    assert "-> point PERFDASH_K6 at a k6 binary or unset it" in out
    assert_no_load(run_dir)


def test_no_artillery(demo_service: DemoService, tmp_path: Path) -> None:
    code, out, run_dir = run(demo_service, tmp_path,
                             {"PERFDASH_ARTILLERY": str(tmp_path / "none")})
    assert code == 3
    assert "[FAIL] artillery runnable: PERFDASH_ARTILLERY names" in out
    assert "-> point PERFDASH_ARTILLERY at an artillery binary or unset it" in out
    assert_no_load(run_dir)


def test_no_node(demo_service: DemoService, tmp_path: Path) -> None:
    code, out, run_dir = run(demo_service, tmp_path, {"PATH": "/nonexistent"})
    assert code == 3
    assert "[FAIL] artillery runnable: Artillery needs Node.js: node is not installed" in out
    assert "install Node.js" in out
    assert_no_load(run_dir)


def test_wrong_database_password(demo_service: DemoService, tmp_path: Path) -> None:
    url = demo_service.database_url.reveal()
    wrong = url.replace(demo_service.cluster.password.reveal(), "Wrong-Pa55word-123")
    code, out, run_dir = run(demo_service, tmp_path, {}, database_url=wrong)
    assert code == 3
    assert "[FAIL] database reachable: cannot connect:" in out
    assert "password authentication failed" in out
    assert "check PERF_DATABASE_URL" in out
    assert "Wrong-Pa55word-123" not in out
    for path in run_dir.iterdir():
        assert "Wrong-Pa55word-123" not in path.read_text(errors="replace"), path.name
    assert_no_load(run_dir)


def test_pg_stat_statements_absent_is_said_before_load(
        demo_service: DemoService, pg_cluster: ThrowawayPostgres, tmp_path: Path) -> None:
    name = "no_pgss"
    with psycopg.connect(pg_cluster.url("postgres").reveal(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    code, out, run_dir = run(demo_service, tmp_path, {},
                             database_url=pg_cluster.url(name).reveal())
    warn = out.index("[warn] pg_stat_statements")
    assert warn < out.index("== load")
    assert "CREATE EXTENSION pg_stat_statements" in out
    summary = json.loads((run_dir / "summary.json").read_text())
    slow = next(c for c in summary["checks"] if c["id"] == "db.slow_queries")
    assert slow["status"] == "not measured"
    assert summary["status"] != "pass"
    assert code in (1, 3)
