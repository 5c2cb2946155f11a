"""A small client for Prometheus's HTTP query API (`/api/v1/query`, `/-/ready`).

Plain HTTP through the standard library on purpose: perfdash asks a handful of instant queries a
second and reads three shapes of answer (scalar values, native histograms, errors). The official
`prometheus_client` package exports metrics and has no query client, and the third-party query
clients add pandas or requests for what is one GET and one JSON decode here. Proxies from the
environment are ignored, as for every loopback request perfdash makes (`perfdash.net.OPENER`).
"""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from perfdash.net import OPENER


class PromError(Exception):
    """Prometheus could not answer: one sentence saying what failed (and where)."""


@dataclass(frozen=True)
class Bucket:
    """One native-histogram bucket: (lower, upper] with its count (boundary rule as Prometheus
    reports it: 0 upper-inclusive, 1 lower-inclusive, 2 exclusive, 3 both inclusive)."""

    lower: float
    upper: float
    count: float
    rule: int = 0


@dataclass(frozen=True)
class Sample:
    """One series of an instant-query answer: its labels and either a value or a histogram."""

    labels: Mapping[str, str]
    value: float | None = None
    count: float | None = None  # native histogram: observations
    total: float | None = None  # native histogram: sum of observations
    buckets: tuple[Bucket, ...] = field(default_factory=tuple)


class PromClient:
    """Instant queries against one Prometheus; every failure is a `PromError` sentence."""

    def __init__(self, base_url: str, timeout_s: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s

    def _get(self, path: str, params: Mapping[str, str] | None = None) -> bytes:
        url = self.base_url + path + ("?" + urllib.parse.urlencode(params) if params else "")
        try:
            with OPENER.open(url, timeout=self.timeout_s) as resp:
                return bytes(resp.read())
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")
            try:
                reason = json.loads(body).get("error") or body
            except ValueError:
                reason = body.strip() or exc.reason
            raise PromError(f"Prometheus at {self.base_url} answered {exc.code}: {reason}") from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise PromError(f"nothing answers at {self.base_url} ({reason})") from None

    def ready(self) -> str | None:
        """None when Prometheus answers and is ready, else why not."""
        try:
            self._get("/-/ready")
        except PromError as exc:
            return str(exc)
        return None

    def query(self, expr: str, at: float | None = None) -> list[Sample]:
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        body = self._get("/api/v1/query", params)
        try:
            data = json.loads(body)
        except ValueError:
            raise PromError(f"Prometheus at {self.base_url} sent no JSON for {expr!r}") from None
        if data.get("status") != "success":
            raise PromError(f"Prometheus rejected {expr!r}: {data.get('error', 'no reason given')}")
        result = data.get("data", {})
        if result.get("resultType") == "scalar":
            return [Sample({}, _float(result.get("result", [0, "NaN"])[1]))]
        return [_sample(item) for item in result.get("result", [])]

    def value(self, expr: str, at: float | None = None) -> float | None:
        """The value of a query expected to return one number (None when it returns nothing)."""
        found = [s.value for s in self.query(expr, at) if s.value is not None]
        return found[0] if found else None


def _float(text: Any) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def _sample(item: Mapping[str, Any]) -> Sample:
    labels = dict(item.get("metric") or {})
    if "histogram" in item:
        h = item["histogram"][1]
        buckets = tuple(Bucket(_float(b[1]), _float(b[2]), _float(b[3]), int(b[0]))
                        for b in h.get("buckets") or [])
        return Sample(labels, None, _float(h.get("count")), _float(h.get("sum")), buckets)
    return Sample(labels, _float((item.get("value") or [0, "NaN"])[1]))


def label_matcher(**labels: str) -> str:
    """`{testid="x",generator="g1"}` with values escaped as PromQL strings."""
    return "{" + ",".join(f"{k}={json.dumps(v)}" for k, v in labels.items()) + "}"
