"""Pass/fail rules in one structured form: `stat op value` on a tool's metric, with where it was
written and, once a tool has run, what that tool itself decided.

Settings parse the profile's thresholds here, each load tool parses its script's own thresholds
here, and a check carries the result, so no other module reads an expression with a regex.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

# The one grammar of a threshold: the tools' syntax (`p(95) < 500`, `rate>=0.99`, `count == 0`,
# `p95<800`) and perfdash's own rules, which may leave out the stat and carry a unit
# (`p95 <= 80%`, `mean <= 100 ms`, `== 0`, `>= 99%`).
_EXPRESSION = re.compile(r"^\s*(?P<stat>[A-Za-z_][\w.]*(?:\(\d+(?:\.\d+)?\))?)?\s*"
                         r"(?P<op><=|>=|==|!=|<|>)\s*(?P<value>-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*"
                         r"(?P<suffix>%|ms)?\s*$")
# A tool threshold names its stat the tools' way: `p(95)`, `rate`, `count`, `p95`, `avg`.
_TOOL_STAT = re.compile(r"[a-z_]+(?:\(\d+(?:\.\d+)?\))?|p\d+(?:\.\d+)?")

OPS = ("<=", ">=", "==", "!=", "<", ">")


@dataclass(frozen=True)
class Rule:
    """The comparison part of a threshold: `p(95) < 500` is Rule("p(95)", "<", 500)."""

    stat: str
    op: str
    value: float

    def holds(self, measured: float) -> bool:
        return {
            "<": measured < self.value, "<=": measured <= self.value,
            ">": measured > self.value, ">=": measured >= self.value,
            "==": measured == self.value, "!=": measured != self.value,
        }[self.op]

    def margin(self, measured: float) -> float | None:
        """How far a measured value is past the limit (positive when the rule is broken)."""
        if self.op in ("<", "<="):
            return measured - self.value
        if self.op in (">", ">="):
            return self.value - measured
        return None


def parse_rule(expression: str) -> Rule | None:
    """A tool threshold: None unless it is `<stat> <op> <number>` with a finite number."""
    m = _EXPRESSION.match(expression or "")
    if not m or m["suffix"] or not m["stat"] or not _TOOL_STAT.fullmatch(m["stat"]):
        return None
    value = float(m["value"])
    if not math.isfinite(value):
        return None
    return Rule(m["stat"], m["op"], value)


@dataclass(frozen=True)
class Limit:
    """Any check's threshold taken apart, perfdash's own rules included; `percent` when the number
    was written with `%`."""

    stat: str
    op: str
    number: float
    percent: bool = False


def parse_limit(expression: str | None) -> Limit | None:
    """None for prose such as "none on large tables"."""
    m = _EXPRESSION.match(expression or "")
    if m is None:
        return None
    return Limit(m["stat"] or "", m["op"], float(m["value"]), m["suffix"] == "%")


@dataclass(frozen=True)
class Threshold:
    """One rule on one metric of one tool, and where it was written (a profiles.toml key, or the
    path of the script that declared it)."""

    tool: str
    metric: str
    expression: str
    rule: Rule
    source: str
    origin: str = "profile"  # "profile", "script" or "builtin"

    @property
    def stat(self) -> str:
        return self.rule.stat

    @property
    def op(self) -> str:
        return self.rule.op

    @property
    def value(self) -> float:
        return self.rule.value

    def holds(self, measured: float) -> bool:
        return self.rule.holds(measured)

    def to_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "metric": self.metric, "expression": self.expression,
                "source": self.source, "origin": self.origin}

    @staticmethod
    def from_json(data: dict[str, Any], default_source: str) -> Threshold | None:
        rule = parse_rule(str(data.get("expression", "")))
        if rule is None or not data.get("metric"):
            return None
        return Threshold(str(data.get("tool", "")), str(data["metric"]),
                         str(data["expression"]).replace(" ", ""), rule,
                         str(data.get("source") or default_source),
                         str(data.get("origin") or "profile"))


def make_threshold(tool: str, metric: str, expression: str, source: str,
                   origin: str = "profile") -> Threshold | None:
    rule = parse_rule(expression)
    if rule is None:
        return None
    return Threshold(tool, metric, expression.replace(" ", ""), rule, source, origin)


def base_metric(metric: str) -> str:
    """`http_req_duration{name:products}` -> `http_req_duration`."""
    return metric.split("{", 1)[0].strip()
