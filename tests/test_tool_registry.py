"""The tool registry: the `perfdash.tools` entry-point group (or, without installed metadata, the
checkout's pyproject.toml) lists the tools, a broken line costs its tool and never the run, and
"a tool is its package plus one registry line" stays true: no other file names Locust."""

from __future__ import annotations

import ast
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


# ------------------------------------------------------------------ progress: every tool alike

_OLD_EVENTS = ("K6Progressed", "ArtilleryProgressed")


def _progress_consumers() -> list[Path]:
    """Every module outside a tool's own package that handles a tool's progress, but the registry
    (its run order and its fallback name the two tools perfdash has always shipped)."""
    own = tuple(f"perfdash/tools/{name}/" for name in registry.TOOL_NAMES)
    return [p for p in sorted((ROOT / "perfdash").rglob("*.py"))
            if not str(p.relative_to(ROOT)).startswith(own) and "ToolProgressed" in p.read_text()
            and p != ROOT / "perfdash/tools/__init__.py"]


def _string_constants(tree: ast.AST) -> list[tuple[int, str]]:
    """String literals that are not docstrings, with their lines."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


def test_no_module_outside_a_tools_package_branches_on_a_tool_for_progress() -> None:
    """The recorder, the console, the follower, the live state and the panes handle every tool's
    ToolProgressed alike, from what the tool declares (its LiveSpec): none of them names a tool,
    and the events k6 and Artillery published before it are named only by their own packages."""
    consumers = _progress_consumers()
    names = {p.relative_to(ROOT).as_posix() for p in consumers}
    assert {"perfdash/timeline/recorder.py", "perfdash/console.py", "perfdash/ui/live/state.py",
            "perfdash/ui/live/tool_pane.py", "perfdash/follow/follower.py",
            "perfdash/follow/records.py", "perfdash/events.py"} <= names
    named = [f"{p.relative_to(ROOT)}:{line} {value!r}" for p in consumers
             for line, value in _string_constants(ast.parse(p.read_text()))
             if value.lower() in registry.TOOL_NAMES]
    assert named == [], "progress handled by tool name outside the tool's package"
    own = tuple(f"perfdash/tools/{name}/" for name in registry.TOOL_NAMES)
    old = [str(p.relative_to(ROOT)) for p in (ROOT / "perfdash").rglob("*.py")
           if not str(p.relative_to(ROOT)).startswith(own)
           and any(isinstance(n, ast.Name | ast.Attribute)
                   and (n.id if isinstance(n, ast.Name) else n.attr) in _OLD_EVENTS
                   for n in ast.walk(ast.parse(p.read_text())))]
    assert old == []


def test_every_tools_progress_fills_timeline_columns_that_exist() -> None:
    from perfdash.timeline.columns import NAMES

    for t in registry.TOOLS:
        declared = {c for c, _, _ in t.timeline_columns}
        columns = registry.progress_columns([t])[t.name]
        assert set(columns.values()) <= set(NAMES) | declared, t.name
    # k6's and Artillery's columns keep the names old runs have, so those still show and compare
    k6, art = registry.progress_columns()["k6"], registry.progress_columns()["artillery"]
    assert {k6["users"], k6["rps"], k6["error_rate"]} == {"k6_vus", "k6_rps", "k6_error_rate"}
    assert {art["rps"], art["p95_ms"], art["errors"], art["sio_p95_ms"]} == {
        "art_rps", "art_p95_ms", "art_errors", "sio_p95_ms"}


def test_an_old_recordings_tool_events_read_as_tool_progress() -> None:
    from perfdash.events import ToolProgressed
    from perfdash.follow.records import event_from_record

    k6 = event_from_record({"type": "K6Progressed", "at": 5.0, "vus": 3, "vus_max": 4,
                            "iterations": 9, "requests": 40, "req_per_s": 8.0, "p95_ms": 12.5,
                            "checks_rate": 1.0, "failed_rate": 0.0, "tainted": True,
                            "elapsed_s": 5.0, "planned_s": 20.0})
    assert isinstance(k6, ToolProgressed)
    assert (k6.tool, k6.at, k6.elapsed_s, k6.planned_s) == ("k6", 5.0, 5.0, 20.0)
    assert (k6.get("users"), k6.get("rps"), k6.get("p95_ms"), k6.get("tainted")) == (3, 8.0, 12.5, 1.0)
    art = event_from_record({"type": "ArtilleryProgressed", "at": 6.0, "req_per_s": 2.0,
                             "http_p50_ms": 1.0, "http_p95_ms": 9.0, "http_p99_ms": 11.0,
                             "socketio_p95_ms": None, "socketio_p99_ms": None,
                             "socketio_emits": 4, "errors": {"ETIMEDOUT": 1, "ECONNREFUSED": 3},
                             "vusers_created": 5, "vusers_completed": 4, "vusers_failed": 1,
                             "elapsed_s": 10.0, "planned_s": 30.0})
    assert isinstance(art, ToolProgressed)
    assert (art.tool, art.get("p95_ms"), art.get("emits")) == ("artillery", 9.0, 4)
    assert art.counts == (("ECONNREFUSED", 3), ("ETIMEDOUT", 1))
    assert art.get("errors") is None  # its window's own count is not in an old record
