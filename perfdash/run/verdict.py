"""The verdict at the end of every run: summary.json (redacted like the events, since it is served
to attachers), the comparison with the baseline when the run asked for one, summary.md and
junit.xml, then RunFinished. Called by perfdash.run.finish once the cleanup is done, so the
summary holds every problem the run met, the cleanup's included.
"""

from __future__ import annotations

import traceback
from typing import Any

from perfdash.analyze.baseline import regression_check
from perfdash.analyze.checks import Check
from perfdash.analyze.compare import CompareError, compare_runs
from perfdash.analyze.compare_report import comparison_markdown
from perfdash.analyze.reports import write_reports
from perfdash.analyze.summary import build_summary
from perfdash.artifacts import ArtifactError, write_json_atomic, write_text_atomic
from perfdash.events import RunFinished, redact_value
from perfdash.run.run_context import RunContext, RunOutcome, RunState
from perfdash.secret import Redactor, scrub


def conclude(ctx: RunContext, st: RunState) -> RunOutcome:
    """Write the summary and the reports and publish the run's end: what the run returns."""
    paths, record, log = st.paths, st.record, st.log
    summary = write_summary(ctx, st)
    if ctx.baseline is not None and record.load_started and not record.interrupted:
        summary = compare_with_baseline(ctx, st, summary)
    try:
        write_reports(summary, paths.root)
    except OSError as exc:
        record.problem(f"cannot write summary.md/junit.xml: {exc.strerror}")
    failing = tuple((c["name"], c["status"], c["detail"]) for c in summary["checks"]
                    if c["status"] in ("fail", "not measured"))
    ctx.bus.publish(RunFinished(summary["status"], summary["exit_code"], str(paths.summary),
                                failing))
    ctx.phase("done", summary["status"])
    st.recorder.close()
    log(f"status {summary['status']} (exit {summary['exit_code']}); summary {paths.summary}")
    return RunOutcome(summary["status"], summary["exit_code"], paths, summary)


def write_summary(ctx: RunContext, st: RunState, extra: list[Check] | None = None) -> dict[str, Any]:
    summary = build_summary(st.paths, ctx.profile, ctx.env, st.record, extra)
    if ctx.env.kind == "external" and ctx.env.app_log:
        summary["artifacts"]["backend_log"] = {"path": str(ctx.env.app_log),
                                               "exists": ctx.env.app_log.exists()}
    if ctx.env.kind == "external" and len(ctx.env.followed_logs()) > 1:
        summary["artifacts"]["backend_logs"] = [
            {"path": str(log.path), "kind": log.kind, "exists": log.path.exists()}
            for log in ctx.env.followed_logs()]
    # The summary goes through the same redactor as the events: it is served to attachers,
    # and the configuration, the problems and the tools' last lines all hold text from outside.
    summary = dict(redact_value(summary, Redactor(ctx.secrets)))
    try:
        write_json_atomic(st.paths.summary, summary)
    except OSError as exc:
        raise ArtifactError(f"cannot write {st.paths.summary}: {exc.strerror}; "
                            "free disk space or fix permissions") from None
    return summary


def compare_with_baseline(ctx: RunContext, st: RunState, summary: dict[str, Any]) -> dict[str, Any]:
    """Compare with the baseline (which reads this run's summary), then add the verdict.

    The load has run by now, so nothing here may cost the run its reports or its RunFinished.
    A comparison that fails is a problem, and its check is "not measured": the run asked to be
    judged against its baseline, so it cannot pass without that judgement."""
    assert ctx.baseline is not None
    try:
        comparison = compare_runs(ctx.baseline.runs, st.paths.root,
                                  tolerance_pct=ctx.profile.regression_tolerance_pct)
        check = regression_check(comparison, ctx.profile, ctx.baseline)
    except CompareError as exc:
        return _baseline_not_measured(ctx, st, str(exc))
    except Exception as exc:  # a defect in the comparison must not take the run's reports with it
        st.log("the comparison with the baseline failed:\n" + traceback.format_exc())
        return _baseline_not_measured(
            ctx, st, f"the comparison failed ({type(exc).__name__}: {exc}); see "
                     f"{st.paths.perfdash_log.name} and run `perfdash compare` on the two directories")
    summary = write_summary(ctx, st, [check])
    summary["baseline"] = redact_value({"run_dir": str(ctx.baseline.newest),
                                        "runs": [str(r) for r in ctx.baseline.runs],
                                        **comparison.to_json()}, Redactor(ctx.secrets))
    write_json_atomic(st.paths.summary, summary)
    write_text_atomic(st.paths.comparison_md,
                      scrub(comparison_markdown(comparison), ctx.secrets))
    return summary


def _baseline_not_measured(ctx: RunContext, st: RunState, why: str) -> dict[str, Any]:
    assert ctx.baseline is not None
    st.record.problem(f"cannot compare with the baseline: {why}")
    check = Check.not_measured("baseline.regressions",
                               f"Regressions against {ctx.baseline.describe}",
                               f"cannot compare with the baseline: {why}",
                               source=f"profile {ctx.profile.name} [baseline]")
    return write_summary(ctx, st, [check])
