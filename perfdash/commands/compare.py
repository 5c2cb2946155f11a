"""`perfdash compare BASE NEW`: what got better or worse between two finished runs, per check and
percentile, judged from both runs' windows (perfdash.analyze.compare) rather than two single numbers.
Exit 1 when something regressed, so CI can gate on it."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from perfdash.commands import Common
from perfdash.commands.common import EXIT_USAGE, console, error


def register(sub: Any, common: Common) -> None:
    # no common flags: both runs are directories, and the rules come from the new run's profile
    parser = sub.add_parser(
        "compare", help="what got better or worse between two runs",
        description="Per check and per percentile: both values, the delta and the % change, and a "
                    "verdict from what both runs measured window by window (a bootstrap interval "
                    "on the change of the median window, a rank test; a rate test for counts): "
                    "regressed or improved only when the change is statistically clear and at "
                    "least the minimum effect, otherwise 'no clear change' with its interval. "
                    "Exit 1 when something regressed.")
    parser.add_argument("base", type=Path, help="the earlier run (results/perf/<timestamp>)")
    parser.add_argument("new", type=Path, help="the run to judge against it")
    _rule_flags(parser)
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument("--markdown", action="store_true", help="print it as Markdown")
    parser.set_defaults(handler=run)


def _rule_flags(parser: argparse.ArgumentParser) -> None:
    """How sure and how big a change must be for `compare` to call it one."""
    parser.add_argument("--tolerance", "--min-effect-pct", type=float, default=10.0, metavar="PCT",
                        help="minimum effect: a change smaller than this %% of the base is no "
                             "change, however clear (default: 10)")
    parser.add_argument("--min-effect", type=float, default=None, metavar="MS",
                        help="minimum effect for latencies in ms (default: the new run's profile "
                             "[baseline] min_effect_ms, else 1)")
    parser.add_argument("--confidence", type=float, default=None, metavar="LEVEL",
                        help="how sure a verdict must be, e.g. 0.95 (default: the new run's "
                             "profile [baseline] confidence, else 0.95)")


def run(args: argparse.Namespace) -> int:
    from perfdash.analyze.compare import CompareError, compare_runs
    from perfdash.analyze.compare_report import comparison_markdown, comparison_table

    try:
        if args.confidence is not None and not 0.5 <= args.confidence < 1:
            raise CompareError(f"--confidence {args.confidence:g} is not a level; pass a number "
                               "between 0.5 and 1, e.g. 0.95.")
        # NaN would make every latency change "no clear change" forever, inf every change too small
        if not 0 <= args.tolerance < math.inf:
            raise CompareError(f"--tolerance {args.tolerance:g} is not a share of the base; pass a "
                               "percentage of 0 or more, e.g. 10.")
        if args.min_effect is not None and not 0 <= args.min_effect < math.inf:
            raise CompareError(f"--min-effect {args.min_effect:g} is not a latency; pass a number "
                               "of milliseconds of 0 or more, e.g. 2.")
        comparison = compare_runs(args.base, args.new, tolerance_pct=args.tolerance,
                                  min_effect_ms=args.min_effect, confidence=args.confidence)
    except CompareError as exc:
        error(str(exc))  # already one sentence with the fix
        return EXIT_USAGE
    for warning in comparison.warnings:
        print(f"perfdash: warning: {warning}", file=sys.stderr)
    if args.json:
        print(json.dumps(comparison.to_json(), indent=2))
    elif args.markdown:
        print(comparison_markdown(comparison))
    else:
        out = console()
        out.print(comparison_table(comparison))
        regressed, undecided = len(comparison.regressions), len(comparison.undecided)
        out.print(f"{regressed} regression(s) ({comparison.rule})" if regressed
                  else f"no clear regression ({comparison.rule})"
                  + (f"; {undecided} figure(s) with too few windows to decide" if undecided
                     else ""))
    return 1 if comparison.regressions else 0
