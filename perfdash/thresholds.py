"""Pass/fail rules in one structured form: `stat op value` on a tool's metric, with where it was
written and, once a tool has run, what that tool itself decided.

Settings parse the profile's thresholds here, each load tool parses its script's own thresholds
here, and a check carries the result, so no other module reads an expression with a regex.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
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
# How a limit reads as a number on a check's scale: a `%` limit on a 0..1 ratio and back.
_SCALE = {("%", "ratio"): 0.01, ("ratio", "%"): 100.0}


@dataclass(frozen=True)
class Limit:
    """A threshold taken apart where it is written: `p(95)<500` is Limit("p(95)", "<", 500.0).

    A check carries one next to its threshold text, so whatever reads the verdict later (how far a
    breach went, which way is better in a comparison, the p95 line on a chart) compares numbers
    instead of reading the text again. `stat` is "" when the rule names none (`== 0`, `>= 99%`);
    `unit` is the unit `value` is in: "ms", "%", "ratio" (0..1) or "" (a count, or whatever unit
    the tool's metric has, as k6 and Artillery write their rules)."""

    stat: str
    op: str
    value: float
    unit: str = ""
    text: str = ""  # as written, for display

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

    @property
    def is_minimum(self) -> bool:
        """True for `rate>=0.99`: more is better."""
        return self.op in (">", ">=")

    def on_scale(self, unit: str) -> float:
        """The limit in a check's unit: `>= 99%` on a ratio check is 0.99."""
        return self.value * _SCALE.get((self.unit, unit), 1.0)

    def to_json(self) -> dict[str, Any]:
        return {"stat": self.stat, "op": self.op, "value": self.value, "unit": self.unit,
                "text": self.text}

    @staticmethod
    def from_json(data: Mapping[str, Any]) -> Limit | None:
        """None for an object no perfdash wrote (an unknown operator, a value that is no number)."""
        value, op = data.get("value"), data.get("op")
        if (op not in OPS or isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value)):
            return None
        return Limit(str(data.get("stat") or ""), str(op), float(value), str(data.get("unit") or ""),
                     str(data.get("text") or ""))


def parse_rule(expression: str) -> Limit | None:
    """A tool threshold: None unless it is `<stat> <op> <number>` with a finite number."""
    m = _EXPRESSION.match(expression or "")
    if not m or m["suffix"] or not m["stat"] or not _TOOL_STAT.fullmatch(m["stat"]):
        return None
    value = float(m["value"])
    if not math.isfinite(value):
        return None
    return Limit(m["stat"], m["op"], value, "", expression.strip())


def parse_limit(expression: str | None) -> Limit | None:
    """Any rule perfdash or a tool writes, perfdash's own included (`p95 <= 80%`, `== 0`); None for
    prose such as "none on large tables". Called where a threshold is written, never on a check's
    threshold text after the verdict (but by perfdash.check.stored_limit, for old summaries)."""
    m = _EXPRESSION.match(expression or "")
    if m is None:
        return None
    value = float(m["value"])
    if not math.isfinite(value):
        return None
    return Limit(m["stat"] or "", m["op"], value, m["suffix"] or "", (expression or "").strip())


@dataclass(frozen=True)
class Threshold:
    """One rule on one metric of one tool, and where it was written (a profiles.toml key, or the
    path of the script that declared it)."""

    tool: str
    metric: str
    expression: str  # without spaces, as k6 keys its verdicts
    limit: Limit  # the expression taken apart, its text the expression
    source: str
    origin: str = "profile"  # "profile", "script" or "builtin"

    @property
    def stat(self) -> str:
        return self.limit.stat

    @property
    def op(self) -> str:
        return self.limit.op

    @property
    def value(self) -> float:
        return self.limit.value

    def holds(self, measured: float) -> bool:
        return self.limit.holds(measured)

    def to_json(self) -> dict[str, Any]:
        return {"tool": self.tool, "metric": self.metric, "expression": self.expression,
                "source": self.source, "origin": self.origin}

    @staticmethod
    def from_json(data: dict[str, Any], default_source: str) -> Threshold | None:
        if not data.get("metric"):
            return None
        return make_threshold(str(data.get("tool", "")), str(data["metric"]),
                              str(data.get("expression", "")), str(data.get("source") or default_source),
                              str(data.get("origin") or "profile"))


def make_threshold(tool: str, metric: str, expression: str, source: str,
                   origin: str = "profile") -> Threshold | None:
    limit = parse_rule(expression.replace(" ", ""))
    if limit is None:
        return None
    return Threshold(tool, metric, limit.text, limit, source, origin)


def base_metric(metric: str) -> str:
    """`http_req_duration{name:products}` -> `http_req_duration`."""
    return metric.split("{", 1)[0].strip()
