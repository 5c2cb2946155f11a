"""What a comparison of two runs concludes: a verdict per figure (`MetricDelta`) and the whole
(`Comparison`), as `perfdash.analyze.compare` decides them.

In a module of its own because its readers (the compare report, the baseline panel, the
run's `compare.json`) need the result's shape, not the statistics that produce it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from perfdash.analyze.judge import FLOORS, Better

Verdict = Literal["regressed", "improved", "no clear change", "too few windows", "not comparable",
                  "added", "removed"]
JUDGED: tuple[Verdict, ...] = ("regressed", "improved", "no clear change")


class CompareError(Exception):
    """A run directory that cannot be compared at all; the message names it and says why."""


@dataclass(frozen=True)
class MetricDelta:
    """One figure in both runs. `base`, `new`, `delta` and `pct` are the runs' own figures (`pct`
    None when the base is 0 or either side is missing); `estimate`, `low` and `high` are the
    change the verdict rests on (the shift of the median window, or of a count) with its interval,
    `interval` that in words, `p_value` its test (adjusted over the comparison)."""

    key: str
    label: str
    unit: str
    base: float | None
    new: float | None
    delta: float | None
    pct: float | None
    better: Better
    verdict: Verdict
    note: str = ""
    interval: str = ""
    estimate: float | None = None
    low: float | None = None
    high: float | None = None
    p_value: float | None = None
    method: str = ""  # "median of windows", "rate test", or "" (one value per run)
    samples: tuple[float, float] | None = None  # windows (or events) in base and new
    min_effect: float | None = None


@dataclass(frozen=True)
class Comparison:
    base_run: str
    new_run: str
    tolerance_pct: float
    deltas: tuple[MetricDelta, ...]
    notes: tuple[str, ...] = field(default=())
    # The two runs are not like for like (another profile or environment): say so before any verdict.
    warnings: tuple[str, ...] = field(default=())
    confidence: float = 0.95
    min_effect_ms: float = 1.0
    base_runs: tuple[str, ...] = field(default=())  # a pooled baseline: every run in it

    @property
    def undecided(self) -> tuple[MetricDelta, ...]:
        return tuple(d for d in self.deltas if d.verdict == "too few windows")

    @property
    def judged(self) -> tuple[MetricDelta, ...]:
        return tuple(d for d in self.deltas if d.verdict in JUDGED)

    @property
    def rule(self) -> str:
        """The decision rule in a few words, for titles and reports."""
        return (f"{self.confidence:.0%} confidence, minimum effect {self.tolerance_pct:g}% and "
                f"{self.min_effect_ms:g} ms")

    @property
    def regressions(self) -> tuple[MetricDelta, ...]:
        return tuple(d for d in self.deltas if d.verdict == "regressed")

    @property
    def improvements(self) -> tuple[MetricDelta, ...]:
        return tuple(d for d in self.deltas if d.verdict == "improved")

    def to_json(self) -> dict[str, Any]:
        return {"base_run": self.base_run, "new_run": self.new_run,
                "base_runs": list(self.base_runs or (self.base_run,)),
                "tolerance_pct": self.tolerance_pct, "floors": {**FLOORS, "ms": self.min_effect_ms},
                "confidence": self.confidence, "min_effect_ms": self.min_effect_ms,
                "regressions": len(self.regressions), "improvements": len(self.improvements),
                "undecided": len(self.undecided), "judged": len(self.judged),
                "warnings": list(self.warnings), "notes": list(self.notes),
                "deltas": [asdict(d) for d in self.deltas]}
