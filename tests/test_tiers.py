"""The two test tiers hold: the fast tier refuses to start an outside tool, a real-tool fixture marks
its tests slow, and a missing Prometheus fails the slow tier instead of skipping it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.prom_fixtures import _need
from tests.tiers import outside_tool, pytest_collection_modifyitems


@pytest.mark.parametrize(("executable", "argv", "tool"), [
    (None, ["/usr/lib/postgresql/15/bin/initdb", "-D", "x"], "initdb"),
    ("/work/.venv/bin/k6", ["k6", "run", "s.js"], "k6"),
    (None, ["node", "artillery"], "node"),
    (b"/usr/bin/prometheus", [b"prometheus"], "prometheus"),
    (None, ["prometheus-node-exporter"], "prometheus-node-exporter"),
    (None, [sys.executable, "-m", "pip", "wheel", "."], "python -m pip"),
    (None, [sys.executable, "-m", "perfdash.demo.server", "--port", "1"], "python -m perfdash.demo.server"),
    (None, ["/x/.venv/bin/perfdash", "demo", "--headless"], "perfdash demo"),
    (None, [sys.executable, "-m", "perfdash", "show", "dir"], None),
    (None, ["/x/.venv/bin/perfdash", "run", "--profile", "demo"], None),
    (None, "true", None),
])
def test_outside_tools_are_told_from_the_rest(executable: object, argv: object, tool: str | None) -> None:
    assert outside_tool(executable, argv) == tool


def test_the_fast_tier_refuses_to_start_an_outside_tool(tmp_path: Path) -> None:
    k6 = tmp_path / "k6"
    k6.write_text("#!/bin/sh\nexit 0\n")
    k6.chmod(0o755)
    with pytest.raises(RuntimeError, match=r"mark the test @pytest\.mark\.slow"):
        subprocess.run([str(k6), "version"], check=False)
    assert subprocess.run([sys.executable, "-c", "pass"], check=False).returncode == 0


@pytest.mark.slow
def test_a_slow_test_may_start_one(tmp_path: Path) -> None:
    k6 = tmp_path / "k6"
    k6.write_text("#!/bin/sh\nexit 0\n")
    k6.chmod(0o755)
    assert subprocess.run([str(k6), "version"], check=False).returncode == 0


class _Item:
    """What the collection hook looks at in a test item."""

    def __init__(self, fixturenames: list[str], *marks: str) -> None:
        self.fixturenames = fixturenames
        self.marks = set(marks)

    def get_closest_marker(self, name: str) -> object | None:
        return name if name in self.marks else None

    def add_marker(self, mark: pytest.MarkDecorator) -> None:
        self.marks.add(mark.name)


def test_a_real_tool_fixture_or_e2e_marks_a_test_slow(pytestconfig: pytest.Config) -> None:
    through_db = _Item(["tmp_path", "fresh_db", "pg_cluster"])  # the closure names pg_cluster too
    prom, e2e, plain = _Item(["prom_stack"]), _Item(["tmp_path"], "e2e"), _Item(["tmp_path"])
    pytest_collection_modifyitems(pytestconfig, [through_db, prom, e2e, plain])  # type: ignore[list-item]
    assert [i.get_closest_marker("slow") for i in (through_db, prom, e2e, plain)] == [
        "slow", "slow", "slow", None]


def test_a_missing_prometheus_fails_with_how_to_install_it() -> None:
    with pytest.raises(pytest.fail.Exception,
                       match=r"^no-such-prometheus is not installed; scripts/install.sh installs it"):
        _need("no-such-prometheus")
