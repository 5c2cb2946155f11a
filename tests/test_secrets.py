"""Secrets stay secret: recognisable values in `.env.performance` (a database password, an API token)
never appear in the run directory, the console output or the logs, even with --verbose.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from perfdash.demo.pgcluster import ThrowawayPostgres

from .conftest import ROOT, DemoService

pytestmark = pytest.mark.e2e
PERFDASH = str(Path(sys.executable).parent / "perfdash")
DB_PASSWORD = "Pw-SECRET-7c1a9e"


def test_secrets_from_env_file_never_leak(demo_service: DemoService,
                                          pg_cluster: ThrowawayPostgres, tmp_path: Path) -> None:
    database = demo_service.database_url.reveal().rsplit("/", 1)[1]
    with psycopg.connect(pg_cluster.url(database).reveal(), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS perf_reader")
        conn.execute(f"CREATE ROLE perf_reader LOGIN PASSWORD '{DB_PASSWORD}'")
        conn.execute("GRANT pg_read_all_stats TO perf_reader")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO perf_reader")
    url = f"postgresql://perf_reader:{DB_PASSWORD}@127.0.0.1:{pg_cluster.port}/{database}"
    token = demo_service.token.reveal()
    env_file = tmp_path / ".env.performance"
    env_file.write_text(f"PERF_BASE_URL={demo_service.base_url}\nPERF_DATABASE_URL={url}\n"
                        f"PERF_API_TOKEN={token}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERF_")}
    out = subprocess.run([PERFDASH, "run", "--profile", "smoke", "--env", "local", "--headless",
                          "--verbose", "--env-file", str(env_file),
                          "--results-dir", str(tmp_path / "results")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
                         check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr
    run_dir = next((tmp_path / "results").iterdir())
    assert "postgresql://perf_reader:***@127.0.0.1" in (run_dir / "summary.json").read_text()
    places = {"stdout": out.stdout, "stderr": out.stderr,
              "backend app.log": demo_service.log_file.read_text(errors="replace")}
    places |= {p.name: p.read_text(errors="replace") for p in run_dir.iterdir()}
    assert len(places) > 15
    for name, text in places.items():
        assert DB_PASSWORD not in text, f"database password in {name}"
        assert token not in text, f"API token in {name}"


def test_secrets_stay_out_of_the_dashboard_and_its_screenshot(
        demo_service: DemoService, pg_cluster: ThrowawayPostgres, tmp_path: Path) -> None:
    from .test_dashboard_e2e import Terminal

    database = demo_service.database_url.reveal().rsplit("/", 1)[1]
    with psycopg.connect(pg_cluster.url(database).reveal(), autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS perf_viewer")
        conn.execute(f"CREATE ROLE perf_viewer LOGIN PASSWORD '{DB_PASSWORD}x'")
        conn.execute("GRANT pg_read_all_stats TO perf_viewer")
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO perf_viewer")
    token = demo_service.token.reveal()
    env_file = tmp_path / ".env.performance"
    env_file.write_text(
        f"PERF_BASE_URL={demo_service.base_url}\nPERF_API_TOKEN={token}\n"
        f"PERF_DATABASE_URL=postgresql://perf_viewer:{DB_PASSWORD}x@127.0.0.1:{pg_cluster.port}/"
        f"{database}\n")
    results = tmp_path / "results"
    term = Terminal(f"{PERFDASH} run --profile smoke --env local --env-file {env_file} "
                    f"--results-dir {results}")
    try:
        seen = [term.wait_for(lambda s: "s left" in s, 60, "the live screen")]
        seen.append(term.wait_for(lambda s: "PASS (exit" in s or "FAIL (exit" in s, 120,
                                  "the result view"))
        term.keys("o")  # the artifacts list shows paths and file names
        seen.append(term.wait_for(lambda s: "artifacts:" in s, 10, "the artifacts list"))
        term.keys("Escape")
        term.wait_for(lambda s: "summary.json" not in s or "PASS (exit" in s, 10, "the list closed")
        time.sleep(0.5)  # an Escape followed at once by a key reads as Alt+key
        term.keys("s")
        seen.append(term.wait_for(lambda s: "screenshot saved" in s, 20, "the screenshot"))
        term.keys("q")
        term.exit_code()
    finally:
        term.close()
    run_dir = next(results.iterdir())
    assert list(run_dir.glob("screenshot-*.svg"))
    places = {f"screen {i}": text for i, text in enumerate(seen)}
    places |= {p.name: p.read_text(errors="replace") for p in run_dir.iterdir()}
    for name, text in places.items():
        assert DB_PASSWORD not in text, f"database password in {name}"
        assert token not in text, f"API token in {name}"
