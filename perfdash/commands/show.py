"""`perfdash show RUN_DIR`: the verdict of an earlier run, from its results directory alone.

On a terminal it opens the result view (or, with --replay, the live screen played back from the
run's events.ndjson); --headless and --json print instead. Either way the verdict is computed again
from the run's artifacts, so a newer perfdash judges an older run by today's rules.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfdash.commands import Common
from perfdash.commands.common import (
    EXIT_COULD_NOT_RUN,
    EXIT_USAGE,
    add_refresh_flag,
    console,
    error,
    step_summary,
)

if TYPE_CHECKING:
    from perfdash.secret import Secret


def register(sub: Any, common: Common) -> None:
    # no common flags: the run directory holds everything `show` reads
    parser = sub.add_parser("show", help="print the verdict of an earlier run")
    parser.add_argument("run_dir", type=Path, help="a results/perf/<timestamp> directory")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--headless", action="store_true",
                        help="print the verdict instead of opening the result view")
    parser.add_argument("--replay", action="store_true",
                        help="replay the live screen from the run's events.ndjson, then its result")
    parser.add_argument("--speed", type=float, default=1.0,
                        help="replay speed factor (default 1)")
    add_refresh_flag(parser)  # the live screen of --replay
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from perfdash.analyze.summary import reanalyse
    from perfdash.artifacts import RunPaths
    from perfdash.console import result_table

    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    paths = RunPaths(args.run_dir)
    if args.replay and not paths.events.is_file():
        error(f"{args.run_dir} has no {paths.events.name} to replay")
        return EXIT_USAGE
    if (args.replay or not args.headless) and not args.json and interactive:
        return _show_screen(args)
    summary, problem = reanalyse(args.run_dir)
    if summary is None:
        error(f"{args.run_dir}: {problem}; pass a results/perf/<timestamp> directory of a "
              "finished run")
        return EXIT_USAGE
    if problem and not _has_verdict(summary):
        # nothing to analyse again and no verdict stored: an "overall status: ?" would be a guess
        error(f"{paths.summary} is incomplete: it holds no verdict and not what "
              "re-analysis needs (the configuration, start and end); run the suite again.")
        return EXIT_COULD_NOT_RUN
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        out = console()
        if problem:
            out.print(f"[yellow]{problem}[/yellow]")
        out.print(result_table(summary))
    step_summary(summary, args.run_dir, lambda: _known_secrets(summary))
    return int(summary.get("exit_code", EXIT_COULD_NOT_RUN))


def _known_secrets(summary: dict[str, Any]) -> list[Secret]:
    """The secrets `show` can know of: those of the run's environment as this directory's settings
    and environment variables give them (in CI, the same ones the run had). Without readable
    settings there are none by value, and URL passwords still go by pattern."""
    from perfdash.commands.common import find_project
    from perfdash.settings import SettingsError, load_settings

    try:
        settings = load_settings(find_project(Path.cwd()))
        return settings.environment(str(summary.get("environment"))).secrets()
    except (SettingsError, OSError):
        return []


def _has_verdict(summary: dict[str, Any]) -> bool:
    """Whether a stored summary says how its run ended, in a form `show` can print."""
    code = summary.get("exit_code")
    return summary.get("status") in ("pass", "fail", "incomplete", "interrupted") and \
        isinstance(code, int) and not isinstance(code, bool)


def _show_screen(args: argparse.Namespace) -> int:
    """The result view opens on the stored summary at once and computes the verdict again from
    the artifacts behind it (a day-long soak takes seconds). The exit code is the verdict the
    screen showed last: the fresh one once computed, else the stored one (quitting never waits;
    `show --headless` always computes it)."""
    from perfdash.artifacts import SummaryError, load_summary
    from perfdash.ui.app import make_app

    try:
        stored = load_summary(args.run_dir).data
    except SummaryError as exc:
        error(f"{args.run_dir}: {exc.reason}; pass a results/perf/<timestamp> directory of a finished run")
        return EXIT_USAGE
    app = (make_app(replay=args.run_dir, replay_speed=args.speed, refresh_s=args.refresh)
           if args.replay
           else make_app(summary_dir=args.run_dir, reanalyse=True))
    app.run()
    shown = app.fresh_summary or stored
    return int(shown.get("exit_code", EXIT_COULD_NOT_RUN))
