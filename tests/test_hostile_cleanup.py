"""`perfdash cleanup` under hostile conditions, on the session's real PostgreSQL cluster through the
real `perfdash` executable: Ctrl-D at the prompt means no; rows are attributed to the environment
that seeded them, so cleaning one environment never deletes what another (protected) one seeded; an
old ledger without environments is migrated, and its unattributed rows are kept unless asked for.
"""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import psycopg

from perfdash.data.cleanup import SEEDED_DATA, plan_cleanup
from perfdash.data.seed import seed, seeded_rows
from perfdash.demo.database import prepare_database
from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.secret import Secret
from perfdash.settings import load_settings

from .conftest import ROOT, make_database

PERFDASH = str(Path(sys.executable).parent / "perfdash")


def _setup(pg: ThrowawayPostgres, tmp_path: Path) -> tuple[Secret, Path]:
    url = make_database(pg, "hostile")
    prepare_database(url, customers=200, products=20, orders=400)
    config = tmp_path / "profiles.toml"
    seed_sql = '"perfdash/demo/seed.sql"\nseed_scale = 3\n'
    config.write_text((ROOT / "profiles.toml").read_text().replace(
        "[environments.local]\n", f"[environments.local]\nseed_sql = {seed_sql}", 1).replace(
        "[environments.staging]\n", f"[environments.staging]\nseed_sql = {seed_sql}", 1))
    return url, config


def _env(url: Secret) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERF_")}
    env.update(PERF_BASE_URL="http://127.0.0.1:9", PERF_DATABASE_URL=url.reveal(),
               PERF_STAGING_DATABASE_URL=url.reveal(), PERF_STAGING_BASE_URL="http://127.0.0.1:9")
    return env


def _cleanup(config: Path, url: Secret, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PERFDASH, "cleanup", "--config", str(config), *args], cwd=ROOT,
                          env=_env(url), capture_output=True, text=True, timeout=60, check=False,
                          stdin=subprocess.DEVNULL)


def _by_env(url: Secret) -> dict[str | None, int]:
    with psycopg.connect(url.reveal()) as conn:
        return {r[0]: int(r[1]) for r in conn.execute(
            "SELECT environment, count(*) FROM perfdash.ledger GROUP BY 1").fetchall()}


def test_ctrl_d_at_the_prompt_means_no(pg_cluster: ThrowawayPostgres, tmp_path: Path) -> None:
    url, config = _setup(pg_cluster, tmp_path)
    seed(url, "run-local", load_settings(ROOT, config).environment("local"), cwd=ROOT)
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([PERFDASH, "cleanup", "--config", str(config), "--env", "local",
                                 "--only", "seeded-data"], cwd=ROOT, env=_env(url), stdin=slave,
                                stdout=slave, stderr=slave)
        os.close(slave)
        output = b""
        deadline = time.monotonic() + 30
        while b"[y/N]" not in output:
            ready, _, _ = select.select([master], [], [], max(0.0, deadline - time.monotonic()))
            assert ready, (output, proc.poll())
            output += os.read(master, 4096)
        os.write(master, b"\x04")  # Ctrl-D
        proc.wait(timeout=30)
        try:
            while chunk := os.read(master, 4096):
                output += chunk
        except OSError:
            pass  # EIO: the child closed its side
    finally:
        os.close(master)
    assert proc.returncode == 1
    assert b"Traceback" not in output
    assert b"EOFError" not in output
    assert b"nothing was removed" in output
    assert seeded_rows(url) == {"public.customers": 3, "public.orders": 9}


def test_cleanup_deletes_only_its_own_environments_rows(pg_cluster: ThrowawayPostgres,
                                                        tmp_path: Path) -> None:
    url, config = _setup(pg_cluster, tmp_path)
    settings = load_settings(ROOT, config)
    seed(url, "run-staging", settings.environment("staging"), cwd=ROOT)  # protected
    seed(url, "run-local", settings.environment("local"), cwd=ROOT)
    assert _by_env(url) == {"staging": 12, "local": 12}

    done = _cleanup(config, url, "--env", "local", "--yes", "--only", "seeded-data")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 rows from public.customers" in done.stdout or "3 from public.customers" in done.stdout
    assert _by_env(url) == {"staging": 12}  # the protected environment's rows are untouched
    assert seeded_rows(url) == {"public.customers": 3, "public.orders": 9}

    again = _cleanup(config, url, "--env", "local", "--yes", "--only", "seeded-data")
    assert "no rows seeded by perfdash in environment 'local'" in again.stdout
    assert seeded_rows(url) == {"public.customers": 3, "public.orders": 9}


def test_an_old_ledger_is_migrated_and_unattributed_rows_are_kept(
        pg_cluster: ThrowawayPostgres, tmp_path: Path) -> None:
    url, config = _setup(pg_cluster, tmp_path)
    settings = load_settings(ROOT, config)
    local, staging = settings.environment("local"), settings.environment("staging")
    seed(url, "old-local", local, cwd=ROOT)
    seed(url, "old-staging", staging, cwd=ROOT)
    with psycopg.connect(url.reveal()) as conn:  # a ledger as perfdash wrote it before
        conn.execute("ALTER TABLE perfdash.ledger DROP COLUMN environment")

    # Read-only planning works on the old ledger: everything is unattributed, and kept.
    plan = plan_cleanup(local, url).action(SEEDED_DATA)
    assert plan is not None
    assert not plan.available
    assert dict(plan.unattributed) == {"public.orders": 18, "public.customers": 6}

    seed(url, "new-local", local, cwd=ROOT)  # seeding migrates the ledger
    assert _by_env(url) == {None: 24, "local": 12}

    kept = _cleanup(config, url, "--env", "local", "--yes", "--only", "seeded-data")
    assert kept.returncode == 0, kept.stdout + kept.stderr
    assert "whose seeding environment is unknown" in kept.stdout
    assert "--include-unattributed" in kept.stdout
    assert _by_env(url) == {None: 24}

    both = _cleanup(config, url, "--env", "local", "--yes", "--only", "seeded-data",
                    "--include-unattributed")
    assert both.returncode == 0, both.stdout + both.stderr
    # old-local's rows went; old-staging's stay: its seed run names another environment.
    with psycopg.connect(url.reveal()) as conn:
        runs = {r[0] for r in conn.execute("SELECT DISTINCT run_id FROM perfdash.ledger")}
    assert runs == {"old-staging"}
    assert seeded_rows(url) == {"public.customers": 3, "public.orders": 9}
