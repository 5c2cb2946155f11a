"""The one reader of k6's summary export (`k6-<profile>.json`): analysis, reports, compare and the
result view all go through `read_k6_summary`, so a change in k6's format is handled once.

In the export, a threshold maps to `true` when it was *crossed*; `K6Summary.verdict` turns that
into "passed" so no caller has to remember the inversion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfdash.artifacts import read_json
from perfdash.shape import NONE, NUMBER, Lazy, MapOf, Obj, file_problem
from perfdash.tools.base import EndpointRow, LatencyRow

_STAT_ALIASES = {"p(50)": "med", "median": "med", "mean": "avg"}
# perfdash's names for latency statistics -> k6's keys in the summary export
# A script names its endpoints with whatever tag it likes (`name`, `endpoint`, `route`, `url`, `api`…);
# k6 exports a tagged submetric only when a threshold names it, so these rows exist only for what the
# script (or profile) put a threshold on. k6's own tags describe something else than an endpoint.
NOT_ENDPOINT_TAGS = frozenset((
    "expected_response", "status", "method", "scenario", "proto", "tls_version", "error",
    "error_code", "check", "vu", "iter", "instance_id", "subproto", "ip", "service"))
_SUBMETRIC = re.compile(
    r"^(http_req_duration|http_reqs|http_req_failed)\{([A-Za-z_][A-Za-z0-9_]*):([^,]+)\}$")
LATENCY_KEYS = {"avg": "avg", "min": "min", "med": "med", "p90": "p(90)", "p95": "p(95)",
                "p99": "p(99)", "max": "max"}


@dataclass(frozen=True)
class K6Summary:
    metrics: dict[str, dict[str, Any]]
    root_group: dict[str, Any]

    def value(self, metric: str, stat: str) -> float | None:
        data = self.metrics.get(metric)
        if not isinstance(data, dict):
            return None
        key = _STAT_ALIASES.get(stat, stat)
        if key == "rate" and "rate" not in data and "value" in data:
            key = "value"  # rates are exported as `value`
        value = data.get(key)
        return float(value) if isinstance(value, int | float) else None

    def thresholds(self) -> list[tuple[str, str, bool]]:
        """(metric, expression without spaces, passed) for every threshold k6 evaluated."""
        found = []
        for metric, data in self.metrics.items():
            for expr, crossed in ((data or {}).get("thresholds") or {}).items():
                if isinstance(crossed, bool):
                    found.append((metric, str(expr).replace(" ", ""), not crossed))
        return found

    def verdict(self, metric: str, expression: str) -> bool | None:
        """True when k6 says the threshold held, False when crossed, None when k6 did not judge it."""
        want = expression.replace(" ", "")
        return next((ok for m, e, ok in self.thresholds() if m == metric and e == want), None)

    def checks_counts(self) -> tuple[int, int]:
        data = self.metrics.get("checks") or {}
        return int(data.get("passes", 0) or 0), int(data.get("fails", 0) or 0)

    def rate_samples(self, metric: str) -> int | None:
        """How many samples a Rate metric (checks, http_req_failed, a script's own Rate) holds:
        its passes plus fails; None when the metric is not exported as a Rate."""
        data = self.metrics.get(metric)
        if not isinstance(data, dict):
            return None
        passes, fails = data.get("passes"), data.get("fails")
        if not isinstance(passes, int | float) or not isinstance(fails, int | float):
            return None
        return int(passes) + int(fails)

    def bytes_received(self) -> int | None:
        """`data_received`: 0 when no byte of any answer came back (refused, timed out)."""
        value = self.value("data_received", "count")
        return int(value) if value is not None else None

    def failing_checks(self) -> list[str]:
        return [f"{c['name']} ({c['fails']} of {c['passes'] + c['fails']} failed)"
                for c in _walk_checks(self.root_group) if c.get("fails")]

    def requests(self) -> int:
        return int((self.metrics.get("http_reqs") or {}).get("count", 0) or 0)

    def successful_requests(self) -> int:
        """Requests k6 did not count as failed (http_req_failed: 4xx, 5xx, timeouts, resets)."""
        failed = self.value("http_req_failed", "rate")
        return round(self.requests() * (1 - failed)) if failed is not None else self.requests()

    def latency_rows(self) -> list[LatencyRow]:
        """http_req_duration and its tagged submetrics (not k6's own expected_response split)."""
        names = sorted(n for n in self.metrics if n == "http_req_duration" or (
            n.startswith("http_req_duration{") and "expected_response" not in n))
        rows = []
        for name in names:
            data = self.metrics[name]
            if not isinstance(data, dict):
                continue
            stats = {k: float(v) if isinstance(v := data.get(src), int | float) else None
                     for k, src in LATENCY_KEYS.items()}
            count = self.requests() if name == "http_req_duration" else None
            rows.append(LatencyRow("k6", name, stats, count or None))
        return rows


    def endpoints(self) -> list[EndpointRow]:
        """One row per value of an endpoint-naming tag (any tag but k6's own: `name`, `endpoint`,
        `route`, `group`, `url`…) that has an http_req_duration, http_reqs or http_req_failed
        submetric in the export."""
        found: dict[tuple[str, str], dict[str, Any]] = {}
        for metric, data in self.metrics.items():
            m = _SUBMETRIC.match(metric)
            if not m or m.group(2) in NOT_ENDPOINT_TAGS or not isinstance(data, dict):
                continue
            found.setdefault((m.group(2), m.group(3)), {})[m.group(1)] = data
        rows = []
        for (tag, value), parts in sorted(found.items()):
            dur = parts.get("http_req_duration") or {}
            reqs = parts.get("http_reqs") or {}
            failed = parts.get("http_req_failed") or {}
            count = reqs.get("count")
            passes = failed.get("passes")  # a Rate's "passes" are its true samples: failed requests
            if not isinstance(count, int | float) and isinstance(passes, int | float):
                count = passes + (failed.get("fails") or 0)
            name = value.removeprefix("::") if tag == "group" else value
            rows.append(EndpointRow(
                "k6", name, "http", url=value if tag == "url" or value.startswith(("/", "http")) else None,
                tag=tag, requests=int(count) if isinstance(count, int | float) else None,
                p50=_num(dur.get("med")), p95=_num(dur.get("p(95)")), p99=_num(dur.get("p(99)")),
                errors=int(passes) if isinstance(passes, int | float) else None))
        return rows


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# What the checks, the endpoints and the result view read of k6's --summary-export.
_COUNTED = dict.fromkeys(("count", "passes", "fails", "rate", "value"), (*NUMBER, NONE))
K6_METRIC = Obj({**_COUNTED, "thresholds": MapOf((object,))})
K6_CHECK = Obj({"name": (str,), "passes": NUMBER, "fails": NUMBER},
               required=("name", "passes", "fails"))
K6_GROUP: Obj = Obj({"checks": MapOf(K6_CHECK, nullable=True),
                     "groups": MapOf(Lazy(lambda: K6_GROUP), nullable=True)}, nullable=True)
K6_EXPORT = Obj({"metrics": MapOf(K6_METRIC), "root_group": K6_GROUP}, required=("metrics",))


def read_k6_summary(path: Path) -> tuple[K6Summary | None, str | None]:
    data, problem = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("metrics"), dict):
        return None, problem or f"{path.name} has no metrics"
    if (problem := file_problem(path.name, data, K6_EXPORT)) is not None:
        return None, problem
    return K6Summary(data["metrics"], data.get("root_group") or {}), None


def _walk_checks(group: dict[str, Any]) -> list[dict[str, Any]]:
    found = list((group.get("checks") or {}).values())
    for sub in (group.get("groups") or {}).values():
        if isinstance(sub, dict):  # an empty group may be written as null
            found.extend(_walk_checks(sub))
    return found
