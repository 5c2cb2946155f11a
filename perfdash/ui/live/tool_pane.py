"""A load tool while it runs, every tool alike: its phase and progress bar, then the lines its
`LiveSpec` declares (perfdash.tools.live), read from its ToolProgressed, so a new tool shows up
without UI code. Before its first sample the pane says why there is none yet
(`perfdash.ui.live.tool_phase`): the tool is not part of the profile, waits its turn, or has just
started (a tool reporting in windows counts down to its first).
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive

from perfdash.tools import live_spec
from perfdash.tools.live import Figure, Format, Line, LiveSpec
from perfdash.ui.format import ms, pct
from perfdash.ui.live.pane import Pane
from perfdash.ui.live.phase_view import ToolPhase
from perfdash.ui.live.state import ToolView
from perfdash.ui.live.tool_phase import label as tool_label
from perfdash.ui.live.tool_phase import phase_lines, progress_line


def _value(value: float | None, fmt: Format) -> str:
    if fmt == "ms":
        return ms(value)
    if fmt in ("pct", "pct2"):
        return pct(value, 2 if fmt == "pct2" else 1)
    return "–" if value is None else f"{value:,.0f}"


Part = tuple[str, str]  # (text, style)


def counts_parts(title: str, counts: tuple[tuple[str, int], ...]) -> list[Part]:
    if not counts:
        return [(f"{title} ", "bold"), ("none", "green")]
    return [(f"{title} ", "bold"),
            (" · ".join(f"{name} {count:,}" for name, count in counts), "bold red")]


def figure_parts(f: Figure, view: ToolView) -> list[Part]:
    if f.counts:
        return counts_parts(f.label, view.counts)
    value = view.get(f.field)
    if f.flag is not None:
        return [(f.flag[0], "bold red")] if value else [(f.flag[1], "green")]
    shown = _value(value, f.fmt) + (f"/{_value(view.get(f.of), f.fmt)}" if f.of else "") + f.unit
    alarm = value is not None and (
        (f.alarm_above is not None and value > f.alarm_above)
        or (f.alarm_below is not None and value < f.alarm_below))
    value_part = (shown, "bold red" if alarm else f.calm)
    return [(f"{f.label} ", "bold"), value_part] if f.label else [value_part]


def line_text(line: Line, view: ToolView) -> Text:
    """One declared line: its figures joined by the line's separator; a figure without a label is
    all value, so its separator takes its style."""
    parts: list[Part] = []
    for i, f in enumerate(line.figures):
        shown = figure_parts(f, view)
        if i:
            parts.append((line.sep, "" if f.label else shown[0][1]))
        parts.extend(shown)
    return Text.assemble(*parts)


def waiting_lines(name: str, spec: LiveSpec, phase: ToolPhase) -> list[Text]:
    """What the first sample will bring, said while it has not come."""
    every = spec.report_every_s
    if not every:
        return [Text(spec.waiting or f"waiting for {tool_label(name)}'s first sample", style="dim")]
    due = every - phase.elapsed_s % every
    return [Text.assemble(("running", "green"), f" · reports every {every} s, next in ~{due} s"),
            Text(spec.waiting, style="dim")]


def tool_lines(name: str, view: ToolView | None, width: int, height: int,
               phase: ToolPhase | None = None) -> list[Text]:
    spec = live_spec(name)
    if phase is not None and (view is None or phase.absent):
        return phase_lines(phase, width, waiting_lines(name, spec, phase))
    if view is None:
        return []
    planned = view.planned_s or (phase.planned_s if phase is not None else 0.0)
    if spec.sample_clock:  # the samples carry the tool's own clock
        bar = progress_line(view.elapsed_s, planned, view.ended, width,
                            phase.plan if phase is not None else "")
    else:  # its own phase's clock moves every second, its reports less often
        own = phase if phase is not None and phase.started else None
        bar = progress_line(own.elapsed_s if own else view.elapsed_s, planned, view.ended, width,
                            own.plan if own else "")
    return [bar, *(line_text(line, view) for line in spec.lines)][:max(1, height)]


class ToolPane(Pane):
    """One per load tool; its title is the tool's label."""

    view: reactive[ToolView | None] = reactive(None)
    phase: reactive[ToolPhase | None] = reactive(None)

    def __init__(self, tool_name: str, *, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.tool_name = tool_name
        self.border_title = tool_label(tool_name)
        self.WAITING = live_spec(tool_name).idle or f"waiting for {tool_label(tool_name)}…"

    def content_key(self) -> object:
        return (self.view, self.phase)

    def lines(self, width: int, height: int) -> list[Text]:
        return tool_lines(self.tool_name, self.view, width, height, self.phase)
