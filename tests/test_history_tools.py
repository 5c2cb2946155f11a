"""`history` names each figure's tool and never mixes profiles (or environments) in a baseline.

Synthetic run directories as history reads them: a timeline with k6 columns, Artillery columns or
both, and a summary. Through the library, and through the real CLI for what a user reads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from perfdash.analyze.baseline import resolve_baseline
from perfdash.analyze.history import history, list_runs
from perfdash.timeline.columns import NAMES

from .conftest import ROOT
from .in_process import Finished, run_perfdash


def write_run(root: Path, minute: int, *, k6_p95: float | None = None,
              art_p95: float | None = None, profile: str = "smoke", env: str = "demo") -> Path:
    """A finished run of 30 seconds; Artillery's 10 s windows sit on every tenth row."""
    run_id = f"20261201T10{minute:02d}00Z"
    run = root / run_id
    run.mkdir(parents=True)
    rng = np.random.default_rng(minute)
    rows = [",".join(["t_s", *NAMES])]
    for t in range(30):
        cells = {"cpu_pct": f"{rng.normal(40, 2):.1f}"}
        if k6_p95 is not None:
            cells |= {"k6_rps": f"{rng.normal(20, 1):.1f}", "k6_error_rate": "0",
                      "k6_p95_ms": f"{rng.normal(k6_p95, k6_p95 * 0.05):.2f}"}
        if art_p95 is not None and t % 10 == 9:
            cells |= {"art_rps": f"{rng.normal(5, 0.2):.1f}",
                      "art_p95_ms": f"{rng.normal(art_p95, art_p95 * 0.05):.2f}"}
        rows.append(",".join([str(t), *(cells.get(name, "") for name in NAMES)]))
    (run / "timeline.csv").write_text("\n".join(rows) + "\n")
    (run / "summary.json").write_text(json.dumps({
        "schema_version": 1, "run_id": run_id, "status": "pass", "profile": profile,
        "environment": env, "duration_s": 30.0, "checks": []}))
    return run


def cli(*args: str) -> Finished:
    done = run_perfdash(["history", *args], cwd=ROOT, env={**os.environ, "COLUMNS": "250"})
    assert done.returncode == 0, done.stderr
    return done


def test_an_artillery_only_profile_shows_artillery_p95_by_name(tmp_path: Path) -> None:
    for m in range(4):
        write_run(tmp_path, m, art_p95=120.0)
    [run, *_] = list_runs(tmp_path)
    assert run.values["artillery_p95"] == pytest.approx(120.0, rel=0.1)
    assert "k6_p95" not in run.values  # never Artillery's number under k6's (or no tool's) name
    table = cli("--results-dir", str(tmp_path)).stdout
    assert "Artillery p95" in table
    assert "Artillery req/s" in table
    assert "k6 p95" not in table  # no column for a tool that did not run
    data = json.loads(cli("--results-dir", str(tmp_path), "--json").stdout)
    assert {f["key"]: f["label"] for f in data["figures"]}["artillery_p95"] == "Artillery p95"
    assert set(data["runs"][0]["figures"]) == {"artillery_p95", "artillery_rps", "cpu"}


def test_a_run_with_both_tools_has_both_p95_each_named(tmp_path: Path) -> None:
    for m in range(4):
        write_run(tmp_path, m, k6_p95=30.0, art_p95=200.0)
    runs = list_runs(tmp_path)
    assert runs[0].values["k6_p95"] == pytest.approx(30.0, rel=0.1)
    assert runs[0].values["artillery_p95"] == pytest.approx(200.0, rel=0.1)
    table = " ".join(cli("--results-dir", str(tmp_path)).stdout.split())
    assert "k6 p95" in table
    assert "Artillery p95" in table
    assert "k6 error rate" in table


def test_a_step_in_one_tool_is_a_change_of_that_tool_only(tmp_path: Path) -> None:
    """Artillery's p95 doubles after run 6 while k6's stays: the change point is Artillery's."""
    for m in range(12):
        write_run(tmp_path, m, k6_p95=30.0, art_p95=100.0 if m < 6 else 200.0)
    found = history(list_runs(tmp_path))
    [step] = found.changes["artillery_p95"]
    assert step.index == 6
    assert found.changes["k6_p95"] == ()
    table = " ".join(cli("--results-dir", str(tmp_path)).stdout.split())
    assert "◆ Artillery p95 +" in table


def test_the_auto_pool_of_one_profile_never_holds_another_profiles_runs(tmp_path: Path) -> None:
    """Two profiles' runs interleaved; `load` steps up halfway. `smoke` has no change point: its
    pool is its own newest runs, not cut by `load`'s change, and `load`'s pool is its runs after
    the step only."""
    smoke, load = [], []
    for m in range(24):
        if m % 2 == 0:
            smoke.append(write_run(tmp_path, m, k6_p95=30.0, profile="smoke").name)
        else:
            load.append(write_run(tmp_path, m, k6_p95=90.0 if m < 12 else 150.0,
                                  profile="load").name)
    found = history(list_runs(tmp_path))
    [step] = found.changes["k6_p95"]
    assert found.runs[step.index].profile == "load"
    data = json.loads(cli("--results-dir", str(tmp_path), "--json").stdout)
    pools = {(p["profile"], p["environment"]): p["runs"] for p in data["baseline_auto"]}
    assert pools[("smoke", "demo")] == smoke[-10:]
    assert pools[("load", "demo")] == load[6:]
    table = " ".join(cli("--results-dir", str(tmp_path)).stdout.split())
    assert f"--baseline auto for smoke in demo would pool 10 run(s): {smoke[2]} … {smoke[-1]} " \
           "(the newest 10 of the 12 since the last change point)" in table
    assert f"--baseline auto for load in demo would pool 6 run(s): {load[6]} … {load[-1]}" in table
    # and the pool a run really uses is the same
    assert [p.name for p in resolve_baseline("auto", tmp_path, "smoke", environment="demo").runs] \
        == smoke[-10:]


def test_a_baseline_stays_in_one_environment(tmp_path: Path) -> None:
    """The same profile on two systems: `last` and `auto` never take the other system's runs."""
    demo = [write_run(tmp_path, m, k6_p95=30.0, env="demo") for m in range(0, 6, 2)]
    staging = [write_run(tmp_path, m, k6_p95=80.0, env="staging") for m in range(1, 6, 2)]
    newest_staging, newest_demo = staging[-1], demo[-1]
    assert newest_staging.name > newest_demo.name
    assert resolve_baseline("last", tmp_path, "smoke", environment="demo").runs == (newest_demo,)
    # `last` in an environment with no run of its own: the profile's newest, not an error (compare
    # then says the environments differ)
    assert resolve_baseline("last", tmp_path, "smoke", environment="prod").runs == (newest_staging,)
    assert resolve_baseline("auto", tmp_path, "smoke", environment="demo").runs == tuple(demo)
    # no environment given: the newest run's environment, never both
    assert resolve_baseline("auto", tmp_path, "smoke").runs == tuple(staging)
