"""Two tiers: `pytest -m "not slow"` is what a developer runs after each change; the rest is `slow`.

A test is slow when it needs an outside binary or server: PostgreSQL, k6, Artillery, node/npm,
Prometheus/node_exporter, docker, a wheel build. Tests that request a real-tool fixture (directly or
through another fixture) and every `e2e` test are marked automatically, so a new test that asks for
`fresh_db` never lands in the fast tier by forgetting a mark. Tests that start a tool themselves carry
an explicit `@pytest.mark.slow`.

While a test that is not `slow` runs, an audit hook refuses to start any of those tools: a missed mark
is a failure that names the binary, not a fast tier that quietly starts PostgreSQL. (It sees this
process's own children; a Python child that starts a tool in turn is outside its sight.)
Registered as a plugin by tests/conftest.py.
"""

from __future__ import annotations

import itertools
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

# Fixtures that start a real outside process: PostgreSQL (everything built on `pg_cluster`: `fresh_db`,
# `demo_service`, the lab, the foreign project's service), Prometheus and node_exporter, the wheel
# build and its venv, npm.
REAL_TOOL_FIXTURES = frozenset({"pg_cluster", "prom_stack", "perfdash_wheel", "user_venv",
                                "foreign_copy"})

# Executables the fast tier must never start (by file name).
OUTSIDE_BINARIES = frozenset({
    "postgres", "initdb", "pg_ctl", "psql", "pg_ctlcluster",
    "k6", "artillery", "node", "npm", "npx",
    "prometheus", "prometheus-node-exporter", "node_exporter",
    "docker", "docker-compose",
})
# Python modules whose start means a wheel build, a venv or the demo (which starts PostgreSQL).
OUTSIDE_MODULES = frozenset({"pip", "venv", "perfdash.demo.server"})


class _Guard:
    """Whether the running test is in the fast tier (the audit hook is process-wide and permanent)."""

    on = False


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & REAL_TOOL_FIXTURES or item.get_closest_marker("e2e") is not None:
            item.add_marker(pytest.mark.slow)


def _strings(argv: object) -> list[str]:
    if isinstance(argv, (str, bytes)):
        return [os.fsdecode(argv)]
    if isinstance(argv, Sequence):
        return [os.fsdecode(a) for a in argv]
    return []


def outside_tool(executable: object, argv: object) -> str | None:
    """The outside tool a process start would run, or None for anything the fast tier may start."""
    args = _strings(argv)
    program = os.path.basename(os.fsdecode(executable) if isinstance(executable, (str, bytes))
                               else args[0] if args else "")
    if program in OUTSIDE_BINARIES:
        return program
    for flag, module in itertools.pairwise(args):
        if flag == "-m" and module in OUTSIDE_MODULES:
            return f"python -m {module}"
    if program == "perfdash" and args[1:2] == ["demo"]:
        return "perfdash demo"
    return None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _Guard.on or event not in ("subprocess.Popen", "os.posix_spawn", "os.exec"):
        return
    tool = outside_tool(args[0], args[1])
    if tool is not None:
        raise RuntimeError(f"a fast-tier test started {tool}: mark the test @pytest.mark.slow "
                           "(or request a real-tool fixture, which marks it)")


sys.addaudithook(_audit)


@pytest.fixture(autouse=True)
def _fast_tier_starts_no_tool(request: pytest.FixtureRequest) -> Iterator[None]:
    _Guard.on = request.node.get_closest_marker("slow") is None
    try:
        yield
    finally:
        _Guard.on = False

