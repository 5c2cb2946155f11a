"""How every run ends, whatever ended it: the collectors stopped, the database report once the
load is over, then the finish proper: the environment's cleanup, the backend or demo stack this
run started stopped, and the verdict. Called by perfdash.run.orchestrator from its `finally`, so
a crash, Ctrl-C or SIGTERM still leaves a cleaned-up environment and a summary.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from perfdash.run.backend_lifecycle import stop_backend
from perfdash.run.datasteps import cleanup_step
from perfdash.run.run_context import RunContext, RunOutcome, RunState
from perfdash.run.verdict import conclude
from perfdash.session import database as db_stats


def stop_collectors(st: RunState) -> None:
    st.session.stop(st.paths.root, st.record, st.log)


def query_analysis(ctx: RunContext, st: RunState) -> None:
    if st.before is None or st.target.database_url is None:
        return
    # Table counters reach the statistics views when a connection flushes them: at most once a
    # second while busy, within 10 s once idle, at once on close. The demo backend is ours and
    # done by now, so closing its pool makes the counts exact; a user's backend keeps its pool,
    # and the last second of its load may be missing from the sequential-scan deltas.
    if st.stack is not None and st.stack.backend is not None:
        st.stack.stop_backend()
    time.sleep(1.0)
    db_stats.write_query_analysis(st.paths, st.target.database_url, st.before, ctx.env,
                                  st.record, st.log, slow_ms=ctx.profile.slow_query_ms)


def finish(ctx: RunContext, st: RunState) -> RunOutcome:
    record, log = st.record, st.log
    stop_collectors(st)
    ctx.phase("cleanup")
    if record.load_started and not ctx.skip_cleanup:
        for problem in cleanup_step(ctx.env, st.target.database_url,
                                    ctx.settings.project_dir, log,
                                    stop_backend=st.backend is None):
            record.problem(problem, f"run `perfdash cleanup --env {ctx.env.name}`")
    stop_backend(st)
    if st.stack is not None:
        try:
            st.stack.stop()
        except Exception as exc:
            record.problem(f"the demo stack did not stop cleanly: {exc}")
    record.ended_at = datetime.now(UTC)
    return conclude(ctx, st)
