"""A run against a baseline: which earlier run(s) to compare with (`--baseline DIR|last|auto`), and
the comparison as one more check, which a profile can make fail the run.

`auto` is the runs of the same profile and environment since the last change point of their key
figures (`perfdash.analyze.history`), pooled: a baseline of several runs knows the run-to-run
spread that one run cannot show, and a change point marks where the old normal ended. Either
way the baseline is a `Baseline`: its runs, oldest first.

Called by the orchestrator after the run's own summary is written, because the comparison reads
both runs' artifacts, this one's included.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from perfdash.analyze.checks import Check
from perfdash.analyze.compare import Comparison
from perfdash.artifacts import RunPaths, SummaryError, load_summary
from perfdash.events import Status
from perfdash.settings import Profile

if TYPE_CHECKING:
    from perfdash.analyze.history import Group, History, RunEntry


class BaselineError(ValueError):
    """The baseline cannot be found; the message says where perfdash looked."""


AUTO_MAX_RUNS = 10  # the newest runs of the pool: enough to know the spread, still recent


@dataclass(frozen=True)
class Baseline:
    """The run or runs a new run is compared with, oldest first (never empty)."""

    runs: tuple[Path, ...]

    def __post_init__(self) -> None:
        if not self.runs:
            raise BaselineError("a baseline needs at least one run")

    @property
    def newest(self) -> Path:
        return self.runs[-1]

    @property
    def describe(self) -> str:
        """"20261125T101500Z", or "4 runs up to 20261125T101500Z" for a pool."""
        if len(self.runs) == 1:
            return self.newest.name
        return f"{len(self.runs)} runs up to {self.newest.name}"


def resolve_baseline(spec: str, results_dir: Path, profile: str,
                     exclude: Path | None = None, environment: str | None = None) -> Baseline:
    """`last` is the newest earlier finished run of the same profile, in the same environment when
    there is one (else in any: the comparison says the environments differ);
    `auto` the finished runs of the profile in one environment (the given one, else the newest
    run's) since their last change point, at most `AUTO_MAX_RUNS`, pooled; anything else is a
    path."""
    if spec == "auto":
        return _auto(results_dir, profile, environment, exclude)
    if spec != "last":
        path = Path(spec)
        if not (summary_path := RunPaths(path).summary).is_file():
            raise BaselineError(f"{path} holds no {summary_path.name}; pass a results/perf/<timestamp> "
                                "directory of a finished run, or --baseline last or auto")
        return Baseline((path,))
    candidates = sorted((p for p in results_dir.iterdir() if p.is_dir() and p != exclude),
                        reverse=True) if results_dir.is_dir() else []
    finished: list[tuple[Path, object]] = []
    for run in candidates:
        try:
            summary = load_summary(run)
        except SummaryError:
            continue
        if summary.profile == profile and summary.status in ("pass", "fail"):
            finished.append((run, summary.data.get("environment")))
    # the same environment first; else the profile's newest anywhere (the comparison then warns
    # that the environments differ) rather than no baseline at all
    same = [run for run, env in finished if environment is None or env == environment]
    if same or finished:
        return Baseline(((same or [run for run, _ in finished])[0],))
    raise BaselineError(f"no earlier finished run of profile {profile!r} in {results_dir}; "
                        "run once without --baseline first")


def auto_pool(runs: History, group: Group) -> list[RunEntry]:
    """The runs `--baseline auto` pools for one profile in one environment: those since their last
    change point, the newest AUTO_MAX_RUNS of them (what `history` announces, and what a run then
    uses)."""
    return runs.since_last_change(group)[-AUTO_MAX_RUNS:]


def _auto(results_dir: Path, profile: str, environment: str | None,
          exclude: Path | None) -> Baseline:
    from perfdash.analyze.history import history, list_runs

    runs = list_runs(results_dir, profile=profile, environment=environment, exclude=exclude)
    finished = [r for r in runs if r.finished]
    # without an environment, the newest run's: runs on another system are never one pool
    pool = auto_pool(history(runs), finished[-1].group) if finished else []
    if not pool:
        env = f" in environment {environment!r}" if environment else ""
        raise BaselineError(f"no earlier finished run of profile {profile!r}{env} in "
                            f"{results_dir}; run once without --baseline first")
    return Baseline(tuple(r.path for r in pool))


def regression_check(comparison: Comparison, profile: Profile, baseline: Baseline) -> Check:
    """The comparison as a check. It passes only when figures were judged and none regressed; a
    comparison that could judge nothing is "not measured", never a pass."""
    regressions = comparison.regressions
    undecided = comparison.undecided
    against = baseline.describe
    detail = "; ".join(f"{d.label}: {d.interval}" if d.interval else d.label
                       for d in regressions[:5])
    status: Status = "pass"
    if regressions:
        status = "fail" if profile.fail_on_regression else "warn"
    elif not comparison.judged:
        status = "not measured"
        detail = "no figure could be judged: " + (
            "; ".join(f"{d.label}: {d.note}" for d in undecided[:3]) or "nothing to compare")
    if not detail:
        detail = f"no clear regression among {len(comparison.judged)} figures judged"
    if undecided and status != "not measured":
        detail += f"; {len(undecided)} with too few windows to decide (see comparison.md)"
    return Check(
        "baseline.regressions", f"Regressions against {against}", status,
        len(regressions) if comparison.judged else None,
        f"none clear at {comparison.confidence:.0%} and beyond "
        f"{profile.regression_tolerance_pct:g}% / {comparison.min_effect_ms:g} ms",
        f"profile {profile.name} [baseline]" + (" fail_on_regression" if
                                                profile.fail_on_regression else ""),
        detail)
