"""Locust behind the seam, without running it: its profile table (read by the tool through the
settings hook), its command, its exit codes, its CSV statistics as checks, latency, endpoints and
figures, and its live history as ToolProgressed events that reach the timeline and the screens."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from perfdash.analyze.endpoints import endpoint_lines, read_endpoints
from perfdash.console import tool_figure_pairs
from perfdash.events import Bus, Event, ProblemDetected, SystemSampled, ToolProgressed
from perfdash.settings import SettingsError, load_settings
from perfdash.timeline.recorder import TimelineRecorder
from perfdash.tools import tool, tools_for
from perfdash.tools.base import Target
from perfdash.tools.locust.command import run_argv, write_flush_helper
from perfdash.tools.locust.progress import LocustHistoryTail
from perfdash.tools.locust.table import LocustOptions, run_time_seconds
from perfdash.ui.live.state import LiveState
from perfdash.ui.live.tool_pane import tool_lines

LOCUST = tool("locust")
STATS_HEADER = ["Type", "Name", "Request Count", "Failure Count", "Median Response Time",
                "Average Response Time", "Min Response Time", "Max Response Time",
                "Average Content Size", "Requests/s", "Failures/s", "50%", "66%", "75%", "80%",
                "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"]
HISTORY_HEADER = ["Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", "50%", "66%",
                  "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%",
                  "Total Request Count", "Total Failure Count", "Total Median Response Time",
                  "Total Average Response Time", "Total Min Response Time",
                  "Total Max Response Time", "Total Average Content Size"]

ENV = """
[environments.local]
kind = "external"
base_url = "http://127.0.0.1:9"
"""


def _settings(tmp_path: Path, table: str) -> Any:
    (tmp_path / "locustfile.py").write_text("# the shop\n")
    (tmp_path / "profiles.toml").write_text(f"[profiles.p.locust]\n{table}\n{ENV}")
    return load_settings(tmp_path, env_file=tmp_path / "none.env")


def _options(tmp_path: Path, **over: Any) -> LocustOptions:
    base: dict[str, Any] = {"locustfile": tmp_path / "locustfile.py", "users": 3, "spawn_rate": 1.5,
                            "run_time": "20s", "run_time_s": 20.0}
    return LocustOptions(**{**base, **over})


# ------------------------------------------------------------------------------------ the table

def test_the_table_is_read_by_the_tool_and_plans_the_run(tmp_path: Path) -> None:
    settings = _settings(tmp_path, 'locustfile = "locustfile.py"\nusers = 5\nrun_time = "1m30s"\n'
                                   "check_fail_ratio = 0.02\ncheck_p95_response_time = 300")
    profile = settings.profile("p")
    assert [t.name for t in tools_for(profile)] == ["locust"]
    assert profile.planned_seconds == 90.0
    assert profile.script_for("locust") == tmp_path / "locustfile.py"
    options = profile.tool_tables["locust"].options
    assert isinstance(options, LocustOptions)
    assert (options.users, options.spawn_rate, options.run_time) == (5, 5.0, "1m30s")
    assert (options.check_fail_ratio, options.check_p95_response_time) == (0.02, 300.0)


@pytest.mark.parametrize(("table", "words"), [
    ('locustfile = "locustfile.py"\nusers = 2', "sets no run_time"),
    ('locustfile = "locustfile.py"\nrun_time = "ten"', "'ten' is not a length Locust reads"),
    ('locustfile = "locustfile.py"\nrun_time = 10\nusers = 0', "locust.users): expected a whole number"),
    ('locustfile = "locustfile.py"\nrun_time = 10\nwho = 1', "unknown key 'who'"),
    ('locustfile = "locustfile.py"\nrun_time = 10\nhost = "ftp://x"', "expected an http://"),
    ('locustfile = "locustfile.py"\nrun_time = 10\ncheck_fail_ratio = 2', "check_fail_ratio"),
    ("run_time = 10", "names no locustfile"),
])
def test_a_bad_table_is_one_sentence_naming_the_table(tmp_path: Path, table: str, words: str) -> None:
    with pytest.raises(SettingsError) as err:
        _settings(tmp_path, table)
    text = str(err.value)
    assert "profiles.p.locust" in text, text
    assert words in text
    assert text.count("\n") == 0


@pytest.mark.parametrize(("raw", "expected"), [
    (90, ("90s", 90.0)), ("90", ("90s", 90.0)), ("1h2m3s", ("1h2m3s", 3723.0)), ("2m", ("2m", 120.0)),
    ("0s", None), ("", None), ("1m1h", None), (True, None), (-5, None), ("5ms", None)])
def test_run_time_reads_as_locust_does(raw: Any, expected: tuple[str, float] | None) -> None:
    assert run_time_seconds(raw) == expected


# ------------------------------------------------------------------------ command and exit codes

def test_the_command_is_headless_with_csv_and_the_environments_host(tmp_path: Path) -> None:
    argv = run_argv(Path("/bin/locust"), _options(tmp_path, user_classes=("Reader",)), tmp_path, "p",
                    "http://127.0.0.1:8080")
    assert argv[:4] == ["/bin/locust", "-f", str(tmp_path / "locustfile.py"), "--headless"]
    joined = " ".join(argv)
    assert "-u 3 -r 1.5 -t 20s --host http://127.0.0.1:8080" in joined
    assert f"--csv {tmp_path / 'locust-p'}" in joined
    assert "--exit-code-on-error 3" in joined
    assert argv[-1] == "Reader"
    own = run_argv(Path("/bin/locust"), _options(tmp_path, host="http://127.0.0.1:1"), tmp_path, "p",
                   "http://127.0.0.1:8080")
    assert own[own.index("--host") + 1] == "http://127.0.0.1:1"
    helper = write_flush_helper(tmp_path)
    with_helper = run_argv(Path("/bin/locust"), _options(tmp_path), tmp_path, "p", None, helper)
    assert with_helper[2] == f"{tmp_path / 'locustfile.py'},{helper}"
    assert "CSV_STATS_FLUSH_INTERVAL_SEC = 1" in helper.read_text()
    assert "--host" not in with_helper  # no host anywhere: Locust's own error says so
    comma = run_argv(Path("/bin/locust"), _options(tmp_path, locustfile=tmp_path / "a,b.py"), tmp_path,
                     "p", None, helper)
    assert comma[2] == str(tmp_path / "a,b.py")


@pytest.mark.parametrize(("code", "kind"), [(0, "finished"), (3, "finished"), (1, "error"),
                                            (2, "error"), (-9, "error"), (7, "error")])
def test_exit_codes(code: int, kind: str) -> None:
    meaning = LOCUST.explain_exit(code)
    assert meaning.kind == kind
    assert (meaning.text is None) == (kind == "finished")


# ------------------------------------------------------------------------------- the statistics

def _write_stats(run_dir: Path, rows: list[tuple[str, str, int, int, float, float]]) -> None:
    """rows: (type, name, requests, failures, average ms, p95 ms)."""
    with (run_dir / "locust-p_stats.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(STATS_HEADER)
        for typ, name, n, failed, avg, p95 in rows:
            w.writerow([typ, name, n, failed, avg / 2, avg, 1.0, p95 * 2, 100, 5.0, 0.1, avg / 2,
                        0, 0, 0, p95 * 0.9, p95, 0, p95 * 1.5, 0, 0, p95 * 2])
    (run_dir / "locust-p_failures.csv").write_text(
        "Method,Name,Error,Occurrences\nGET,/api/x,HTTPError('500 Server Error'),4\n")


def test_checks_judge_the_failure_ratio_and_the_limits(tmp_path: Path) -> None:
    settings = _settings(tmp_path, 'locustfile = "locustfile.py"\nrun_time = 10\n'
                                   "check_fail_ratio = 0.05\ncheck_p95_response_time = 100\n"
                                   "check_avg_response_time = 50")
    profile = settings.profile("p")
    _write_stats(tmp_path, [("GET", "/api/x", 80, 4, 20.0, 150.0), ("GET", "search", 20, 0, 10.0, 40.0),
                            ("", "Aggregated", 100, 4, 18.0, 140.0)])
    checks = {c.id: c for c in LOCUST.checks(tmp_path, profile, {"returncode": 3}, None)}
    assert checks["locust.requests"].status == "pass"
    assert checks["locust.fail_ratio"].status == "pass"
    assert checks["locust.fail_ratio"].value == 0.04
    assert "500 Server Error" in checks["locust.fail_ratio"].detail
    assert checks["locust.response_time.avg"].status == "pass"
    assert checks["locust.response_time.p95"].status == "fail"
    assert checks["locust.response_time.p95"].value == 140.0
    assert checks["locust.exit"].status == "pass"

    strict = _settings(tmp_path, 'locustfile = "locustfile.py"\nrun_time = 10').profile("p")
    checks = {c.id: c for c in LOCUST.checks(tmp_path, strict, {"returncode": 1}, None)}
    assert checks["locust.fail_ratio"].status == "fail"  # Locust's own rule: any failure
    assert checks["locust.exit"].status == "not measured"
    assert "locust.response_time.p95" not in checks


def test_latency_endpoints_and_figures(tmp_path: Path) -> None:
    _write_stats(tmp_path, [("GET", "/api/products/{id}", 80, 0, 20.0, 150.0),
                            ("POST", "login", 20, 0, 10.0, 40.0), ("", "Aggregated", 100, 0, 18.0, 140.0)])
    rows, problem = LOCUST.latency(tmp_path, "p")
    assert problem is None
    assert rows[0].label == "Locust response_time"
    assert rows[0].stats["p95"] == 140.0
    assert rows[0].count == 100
    endpoints, _ = LOCUST.endpoints(tmp_path, "p")
    assert [(e.name, e.url, e.requests, e.p95) for e in endpoints] == [
        ("/api/products/{id}", "/api/products/{id}", 80, 150.0), ("login", None, 20, 40.0)]
    figures, _ = LOCUST.figures(tmp_path, "p")
    assert figures["locust.response_time.p95"] == 140.0
    assert figures["locust.fail_ratio"] == 0.0
    assert {f.key for f in LOCUST.figure_specs} >= set(figures)
    joined = read_endpoints(tmp_path, "p", ["locust"])
    keys = {r["endpoint"]: r["sources"] for r in joined["rows"]}
    assert keys["/api/products/{}"]["locust"]["requests"] == 80
    assert "name:login" in keys
    assert [line[1] for line in endpoint_lines(joined)[1:]] == ["locust", "locust"]


def test_a_run_cut_short_is_judged_from_its_history_and_never_passes(tmp_path: Path) -> None:
    profile = _settings(tmp_path, 'locustfile = "locustfile.py"\nrun_time = 10').profile("p")
    with (tmp_path / "locust-p_stats_history.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HISTORY_HEADER)
        w.writerow([1, 2, "", "Aggregated", 5.0, 0.0, 10, 0, 0, 0, 0, 30, 0, 0, 0, 0, 0, 40, 0, 10, 12.5,
                    1, 90, 100])
    checks = {c.id: c for c in LOCUST.checks(tmp_path, profile, None, None)}
    assert checks["locust.fail_ratio"].status == "not measured"
    assert "live history" in checks["locust.fail_ratio"].detail
    assert LOCUST.figures(tmp_path, "p")[0] == {}
    nothing = {c.id: c for c in LOCUST.checks(tmp_path / "absent", profile, None, "stopped early")}
    assert nothing["locust.requests"].measured_nothing
    assert nothing["locust.requests"].detail == "stopped early"


# --------------------------------------------------------------------------------- live progress

def test_history_rows_become_tool_progress_on_the_timeline_and_the_screens(tmp_path: Path) -> None:
    bus = Bus()
    seen: list[Event] = []
    bus.listen(seen.append)
    clock = [100.0]
    recorder = TimelineRecorder(bus, tmp_path, clock=lambda: clock[0],
                                tool_columns=[c for c, _, _ in LOCUST.timeline_columns])
    recorder.open()
    history = tmp_path / "locust-p_stats_history.csv"
    tail = LocustHistoryTail(bus, history, 20.0, clock=lambda: clock[0])
    tail.poll()  # nothing written yet
    with history.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HISTORY_HEADER)
        w.writerow([1, 4, "", "Aggregated", 8.0, 2.0, 10, 0, 0, 0, 0, 35, 0, 0, 0, 0, 0, 40, 3, 10, 12.5,
                    1, 90, 100])
        f.write("2,4,,Aggre")  # half a row: waits for its end
    tail.poll()
    progress = [e for e in seen if isinstance(e, ToolProgressed)]
    assert len(progress) == 1
    p = progress[0]
    assert (p.tool, p.planned_s) == ("locust", 20.0)
    assert (p.get("users"), p.get("rps"), p.get("p95_ms"), p.get("fail_ratio"), p.get("failures")) == (
        4.0, 8.0, 35.0, 0.25, 3.0)
    bus.publish(ToolProgressed("other", 1.0, 5.0, (("rps", 99.0),)))  # not a declared column
    ticked = recorder.tick()
    recorder.stop()
    assert ticked is not None
    assert ticked.values["locust_rps"] == 8.0
    assert ticked.values["locust_fail_ratio"] == 0.25
    assert "other_rps" not in ticked.values
    header = (tmp_path / "timeline.csv").read_text().splitlines()[0].split(",")
    assert header[-5:] == [c for c, _, _ in LOCUST.timeline_columns]

    state = LiveState(clock=lambda: 0.0)
    state.apply([p])
    assert state.reported_tools() == ("locust",)
    lines = " / ".join(t.plain for t in tool_lines("locust", state.tools["locust"], 60, 5))
    assert "users 4" in lines
    assert "req/s 8" in lines
    assert "35.0 ms" in lines
    assert "25.00%" in lines
    assert dict(tool_figure_pairs(p))["failures"] == "3"


def test_tool_progress_coalesces_per_tool() -> None:
    bus = Bus()
    sub = bus.subscribe()
    for i in range(3):
        bus.publish(ToolProgressed("a", float(i), 10.0))
        bus.publish(ToolProgressed("b", float(i), 10.0))
    bus.publish(SystemSampled(1, (), 1, 1, 1, 1, 1, 1))
    got = sub.drain()
    assert [(e.tool, e.elapsed_s) for e in got if isinstance(e, ToolProgressed)] == [("a", 2.0), ("b", 2.0)]


def test_plan_needs_the_locustfile(tmp_path: Path) -> None:
    profile = _settings(tmp_path, 'locustfile = "locustfile.py"\nrun_time = "30s"').profile("p")
    target = Target(None, None, None)
    plan = LOCUST.plan(Path("/bin/locust"), profile, tmp_path, tmp_path, target)
    assert plan.problem is None
    assert plan.planned_s == 30.0
    assert plan.warnings  # no host yet: said, not refused
    (tmp_path / "locustfile.py").unlink()
    assert "does not exist" in (LOCUST.plan(Path("/bin/locust"), profile, tmp_path, tmp_path,
                                            target).problem or "")


def test_show_rebuilds_the_table_from_the_summary(tmp_path: Path) -> None:
    """`show` judges an old run by the profile as it ran: the tool's table is kept as written in
    summary.json and read again by the tool."""
    import json

    from perfdash.analyze.summary import _profile_json, profile_from_json

    profile = _settings(tmp_path, 'locustfile = "locustfile.py"\nrun_time = "1m"\nusers = 7\n'
                                  "check_p95_response_time = 250").profile("p")
    stored = json.loads(json.dumps(_profile_json(profile)))
    assert stored["tool_tables"]["locust"]["users"] == 7
    again = profile_from_json(stored, "summary.json")
    options = again.tool_tables["locust"].options
    assert isinstance(options, LocustOptions)
    assert (options.users, options.run_time_s, options.check_p95_response_time) == (7, 60.0, 250.0)
    assert [t.name for t in tools_for(again)] == ["locust"]
    stored["tool_tables"] = {"locust": {"users": "many"}, "gone": {"x": 1}}  # another version's
    assert profile_from_json(stored, "summary.json").tool_tables == {}


def test_a_silent_locust_is_said_once(tmp_path: Path) -> None:
    bus = Bus()
    seen: list[Event] = []
    bus.listen(seen.append)
    clock = [0.0]
    tail = LocustHistoryTail(bus, tmp_path / "never.csv", 10.0, clock=lambda: clock[0])
    tail._start = 0.0  # started, without its thread
    clock[0] = 15.0
    tail.poll()
    assert seen == []
    clock[0] = 25.0
    tail.poll()
    tail.poll()
    problems = [e for e in seen if isinstance(e, ProblemDetected)]
    assert len(problems) == 1
    assert "no live progress from Locust after 25 s" in problems[0].what
