"""Bringing up what a run measures and taking down what the run itself started: the demo stack
(PostgreSQL and the demo backend) for a demo environment, the environment's start_command for an
external backend that does not answer yet, and that backend's stop at the end.

Called by perfdash.run.orchestrator before the preflight and by perfdash.run.finish after the
cleanup; a backend that cannot start ends the run with the reason, never with a traceback.
"""

from __future__ import annotations

import traceback

from perfdash.run.run_context import RunContext, RunState
from perfdash.tools.base import Target


def start_demo(ctx: RunContext, st: RunState) -> bool:
    from perfdash.demo.stack import DemoStack

    ctx.phase("stack", "starting PostgreSQL and the demo backend")
    st.stack = DemoStack(ctx.supervisor, st.paths.app_log, st.paths.root, st.log)
    ctx.secrets.append(st.stack.token)
    try:
        st.stack.start()
    except Exception as exc:  # the demo could not come up: say why, keep the artifacts
        st.record.could_not_run = True
        st.record.problem(f"the demo stack could not start: {exc}",
                          "run `perfdash doctor` to see what is missing")
        return False
    assert st.stack.database_url is not None
    ctx.secrets.append(st.stack.database_url)
    st.target = Target(st.stack.base_url, st.stack.database_url, st.stack.token)
    return True


def start_backend(ctx: RunContext, st: RunState) -> bool:
    """The environment's start_command when its backend does not answer yet; what it starts
    is kept in `st.backend` before it is waited for, so the finish stops it either way."""
    from perfdash.run.backend_start import (
        BackendStartError,
        start_backend_if_down,
        wait_until_healthy,
    )

    if not ctx.env.start_command or not st.target.base_url:
        return True
    ctx.phase("stack", "starting the backend")
    try:
        st.backend = start_backend_if_down(ctx.env, st.target.base_url, ctx.supervisor,
                                           st.paths.root, st.log)
        if st.backend is not None:
            wait_until_healthy(st.backend, st.log)
    except BackendStartError as exc:
        st.record.could_not_run = True
        st.record.problem(f"the backend could not start: {exc}",
                          f"fix start_command of [environments.{ctx.env.name}]")
        return False
    return True


def stop_backend(st: RunState) -> None:
    """Stop the backend this run started, if it did; what stays up is one of its problems."""
    from perfdash.run.backend_stop import stop_started_backend

    if st.backend is None:
        return
    try:
        for problem in stop_started_backend(st.backend, st.log):
            st.record.problem(problem.what, problem.fix)
    except Exception as exc:  # stopping must never cost the run its summary
        st.log("stopping the backend failed:\n" + traceback.format_exc())
        st.record.problem(f"the backend perfdash started could not be stopped: "
                          f"{type(exc).__name__}: {exc}",
                          f"see {st.paths.perfdash_log.name}; stop it yourself")
