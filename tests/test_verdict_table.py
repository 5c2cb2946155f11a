"""No combination of a tool's exit code and its report in which the tool said fail ends as a pass.

For k6 and for Artillery, every exit code in the table is crossed with every state its report can
be in; the run directory is written by hand (files only, no processes), the checks come through the
tool's seam (`perfdash.tools.tool(name).checks`) with the tool record the orchestrator writes, and
the overall status through `perfdash.analyze.verdict.overall_status`.

The invariant: a tool that did not exit 0, or a report that says a threshold was crossed or an
ensure check failed, never gives "pass"; a tool that says fail (k6 99 or 110, Artillery 1 with a
failed ensure) gives "fail". Exit 0 rows also pin the exact status, so the table cannot pass by
never saying "pass" at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from perfdash.analyze.verdict import overall_status
from perfdash.check import Check
from perfdash.settings import Profile, load_settings
from perfdash.thresholds import make_threshold
from perfdash.tools import tool

PROFILE = "table"
ENSURE = "maxErrorRate < 5"

PROFILES_TOML = f"""\
[profiles.{PROFILE}]
description = "The verdict table's profile: one threshold per tool, both scripts."
mode = "sequential"

[profiles.{PROFILE}.k6]
script = "k6/script.js"

[profiles.{PROFILE}.artillery]
script = "artillery/scenario.yml"

[profiles.{PROFILE}.thresholds.k6]
"http_req_duration" = ["p(95)<500"]

[profiles.{PROFILE}.thresholds.artillery]
"http.response_time" = ["p95<800"]

[environments.local]
kind = "external"
base_url = "http://127.0.0.1:9"
"""


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Profile:
    project = tmp_path_factory.mktemp("project")
    (project / "k6").mkdir()
    (project / "k6" / "script.js").write_text("export default function () {}\n", encoding="utf-8")
    (project / "artillery").mkdir()
    (project / "artillery" / "scenario.yml").write_text(
        "config:\n  target: http://127.0.0.1:9\n  ensure:\n    maxErrorRate: 5\n"
        "scenarios:\n  - flow:\n      - get:\n          url: /\n", encoding="utf-8")
    (project / "profiles.toml").write_text(PROFILES_TOML, encoding="utf-8")
    return load_settings(project).profiles[PROFILE]


# ------------------------------------------------------------------------------------------ k6

def _k6_summary(duration_thresholds: Mapping[str, bool] | None,
                extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A k6 summary export; in `thresholds`, true means crossed (k6's inversion)."""
    duration: dict[str, Any] = {"avg": 1, "min": 0.5, "med": 1, "max": 3, "p(90)": 2, "p(95)": 2}
    if duration_thresholds is not None:
        duration["thresholds"] = dict(duration_thresholds)
    return {"root_group": {"name": "", "path": "", "groups": {}, "checks": {}},
            "metrics": {"http_req_duration": duration,
                        "http_reqs": {"count": 10, "rate": 1},
                        "iterations": {"count": 5},
                        "checks": {"passes": 10, "fails": 0, "value": 1},
                        **(extra or {})}}


@dataclass(frozen=True)
class K6State:
    id: str
    text: str | None  # the summary export's text; None when the file is missing
    crossed: bool  # the report says a threshold was crossed
    script_thresholds: tuple[tuple[str, str], ...] = ()  # (metric, expression) the script declares
    expected_on_exit_0: str = "pass"


_SCRIPT_SRC = "k6/script.js"
_OK = json.dumps(_k6_summary({"p(95)<500": False}))

