"""The `perfdash` command: the top-level parser and the dispatch to a command's handler.

Each command lives in its own module under perfdash/commands/ (its flags and its handler), so this
one only knows the program's name, its help and how a run is interrupted. Kept free of heavy
imports so `perfdash --help` answers quickly; each command imports what it needs when it runs.
Exit codes: 0 pass, 1 thresholds breached, 2 usage or configuration error, 3 the run could not be
carried out, 130 interrupted.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from perfdash.commands.common import EXIT_INTERRUPTED, EXIT_USAGE, add_project_flags, error

DESCRIPTION = """\
The cockpit for a performance-test run: preflight, k6 and Artillery against your backend, live
system/log/database telemetry, and one verdict with every artifact under results/perf/<timestamp>/.
"""

EPILOG = """\
exit codes: 0 pass, 1 thresholds breached, 2 usage or configuration error,
            3 the run could not be carried out, 130 interrupted

examples:
  perfdash demo                                  the whole suite against the bundled demo backend
  perfdash run --profile load --env local        your backend (settings in .env.performance)
  perfdash run --profile smoke --env local --headless   same, plain output for CI
  perfdash show results/perf/20261125T101500Z    the verdict of an earlier run
  perfdash doctor                                every pre-run checklist item, each with a fix
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perfdash", description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version="perfdash 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from perfdash.commands import register_all

    register_all(sub, add_project_flags)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    from perfdash.run import signals  # the one signal policy (light: signal and os only)

    previous = signals.install()  # SIGINT, SIGTERM, SIGHUP: also over an inherited SIG_IGN
    try:
        handler = getattr(args, "handler", None)
        if handler is not None:  # every command sets one (perfdash/commands/)
            return int(handler(args))
    except (KeyboardInterrupt, signals.Interrupted):
        error("interrupted")
        return EXIT_INTERRUPTED
    finally:
        signals.restore(previous)
    parser.print_help()
    return EXIT_USAGE

