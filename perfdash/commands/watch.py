"""`perfdash watch --env E`: the cockpit beside a suite perfdash did not start (CI, a teammate,
a plain `k6 run`): host, app log and database panes, any k6 run its REST API shows, and, when
you quit, what was watched written as an observed run directory that `show` and `compare` read.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from perfdash.commands import Common
from perfdash.commands.common import EXIT_COULD_NOT_RUN, EXIT_USAGE, add_refresh_flag, error


def register(sub: Any, common: Common) -> None:
    parser = sub.add_parser(
        "watch", help="watch host, app log, database and a hand-started k6 (no run of our own)",
        description="Watches an environment while a suite perfdash did not start runs: the "
                    "machine, the app log, the database's connections, and any k6 run visible "
                    "through its REST API. When you quit (q, Ctrl-C, or after --seconds), what "
                    "was watched is written as a run directory marked observed.")
    common(parser)
    parser.add_argument("--env", dest="environment", required=True,
                        help="environment from profiles.toml whose app log and database to watch")
    parser.add_argument("--k6-api", default="127.0.0.1:6565", metavar="HOST:PORT",
                        help="where k6 serves its REST API (k6 run --address; default "
                             "127.0.0.1:6565)")
    parser.add_argument("--headless", action="store_true", help="plain lines, no dashboard")
    parser.add_argument("--seconds", type=float, default=None,
                        help="stop by itself after this long (default: until you quit)")
    add_refresh_flag(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from perfdash.commands.common import console, load_settings_for
    from perfdash.console import HeadlessConsole, result_table
    from perfdash.events import Bus
    from perfdash.follow.k6spot import parse_address
    from perfdash.follow.observe import Observer
    from perfdash.settings import SettingsError

    loaded = load_settings_for(args)
    if loaded is None:
        return EXIT_USAGE
    settings, _env_file = loaded
    try:
        env = settings.environment(args.environment)
        parse_address(args.k6_api)
    except (SettingsError, ValueError) as exc:
        error(str(exc))
        return EXIT_USAGE
    if env.kind == "demo":
        error("the demo environment exists only while `perfdash demo` runs it: watch an "
              "external environment (--env local), or attach to the demo run")
        return EXIT_USAGE
    bus = Bus()
    observer = Observer(settings, env, bus, k6_api=args.k6_api)
    out = console()
    if not args.headless and sys.stdin.isatty() and sys.stdout.isatty():
        from perfdash.ui.app import make_app

        app = make_app(bus=bus, run=lambda: observer.run(args.seconds),
                       stop=observer.request_stop, refresh_s=args.refresh)
        app.ends_on_quit = True
        code = app.run()
        if observer.paths is not None:
            print(f"observed: {observer.paths.root}")
        return int(code if code is not None else EXIT_COULD_NOT_RUN)
    shown = HeadlessConsole(bus, out)
    shown.start()
    outcome = observer.run(args.seconds)
    shown.stop()
    out.print()
    out.print(result_table(outcome.summary))
    out.print(f"observed: {outcome.paths.root}")
    return outcome.exit_code
