"""A load tool's pane where the tool's own samples say nothing yet: the tool is not part of the
run, waits for the tool before it (a sequential profile), or runs since its own start with the
plan preflight read. Shared by every tool's pane, so all tell the same story.
"""

from __future__ import annotations

from rich.text import Text

from perfdash.tools import label_of
from perfdash.ui.format import bar
from perfdash.ui.live.phase_view import ToolPhase
from perfdash.ui.live.state import ToolEnd


def label(tool: str) -> str:
    """How the screens name a tool: its registry label, else its name."""
    return label_of(tool)


def ended_text(end: ToolEnd) -> Text:
    style = "green" if end.returncode == 0 else "bold red"
    how = f" (stopped by {end.stopped_by})" if end.stopped_by else ""
    return Text(f"exit {end.returncode} after {end.elapsed_s:.1f} s{how}", style=style)


def progress_line(elapsed: float, planned: float, end: ToolEnd | None, width: int,
                  plan: str = "") -> Text:
    """Elapsed against planned seconds of the tool's own phase; a plan without a length (k6
    iterations) is named instead of a bar that could only guess."""
    if end is not None:
        suffix = ended_text(end)
    elif planned <= 0:  # iterations, or a run perfdash only watches
        suffix = Text(f"{elapsed:.0f} s · {plan} planned" if plan and plan != "length unknown"
                      else f"{elapsed:.0f} s, plan unknown")
    else:
        left = max(0.0, planned - elapsed)
        suffix = Text(f"{elapsed:.0f}/{planned:.0f} s · {left:.0f} s left")
    line = bar(elapsed if end is None else planned, planned, max(4, width - len(suffix) - 1))
    line.append(" ")
    line.append_text(suffix)
    return line


def absent_lines(phase: ToolPhase) -> list[Text]:
    name = label(phase.tool)
    if phase.in_profile:
        return [Text(f"{name} is not part of this profile", style="dim"),
                Text(f"the profile names no {name} script", style="dim")]
    return [Text(f"{name} is not part of this run", style="dim"),
            Text(f"the run was not started from a profile with a {name} script", style="dim")]


def phase_lines(phase: ToolPhase, width: int, first: list[Text]) -> list[Text]:
    """Before the tool's first sample: absent, waiting its turn, starting, or running since its
    own start (`first`: what the tool's first sample will bring)."""
    if phase.absent:
        return absent_lines(phase)
    if phase.after:
        return [Text(f"starts when {label(phase.after)} has finished (sequential profile)",
                     style="dim")]
    if not phase.started:
        return [Text(f"starting {label(phase.tool)}…", style="dim")]
    return [progress_line(phase.elapsed_s, phase.planned_s, None, width, phase.plan), *first]
