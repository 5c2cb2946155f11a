"""The data steps around the load: seeding before it (recorded in the ledger, so cleanup knows what
perfdash owns) and the cleanup after it where the environment asks for it. Called by the
orchestrator; `perfdash cleanup` drives the same cleanup plan by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from perfdash.artifacts import RunPaths
from perfdash.data.cleanup import BACKEND, execute, plan_cleanup
from perfdash.data.ledger import LedgerError
from perfdash.data.seed import SeedError, seed, seeded_rows
from perfdash.run.preflight import PreflightResult
from perfdash.secret import Secret
from perfdash.settings import Environment


def seed_step(env: Environment, url: Secret | None, paths: RunPaths, project_dir: Path,
              log: Callable[[str], None]) -> PreflightResult:
    """Seed, then read the ledger back: the checklist's "test data seeded" item, measured."""
    if not (env.seed_sql or env.seed_command):
        return PreflightResult("test data seeded", "skip",
                               f"environment {env.name!r} names no seed step")
    if url is None:
        return PreflightResult("test data seeded", "fail", "no database URL to seed",
                               f"set {env.database_url_env} in .env.performance")
    try:
        seeded = seed(url, paths.run_id, env, cwd=project_dir, out_dir=paths.root)
        present = seeded_rows(url)
    except (SeedError, LedgerError) as exc:
        return PreflightResult("test data seeded", "fail", str(exc),
                               "fix the seed step named in profiles.toml")
    mine = ", ".join(f"{n} in {t}" for t, n in seeded.rows_by_table.items())
    log(f"seeded {mine or 'nothing'}")
    return PreflightResult(
        "test data seeded", "pass" if present else "fail",
        f"{mine or 'no rows'} ({seeded.elapsed_s:.1f} s); "
        f"{sum(present.values())} rows owned by perfdash in the database",
        "" if present else "the seed step created nothing: check it")


def cleanup_step(env: Environment, url: Secret | None, project_dir: Path,
                 log: Callable[[str], None], stop_backend: bool = True) -> list[str]:
    """Cleanup after a run, only where the environment asks for it (the setting is the
    confirmation); data on a protected environment is refused by the plan itself. Returns the
    failures, each one sentence. `stop_backend` False: the run started the backend and stops it
    itself (perfdash.run.backend_stop), so the stop command is not run twice."""
    if not env.cleanup_after_run or env.kind == "demo":
        return []
    try:
        plan = plan_cleanup(env, url, cwd=project_dir)
        for action in plan.actions:
            if not action.available:
                log(f"cleanup: {action.describe()}: skipped: {action.reason}")
        selected = plan.available() - (set() if stop_backend else {BACKEND})
        results = execute(plan, selected, confirmed=True,
                          progress=lambda name, msg: log(f"cleanup {name}: {msg}"))
    except Exception as exc:  # cleanup must never hide the verdict
        return [f"cleanup after the run failed: {exc}"]
    failures = []
    for res in results:
        log(f"cleanup {res.name}: {'ok' if res.ok else 'FAILED'}: {res.detail}")
        if not res.ok:
            failures.append(f"cleanup {res.name} failed: {res.detail}")
    return failures
