"""The diagnosis at the top of the result view: what is wrong, why, what to do, with the evidence.

It reads summary.json's `diagnosis` (perfdash.diagnose). A run written before diagnoses existed has
no such key; the panel then stays out of the way rather than claiming nothing was found.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.text import Text

from perfdash.ui.result.panel import ResultPanel
from perfdash.ui.result.run_data import RunData

CONFIDENCE_STYLE = {"high": "bold red", "medium": "bold yellow", "low": "yellow"}
EVIDENCE_LINES = 3


def diagnosis_text(diagnosis: Mapping[str, Any]) -> Text:
    findings = [f for f in diagnosis.get("findings") or [] if isinstance(f, Mapping)]
    if not findings:
        return Text("no problem found in the database, the connections or the endpoints",
                    style="green")
    text = Text()
    for n, f in enumerate(findings, start=1):
        if n > 1:
            text.append("\n")
        text.append(f"{n}. ", style="bold")
        text.append(str(f.get("title", "")),
                    style=CONFIDENCE_STYLE.get(str(f.get("confidence")), "bold"))
        text.append(f"  impact {float(f.get('impact') or 0):.0%}", style="dim")
        if f.get("links"):
            text.append(f" · linked: {', '.join(str(x) for x in f['links'])}", style="dim")
        text.append(f"\n   why: {f.get('cause', '')}")
        text.append(f"\n   fix: {f.get('fix', '')}", style="italic")
        evidence = [e for e in f.get("evidence") or [] if isinstance(e, Mapping)]
        for e in evidence[:EVIDENCE_LINES]:
            text.append(f"\n   · {e.get('text', '')} [{e.get('source', '')}]", style="dim")
    gaps = [g for g in diagnosis.get("not_measured") or [] if isinstance(g, Mapping)]
    for g in gaps:
        text.append(f"\nnot looked at ({g.get('rule')}): needs {g.get('needs')}", style="dim italic")
    return text


class DiagnosisPanel(ResultPanel):
    # in the accent colour: the one panel that says what to do next
    DEFAULT_CSS = """
    DiagnosisPanel {
        border: round $accent;
        border-title-color: $text-accent;
    }
    DiagnosisPanel.-absent { display: none; }
    """

    BORDER_TITLE = "diagnosis"

    def watch_data(self, data: RunData | None) -> None:
        diagnosis = data.summary.get("diagnosis") if data else None
        self.set_class(not isinstance(diagnosis, Mapping), "-absent")

    def body(self, run: RunData) -> Text:
        diagnosis = run.summary.get("diagnosis")
        return diagnosis_text(diagnosis) if isinstance(diagnosis, Mapping) else Text("")
