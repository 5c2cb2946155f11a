"""The generators' results merged through Prometheus into one `k6-<profile>.json`, shaped like k6's
own summary export, so the checks, the result view and compare read it like any k6 run.

Where each number comes from, and why:
- counters (http_reqs, iterations, data_*): summed in Prometheus, `sum(k6_<name>_total{testid})`
  (each generator's series is cumulative and remote write leaves no staleness marker, so the
  latest sample of each is its total); their rates are the generators' rates summed.
- trends (http_req_duration and any tagged submetric a threshold names): percentiles from the
  sum of the generators' native histograms (`histogram_quantile`), the average from their sum and
  count; min and max are exact, from the generators' own summaries. The histogram's buckets grow
  by 2^(2^-schema) (schema 3: about 9%); a percentile is exact up to the width of its bucket, and
  `merged.relative_error` states that bound for this run.
- http_req_failed: failed requests (`expected_response="false"`) over all, both summed.
- checks and other rates: the generators' pass/fail counts summed (Prometheus receives only each
  process's ratio, which cannot be merged exactly).
- thresholds: the profile's and the script's (from `k6 inspect`), judged here on the merged
  values, in k6's export convention (`true` = crossed); one k6 could not judge them because
  every generator runs with `--no-thresholds`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from perfdash.artifacts import read_json
from perfdash.prom.client import PromClient, PromError, Sample, label_matcher
from perfdash.secret import redact_url
from perfdash.thresholds import Threshold
from perfdash.tools.k6.genspec import Spec, generator_name, summary_path
from perfdash.tools.k6.report import K6Summary

QUANTILES = {"med": 0.5, "p(90)": 0.9, "p(95)": 0.95, "p(99)": 0.99}
_TREND_BASES = {"http_req_duration", "http_req_waiting", "http_req_blocked", "http_req_connecting",
                "http_req_sending", "http_req_receiving", "http_req_tls_handshaking",
                "iteration_duration"}
_COUNTERS = ("http_reqs", "iterations", "data_sent", "data_received")
_SUB = re.compile(r"^([a-zA-Z_][a-zA-Z0-9_]*)(?:\{(.+)\})?$")
_PCT = re.compile(r"^p\((\d+(?:\.\d+)?)\)$")


class MergeError(Exception):
    """The merge could not be done: one sentence."""


def split_metric(metric: str) -> tuple[str, dict[str, str]]:
    """`http_req_duration{name:products}` -> ("http_req_duration", {"name": "products"})."""
    m = _SUB.match(metric)
    if not m:
        return metric, {}
    tags: dict[str, str] = {}
    for part in (m.group(2) or "").split(","):
        key, sep, value = part.partition(":")
        if sep:
            tags[key.strip()] = value.strip().strip("\"'")
    return m.group(1), tags


def growth_factor(sample: Sample) -> float | None:
    """The ratio of a native histogram's bucket bounds (2^(2^-schema)), from its widest bucket."""
    ratios = [b.upper / b.lower for b in sample.buckets if b.lower > 0 and b.upper > b.lower]
    return max(ratios) if ratios else None


class Merger:
    """Queries one run's series (`testid`) in Prometheus."""

    def __init__(self, client: PromClient, testid: str, at: float | None = None) -> None:
        self.client = client
        self.testid = testid
        self.at = at
        self.factor: float | None = None

    def _sel(self, tags: dict[str, str] | None = None, **extra: str) -> str:
        return label_matcher(testid=self.testid, **(tags or {}), **extra)

    def counter(self, name: str, tags: dict[str, str] | None = None, **extra: str) -> float | None:
        return self.client.value(f"sum(k6_{name}_total{self._sel(tags, **extra)})", self.at)

    def trend(self, name: str, tags: dict[str, str], stats: Sequence[str]) -> dict[str, float]:
        """avg and the asked percentiles of a trend, in milliseconds (k6 sends seconds)."""
        series = f"sum(k6_{name}_seconds{self._sel(tags)})"
        found = self.client.query(series, self.at)
        if not found or not found[0].count:
            return {}
        hist = found[0]
        count = float(found[0].count)
        factor = growth_factor(hist)
        if factor is not None:
            self.factor = max(self.factor or 0.0, factor)
        out: dict[str, float] = {}
        if hist.total is not None:
            out["avg"] = 1000.0 * hist.total / count
        for stat in stats:
            q = QUANTILES.get(stat)
            m = _PCT.match(stat)
            if q is None and m:
                q = float(m.group(1)) / 100
            if q is None:
                continue
            value = self.client.value(f"histogram_quantile({q}, {series})", self.at)
            if value is not None and math.isfinite(value):
                out[stat] = 1000.0 * value
        out["count"] = count
        return out


