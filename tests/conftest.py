"""Shared fixtures: one throwaway PostgreSQL cluster per test session (tests make their own databases)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.secret import Secret

ROOT = Path(__file__).resolve().parent.parent


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
