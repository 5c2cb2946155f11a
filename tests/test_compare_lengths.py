"""Runs of different lengths side by side: `perfdash compare` of a 20 s smoke run and a 90 s steady
run (demo runs kept in tests/data/compare), both ways, through the real entry point; and a real run
with `--baseline` on such a run, and on a baseline whose comparison fails, which must still end with
its summary.md, junit.xml and RunFinished.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import ROOT, DemoService
from .in_process import Finished, run_perfdash

# `python -m perfdash` from the checkout: the entry point of the code under test, wherever the
# installed console script points
PERFDASH = [sys.executable, "-m", "perfdash"]
DATA = ROOT / "tests" / "data" / "compare"
SMOKE, STEADY = DATA / "aa-base", DATA / "ab50-new"  # 20 and 99 windows on their timelines


def _windows(run: Path) -> int:
    return len((run / "timeline.csv").read_text().splitlines()) - 1


def _compare(base: Path, new: Path, *extra: str) -> Finished:
    return run_perfdash(["compare", str(base), str(new), *extra], cwd=ROOT)


@pytest.mark.parametrize("direction", ["short-long", "long-short"])
def test_compare_of_runs_of_different_lengths_judges_what_both_support(
        direction: str, tmp_path: Path) -> None:
    short, long = shutil.copytree(SMOKE, tmp_path / "short"), shutil.copytree(STEADY, tmp_path / "long")
    assert _windows(long) > 4 * _windows(short)
    base, new = (short, long) if direction == "short-long" else (long, short)
    out = _compare(base, new, "--json")
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    assert out.returncode in (0, 1), out.stderr[-3000:]  # no regression, or regressions: judged
    report = json.loads(out.stdout)
    verdicts = {d["verdict"] for d in report["deltas"]}
    assert "too few windows" in verdicts  # what the short run cannot support says so
    assert verdicts & {"no clear change", "regressed", "improved"}  # and the rest is judged
    notes = " ".join(str(d.get("note", "")) for d in report["deltas"])
    assert "independent blocks of" in notes
    table = _compare(base, new)
    assert table.returncode == out.returncode
    assert "too few windows to decide" in table.stdout


def _run_with_baseline(baseline: Path, demo: DemoService, tmp_path: Path) -> tuple[
        subprocess.CompletedProcess[str], Path]:
    env_file = tmp_path / ".env.performance"
    env_file.write_text(f"PERF_BASE_URL={demo.base_url}\n"
                        f"PERF_DATABASE_URL={demo.database_url.reveal()}\n"
                        f"PERF_API_TOKEN={demo.token.reveal()}\n")
    results = tmp_path / "results"
    out = subprocess.run([*PERFDASH, "run", "--profile", "smoke", "--env", "local", "--headless",
                          "--env-file", str(env_file), "--baseline", str(baseline),
                          "--results-dir", str(results)], cwd=ROOT, capture_output=True, text=True,
                         timeout=240, check=False)
    runs = [p for p in results.iterdir() if p.is_dir()] if results.is_dir() else []
    assert len(runs) == 1, out.stdout[-2000:] + out.stderr[-2000:]
    return out, runs[0]


def _finished(run_dir: Path) -> list[dict[str, object]]:
    records = [json.loads(x) for x in (run_dir / "events.ndjson").read_text().splitlines()]
    return [r for r in records if r["type"] == "RunFinished"]


@pytest.mark.e2e
def test_a_short_run_against_a_long_baseline_ends_with_its_reports(
        demo_service: DemoService, tmp_path: Path) -> None:
    baseline = shutil.copytree(STEADY, tmp_path / "baseline")
    out, run_dir = _run_with_baseline(baseline, demo_service, tmp_path)
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert out.returncode == summary["exit_code"], out.stdout[-3000:]
    assert (run_dir / "summary.md").is_file()
    assert (run_dir / "junit.xml").is_file()
    assert (run_dir / "comparison.md").is_file()
    assert len(_finished(run_dir)) == 1
    check = next(c for c in summary["checks"] if c["id"] == "baseline.regressions")
    assert check["status"] in ("pass", "warn", "not measured"), check
    assert "too few windows to decide" in (run_dir / "comparison.md").read_text()


@pytest.mark.e2e
def test_a_comparison_that_fails_is_a_problem_not_a_lost_run(
        demo_service: DemoService, tmp_path: Path) -> None:
    """A baseline whose summary.json has a field of the wrong type makes the comparison fail
    (today inside compare, as a TypeError of its reader): the run still writes every report and its
    RunFinished, and is not a pass without the judgement it asked for."""
    baseline = shutil.copytree(SMOKE, tmp_path / "baseline")
    summary_file = baseline / "summary.json"
    data = json.loads(summary_file.read_text())
    data["configuration"] = "not an object"
    summary_file.write_text(json.dumps(data))
    out, run_dir = _run_with_baseline(baseline, demo_service, tmp_path)
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert (run_dir / "summary.md").is_file()
    assert (run_dir / "junit.xml").is_file()
    finished = _finished(run_dir)
    assert len(finished) == 1
    assert finished[0]["status"] == summary["status"]
    check = next(c for c in summary["checks"] if c["id"] == "baseline.regressions")
    assert check["status"] == "not measured", check  # refused or failed, never judged "pass"
    assert "cannot compare with the baseline" in check["detail"]
    assert any("cannot compare with the baseline" in p["what"] for p in summary["problems"])
    assert summary["status"] == "incomplete"
    assert out.returncode == summary["exit_code"] == 3
    assert "cannot compare with the baseline" in (run_dir / "summary.md").read_text()
