"""Cleanup after a performance test: remove what perfdash created, and nothing anyone else did.

This replaces the guide's three hand-run steps (delete test data, `npm run stop`, `docker-compose
down`). `perfdash cleanup`, the dashboard's cleanup dialog and the orchestrator (for environments with
`cleanup_after_run`) first call `plan_cleanup`, which only looks, so that the user sees every action
with its exact effect or the reason it cannot run; then `execute` carries out the chosen actions, and
only with `confirmed=True`.

Order matters and is fixed: seeded data first (the database may be one of the compose services),
then the backend, then `docker compose down`. Every failure comes back as an `ActionResult` with
ok=False and one sentence; nothing here raises except a missing confirmation.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from perfdash.data.cleanup_actions import (
    BACKEND,
    COMMAND_TIMEOUT_S,
    COMPOSE,
    SEEDED_DATA,
    ActionResult,
    CleanupAction,
    CleanupError,
    CleanupNotConfirmed,
    CleanupPlan,
    ComposeDown,
    RemoveSeededData,
    StopBackend,
    StoppableProcess,
    failure_message,
)
from perfdash.data.cleanup_rows import plan_seeded_data, remove_seeded_data
from perfdash.data.cleanup_services import (
    compose_down,
    compose_project,
    plan_backend,
    plan_compose,
    stop_backend,
)
from perfdash.secret import Secret
from perfdash.settings import Environment

__all__ = ["BACKEND", "COMPOSE", "SEEDED_DATA", "ActionResult", "CleanupAction", "CleanupError",
           "CleanupNotConfirmed", "CleanupPlan", "ComposeDown", "RemoveSeededData", "StopBackend",
           "StoppableProcess", "compose_project", "execute", "plan_cleanup"]


def plan_cleanup(env: Environment, url: Secret | None, *, backend: StoppableProcess | None = None,
                 cwd: Path | None = None, timeout_s: float = COMMAND_TIMEOUT_S,
                 include_unattributed: bool = False) -> CleanupPlan:
    """What cleanup would do in this environment, looking only: no row, process or container is touched.

    `url` is the database to clean (the environment's, or the demo cluster's); `backend` the process
    perfdash started, if any; `cwd` where the stop command runs (the project directory).

    Only rows the ledger attributes to `env` are planned for deletion: rows another environment
    seeded into the same database are never touched. Rows recorded before the ledger kept the
    environment (NULL) are listed and kept, unless `include_unattributed`; even then a row whose
    seed run (perfdash.seed_runs) names another environment is kept.
    """
    actions: list[CleanupAction] = []
    data = plan_seeded_data(env, url, include_unattributed)
    if data is not None:
        actions.append(data)
    stop = plan_backend(env, backend, env.working_dir or cwd or Path.cwd(), timeout_s, url)
    if stop is not None:
        actions.append(stop)
    if env.compose_file is not None:
        actions.append(plan_compose(env, env.compose_file, timeout_s))
    return CleanupPlan(env.name, tuple(actions))


def execute(plan: CleanupPlan, selected: set[str], *, confirmed: bool,
            progress: Callable[[str, str], None] | None = None) -> list[ActionResult]:
    """Carry out the selected actions of `plan`, in the plan's order, one result per action.

    Raises CleanupNotConfirmed unless `confirmed` is True: the caller must have shown
    `plan.describe()` and got a yes. `progress(action_name, text)` hears what is being done.
    """
    if not confirmed:
        raise CleanupNotConfirmed(
            "cleanup deletes data and stops services, so it needs a confirmation: show the plan and "
            "ask (perfdash cleanup asks, or takes --yes); nothing was removed."
        )
    say = progress or (lambda _name, _text: None)
    results = [ActionResult(name, False, f"there is no action {name!r} in this plan; choose from "
                            f"{', '.join(plan.names) or 'nothing'}")
               for name in sorted(selected - set(plan.names))]
    for action in plan.actions:
        if action.name not in selected:
            continue
        say(action.name, action.describe())
        try:
            if isinstance(action, RemoveSeededData):
                result = remove_seeded_data(action, say)
            elif isinstance(action, StopBackend):
                result = stop_backend(action)
            else:
                result = compose_down(action)
        except Exception as exc:  # a sentence, never a traceback, whatever went wrong
            secrets = ([action.url] if isinstance(action, RemoveSeededData) and action.url else
                       list(action.secrets) if isinstance(action, StopBackend) else [])
            result = ActionResult(action.name, False,
                                  f"{action.name} failed unexpectedly: {failure_message(exc, secrets)}")
        say(action.name, result.detail)
        results.append(result)
    return results
