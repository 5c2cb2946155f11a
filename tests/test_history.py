"""Run history and `--baseline auto`: a synthetic sequence of run directories with one step change in
the k6 p95 (runs 0-5 around 30 ms, runs 6-11 around 45 ms), through the library and the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from perfdash.analyze.baseline import BaselineError, resolve_baseline
from perfdash.analyze.changepoints import change_points
from perfdash.analyze.compare import compare_runs
from perfdash.analyze.history import history, list_runs, sparkline
from perfdash.timeline.columns import NAMES

from .conftest import ROOT
from .in_process import run_perfdash

STEP_AT = 6


def make_run(root: Path, i: int, p95: float, *, profile: str = "smoke", env: str = "demo",
             status: str = "pass", seed: int = 0) -> Path:
    """A run directory as compare and history read it: summary.json and a 30-second timeline."""
    run_id = f"20261130T{10 + i:02d}0000Z"
    run = root / run_id
    run.mkdir(parents=True)
    rng = np.random.default_rng(seed * 100 + i)
    windows = rng.normal(p95, p95 * 0.08, 30)
    rows = [",".join(["t_s", *NAMES])]
    for t, w in enumerate(windows):
        cells = {"k6_vus": "3", "k6_rps": f"{rng.normal(20, 1):.1f}", "k6_p50_ms": "3.0",
                 "k6_p95_ms": f"{w:.2f}", "k6_p99_ms": f"{w * 1.3:.2f}", "k6_error_rate": "0",
                 "cpu_pct": f"{rng.normal(40, 3):.1f}", "mem_pct": "4.0"}
        rows.append(",".join([str(t), *(cells.get(name, "") for name in NAMES)]))
    (run / "timeline.csv").write_text("\n".join(rows) + "\n")
    summary = {"schema_version": 1, "run_id": run_id, "status": status, "profile": profile,
               "environment": env, "duration_s": 30.0,
               "checks": [{"id": "k6.http_req_duration.p(95)", "name": "k6 http_req_duration p(95)",
                           "status": "pass", "value": float(np.percentile(windows, 95)),
                           "threshold": "p(95)<500", "source": "profile", "detail": "",
                           "unit": "ms"},
                          {"id": "app_log.errors", "name": "Backend log errors", "status": "pass",
                           "value": 0, "threshold": "== 0", "source": "default", "detail": "",
                           "unit": ""}]}
    (run / "summary.json").write_text(json.dumps(summary))
    return run


@pytest.fixture
def results(tmp_path: Path) -> Path:
    root = tmp_path / "results"
    for i in range(12):
        make_run(root, i, 30.0 if i < STEP_AT else 45.0)
    # runs of another profile and environment, and an interrupted one, in the same directory
    make_run(root, 20, 90.0, profile="load")
    make_run(root, 21, 90.0, env="staging")
    make_run(root, 22, 200.0, status="interrupted")
    return root


def test_one_step_is_found_at_the_first_run_after_it(results: Path) -> None:
    runs = list_runs(results, profile="smoke", environment="demo")
    assert len(runs) == 13  # the interrupted run is listed, without figures
    found = history(runs)
    [step] = found.changes["k6_p95"]
    assert step.index == STEP_AT
    assert runs[step.index].run_id == "20261130T160000Z"
    assert step.before == pytest.approx(30.0, rel=0.05)
    assert step.after == pytest.approx(45.0, rel=0.05)
    assert step.p_value < 0.01
    assert found.changes["k6_rps"] == ()  # nothing moved there
    assert found.changes["cpu"] == ()
    assert found.changes["artillery_p95"] == ()  # no Artillery in these runs
    assert runs[-1].values == {}  # interrupted: no figures


def test_no_change_points_in_a_steady_series() -> None:
    rng = np.random.default_rng(5)
    assert change_points(list(rng.normal(30, 1.5, 15))) == []
    assert change_points([30.0] * 10) == []
    assert change_points([30.0, 40.0, 30.0]) == []  # too short to say


def test_baseline_auto_pools_the_runs_since_the_last_change(results: Path) -> None:
    base = resolve_baseline("auto", results, "smoke", environment="demo")
    assert [p.name for p in base.runs] == [f"20261130T{10 + i:02d}0000Z" for i in range(STEP_AT, 12)]
    assert base.newest.name == "20261130T210000Z"  # the newest of them names the baseline
    assert base.describe == f"{len(base.runs)} runs up to 20261130T210000Z"
    # the run being judged is never its own baseline
    newest = results / "20261130T210000Z"
    again = resolve_baseline("auto", results, "smoke", exclude=newest, environment="demo")
    assert newest not in again.runs


def test_baseline_auto_without_a_change_point_pools_the_newest_runs(tmp_path: Path) -> None:
    for i in range(4):
        make_run(tmp_path, i, 30.0)
    base = resolve_baseline("auto", tmp_path, "smoke")
    assert len(base.runs) == 4
    with pytest.raises(BaselineError, match="no earlier finished run of profile 'load'"):
        resolve_baseline("auto", tmp_path, "load")


def test_a_pooled_baseline_judges_a_new_run(results: Path, tmp_path: Path) -> None:
    base = resolve_baseline("auto", results, "smoke", environment="demo")
    same = make_run(tmp_path, 30, 45.0, seed=9)
    slower = make_run(tmp_path, 31, 70.0, seed=9)
    key = "check:k6.http_req_duration.p(95)"
    calm = compare_runs(base.runs, same)
    assert calm.regressions == ()
    assert len(calm.base_runs) == 12 - STEP_AT
    assert calm.to_json()["base_runs"] == list(calm.base_runs)
    worse = {d.key: d for d in compare_runs(base.runs, slower).deltas}[key]
    assert worse.verdict == "regressed"
    assert worse.samples == (30 * (12 - STEP_AT), 30)
    assert worse.low is not None
    assert worse.high is not None
    assert worse.low <= 25 <= worse.high


def test_history_through_the_cli(results: Path) -> None:
    out = run_perfdash(["history", "--results-dir", str(results), "--profile", "smoke",
                        "--env", "demo", "--json"], cwd=ROOT)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert len(data["runs"]) == 13
    [step] = data["change_points"]["k6_p95"]
    assert step["first_run"] == "20261130T160000Z"
    [pool] = data["baseline_auto"]
    assert (pool["profile"], pool["environment"]) == ("smoke", "demo")
    assert pool["runs"][0] == "20261130T160000Z"
    table = run_perfdash(["history", "--results-dir", str(results)], cwd=ROOT,
                         env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert table.returncode == 0, table.stderr
    assert "20261130T160000Z" in table.stdout
    assert "◆ k6 p95 +" in table.stdout
    assert "interrupted" in table.stdout
    empty = run_perfdash(["history", "--results-dir", str(results / "nope")], cwd=ROOT)
    assert empty.returncode == 2
    assert "no runs in" in empty.stderr


def test_sparkline_spans_the_series() -> None:
    assert sparkline([1.0, 2.0, None, 3.0]) == "▁▅ █"
    assert sparkline([5.0, 5.0]) == "▁▁"


def test_a_pooled_baseline_knows_how_much_whole_runs_differ(tmp_path: Path) -> None:
    """Runs whose levels differ from run to run (30, 45, 60 ms): a new run at 55 ms differs clearly
    from their pooled windows, but not from what a run of this code can measure: no clear change.
    At 90 ms it is beyond every one of them: regressed."""
    pool = [make_run(tmp_path / "base", i, level) for i, level in enumerate((30.0, 45.0, 60.0))]
    base = resolve_baseline("auto", tmp_path / "base", "smoke")
    assert list(base.runs) == pool
    key = "check:k6.http_req_duration.p(95)"
    within = {d.key: d for d in compare_runs(base.runs, make_run(tmp_path, 40, 55.0)).deltas}[key]
    assert within.verdict == "no clear change"
    assert "within the spread of the 3 baseline runs" in within.note
    beyond = {d.key: d for d in compare_runs(base.runs, make_run(tmp_path, 41, 90.0)).deltas}[key]
    assert beyond.verdict == "regressed"
