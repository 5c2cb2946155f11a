"""The tool registry: the `perfdash.tools` entry-point group (or, without installed metadata, the
checkout's pyproject.toml) lists the tools, a broken line costs its tool and never the run, and
"a tool is its package plus one registry line" stays true: no other file names Locust."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from perfdash import tools as registry
from perfdash.settings.tool_tables import TOOL_TABLE_READERS
from perfdash.tools import Entry, checkout_entries, load_tools

from .conftest import ROOT

GROUP = "perfdash.tools"


def _ep(name: str, value: str) -> metadata.EntryPoint:
    return metadata.EntryPoint(name, value, GROUP)


def test_fake_entry_points_load_in_the_run_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "LOAD_PROBLEMS", [])
    tools = load_tools([_ep("locust", "perfdash.tools.locust:LocustTool"),
                        _ep("artillery", "perfdash.tools.artillery:ArtilleryTool"),
                        _ep("k6", "perfdash.tools.k6:K6Tool"),
                        _ep("k6", "perfdash.tools.artillery:ArtilleryTool")])  # the first line wins
    assert [t.name for t in tools] == ["k6", "artillery", "locust"]
    assert registry.LOAD_PROBLEMS == []


def test_a_broken_line_costs_only_its_tool(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registry, "LOAD_PROBLEMS", [])
    tools = load_tools([_ep("k6", "perfdash.tools.k6:K6Tool"),
                        _ep("ghost", "perfdash.tools.ghost:GhostTool"),
                        _ep("wrong", "perfdash.tools.artillery:ArtilleryTool"),
                        _ep("typo", "perfdash.tools.k6:NoSuchTool")])
    assert [t.name for t in tools] == ["k6"]
    problems = " | ".join(registry.LOAD_PROBLEMS)
    assert "'ghost'" in problems
    assert "calls itself 'artillery'" in problems
    assert "'typo'" in problems


def test_without_metadata_the_checkout_declares_the_tools(tmp_path: Path) -> None:
    declared = checkout_entries(ROOT / "pyproject.toml")
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert {e.name: e.value for e in declared} == data["project"]["entry-points"][GROUP]
    assert [t.name for t in load_tools(declared)] == ["k6", "artillery", "locust"]
    other = tmp_path / "pyproject.toml"
    other.write_text('[project]\nname = "not-perfdash"\n[project.entry-points."perfdash.tools"]\n'
                     'x = "x:X"\n')
    assert checkout_entries(other) == []
    assert checkout_entries(tmp_path / "missing.toml") == []
    (tmp_path / "bad.toml").write_text("[project\n")
    assert checkout_entries(tmp_path / "bad.toml") == []


def test_every_group_line_is_a_tool_that_loads() -> None:
    """Whichever way the registry was read here, every tool of pyproject.toml is in it, and the
    one with a table of its own registered it with the settings."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert set(data["project"]["entry-points"][GROUP]) <= set(registry.TOOL_NAMES)
    assert registry.TOOL_NAMES[:2] == ("k6", "artillery")
    assert "locust" in TOOL_TABLE_READERS
    assert Entry("k6", "perfdash.tools.k6:K6Tool").load().__name__ == "K6Tool"


# Where a tool's name may appear: its own package, the registry line, the docs, the tests and the
# demo project that exercises it. Anywhere else means the seam leaked.
ALLOWED = ("perfdash/tools/locust/", "pyproject.toml", "README.md", "tests/", "perfdash/demo/project/")


def test_a_tool_is_its_package_plus_one_registry_line() -> None:
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    leaks = []
    for name in filter(None, files):
        if name.startswith(ALLOWED):
            continue
        path = ROOT / name
        if path.is_symlink():  # the checkout's shortcuts into the demo project
            target = path.resolve()
            if target.is_relative_to((ROOT / "perfdash/demo/project").resolve()):
                continue
        if not path.is_file():
            continue
        if "locust" in path.read_bytes().decode("utf-8", "replace").lower() or "locust" in name.lower():
            leaks.append(name)
    assert leaks == [], f"files outside Locust's package name it: {leaks}"


def test_preflight_warns_about_a_tool_that_did_not_load(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from perfdash.run import preflight
    from perfdash.settings import load_settings
    from perfdash.tools.base import Target

    (tmp_path / "lf.py").write_text("# users\n")
    (tmp_path / "profiles.toml").write_text(
        '[profiles.p.locust]\nlocustfile = "lf.py"\nrun_time = 5\n'
        '[environments.local]\nkind = "external"\nbase_url = "http://127.0.0.1:9"\n')
    settings = load_settings(tmp_path, env_file=tmp_path / "none.env")
    monkeypatch.setattr(preflight, "LOAD_PROBLEMS", ["the load tool 'ghost' (x:Y) could not be loaded: no"])
    results = preflight.run_preflight(settings.profile("p"), settings.environment("local"),
                                      Target("http://127.0.0.1:9", None, None), tmp_path / "run", tmp_path,
                                      tmp_path / "none.env")
    warned = [r for r in results if r.name == "load tools registered"]
    assert [(r.status, r.detail) for r in warned] == [
        ("warn", "the load tool 'ghost' (x:Y) could not be loaded: no")]
    assert any(r.name == "Locust script present" and r.status == "pass" for r in results)


def test_settings_find_the_tool_tables_without_the_registry_imported(tmp_path: Path) -> None:
    """load_settings alone (a fresh interpreter that never imported perfdash.tools) reads a
    profile with a tool's own table."""
    code = ("import sys; from perfdash.settings import load_settings, DEMO_PROJECT; "
            "assert 'perfdash.tools' not in sys.modules; "
            "p = load_settings(DEMO_PROJECT).profile('locust-smoke'); print(p.planned_seconds)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "15.0"


def test_a_missing_optional_tool_is_a_warning_only_where_no_profile_runs_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from perfdash.run import preflight
    from perfdash.settings import load_settings
    from perfdash.tools.base import Target

    monkeypatch.setenv("PERFDASH_LOCUST", str(tmp_path / "no-such-locust"))
    monkeypatch.setattr(preflight, "TOOLS", (registry.tool("locust"),))  # doctor asks every tool
    (tmp_path / "lf.py").write_text("# users\n")
    (tmp_path / "profiles.toml").write_text(
        '[profiles.p.locust]\nlocustfile = "lf.py"\nrun_time = 5\n'
        '[environments.local]\nkind = "external"\nbase_url = "http://127.0.0.1:9"\n')
    settings = load_settings(tmp_path, env_file=tmp_path / "none.env")
    target = Target("http://127.0.0.1:9", None, None)

    def status(profile: object) -> list[tuple[str, str]]:
        results = preflight.run_preflight(profile, settings.environment("local"),  # type: ignore[arg-type]
                                          target, tmp_path, tmp_path, tmp_path / "none.env")
        return [(r.status, r.detail) for r in results if r.name == "locust runnable"]

    assert [s for s, _ in status(None)] == ["warn"]  # doctor without a profile
    ran = status(settings.profile("p"))
    assert [s for s, _ in ran] == ["fail"]
    assert "PERFDASH_LOCUST names" in ran[0][1]
