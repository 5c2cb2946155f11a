"""Baseline deltas on the result screen: what got worse or better than the baseline run, read from
the `baseline` section `perfdash run --baseline` writes into summary.json (the same comparison that
`perfdash compare` prints).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from perfdash.analyze.checks import fmt_value
from perfdash.ui.result.panel import ResultPanel
from perfdash.ui.result.run_data import RunData

ABSENT = ("no baseline: run with --baseline DIR|last, or compare two runs with "
          "`perfdash compare A B`")
SHOWN = 8
STYLE = {"regressed": "bold red", "improved": "green", "not comparable": "magenta",
         "too few windows": "yellow"}


def comparison_text(comparison: dict[str, Any] | None) -> Text:
    if not comparison:
        return Text(ABSENT, style="dim italic")
    deltas = [d for d in comparison.get("deltas") or [] if isinstance(d, dict)]
    text = Text()
    text.append(f"against {comparison.get('base_run', '?')}: ", style="bold")
    text.append(f"{comparison.get('regressions', 0)} regressed", style=STYLE["regressed"])
    text.append(f", {comparison.get('improvements', 0)} improved", style=STYLE["improved"])
    confidence = comparison.get("confidence")
    if isinstance(confidence, int | float):  # the statistical comparison
        undecided = comparison.get("undecided", 0)
        text.append(f" (clear at {confidence:.0%}, beyond {comparison.get('tolerance_pct', 10):g}%"
                    f" and {comparison.get('min_effect_ms', 1):g} ms)")
        if undecided:
            text.append(f", {undecided} with too few windows to decide", style=STYLE["too few windows"])
    else:  # a summary written before comparisons had intervals
        text.append(f" beyond {comparison.get('tolerance_pct', 10):g}%")
    order = {"regressed": 0, "improved": 1, "not comparable": 2, "too few windows": 3}
    notable = sorted((d for d in deltas if d.get("verdict") in order),
                     key=lambda d: order[str(d.get("verdict"))])
    for d in notable[:SHOWN]:
        unit = str(d.get("unit", ""))
        pct = d.get("pct")
        change = f"{pct:+.0f}%" if isinstance(pct, int | float) else str(d.get("note", ""))
        if d.get("interval"):
            what = "rate" if d.get("method") == "rate test" else "median window"
            change += f"; {what} {d['interval']}"
        elif d.get("verdict") == "too few windows":
            change = str(d.get("note", "")) or "too few windows to decide"
        text.append(f"\n{d.get('verdict', ''):<16}", style=STYLE.get(str(d.get("verdict")), ""))
        text.append(f"{d.get('label', '')}: {fmt_value(d.get('base'), unit)} → "
                    f"{fmt_value(d.get('new'), unit)} ({change})")
    if len(notable) > SHOWN:
        text.append(f"\n… {len(notable) - SHOWN} more in comparison.md", style="dim")
    if not notable:
        text.append("\nno figure changed clearly beyond the minimum effect", style="dim")
    return text


class ComparisonPanel(ResultPanel):
    # a muted title: most runs have no baseline, and the panel then only says how to get one
    DEFAULT_CSS = """
    ComparisonPanel {
        border-title-color: $text-muted;
    }
    """

    BORDER_TITLE = "baseline comparison"

    def body(self, run: RunData) -> Text:
        return comparison_text(run.comparison)
