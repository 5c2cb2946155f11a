"""The health route polled during the load, as a check: what it answered, poll by poll counted.

A backend whose health route failed now and then under load was unhealthy for part of the run even
when the load tools' thresholds held; one that failed it three times in a row stopped the run
already (perfdash.collect.health). Rules:

- pass: every poll answered 2xx;
- fail: more than a quarter of the polls got a 5xx, a timeout or no answer (unhealthy for a good
  part of the load);
- warn: anything else that was not 2xx (a few bad polls, or a route answering 4xx: then it is
  not the health route, and `health_path` wants fixing);
- not measured: the run ended before the first poll.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from perfdash.check import ZERO, Check
from perfdash.events import Status

UNHEALTHY_SHARE = 0.25


def _count(value: Any) -> int:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def health_check(health: Mapping[str, Any]) -> Check:
    path = str(health.get("path") or "the health route")
    name = f"Health GET {path}"
    codes = {str(code): _count(n) for code, n in (health.get("codes") or {}).items()}
    timeouts = _count(health.get("timeouts"))
    silent = {str(why): _count(n) for why, n in (health.get("no_answer") or {}).items()}
    polls = sum(codes.values()) + timeouts + sum(silent.values())
    if polls == 0:
        return Check.not_measured("health.polls", name, "the run ended before the health route "
                                  "was polled once", "all 2xx", "perfdash default")
    ok = sum(n for code, n in codes.items() if code.startswith("2"))
    unhealthy = sum(n for code, n in codes.items() if code.startswith("5")) + timeouts + sum(
        silent.values())
    detail = ", ".join([*(f"{n} × {code}" for code, n in sorted(codes.items())),
                        f"{timeouts} timeouts",
                        *(f"{n} × no answer ({why})" for why, n in silent.items())])
    interval = health.get("interval_s")
    if isinstance(interval, int | float):
        detail += f" (polled every {interval:g} s)"
    status: Status = "pass"
    if unhealthy > UNHEALTHY_SHARE * polls:
        status = "fail"
    elif ok < polls:
        status = "warn"
        if ok == 0 and unhealthy == 0:
            detail += f"; every poll got a 4xx: is {path} the backend's health route (health_path)?"
    return Check("health.polls", name, status, polls - ok, ZERO.text, "perfdash default", detail,
                 limit=ZERO)
