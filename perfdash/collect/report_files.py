"""The one reader of each report the collectors write for the analysis: query-analysis.json (the
database's statements, scans, counters and index advice) and applog-endpoints.json (requests per
route counted from the access log).

The checks (perfdash.analyze) and the diagnosis (perfdash.diagnose) both read these files; each
file's shape is declared here once, for everything either of them takes out of it, and checked
once where it is read. A damaged file is (None, one sentence naming the field), which the checks
report as "not measured" and the diagnosis as a gap, never a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from perfdash.artifacts import read_json
from perfdash.collect.access_log import ARTIFACT as APPLOG_ENDPOINTS
from perfdash.shape import NONE, NUMBER, ListOf, MapOf, Obj, Spec, file_problem

QUERY_ANALYSIS_FILE = "query-analysis.json"
_COUNT: Spec = (*NUMBER, NONE)
_ANY: Spec = (object,)

QUERY_ANALYSIS = Obj({
    "not_measured": ListOf(Obj({"what": _ANY, "reason": (str, NONE)}), nullable=True),
    "database": Obj({"pg_stat_statements": _ANY, "max_connections": _COUNT}),
    "slow_queries": ListOf(Obj({"mean_ms": NUMBER, "calls": NUMBER, "query": _ANY},
                               required=("mean_ms", "calls", "query")), nullable=True),
    # the diagnosis formats these three as numbers: null is damage here
    "sequential_scans": ListOf(Obj({"hint": (str, NONE), "table": (str,), "seq_scan": NUMBER,
                                    "seq_tup_read": NUMBER, "n_live_tup": NUMBER},
                                   required=("table",)), nullable=True),
    "workload": Obj({"statements": ListOf(Obj({
        "calls": _COUNT, "total_ms": _COUNT, "rows": _COUNT, "share_of_time": _COUNT,
        "temp_blks_written": _COUNT, "rank": MapOf(_ANY, nullable=True)}), nullable=True)},
        nullable=True),
    "database_counters": MapOf(_ANY, nullable=True),
    "index_advice": ListOf(Obj({"create_index": (str, NONE), "cost_before": _COUNT,
                                "cost_after": _COUNT}), nullable=True),
})

APPLOG_ROUTE = Obj({"count": NUMBER, "by_class": MapOf(NUMBER, nullable=True),
                    "buckets": MapOf(NUMBER, nullable=True), "status_429": _COUNT,
                    # behind a reverse proxy (access_log.py)
                    "upstream_n": _COUNT, "upstream_avg_ms": _COUNT, "proxy_avg_ms": _COUNT,
                    "upstream_buckets": MapOf(NUMBER, nullable=True),
                    "proxy_answered": MapOf(NUMBER, nullable=True)})
APPLOG = Obj({"routes": MapOf(APPLOG_ROUTE, nullable=True), "time_unit": (str, NONE),
              "format": (str, NONE), "note": (str, NONE)})


def _damaged(name: str, where: str) -> str:
    return f"{name}'s {where}: the file was edited or damaged (restore it, or run the suite again)"


def read_query_analysis(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """query-analysis.json, or (None, why not in one sentence) when missing or damaged."""
    data, problem = read_json(path)
    if not isinstance(data, dict):
        return None, problem or _damaged(path.name, "content is not a JSON object")
    problem = file_problem(path.name, data, QUERY_ANALYSIS)
    return (None, problem) if problem else (data, None)


def read_applog_endpoints(run_dir: Path) -> tuple[dict[str, Any] | None, str | None]:
    """applog-endpoints.json, or (None, why not in one sentence) when missing or damaged; a
    bucket is named by its integer index, so a key that is not one is damage too."""
    data, problem = read_json(run_dir / APPLOG_ENDPOINTS)
    if not isinstance(data, dict):
        return None, problem or _damaged(APPLOG_ENDPOINTS, "content is not a JSON object")
    if (problem := file_problem(APPLOG_ENDPOINTS, data, APPLOG)) is not None:
        return None, problem
    for route, r in (data.get("routes") or {}).items():
        for name in ("buckets", "upstream_buckets"):
            bad = next((b for b in (r.get(name) or {}) if not _bucket(b)), None)
            if bad is not None:
                return None, _damaged(APPLOG_ENDPOINTS, f"routes.{route}.{name} has the key {bad!r}, "
                                                        "not a bucket number")
    return data, None


def _bucket(key: str) -> bool:
    # ASCII digits ("¹" is a digit to isdigit, not to int); 4 of them: 1.04 ** 10000 ms is beyond
    # any latency and still a float, 1.04 ** 99999 is not
    return re.fullmatch(r"-?[0-9]{1,4}", key) is not None
