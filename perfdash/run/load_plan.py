"""The run's load plan in one place: each tool's plan added up the way the profile runs them
(sequential: one after the other, parallel: side by side), in the words the run's first line and
its load phase use. Called by the orchestrator, once before the run starts and again at the load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from perfdash.tools.base import ToolPlan, describe_load


@dataclass(frozen=True)
class LoadPlan:
    """`tools`: (label, plan or None when preflight has not read it) in the order they start."""

    mode: str
    tools: tuple[tuple[str, ToolPlan | None], ...]

    @property
    def seconds(self) -> float:
        known = [plan.planned_s for _, plan in self.tools if plan is not None]
        if not known:
            return 0.0
        return sum(known) if self.mode == "sequential" else max(known)

    @property
    def iterations(self) -> int:
        """Iterations whose length only the run tells; in parallel they run beside the timed load
        and are only worth naming when nothing else is timed."""
        counts = [plan.iterations for _, plan in self.tools if plan is not None]
        if self.mode == "sequential" or not self.seconds:
            return sum(counts)
        return 0

    def words(self) -> str:
        """`about 45 s of load (k6 about 15 s, then Artillery about 30 s)`."""
        head = (f"{describe_load(self.seconds, self.iterations)} of load"
                if self.seconds or self.iterations else "load length unknown")
        if len(self.tools) < 2:
            return head
        each = [f"{label} {plan.describe() if plan is not None else 'length unknown'}"
                for label, plan in self.tools]
        joined = ", then ".join(each) if self.mode == "sequential" else " alongside ".join(each)
        return f"{head} ({joined})"


def load_plan(mode: str, tools: Sequence[tuple[str, ToolPlan | None]]) -> LoadPlan:
    """A plan that names a problem (a script the tool rejects) counts as unknown: its length is a
    fallback, not what the tool would do."""
    return LoadPlan(mode, tuple((label, None if plan is not None and plan.problem else plan)
                                for label, plan in tools))
