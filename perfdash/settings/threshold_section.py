"""`[profiles.P.thresholds]`: every expression read and checked against what its tool can
evaluate, so a threshold that could never pass or fail is refused before the run, not after it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from perfdash.settings.toml_reader import TomlReader
from perfdash.thresholds import Threshold, make_threshold

# What a threshold can name for certain. Deliberately conservative: only what the tool could never
# evaluate is refused (custom metrics keep working).
# k6: metric names follow k6's grammar (a tag filter in braces is allowed); the stats are those of
# k6's four metric types (trend avg/min/med/max/p(N), counter count/rate, rate, gauge value).
_K6_METRIC = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*(\{.+\})?$")
_K6_STAT = re.compile(r"^(avg|min|med|max|count|rate|value|p\(\d+(\.\d+)?\))$")
# Artillery: the stats of its report's summaries and counters. Metric names are free-form (plugins
# and custom metrics emit any name), so only k6's built-in names, certainly misplaced, are refused.
_ARTILLERY_STATS = ("min", "max", "mean", "median", "count", "p50", "p75", "p90", "p95", "p99",
                    "p999")
_K6_BUILTIN = {"http_req_duration", "http_req_failed", "http_reqs", "http_req_waiting",
               "http_req_blocked", "http_req_connecting", "http_req_sending", "http_req_receiving",
               "http_req_tls_handshaking", "checks", "iterations", "iteration_duration", "vus",
               "vus_max", "data_sent", "data_received", "dropped_iterations", "ws_sessions",
               "ws_connecting", "ws_msgs_sent", "ws_msgs_received", "ws_ping", "ws_session_duration"}


def threshold_problem(tool: str, metric: str, stat: str) -> tuple[str, str] | None:
    """(problem, fix) for a threshold the tool could never evaluate, else None."""
    if tool == "k6":
        if not _K6_METRIC.match(metric):
            return (f"{metric!r} is not a k6 metric name (letters, digits and _, optionally a "
                    "{tag:value} filter)",
                    "use k6's names such as http_req_duration or checks; Artillery metrics go "
                    "under thresholds.artillery")
        if not _K6_STAT.match(stat):
            return (f"k6 has no statistic {stat!r}",
                    "use avg, min, med, max, p(N), count, rate or value, e.g. \"p(95)<500\"")
        return None
    if not metric.strip() or metric != metric.strip() or "{" in metric:
        return (f"{metric!r} is not an Artillery report metric name",
                'use the report\'s names such as "http.response_time" or "vusers.failed"')
    if metric in _K6_BUILTIN:
        return (f"{metric!r} is a k6 metric, which Artillery does not report",
                "move it to thresholds.k6, or use Artillery's names such as http.response_time")
    if stat not in _ARTILLERY_STATS:
        return (f"Artillery has no statistic {stat!r}",
                f"use one of {', '.join(_ARTILLERY_STATS)}, e.g. \"p95<800\"")
    return None


def read_thresholds(r: TomlReader, table: str, data: Mapping[str, Any]) -> tuple[Threshold, ...]:
    r.known(data, table, {"k6", "artillery"})
    result: list[Threshold] = []
    for tool in ("k6", "artillery"):
        sub = f"{table}.{tool}"
        for metric, exprs in r.table(data, table, tool).items():
            items = [exprs] if isinstance(exprs, str) else exprs
            if not isinstance(items, list) or not all(isinstance(e, str) for e in items):
                raise r.fail(sub, metric, "expected a list of expressions",
                             'write it like "http_req_duration" = ["p(95)<500"]')
            for expr in items:
                threshold = make_threshold(tool, metric, expr, f"{r.path.name} [{sub}]")
                if threshold is None:
                    raise r.fail(sub, metric, f"cannot read threshold {expr!r}",
                                 'write "<stat> <op> <number>", e.g. "p(95)<500" or "rate>=0.99"')
                problem = threshold_problem(tool, metric, threshold.stat)
                if problem is not None:
                    raise r.fail(sub, metric, problem[0], problem[1])
                result.append(threshold)
    return tuple(result)
