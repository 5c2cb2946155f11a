"""`[profiles.P.locust]`, read and validated here rather than in the settings (which hand the table
over through `register_tool_table`): the locustfile, how many users at what spawn rate for how long,
the host (default: the environment's base_url), and the limits the verdict holds the run to.

Locust itself runs forever without a run time, so one is required; its `-t` grammar (`90`, `30s`,
`1h20m`) is accepted as written, or a number of seconds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfdash.settings import ToolTable, ToolTableError

KEYS = ("locustfile", "users", "spawn_rate", "run_time", "host", "user_classes", "check_fail_ratio",
        "check_avg_response_time", "check_p95_response_time")
# Locust's own `-t` grammar (locust.util.timespan): whole hours, minutes and seconds, in that order.
_TIMESPAN = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")


@dataclass(frozen=True)
class LocustOptions:
    """The table, typed. Limits in ms; `check_fail_ratio` 0 is Locust's own rule (any failed
    request fails the run)."""

    locustfile: Path
    users: int
    spawn_rate: float
    run_time: str  # as Locust's -t reads it
    run_time_s: float
    host: str | None = None
    user_classes: tuple[str, ...] = ()
    check_fail_ratio: float = 0.0
    check_avg_response_time: float | None = None
    check_p95_response_time: float | None = None


def run_time_seconds(raw: Any) -> tuple[str, float] | None:
    """(Locust's -t argument, seconds) for `90`, `"90"`, `"1m30s"`; None when Locust would refuse it."""
    if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0:
        return f"{raw}s", float(raw)
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    if text.isdigit() and int(text) > 0:
        return f"{text}s", float(text)
    m = _TIMESPAN.match(text)
    if not text or m is None:
        return None
    seconds = int(m["h"] or 0) * 3600 + int(m["m"] or 0) * 60 + int(m["s"] or 0)
    return (text, float(seconds)) if seconds > 0 else None


def _number(data: Mapping[str, Any], key: str, default: float | None, low: float,
            high: float = math.inf) -> float | None:
    raw = data.get(key, default)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw) \
            or not low <= raw <= high:
        bound = f"from {low:g} to {high:g}" if math.isfinite(high) else f"of at least {low:g}"
        raise ToolTableError(key, f"expected a number {bound}, got {raw!r}",
                             f"write e.g. {key} = {default if default is not None else 500}")
    return float(raw)


def read_table(data: Mapping[str, Any], project: Path) -> ToolTable:
    """The settings hook: the table as a ToolTable carrying LocustOptions, or ToolTableError."""
    for key in data:
        if key not in KEYS:
            raise ToolTableError(key, f"unknown key {key!r}", f"use one of: {', '.join(sorted(KEYS))}")
    script = data.get("locustfile")
    if not isinstance(script, str) or not script:
        raise ToolTableError("locustfile", "names no locustfile",
                             'add locustfile = "locust/locustfile.py"')
    users = data.get("users", 1)
    if isinstance(users, bool) or not isinstance(users, int) or users < 1:
        raise ToolTableError("users", f"expected a whole number of users of at least 1, got {users!r}",
                             "write e.g. users = 10")
    spawn = _number(data, "spawn_rate", float(users), 0.001)
    if "run_time" not in data:
        raise ToolTableError(None, "sets no run_time, and Locust runs until stopped without one",
                             'add run_time = "1m" (or a number of seconds)')
    run_time = run_time_seconds(data["run_time"])
    if run_time is None:
        raise ToolTableError("run_time", f"{data['run_time']!r} is not a length Locust reads",
                             'write e.g. run_time = "90s", "1m30s" or 90')
    host = data.get("host")
    if host is not None and (not isinstance(host, str) or not re.match(r"^https?://[^\s/]+", host)):
        raise ToolTableError("host", f"expected an http:// or https:// URL, got {host!r}",
                             'write e.g. host = "http://127.0.0.1:8080", or leave it out for the '
                             "environment's base_url")
    classes = data.get("user_classes", [])
    if not isinstance(classes, list) or not all(isinstance(c, str) and c.isidentifier() for c in classes):
        raise ToolTableError("user_classes", f"expected a list of User class names, got {classes!r}",
                             'write e.g. user_classes = ["ShopUser"]')
    options = LocustOptions(
        locustfile=project / script, users=users, spawn_rate=spawn or float(users),
        run_time=run_time[0], run_time_s=run_time[1], host=host, user_classes=tuple(classes),
        check_fail_ratio=_number(data, "check_fail_ratio", 0.0, 0.0, 1.0) or 0.0,
        check_avg_response_time=_number(data, "check_avg_response_time", None, 0.0),
        check_p95_response_time=_number(data, "check_p95_response_time", None, 0.0))
    return ToolTable(options.locustfile, options.run_time_s, options)
