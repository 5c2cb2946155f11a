"""How far a failed check is from its limit: "80 ms over (16% over)", for incident.md.

Kept apart from the report writers because the breach is arithmetic on a check's value and its
stored limit (perfdash.check.stored_limit), not text layout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from perfdash.analyze.checks import fmt_value
from perfdash.check import stored_limit


@dataclass(frozen=True)
class Breach:
    """How far a failed check is from its limit, in the check's unit and relative to the limit."""

    measured: float
    limit: float
    op: str
    unit: str
    distance: float
    pct: float | None  # None when the limit is 0: any distance is infinitely many percent

    def describe(self) -> str:
        if self.op in ("<", "<="):
            how = f"{_fmt_distance(self.distance, self.unit)} over"
        elif self.op in (">", ">="):
            how = f"{_fmt_distance(self.distance, self.unit)} short"
        else:
            how = f"off by {_fmt_distance(self.distance, self.unit)}"
        if self.pct is None:
            return f"{how} (the limit is 0)"
        side = "under" if self.op in (">", ">=") else "over"
        rel = f"{self.pct:,.0f}% {side}" if self.pct >= 100 else f"{self.pct:.1f}% {side}"
        if self.op in ("<", "<=") and self.pct >= 1000:
            rel += f", {self.measured / self.limit:,.0f}× the limit"
        return f"{how} ({rel})"


def breach_of(check: dict[str, Any]) -> Breach | None:
    """The overshoot of a check, or None when its value or threshold is not a number."""
    limit = stored_limit(check)
    value = check.get("value")
    if limit is None or not isinstance(value, int | float):
        return None
    unit = str(check.get("unit") or "")
    number = limit.on_scale(unit)
    if limit.op in ("<", "<="):
        distance = value - number
    elif limit.op in (">", ">="):
        distance = number - value
    else:
        distance = abs(value - number)
    pct = abs(distance) / abs(number) * 100 if number else None
    return Breach(float(value), number, limit.op, unit, distance, pct)


def _fmt_distance(distance: float, unit: str) -> str:
    if unit == "ratio":
        return f"{distance * 100:.2f} percentage points"
    if unit == "%":
        return f"{distance:.0f} percentage points"
    return fmt_value(distance, unit)


def fmt_limit(number: float, unit: str) -> str:
    """A limit as written, unrounded: `0.001 ms`, not `0.0 ms`."""
    if unit == "ratio":
        return f"{number * 100:g}%"
    return f"{number:g}" + {"ms": " ms", "%": "%"}.get(unit, "")