def _summaries(spec: Spec) -> list[dict[str, Any]]:
    found = []
    for i in range(len(spec.argvs)):
        data, _ = read_json(summary_path(Path(spec.run_dir), spec.profile, i))
        found.append(data if isinstance(data, dict) else {})
    return found


def _metric(s: dict[str, Any], name: str) -> dict[str, Any]:
    value = (s.get("metrics") or {}).get(name)
    return value if isinstance(value, dict) else {}


def _sum_key(summaries: list[dict[str, Any]], name: str, key: str) -> float | None:
    values = [v for s in summaries if isinstance(v := _metric(s, name).get(key), int | float)]
    return float(sum(values)) if values else None


def _merge_group(into: dict[str, Any], other: dict[str, Any]) -> None:
    """Adds another generator's checks (passes/fails per check) into the first one's root group."""
    for name, check in (other.get("checks") or {}).items():
        mine = into.setdefault("checks", {}).setdefault(name, {**check, "passes": 0, "fails": 0})
        mine["passes"] = mine.get("passes", 0) + check.get("passes", 0)
        mine["fails"] = mine.get("fails", 0) + check.get("fails", 0)
    for name, group in (other.get("groups") or {}).items():
        _merge_group(into.setdefault("groups", {}).setdefault(name, {}), group)


def merged_metrics(merger: Merger, summaries: list[dict[str, Any]],
                   thresholds: Sequence[Threshold]) -> dict[str, dict[str, Any]]:
    metrics: dict[str, dict[str, Any]] = {}
    for name in _COUNTERS:
        count = merger.counter(name)
        if count is not None:
            rate = _sum_key(summaries, name, "rate")
            metrics[name] = {"count": count, **({"rate": rate} if rate is not None else {})}
    total = metrics.get("http_reqs", {}).get("count")
    if total:
        failed = merger.counter("http_reqs", expected_response="false") or 0.0
        metrics["http_req_failed"] = {"value": failed / total, "passes": failed,
                                      "fails": total - failed}
    for name in ("checks",):
        passes, fails = _sum_key(summaries, name, "passes"), _sum_key(summaries, name, "fails")
        if passes is not None and fails is not None and passes + fails > 0:
            metrics[name] = {"value": passes / (passes + fails), "passes": passes, "fails": fails}
    for name in ("vus", "vus_max"):
        if (value := _sum_key(summaries, name, "max" if name == "vus" else "value")) is not None:
            metrics[name] = {"value": value}
    wanted: dict[str, set[str]] = {"http_req_duration": set(QUANTILES)}
    for t in thresholds:
        base, _ = split_metric(t.metric)
        if base in _TREND_BASES:
            wanted.setdefault(t.metric, set(QUANTILES)).add(t.stat)
    for metric, stats in wanted.items():
        base, tags = split_metric(metric)
        values = merger.trend(base, tags, sorted(stats))
        if not values:
            continue
        count = values.pop("count")
        if not tags:  # exact extremes from the generators' own summaries
            mins = [v for s in summaries if isinstance(v := _metric(s, base).get("min"), int | float)]
            maxs = [v for s in summaries if isinstance(v := _metric(s, base).get("max"), int | float)]
            values.update({**({"min": min(mins)} if mins else {}), **({"max": max(maxs)} if maxs else {})})
        metrics[metric] = {**values, "samples": count}
    for t in thresholds:
        base, tags = split_metric(t.metric)
        if t.metric in metrics or not tags or base not in ("http_reqs", "http_req_failed"):
            continue
        count = merger.counter("http_reqs", tags)
        if count:
            failed = merger.counter("http_reqs", tags, expected_response="false") or 0.0
            metrics[t.metric] = ({"count": count} if base == "http_reqs" else
                                 {"value": failed / count, "passes": failed, "fails": count - failed})
    return metrics


