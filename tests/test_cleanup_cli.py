"""`perfdash cleanup` through the real entry point on a real database: it lists what it will
remove, removes nothing without confirmation, removes exactly perfdash's seeded rows with --yes,
and refuses data removal on a protected environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg

from perfdash.data.seed import seed, seeded_rows
from perfdash.demo.database import prepare_database
from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.secret import Secret
from perfdash.settings import load_settings

from .conftest import ROOT, make_database

PERFDASH = str(Path(sys.executable).parent / "perfdash")


def cli(config: Path, *args: str, url: Secret) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERF_")}
    env.update(PERF_BASE_URL="http://127.0.0.1:9", PERF_DATABASE_URL=url.reveal(),
               PERF_STAGING_DATABASE_URL=url.reveal(), PERF_STAGING_BASE_URL="http://127.0.0.1:9")
    return subprocess.run([PERFDASH, "cleanup", "--config", str(config), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60, check=False,
                          stdin=subprocess.DEVNULL)


def test_cleanup_lists_asks_and_removes_only_seeded_rows(pg_cluster: ThrowawayPostgres,
                                                         tmp_path: Path) -> None:
    url = make_database(pg_cluster, "clean")
    prepare_database(url, customers=2_000, products=100, orders=5_000)
    config = tmp_path / "profiles.toml"
    config.write_text((ROOT / "profiles.toml").read_text().replace(
        '[environments.local]\n', '[environments.local]\nseed_sql = "perfdash/demo/seed.sql"\n'
        "seed_scale = 5\n", 1).replace(
        '[environments.staging]\n', '[environments.staging]\nseed_sql = "perfdash/demo/seed.sql"\n', 1))
    env = load_settings(ROOT, config).environment("local")
    with psycopg.connect(url.reveal()) as conn:
        before = conn.execute("SELECT count(*) FROM customers").fetchone()
    seed(url, "run-cli", env, cwd=ROOT)
    assert seeded_rows(url) == {"public.customers": 5, "public.orders": 15}

    refused = cli(config, "--env", "local", url=url)  # no terminal, no --yes
    assert refused.returncode == 1
    assert "delete" in refused.stdout
    assert "public.customers" in refused.stdout
    assert "nothing was removed" in refused.stderr
    assert seeded_rows(url) == {"public.customers": 5, "public.orders": 15}

    protected = cli(config, "--env", "staging", "--yes", url=url)
    assert "protected" in protected.stdout
    assert seeded_rows(url) == {"public.customers": 5, "public.orders": 15}

    done = cli(config, "--env", "local", "--yes", "--only", "seeded-data", url=url)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[ok  ] seeded-data" in done.stdout
    assert seeded_rows(url) == {}
    with psycopg.connect(url.reveal()) as conn:
        after = conn.execute("SELECT count(*) FROM customers").fetchone()
    assert after == before  # everyone else's rows survive
