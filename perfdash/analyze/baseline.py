"""A run against a baseline: which earlier run to compare with (`--baseline DIR|last`), and the
comparison as one more check, which a profile can make fail the run.

Called by the orchestrator after the run's own summary is written, because the comparison reads
both runs' artifacts, this one's included.
"""

from __future__ import annotations

from pathlib import Path

from perfdash.analyze.checks import Check
from perfdash.analyze.compare import Comparison
from perfdash.artifacts import read_json
from perfdash.events import Status
from perfdash.settings import Profile


class BaselineError(ValueError):
    """The baseline cannot be found; the message says where perfdash looked."""


def resolve_baseline(spec: str, results_dir: Path, profile: str,
                     exclude: Path | None = None) -> Path:
    """`last` is the newest earlier finished run of the same profile; anything else is a path."""
    if spec != "last":
        path = Path(spec)
        if not (path / "summary.json").is_file():
            raise BaselineError(f"{path} holds no summary.json; pass a results/perf/<timestamp> "
                                "directory of a finished run, or --baseline last")
        return path
    candidates = sorted((p for p in results_dir.iterdir() if p.is_dir() and p != exclude),
                        reverse=True) if results_dir.is_dir() else []
    for run in candidates:
        summary, _ = read_json(run / "summary.json")
        if isinstance(summary, dict) and summary.get("profile") == profile and \
                summary.get("status") in ("pass", "fail"):
            return run
    raise BaselineError(f"no earlier finished run of profile {profile!r} in {results_dir}; "
                        "run once without --baseline first")


def regression_check(comparison: Comparison, profile: Profile, baseline: Path) -> Check:
    regressions = comparison.regressions
    detail = "; ".join(
        f"{d.label}: {d.pct:+.0f}%" if d.pct is not None else d.label for d in regressions[:5])
    status: Status = "pass"
    if regressions:
        status = "fail" if profile.fail_on_regression else "warn"
    return Check(
        "baseline.regressions", f"Regressions against {baseline.name}", status,
        len(regressions), f"none beyond {profile.regression_tolerance_pct:g}%",
        f"profile {profile.name} [baseline]" + (" fail_on_regression" if
                                                profile.fail_on_regression else ""),
        detail or "no figure got worse beyond the tolerance")