K6_STATES = (
    K6State("summary-ok", _OK, crossed=False),
    K6State("summary-crossed", json.dumps(_k6_summary({"p(95)<1": True})), crossed=True,
            script_thresholds=(("http_req_duration", "p(95)<1"),), expected_on_exit_0="fail"),
    # k6 accepts `===`; perfdash's expression parser does not, so no threshold check maps to it
    K6State("summary-unmappable-crossed", json.dumps(_k6_summary(
        {"p(95)<500": False}, {"errors": {"count": 3, "rate": 0.3,
                                          "thresholds": {"count===0": True}}})),
            crossed=True, expected_on_exit_0="fail"),
    K6State("summary-no-thresholds", json.dumps(_k6_summary(None)), crossed=False),
    K6State("summary-missing", None, crossed=False, expected_on_exit_0="incomplete"),
    K6State("summary-truncated", _OK[: len(_OK) // 2], crossed=False,
            expected_on_exit_0="incomplete"),
)

K6_CODES = {0: "exit-0", 99: "exit-99-thresholds", 104: "exit-104-config", 105: "exit-105-interrupted",
            107: "exit-107-exception", 108: "exit-108-abort", 110: "exit-110-marked-failed",
            -9: "killed-9", 1: "exit-1"}
K6_SAYS_FAIL = {99, 110}


def _record(name: str, code: int, plan: Mapping[str, Any], last_output: list[str]) -> tuple[
        dict[str, Any], str | None]:
    """The tool record `_plan_record` and `_tool_exited` write, and the run's not_measured reason
    for this tool (set by the orchestrator when the exit means the tool did not finish)."""
    meaning = tool(name).explain_exit(code)
    record = {**plan, "returncode": code, "elapsed_s": 12.3,
              "stopped_by": "SIGKILL" if code < 0 else None, "last_stderr": [],
              "last_output": last_output, "meaning": meaning.text,
              "stdout": f"{name}.stdout.log", "stderr": f"{name}.stderr.log"}
    not_measured = meaning.text if meaning.kind == "error" and meaning.text else None
    return record, not_measured


def _k6_checks(run_dir: Path, profile: Profile, code: int, state: K6State) -> list[Check]:
    run_dir.mkdir()
    if state.text is not None:
        (run_dir / f"k6-{PROFILE}.json").write_text(state.text, encoding="utf-8")
    script = [t.to_json() for m, e in state.script_thresholds
              if (t := make_threshold("k6", m, e, _SCRIPT_SRC, "script")) is not None]
    plan = {"planned_s": 20.0, "script_thresholds": script, "ensure": []}
    record, not_measured = _record("k6", code, plan, [])
    return tool("k6").checks(run_dir, profile, record, not_measured)


def _explain(checks: list[Check]) -> str:
    return "\n".join(f"  {c.id}: {c.status} ({c.detail})" for c in checks)


# Combinations known to break the invariant (none today): each would be an xfail with its reason.
K6_KNOWN_DEFECTS: dict[tuple[int, str], str] = {}


def _k6_table() -> list[Any]:
    return [pytest.param(code, state, id=f"{cid}-{state.id}", marks=(
        [pytest.mark.xfail(strict=True, reason=K6_KNOWN_DEFECTS[code, state.id])]
        if (code, state.id) in K6_KNOWN_DEFECTS else []))
        for code, cid in K6_CODES.items() for state in K6_STATES]


@pytest.mark.parametrize(("code", "state"), _k6_table())
def test_k6_never_passes_what_k6_failed(tmp_path: Path, profile: Profile, code: int,
                                        state: K6State) -> None:
    checks = _k6_checks(tmp_path / "run", profile, code, state)
    status = overall_status(checks)
    why = f"k6 exit {code}, {state.id} -> {status}:\n{_explain(checks)}"
    if code != 0 or state.crossed:
        assert status != "pass", why
    if code in K6_SAYS_FAIL:
        assert status == "fail", why
    if code == 0:
        assert status == state.expected_on_exit_0, why


@pytest.mark.parametrize(("code", "words"), [
    (104, "rejected the configuration"),
    (108, "test.abort()"),
    (99, "thresholds crossed"),
    (110, "exec.test.fail()"),
    (-9, "killed by signal 9"),
], ids=["104-config", "108-abort", "99-thresholds", "110-marked-failed", "killed-9"])
def test_k6_exit_check_says_why(tmp_path: Path, profile: Profile, code: int, words: str) -> None:
    checks = _k6_checks(tmp_path / "run", profile, code, K6_STATES[0])
    exit_check = next(c for c in checks if c.id == "k6.exit")
    assert words in exit_check.detail
    assert exit_check.value == code


def test_k6_99_with_an_unmappable_crossed_threshold_fails(tmp_path: Path, profile: Profile) -> None:
    """perfdash cannot parse `count===0`, yet k6's verdict on it is a check, and k6's exit code
    alone makes the run a fail."""
    state = next(s for s in K6_STATES if s.id == "summary-unmappable-crossed")
    checks = _k6_checks(tmp_path / "run", profile, 99, state)
    unparsed = [c for c in checks if "count===0" in (c.threshold or "")]
    assert [c.status for c in unparsed] == ["fail"]
    assert unparsed[0].detail == "k6: crossed"
    assert overall_status(checks) == "fail"
    assert next(c for c in checks if c.id == "k6.exit").status == "fail"


# ------------------------------------------------------------------------------------ Artillery

ARTILLERY_REPORT = json.dumps({
    "aggregate": {"counters": {"vusers.created": 10, "vusers.completed": 10},
                  "summaries": {"http.response_time": {"p95": 10, "p99": 12, "median": 5,
                                                       "mean": 6, "min": 1, "max": 20,
                                                       "count": 10}},
                  "rates": {}},
    "intermediate": []})


def _ensure_record(result: int) -> str:
    return json.dumps({"type": "ensure",
                       "checks": [{"original": ENSURE, "result": result, "strict": True}]}) + "\n"


@dataclass(frozen=True)
class ArtilleryState:
    id: str
    files: Mapping[str, str]  # file name in the run directory -> text
    ensure_failed: bool  # the run's record (plugin or stdout) says an ensure check failed
    declared: tuple[str, ...] = (ENSURE,)  # the ensure checks the script declares (plan record)
    expected_on_exit_0: str = "pass"


_REPORT = f"artillery-{PROFILE}.json"
_PROGRESS = "artillery-progress.ndjson"
_STDOUT = "artillery.stdout.log"

ARTILLERY_STATES = (
    ArtilleryState("report-ensure-ok", {_REPORT: ARTILLERY_REPORT, _PROGRESS: _ensure_record(1)},
                   ensure_failed=False),
    ArtilleryState("report-ensure-fail", {_REPORT: ARTILLERY_REPORT, _PROGRESS: _ensure_record(0)},
                   ensure_failed=True, expected_on_exit_0="fail"),
    ArtilleryState("report-no-ensure", {_REPORT: ARTILLERY_REPORT}, ensure_failed=False,
                   declared=()),
    ArtilleryState("report-missing", {}, ensure_failed=False, expected_on_exit_0="incomplete"),
    ArtilleryState("stdout-ensure-fail", {
        _REPORT: ARTILLERY_REPORT,
        _STDOUT: f"All VUs finished. Total time: 12 seconds\n\nChecks:\nfail: {ENSURE}\n"},
        ensure_failed=True, expected_on_exit_0="fail"),
)

ARTILLERY_CODES = {0: "exit-0", 1: "exit-1", 2: "exit-2", 130: "exit-130-sigint",
                   143: "exit-143-sigterm", -9: "killed-9"}


def _artillery_checks(run_dir: Path, profile: Profile, code: int,
                      state: ArtilleryState) -> list[Check]:
    run_dir.mkdir()
    for name, text in state.files.items():
        (run_dir / name).write_text(text, encoding="utf-8")
    stdout = state.files.get(_STDOUT, "")
    telling = [ln.strip() for ln in stdout.splitlines() if "fail" in ln.lower()]
    plan = {"planned_s": 15.0, "script_thresholds": [], "ensure": list(state.declared)}
    record, not_measured = _record("artillery", code, plan, telling)
    return tool("artillery").checks(run_dir, profile, record, not_measured)


def _artillery_says_fail(code: int, state: ArtilleryState) -> bool:
    return code == 1 and state.ensure_failed


@pytest.mark.parametrize("state", ARTILLERY_STATES, ids=lambda s: s.id)
@pytest.mark.parametrize("code", list(ARTILLERY_CODES), ids=ARTILLERY_CODES.get)
def test_artillery_never_passes_what_artillery_failed(tmp_path: Path, profile: Profile, code: int,
                                                      state: ArtilleryState) -> None:
    checks = _artillery_checks(tmp_path / "run", profile, code, state)
    status = overall_status(checks)
    why = f"Artillery exit {code}, {state.id} -> {status}:\n{_explain(checks)}"
    if code != 0 or state.ensure_failed:
        assert status != "pass", why
    if _artillery_says_fail(code, state):
        assert status == "fail", why
    if code == 0:
        assert status == state.expected_on_exit_0, why


@pytest.mark.parametrize("state", [s for s in ARTILLERY_STATES if s.ensure_failed],
                         ids=lambda s: s.id)
def test_artillery_exit_1_quotes_the_failed_ensure(tmp_path: Path, profile: Profile,
                                                   state: ArtilleryState) -> None:
    checks = _artillery_checks(tmp_path / "run", profile, 1, state)
    exit_check = next(c for c in checks if c.id == "artillery.exit")
    assert exit_check.status == "fail"
    assert ENSURE in exit_check.detail
    assert overall_status(checks) == "fail"


def test_the_table_covers_the_brief() -> None:
    """The table's size, so a row dropped by mistake shows up."""
    assert len(K6_CODES) * len(K6_STATES) == 9 * 6
    assert len(ARTILLERY_CODES) * len(ARTILLERY_STATES) == 6 * 5
