"""The unit of a verdict: one check with its status, measured value, threshold and where that
threshold came from. Every analyser returns a list of these; the verdict only combines them.

A check carries its threshold twice: the text a reader sees and, when the text is a rule, the rule
taken apart (`limit`), built where the threshold is written. Whatever reads a verdict later uses
the limit: a Check's own, or a stored check's through `stored_limit` (which `Check.from_json`
uses too), the one place a summary written before checks carried a limit has its text parsed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from perfdash.events import Status
from perfdash.thresholds import Limit, parse_limit

SEVERITY: dict[Status, int] = {"pass": 0, "warn": 1, "not measured": 2, "fail": 3}
# A load tool's "requests made" check carries this id suffix. "Not measured" there means nothing
# answered at all, and the verdict makes such a run incomplete whatever else it says; a backend that
# answered every request with an error makes it "fail" instead, an ordinary failed check.
NOTHING_MEASURED = ".requests"
# The rule of every "none at all" check: exit codes, 5xx answers, log errors.
ZERO = Limit("", "==", 0.0, "", "== 0")


def share_limit(stat: str, pct: float) -> Limit:
    """`p95 <= 80%`: the most of a host's CPU or memory a run may use before it warns."""
    return Limit(stat, "<=", pct, "%", f"{stat} <= {pct:.0f}%")


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
    limit: Limit | None = None  # the threshold as a rule; None for prose ("none on large tables")

    def shown_value(self) -> str:
        return fmt_value(self.value, self.unit)

    def to_json(self) -> dict[str, Any]:
        """summary.json's form: `threshold` stays the text older perfdash versions read, and
        `limit` is written even when None, so a reader can tell "no rule" from "written before
        limits"."""
        return {**asdict(self), "limit": self.limit.to_json() if self.limit else None}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Check:
        """A stored check (a dict of summary.json) as a Check; TypeError when it lacks a field."""
        try:
            return Check(data["id"], data["name"], data["status"], data["value"], data["threshold"],
                         data["source"], str(data.get("detail") or ""), str(data.get("unit") or ""),
                         stored_limit(data))
        except KeyError as exc:
            raise TypeError(f"a stored check has no {exc.args[0]!r}") from None

    @property
    def measured_nothing(self) -> bool:
        return self.id.endswith(NOTHING_MEASURED) and self.status == "not measured"

    @staticmethod
    def not_measured(id: str, name: str, reason: str, threshold: str | None = None,
                     source: str = "", limit: Limit | None = None) -> Check:
        return Check(id, name, "not measured", None, threshold, source, reason, limit=limit)


def stored_limit(check: Mapping[str, Any]) -> Limit | None:
    """The limit of a stored check (a dict of summary.json): its `limit` object, or, in a summary
    written before checks carried one, its threshold text parsed here and nowhere else."""
    if "limit" in check:
        stored = check["limit"]
        return Limit.from_json(stored) if isinstance(stored, Mapping) else None
    text = check.get("threshold")
    return parse_limit(text) if isinstance(text, str) else None


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
