"""The one reader of applog-endpoints.json, requests per route counted from the backend's access
log (perfdash.collect.access_log writes it at the end of the load).

The checks, the diagnosis and compare read it; its shape is declared once here. A bucket is
named by its integer index, so a key that is not one is damage too.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypedDict, cast

from perfdash.artifacts.cache import PerVersion
from perfdash.artifacts.errors import UnreadableArtifact
from perfdash.artifacts.files import read_json
from perfdash.artifacts.paths import APPLOG_ENDPOINTS_JSON, RunPaths, run_paths
from perfdash.artifacts.query_analysis import damaged
from perfdash.shape import NONE, NUMBER, MapOf, Obj, Spec, file_problem

_COUNT: Spec = (*NUMBER, NONE)

APPLOG_ROUTE = Obj({"count": NUMBER, "by_class": MapOf(NUMBER, nullable=True),
                    "buckets": MapOf(NUMBER, nullable=True), "status_429": _COUNT,
                    # behind a reverse proxy (access_log.py)
                    "upstream_n": _COUNT, "upstream_avg_ms": _COUNT, "proxy_avg_ms": _COUNT,
                    "upstream_buckets": MapOf(NUMBER, nullable=True),
                    "proxy_answered": MapOf(NUMBER, nullable=True)})
APPLOG = Obj({"routes": MapOf(APPLOG_ROUTE, nullable=True), "time_unit": (str, NONE),
              "format": (str, NONE), "note": (str, NONE)})


class AppLogRoute(TypedDict, total=False):
    """One route's counts as APPLOG_ROUTE checks them (every member may be absent)."""

    count: float
    by_class: dict[str, float] | None
    buckets: dict[str, float] | None
    status_429: float | None
    upstream_n: float | None
    upstream_avg_ms: float | None
    proxy_avg_ms: float | None
    upstream_buckets: dict[str, float] | None
    proxy_answered: dict[str, float] | None


class AppLogEndpoints(TypedDict, total=False):
    """applog-endpoints.json as APPLOG checks it."""

    routes: dict[str, AppLogRoute] | None
    time_unit: str | None
    format: str | None
    note: str | None


class AppLogEndpointsError(UnreadableArtifact):
    """applog-endpoints.json is missing, not JSON or of the wrong shape."""


def _parse(path: Path) -> AppLogEndpoints:
    data, problem = read_json(path)
    if problem is not None:
        raise AppLogEndpointsError(path, problem, "", missing=problem.endswith(" is missing"))
    if not isinstance(data, dict):
        raise AppLogEndpointsError(path, damaged(APPLOG_ENDPOINTS_JSON, "content is not a JSON object"))
    if (problem := file_problem(APPLOG_ENDPOINTS_JSON, data, APPLOG)) is not None:
        raise AppLogEndpointsError(path, problem)
    for route, r in (data.get("routes") or {}).items():
        for name in ("buckets", "upstream_buckets"):
            bad = next((b for b in (r.get(name) or {}) if not _bucket(b)), None)
            if bad is not None:
                raise AppLogEndpointsError(path, damaged(
                    APPLOG_ENDPOINTS_JSON, f"routes.{route}.{name} has the key {bad!r}, not a bucket number"))
    return cast(AppLogEndpoints, data)  # APPLOG, just checked, is this shape


def _bucket(key: str) -> bool:
    # ASCII digits ("¹" is a digit to isdigit, not to int); 4 of them: 1.04 ** 10000 ms is beyond
    # any latency and still a float, 1.04 ** 99999 is not
    return re.fullmatch(r"-?[0-9]{1,4}", key) is not None


_counts = PerVersion(_parse)


def load_applog_endpoints(run: RunPaths | Path) -> AppLogEndpoints:
    """The run's applog-endpoints.json, checked; raises AppLogEndpointsError with one sentence."""
    return _counts(run_paths(run).applog_endpoints)


def read_applog_endpoints(run: RunPaths | Path) -> tuple[AppLogEndpoints | None, str | None]:
    """applog-endpoints.json, or (None, why not in one sentence) when missing or damaged."""
    try:
        return load_applog_endpoints(run), None
    except AppLogEndpointsError as exc:
        return None, exc.reason
