"""`perfdash demo`: a profile (smoke by default) against the bundled demo backend on a throwaway
PostgreSQL, from any directory. The same run as `perfdash run` (perfdash.commands.run carries it
out), with the environment fixed to the demo and everything it started stopped at the end.
"""

from __future__ import annotations

from typing import Any

from perfdash.commands import Common
from perfdash.commands.common import add_refresh_flag
from perfdash.commands.run import run
from perfdash.serve.runserve import add_serve_flag


def register(sub: Any, common: Common) -> None:
    parser = sub.add_parser(
        "demo", help="run a profile against the bundled demo backend on a throwaway PostgreSQL",
        description="Starts PostgreSQL and the demo backend, runs the profile (smoke by default) "
                    "in the live dashboard (or headless), stops everything.")
    common(parser)
    parser.add_argument("--profile", default="smoke", help="profile to run (default: smoke)")
    parser.add_argument("--headless", action="store_true", help="no dashboard")
    parser.add_argument("--verbose", action="store_true", help="print detailed progress logs")
    parser.add_argument("--baseline", metavar="DIR|last|auto", default=None,
                        help="compare with an earlier run (a results directory, `last`, or `auto`: "
                             "the runs since the last change point, pooled)")
    add_refresh_flag(parser)
    add_serve_flag(parser)
    parser.set_defaults(handler=run)
