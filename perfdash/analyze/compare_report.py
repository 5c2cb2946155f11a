"""A comparison for people: the table `perfdash compare` prints and the `comparison.md` a run with
a baseline writes, both from one `Comparison` (`perfdash.analyze.compare`)."""

from __future__ import annotations

from rich.console import JustifyMethod
from rich.table import Table
from rich.text import Text

from perfdash.analyze.checks import fmt_value
from perfdash.analyze.compare import Comparison, MetricDelta, Verdict
from perfdash.analyze.judge import fmt_amount


def fmt_figure(value: float | None, unit: str) -> str:
    if value is not None and unit == "/s":
        return f"{value:.1f}/s"
    return fmt_value(value, unit)


def fmt_change(d: MetricDelta) -> tuple[str, str]:
    """(absolute change, % change) of the runs' own figures: `+12.3 ms`, `+0.50 pp`, `+24.0%`."""
    if d.delta is None:
        return "—", "—"
    change = "0" if d.delta == 0 else fmt_amount(d.delta, d.unit)
    return change, "—" if d.pct is None else f"{d.pct:+.1f}%"


_STYLES: dict[Verdict, str] = {"regressed": "bold red", "improved": "green", "no clear change": "",
                               "too few windows": "yellow", "not comparable": "yellow",
                               "added": "cyan", "removed": "cyan"}
_SHOWN: dict[Verdict, str] = {"too few windows": "too few windows to decide"}


def comparison_table(c: Comparison) -> Table:
    """The comparison for a terminal: regressions red, improvements green."""
    table = Table(title=f"{c.base_run} → {c.new_run}  ({c.rule})",
                  caption="\n".join([_tally(c), *(f"warning: {w}" for w in c.warnings)]),
                  title_justify="left", caption_justify="left")
    columns: tuple[tuple[str, JustifyMethod], ...] = (
        ("verdict", "left"), ("metric", "left"), ("base", "right"), ("new", "right"),
        ("change", "right"), ("%", "right"), ("judged on", "left"), ("note", "left"))
    for name, justify in columns:
        table.add_column(name, justify=justify)
    for d in c.deltas:
        change, pct = fmt_change(d)
        # Text, not markup: labels and notes contain square brackets ("[profiles.smoke]").
        table.add_row(*(Text(x) for x in (_SHOWN.get(d.verdict, d.verdict), d.label,
                                          fmt_figure(d.base, d.unit), fmt_figure(d.new, d.unit),
                                          change, pct, judged_on(d), d.note)),
                      style=_STYLES[d.verdict])
    return table


def judged_on(d: MetricDelta) -> str:
    """What the verdict rests on: `median window +7.4 ms, 95% interval -3.1 to +18.0 ms`."""
    if not d.interval:
        return ""
    what = {"median of windows": "median window",
            "rate test": "rate" if d.unit == "ratio" else "count per run (rate test)"}.get(
        d.method, d.method)
    return f"{what} {d.interval}"


def _tally(c: Comparison) -> str:
    counts = {v: sum(d.verdict == v for d in c.deltas) for v in _STYLES}
    return ", ".join(f"{n} {_SHOWN.get(v, v)}" for v, n in counts.items() if n) or \
        "nothing to compare"


_MARKS: dict[Verdict, str] = {"regressed": "🔴 regressed", "improved": "🟢 improved",
                              "no clear change": "no clear change",
                              "too few windows": "❔ too few windows to decide",
                              "not comparable": "❔ not comparable",
                              "added": "➕ added", "removed": "➖ removed"}


def _md(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def comparison_markdown(c: Comparison) -> str:
    """The comparison for a pull request or ticket, regressions listed before the full table."""
    n = len(c.regressions)
    base = f"`{c.base_run}`" + (f" (pooled: {', '.join(c.base_runs)})" if c.base_runs else "")
    lines = [f"# perfdash compare: {base} → `{c.new_run}`", "",
             f"**{n} regression{'s' if n != 1 else ''}**: changes that are statistically clear "
             f"({c.confidence:.0%} confidence, adjusted over the figures compared) and at "
             f"least the minimum effect ({c.tolerance_pct:g}% of the base, and {c.min_effect_ms:g} "
             "ms, 1 count, 0.1 pp of a rate, 2 points of CPU/memory, 1/s); "
             f"{_tally(c)}.", ""]
    for d in c.regressions:
        change, pct = fmt_change(d)
        lines.append(f"- **{_md(d.label)}**: {fmt_figure(d.base, d.unit)} → "
                     f"{fmt_figure(d.new, d.unit)} ({change}, {pct}; {judged_on(d)}; "
                     f"{d.better} is better)")
    if c.regressions:
        lines.append("")
    lines += [f"- **Warning**: {_md(w)}" for w in c.warnings]
    lines += [f"- Note: {_md(note)}" for note in c.notes]
    if c.notes or c.warnings:
        lines.append("")
    lines += ["| verdict | metric | base | new | change | % | judged on | note |",
              "|---|---|---:|---:|---:|---:|---|---|"]
    for d in c.deltas:
        change, pct = fmt_change(d)
        lines.append("| " + " | ".join(_md(x) for x in (
            _MARKS[d.verdict], d.label, fmt_figure(d.base, d.unit), fmt_figure(d.new, d.unit),
            change, pct, judged_on(d), d.note)) + " |")
    return "\n".join(lines) + "\n"
