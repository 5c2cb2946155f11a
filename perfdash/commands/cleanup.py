"""`perfdash cleanup --env E` (or `--stale`): undo what runs left behind in an environment.

Lists exactly what will be removed (the rows perfdash seeded, the backend's stop command, the compose
project) and asks first: nothing happens without a yes, or --yes in a script. `--stale` stops the
demo PostgreSQL clusters of perfdash processes killed outright.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from perfdash.commands import Common
from perfdash.commands.common import EXIT_COULD_NOT_RUN, EXIT_USAGE, error, load_settings_for


def register(sub: Any, common: Common) -> None:
    parser = sub.add_parser(
        "cleanup", help="remove seeded data, stop the backend, compose down (asks first)",
        description="Lists exactly what will be removed (rows per table that perfdash seeded, the "
                    "backend's stop command, the compose project) and asks before doing it. Data "
                    "on a protected environment is never removed.")
    common(parser)
    parser.add_argument("--env", dest="environment", default=None,
                        help="environment to clean (required unless --stale)")
    parser.add_argument("--stale", action="store_true",
                        help="only stop and remove the demo PostgreSQL clusters of perfdash "
                             "processes that are gone (killed outright); a running one's is kept")
    parser.add_argument("--yes", action="store_true", help="do not ask (for scripts)")
    parser.add_argument("--only", action="append", choices=["seeded-data", "backend", "compose"],
                        help="restrict to these actions (repeatable)")
    parser.add_argument("--include-unattributed", action="store_true",
                        help="also delete seeded rows whose environment the ledger does not know "
                             "(recorded by an older perfdash), unless their seed run names "
                             "another environment")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from perfdash.data.cleanup import CleanupNotConfirmed, execute, plan_cleanup
    from perfdash.settings import SettingsError

    if args.stale:
        from perfdash.demo.stale import cleanup_stale, marker_dir, read_markers

        if not cleanup_stale(lambda line: print(f"removed: {line}")):
            print(f"nothing stale: no cluster of a dead perfdash in {marker_dir()}")
        for kept in read_markers():
            print(f"kept: {kept.cluster_dir} (perfdash pid {kept.owner_pid} is still running)")
        return 0
    if args.environment is None:
        error("cleanup needs --env ENV (or --stale); e.g. perfdash cleanup --env local")
        return EXIT_USAGE
    loaded = load_settings_for(args)
    if loaded is None:
        return EXIT_USAGE
    settings, _env_file = loaded
    try:
        env = settings.environment(args.environment)
    except SettingsError as exc:
        error(str(exc))
        return EXIT_USAGE
    if env.kind == "demo":
        print("nothing to clean: the demo environment's database, data and backend exist only "
              "while a run lasts and are removed when it ends")
        return 0
    plan = plan_cleanup(env, env.database_url, cwd=settings.project_dir,
                        include_unattributed=args.include_unattributed)
    wanted = set(args.only) if args.only else set(plan.names)
    print(f"cleanup of environment {env.name!r}:")
    for action in plan.actions:
        if action.name not in wanted:
            continue
        mark = "will" if action.available else "cannot"
        print(f"  [{action.name}] {mark}: {action.describe()}"
              + ("" if action.available else f" ({action.reason})"))
    selected = plan.available() & wanted
    if not selected:
        print("nothing to do")
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            error("nothing was removed: no terminal to ask for confirmation; pass --yes")
            return 1
        try:
            answer = input(f"proceed with {', '.join(sorted(selected))}? [y/N] ").strip().lower()
        except EOFError:  # Ctrl-D answers no
            answer = ""
            print()
        if answer not in ("y", "yes"):
            print("nothing was removed")
            return 1
    try:
        results = execute(plan, selected, confirmed=True,
                          progress=lambda name, msg: print(f"  {name}: {msg}"))
    except CleanupNotConfirmed as exc:
        error(str(exc))
        return 1
    for res in results:
        print(f"[{'ok  ' if res.ok else 'FAIL'}] {res.name}: {res.detail}")
    return 0 if all(r.ok for r in results) else EXIT_COULD_NOT_RUN

