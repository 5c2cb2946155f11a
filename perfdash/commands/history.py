"""`perfdash history [--profile P] [--env E]`: the runs of the results directory over time.

Each run with its verdict and key figures, each named with its tool (k6 p95, Artillery p95, k6 and
Artillery req/s, k6 error rate, host CPU), a sparkline per figure over the runs of each profile and
environment, and the change points found in each series: a change point names the first run after
it. `--baseline auto` pools a profile's runs since the last of its own change points
(perfdash.analyze.baseline), so what this prints for one profile never holds another's runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from perfdash.commands import Common
from perfdash.commands.common import EXIT_USAGE, console, error, load_settings_for

if TYPE_CHECKING:
    from perfdash.analyze.history import History


def register(sub: Any, common: Common) -> None:
    parser = sub.add_parser(
        "history", help="runs over time: verdicts, sparklines and change points",
        description="Lists the runs in the results directory (oldest first) with their verdict "
                    "and key figures, each named with its tool — k6 p95 (the median of the run's "
                    "per-second p95), Artillery p95 (the median of its 10 s windows), k6 and "
                    "Artillery req/s, k6 error rate, host CPU — a sparkline per figure for each "
                    "profile and environment, and the change points of each series: where a "
                    "figure moved and stayed moved, found by binary "
                    "segmentation with a significance test (Welch's t-test between the runs "
                    "before and after). A change point names the first run after it.")
    common(parser)
    parser.add_argument("--profile", default=None, help="only runs of this profile")
    parser.add_argument("--env", dest="environment", default=None,
                        help="only runs in this environment")
    parser.add_argument("--max-pvalue", type=float, default=None, metavar="P",
                        help="how significant a change point must be (default 0.01)")
    parser.add_argument("--min-change", type=float, default=10.0, metavar="PCT",
                        help="smallest step that counts as a change, %% of the level before "
                             "(default 10)")
    parser.add_argument("--json", action="store_true", help="print the history as JSON")
    parser.set_defaults(handler=run)


def _results_dir(args: argparse.Namespace) -> Path | None:
    if args.results_dir is not None:
        return Path(args.results_dir).resolve()
    loaded = load_settings_for(args)
    return loaded[0].results_dir if loaded else None


def run(args: argparse.Namespace) -> int:
    from perfdash.analyze.changepoints import MAX_PVALUE
    from perfdash.analyze.history import history, list_runs

    results = _results_dir(args)
    if results is None:
        return EXIT_USAGE
    max_pvalue = MAX_PVALUE if args.max_pvalue is None else args.max_pvalue
    if not 0 < max_pvalue < 1:
        error(f"--max-pvalue {max_pvalue:g} is not a probability; pass e.g. 0.01")
        return EXIT_USAGE
    runs = list_runs(results, profile=args.profile, environment=args.environment)
    if not runs:
        which = ", ".join(f"{k} {v}" for k, v in (("profile", args.profile),
                                                    ("environment", args.environment)) if v)
        error(f"no runs{' of ' + which if which else ''} in {results}; run "
              "`perfdash run --profile P --env E` first, or pass --results-dir")
        return EXIT_USAGE
    found = history(runs, max_pvalue=max_pvalue, min_magnitude=args.min_change / 100)
    if args.json:
        print(json.dumps(to_json(found), indent=2))
    else:
        _print(found, results)
    return 0


def to_json(h: History) -> dict[str, Any]:
    from perfdash.analyze.baseline import auto_pool
    from perfdash.analyze.history import FIGURES

    return {
        "figures": [{"key": f.key, "label": f.label, "unit": f.unit} for f in FIGURES],
        "runs": [{"run_id": r.run_id, "path": str(r.path), "profile": r.profile,
                  "environment": r.environment, "status": r.status, "figures": r.values}
                 for r in h.runs],
        "change_points": {key: [{"first_run": h.runs[c.index].run_id, "index": c.index,
                                 "profile": h.runs[c.index].profile,
                                 "environment": h.runs[c.index].environment,
                                 "before": c.before, "after": c.after, "p_value": c.p_value}
                                for c in points] for key, points in h.changes.items()},
        # one pool per profile and environment, as `run --baseline auto` would build it
        "baseline_auto": [{"profile": g[0], "environment": g[1],
                           "runs": [r.run_id for r in auto_pool(h, g)]} for g in h.groups()],
    }


def _fmt(value: float | None, unit: str) -> str:
    from perfdash.analyze.judge import fmt_amount

    if value is None:
        return "—"
    if unit == "%":
        return f"{value:.1f}%"
    return fmt_amount(value, unit, sign=False).replace(" pp", "%")


def _print(h: History, results: Path) -> None:
    from rich.table import Table
    from rich.text import Text

    from perfdash.analyze.baseline import auto_pool
    from perfdash.analyze.history import FIGURES, sparkline

    out = console()
    out.print(f"{len(h.runs)} run(s) in {results}, oldest first")
    # a figure no run measured (Artillery's in a k6-only history) is left out, not shown empty
    shown = [f for f in FIGURES if any(f.key in r.values for r in h.runs)]
    figures = Table(title="key figures over the runs of each profile and environment",
                    title_justify="left")
    for name in ("profile", "env", "figure", "runs", "latest", "change points (first run after)"):
        figures.add_column(name)
    for group in h.groups():
        runs = [r for r in h.runs if r.group == group]
        for f in shown:
            series = [r.values.get(f.key) for r in runs]
            if all(v is None for v in series):
                continue
            latest = next((v for v in reversed(series) if v is not None), None)
            points = "; ".join(
                f"{h.runs[c.index].run_id}: {_fmt(c.before, f.unit)} → {_fmt(c.after, f.unit)} "
                f"({c.relative * 100:+.0f}%, p={c.p_value:.2g})" for c in h.changes.get(f.key, ())
                if h.runs[c.index].group == group)
            figures.add_row(group[0], group[1], f.label, sparkline(series), _fmt(latest, f.unit),
                            Text(points or "none"))
    out.print(figures)
    marks: dict[int, list[str]] = {}
    for f in FIGURES:
        for c in h.changes.get(f.key, ()):
            marks.setdefault(c.index, []).append(f"◆ {f.label} {c.relative * 100:+.0f}%")
    table = Table(title="runs", title_justify="left")
    for name in ("run", "profile", "env", "status", *(f.label for f in shown), "change point"):
        table.add_column(name)
    for i, r in enumerate(h.runs):
        style = {"fail": "red", "pass": ""}.get(r.status, "yellow")
        table.add_row(r.run_id, r.profile, r.environment, Text(r.status, style=style),
                      *(_fmt(r.values.get(f.key), f.unit) for f in shown),
                      Text(", ".join(marks.get(i, [])), style="bold magenta"))
    out.print(table)
    for group in h.groups():
        pool = auto_pool(h, group)
        if not pool:
            continue
        since = len(h.since_last_change(group))
        out.print(f"--baseline auto for {group[0]} in {group[1]} would pool {len(pool)} run(s): "
                  f"{pool[0].run_id} … {pool[-1].run_id}"
                  + (f" (the newest {len(pool)} of the {since} since the last change point)"
                     if since > len(pool) else ""))
