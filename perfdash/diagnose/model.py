"""What a diagnosis says: findings, each a claim with the evidence it rests on, its cause and its fix.

A finding is the sentence an engineer reads at the end of a run. It carries its own evidence
(figures, the artifact they come from, and when on the run's clock), so a reader can check it
without trusting perfdash, and `links` to the findings it explains or is explained by: a row lock
that fills the pool that slows every read is one story, not three lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Confidence = Literal["high", "medium", "low"]


@dataclass(frozen=True)
class Evidence:
    text: str
    source: str  # the artifact's file name
    from_s: float | None = None  # seconds since sampling started
    to_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"text": self.text, "source": self.source, "from_s": self.from_s, "to_s": self.to_s}


@dataclass
class Finding:
    id: str  # the rule's id: every finding of one rule shares it
    title: str
    impact: float  # 0..1: the share of request time (or of requests) it explains
    cause: str
    fix: str
    confidence: Confidence
    evidence: list[Evidence] = field(default_factory=list)
    endpoint: str | None = None
    statement: str | None = None
    links: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "impact": round(self.impact, 4),
                "confidence": self.confidence, "evidence": [e.to_json() for e in self.evidence],
                "cause": self.cause, "fix": self.fix, "links": self.links,
                "endpoint": self.endpoint, "statement": self.statement}


@dataclass(frozen=True)
class Gap:
    """A rule that could not look, and what it needs."""

    rule: str
    needs: str

    def to_json(self) -> dict[str, str]:
        return {"rule": self.rule, "needs": self.needs}
