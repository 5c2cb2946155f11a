"""What went wrong around the checks: problems the run recorded (each with its fix) and artifacts
the result screen itself could not read.
"""

from __future__ import annotations

from rich.text import Text

from perfdash.ui.result.panel import ResultPanel
from perfdash.ui.result.run_data import RunData


def problems_text(run: RunData) -> Text:
    items: list[tuple[str, str]] = []
    for p in run.summary.get("problems") or []:
        if isinstance(p, dict):
            items.append((str(p.get("what", "")), str(p.get("fix") or "")))
    if run.summary_problem:
        items.append((run.summary_problem, "pass the directory of a finished run"))
    items += [(p, "") for p in run.latency_problems]
    if run.timeline_problem:
        items.append((f"no timeline charts: {run.timeline_problem}", ""))
    if not items:
        return Text("none recorded", style="green")
    text = Text()
    for i, (what, fix) in enumerate(items):
        if i:
            text.append("\n")
        text.append("• " + what, style="yellow")
        if fix:
            text.append(f"\n  → {fix}", style="italic")
    return text


class ProblemsList(ResultPanel):
    BORDER_TITLE = "problems"

    def body(self, run: RunData) -> Text:
        return problems_text(run)
