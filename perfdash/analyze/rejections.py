"""What the backend itself said while it rejected a load: a load tool whose every request failed
although the backend answered ("requests made" failed) gets the backend's side beside its counters,
from the same window: how many ERROR and WARN lines the app log got (the first one word for word),
and the error answers its request lines counted per route (applog-endpoints.json).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from perfdash.artifacts import read_applog_endpoints
from perfdash.check import NOTHING_MEASURED, Check

ROUTES_NAMED = 3


def with_backend_side(check: Check, app_log: dict[str, Any] | None, run_dir: Path) -> Check:
    if not check.id.endswith(NOTHING_MEASURED) or check.status != "fail":
        return check
    said = [x for x in (_log_lines(app_log), _error_answers(run_dir)) if x]
    if not said:
        return check
    return replace(check, detail="; ".join([check.detail, *said] if check.detail else said))


def _log_lines(app_log: dict[str, Any] | None) -> str:
    if app_log is None or app_log.get("unmeasured") or "errors" not in app_log:
        return ""
    errors, warnings = int(app_log.get("errors", 0)), int(app_log.get("warnings", 0))
    first = [str(x) for x in [*(app_log.get("error_lines") or []),
                               *(app_log.get("warning_lines") or [])]][:1]
    return f"the app log has {errors} ERROR and {warnings} WARN lines from the load" + (
        f", the first: {first[0]}" if first else "")


def _error_answers(run_dir: Path) -> str:
    """`its request lines: /api/products 4xx ×20, /api/orders 5xx ×2` from the app log's counts."""
    data, _ = read_applog_endpoints(run_dir)
    if data is None:
        return ""
    found: list[tuple[int, str]] = []
    for route, r in (data.get("routes") or {}).items():
        for cls, n in ((r or {}).get("by_class") or {}).items():
            if str(cls) in ("4xx", "5xx") and isinstance(n, int | float) and n > 0:
                found.append((int(n), f"{route} {cls} ×{int(n)}"))
    if not found:
        return ""
    found.sort(key=lambda f: -f[0])
    more = len(found) - ROUTES_NAMED
    return "its request lines: " + ", ".join(text for _, text in found[:ROUTES_NAMED]) + (
        f" and {more} more" if more > 0 else "")
