"""What a load tool's pane knows of the tool's phase besides its samples (`ToolPhase`), and how a
recording from before runs declared their tools is given one (`recorded_phase`). `LiveState`
builds these; the panes read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from perfdash.tools import TOOL_NAMES, live_spec


@dataclass(frozen=True)
class ToolPhase:
    """Whether the tool is part of the run at all, whether its process has started and for how
    long it has run (its own phase, not the run's: the second tool of a sequential profile starts
    when the first has exited), and its plan from preflight."""

    tool: str
    absent: bool = False  # not part of the run: nothing is coming
    in_profile: bool = True  # a profile's run (else one perfdash only watches): how to say it
    after: str = ""  # a sequential profile: the tool that runs first
    started: bool = False
    elapsed_s: int = 0
    planned_s: float = 0.0
    plan: str = ""  # "about 30 s", "1 iteration"


def recorded_phase(tool: str, named: bool, load_started: float, end: float, sequential: bool,
                   tool_ends: Mapping[str, float], planned_s: float) -> ToolPhase | None:
    """A recording from before runs declared their tools and told when each started, for a tool
    that has not reported yet. Only the standing tools existed then, in registry order (k6, then
    Artillery): the first has nothing to add to its samples; a later one is absent unless a
    preflight check named it (`named`), else timed from the load, or, in a sequential profile,
    from the exit of the one before it, as it was shown then."""
    standing = [t for t in TOOL_NAMES if live_spec(t).standing]
    if tool not in standing[1:]:
        return None
    if not named:
        return ToolPhase(tool, absent=True, in_profile=False)
    start = load_started
    if sequential:
        before = standing[standing.index(tool) - 1]
        if before not in tool_ends:
            return ToolPhase(tool, after=before)
        start = tool_ends[before]
    return ToolPhase(tool, started=True, elapsed_s=max(0, int(end - start)), planned_s=planned_s)
