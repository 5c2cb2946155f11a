"""The unit of a verdict: one check with its status, measured value, threshold and where that
threshold came from. Every analyser returns a list of these; the verdict only combines them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from perfdash.events import Status

SEVERITY: dict[Status, int] = {"pass": 0, "warn": 1, "not measured": 2, "fail": 3}
# A load tool's "requests made" check carries this id suffix. "Not measured" there means nothing
# answered at all, and the verdict makes such a run incomplete whatever else it says; a backend that
# answered every request with an error makes it "fail" instead, an ordinary failed check.
NOTHING_MEASURED = ".requests"


@dataclass(frozen=True)
class Check:
    id: str
    name: str
    status: Status
    value: float | str | None
    threshold: str | None
    source: str
    detail: str = ""
    unit: str = ""  # "ms", "ratio" (0..1, shown as %), "%", or "" for counts

    def shown_value(self) -> str:
        return fmt_value(self.value, self.unit)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def measured_nothing(self) -> bool:
        return self.id.endswith(NOTHING_MEASURED) and self.status == "not measured"

    @staticmethod
    def not_measured(id: str, name: str, reason: str, threshold: str | None = None,
                     source: str = "") -> Check:
        return Check(id, name, "not measured", None, threshold, source, reason)


def fmt_value(value: float | str | None, unit: str = "") -> str:
    """How a value reads in a table: `21.0 ms`, `99.87%`, `64%`, `1,204`."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if unit == "ratio":
        return f"{value * 100:.2f}%"
    if unit == "%":
        return f"{value:.0f}%"
    if unit == "ms":
        return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"
    if value == int(value):
        return f"{value:,.0f}"
    return f"{value:.3g}"
