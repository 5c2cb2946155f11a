"""Shared fixtures: one throwaway PostgreSQL cluster per test session (tests make their own databases)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.secret import Secret

ROOT = Path(__file__).resolve().parent.parent
# Real Prometheus and node_exporter processes; perfdash's wheel in a fresh venv (session fixtures);
# the fast and slow tiers (marks and the fast tier's guard); what keeps the fast tier fast
pytest_plugins = ["tests.prom_fixtures", "tests.installed_perfdash", "tests.tiers", "tests.speed"]


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[ThrowawayPostgres]:
    with ThrowawayPostgres() as pg:
        yield pg


def make_database(pg: ThrowawayPostgres, prefix: str = "t") -> Secret:
    """A fresh database (with pg_stat_statements) in the shared cluster; returns its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg.url("postgres").reveal(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(pg.url(name).reveal(), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
    return pg.url(name)


@pytest.fixture
def fresh_db(pg_cluster: ThrowawayPostgres) -> Secret:
    return make_database(pg_cluster)


@dataclass
class DemoService:
    """The demo backend on the shared cluster, started once per session for tests that load it."""

    base_url: str
    database_url: Secret
    token: Secret
    cluster: ThrowawayPostgres
    log_file: Path
    backend_pid: int


@pytest.fixture(scope="session")
def demo_service(pg_cluster: ThrowawayPostgres, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[DemoService]:
    from perfdash.demo.backend import DemoBackend
    from perfdash.demo.database import prepare_database
    from perfdash.proc.supervisor import Supervisor

    url = make_database(pg_cluster, "demo")
    prepare_database(url)
    out = tmp_path_factory.mktemp("demo-backend")
    supervisor = Supervisor()
    token = Secret("test-token-" + uuid.uuid4().hex)
    backend = DemoBackend(supervisor, url, token, out / "app.log", out)
    base_url = backend.start()
    try:
        yield DemoService(base_url, url, token, pg_cluster, out / "app.log", backend.pid)
    finally:
        backend.stop()
        supervisor.stop_all()


@pytest.fixture(autouse=True)
def _no_ci_step_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run inside GitHub Actions, every `perfdash run`/`show` a test starts would append its verdict
    to the job's own page: the tests that want a step summary set the variable themselves."""
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
                   ) -> None:
    """Each test (and every perfdash it starts) keeps its parsed timelines in a cache of its own:
    never the user's, and never one an earlier test filled."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