def judge(metrics: dict[str, dict[str, Any]], thresholds: Sequence[Threshold]) -> None:
    """k6's verdicts, on the merged values: `thresholds[expr] = crossed` on each judged metric."""
    summary = K6Summary(metrics, {})
    for t in thresholds:
        value = summary.value(t.metric, t.stat)
        if value is None or t.metric not in metrics:
            continue  # not measured here: the checks say so rather than inventing a verdict
        metrics[t.metric].setdefault("thresholds", {})[t.expression] = not t.holds(value)


def merge_run(spec: Spec, codes: Sequence[int], started: float, ended: float,
              timeout_s: float = 5.0) -> dict[str, Any]:
    """The merged summary of a split run; `timeout_s` bounds each Prometheus query (short when
    the run was stopped and the launcher has only seconds left)."""
    thresholds = [t for raw in spec.thresholds
                  if (t := Threshold.from_json(raw, "k6 thresholds")) is not None]
    merger = Merger(PromClient(spec.prometheus_url, timeout_s=timeout_s), spec.testid)
    summaries = _summaries(spec)
    try:
        metrics = merged_metrics(merger, summaries, thresholds)
    except PromError as exc:
        raise MergeError(str(exc)) from None
    if "http_reqs" not in metrics and "iterations" not in metrics:
        raise MergeError(f"Prometheus at {spec.prometheus_url} holds no k6 series with "
                         f"testid={spec.testid!r}: the generators' remote write did not arrive")
    judge(metrics, thresholds)
    root: dict[str, Any] = {}
    for s in summaries:
        _merge_group(root, s.get("root_group") or {})
    return {
        "metrics": metrics,
        "root_group": root,
        "merged": {
            "source": "prometheus", "prometheus_url": spec.prometheus_url, "testid": spec.testid,
            "generators": [{"name": generator_name(i), "exit_code": code,
                            "summary": summary_path(Path(spec.run_dir), spec.profile, i).name,
                            "requests": _metric(summaries[i], "http_reqs").get("count")}
                           for i, code in enumerate(codes)],
            "histogram_growth": merger.factor,
            "relative_error": None if merger.factor is None else merger.factor - 1,
            "started_at": started, "ended_at": ended,
        },
    }


def generators_seen(merger: Merger) -> list[dict[str, Any]]:
    """Each generator's request count as Prometheus holds it, by its `generator` tag (local
    generators) or `instance_id` (k6-operator's runner pods): where no generator summary exists
    on this machine, these are the per-generator figures beside the merged one."""
    sel = merger._sel()
    found = merger.client.query(f"sum by (generator, instance_id) (k6_http_reqs_total{sel})",
                                merger.at)
    rows = []
    for s in found:
        name = s.labels.get("generator") or (f"instance {s.labels['instance_id']}"
                                             if "instance_id" in s.labels else "k6")
        rows.append({"name": name, "requests": s.value})
    return sorted(rows, key=lambda r: str(r["name"]))


def merge_observed(prometheus_url: str, testid: str, thresholds: Sequence[Threshold],
                   started: float, ended: float, timeout_s: float = 5.0) -> dict[str, Any]:
    """The merged summary of a run perfdash did not start (a k6-operator TestRun, generators
    started elsewhere), from Prometheus alone: no generator's own summary is on this machine, so
    min/max and checks are left out rather than guessed (the merged percentiles, counters and
    failure rate are exact up to the histogram's stated error, as for local generators)."""
    merger = Merger(PromClient(prometheus_url, timeout_s=timeout_s), testid)
    try:
        metrics = merged_metrics(merger, [], thresholds)
        vus_max = merger.client.value(f"sum(k6_vus_max{merger._sel()})")
        generators = generators_seen(merger)
    except PromError as exc:
        raise MergeError(str(exc)) from None
    if "http_reqs" not in metrics and "iterations" not in metrics:
        raise MergeError(f"Prometheus holds no k6 series with testid={testid!r}: check the run "
                         "id (the TestRun's --tag testid=...) and that its remote write arrives")
    if vus_max is not None:
        metrics["vus_max"] = {"value": vus_max}
    judge(metrics, thresholds)
    return {
        "metrics": metrics,
        "root_group": {},
        "merged": {
            "source": "prometheus", "prometheus_url": redact_url(prometheus_url),
            "testid": testid, "observed": True, "generators": generators,
            "histogram_growth": merger.factor,
            "relative_error": None if merger.factor is None else merger.factor - 1,
            "started_at": started, "ended_at": ended,
        },
    }
