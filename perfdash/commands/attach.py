"""`perfdash attach [RUN_DIR | latest | http://HOST:PORT]`: follow a run another process carries out.

Read-only: the live screen (or, with --headless, the console's plain lines) catches up on what the
run recorded so far and follows it to its verdict; q or Ctrl-C detaches and the run goes on.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfdash.commands import Common
from perfdash.commands.common import EXIT_COULD_NOT_RUN, EXIT_INTERRUPTED, EXIT_USAGE, error

if TYPE_CHECKING:
    from perfdash.follow.follower import Follower, FollowOutcome
    from perfdash.follow.source import Source


def register(sub: Any, common: Common) -> None:
    parser = sub.add_parser(
        "attach", help="follow a run already going, here or served with run --serve (read-only)",
        description="Opens the live screen on a run another perfdash process is carrying out: "
                    "what it recorded so far, then what it records, then its result view. q "
                    "detaches and never stops the run. A run served with `perfdash run --serve "
                    "HOST:PORT` is followed over HTTP with the token it printed, in "
                    "PERFDASH_SERVE_TOKEN (the shell or .env.performance).")
    common(parser)
    parser.add_argument("target", nargs="?", default="latest",
                        metavar="RUN_DIR|latest|http://HOST:PORT",
                        help="a run directory, the newest running run (latest, the default), or "
                             "a served run's address")
    parser.add_argument("--headless", action="store_true",
                        help="plain lines instead of the dashboard (CI logs, a second terminal)")
    parser.set_defaults(handler=run)
    from perfdash.serve.runserve import add_serve_flag

    # The serving side of attach: `run --serve` and `demo --serve` (their parsers exist by now).
    for name in ("run", "demo"):
        if name in getattr(sub, "choices", {}):
            add_serve_flag(sub.choices[name])


def _results_dir(args: argparse.Namespace) -> Path:
    if args.results_dir is not None:
        return Path(args.results_dir).resolve()
    from perfdash.commands.common import find_project
    from perfdash.settings import ENV_FILE_NAME, SettingsError, load_settings

    project = (args.project or find_project(Path.cwd())).resolve()
    try:
        return load_settings(project, args.config, args.env_file or project / ENV_FILE_NAME
                             ).results_dir
    except SettingsError:
        return Path.cwd() / "results" / "perf"


def _env_file(args: argparse.Namespace) -> Path:
    from perfdash.commands.common import find_project
    from perfdash.settings import ENV_FILE_NAME

    return Path(args.env_file or (args.project or find_project(Path.cwd())) / ENV_FILE_NAME)


def _source(args: argparse.Namespace) -> Source | None:
    target = str(args.target)
    if target.startswith(("http://", "https://")):
        import os

        from perfdash.serve.client import HttpSource
        from perfdash.serve.token import client_token

        cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        host = target.split("://", 1)[1].strip("/").replace(":", "_").replace("/", "_")
        return HttpSource(target, client_token(_env_file(args)),
                          cache / "perfdash" / "attached" / host)
    from perfdash.follow.locate import NoRunError, resolve_run
    from perfdash.follow.source import LocalSource

    try:
        return LocalSource(resolve_run(target, _results_dir(args)))
    except NoRunError as exc:
        error(str(exc))
        return None


def run(args: argparse.Namespace) -> int:
    from perfdash.events import Bus
    from perfdash.follow.follower import HEADLESS_IGNORES, Follower

    source = _source(args)
    if source is None:
        return EXIT_USAGE
    if args.headless:
        return _headless(Follower(source, Bus(), ignore=HEADLESS_IGNORES), source)
    import sys

    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        from perfdash.commands.common import console

        console().print("[dim]no terminal: using the headless output[/dim]")
        return _headless(Follower(source, Bus(), ignore=HEADLESS_IGNORES), source)
    return _dashboard(source)


def _dashboard(source: Source) -> int:
    from perfdash.events import Bus
    from perfdash.follow.follower import Follower
    from perfdash.ui.app import make_app

    made: list[Follower] = []

    def follower(bus: Bus) -> Follower:
        made.append(Follower(source, bus))
        return made[0]

    app = make_app(attach=follower)
    app.run()
    if app.detached or not made:
        print("detached; the run goes on")
        return 0
    return _conclude(made[0].outcome, source, print_result=False)


def _headless(follower: Follower, source: Source) -> int:
    from perfdash.commands.common import console
    from perfdash.console import HeadlessConsole
    from perfdash.run.signals import Interrupted

    out = console()
    shown = HeadlessConsole(follower.bus, out)
    shown.start()
    try:
        outcome = follower.run()
    except (KeyboardInterrupt, Interrupted):
        follower.stop()
        shown.stop()
        out.print("detached; the run goes on")
        return EXIT_INTERRUPTED
    shown.stop()
    return _conclude(outcome, source, print_result=True)


def _conclude(outcome: FollowOutcome | None, source: Source, *, print_result: bool) -> int:
    """The run's verdict when it finished (its exit code); one sentence and 3 when it did not
    (2 when the server refused this attacher: a token to fix, not a run that failed)."""
    from perfdash.commands.common import console

    refused = getattr(source, "refused", None)
    if isinstance(refused, str):
        error(refused)
        return EXIT_USAGE
    if outcome is None:
        return EXIT_COULD_NOT_RUN
    if outcome.how == "detached":
        print(outcome.message)
        return 0
    if outcome.how == "stopped":
        error(outcome.message)
        return EXIT_COULD_NOT_RUN
    out = console()
    if print_result and outcome.summary_path:
        from perfdash.artifacts import read_json
        from perfdash.console import result_table

        summary, problem = read_json(Path(outcome.summary_path))
        if isinstance(summary, dict):
            out.print()
            out.print(result_table(summary))
        elif problem:
            out.print(f"[yellow]{problem}[/yellow]")
    if outcome.summary_path:
        print(f"results: {Path(outcome.summary_path).parent}")
    return int(outcome.exit_code if outcome.exit_code is not None else EXIT_COULD_NOT_RUN)
