"""What unit a log's request times are in, when the line does not say.

An access log's request time has no unit on the line: nginx writes decimal seconds (`0.031`),
gunicorn's `%(M)s` integer milliseconds, its `%(D)s` and Apache's `%D` integer microseconds. The
environment's `access_log_time_unit` or `access_log_format` settles it; without them the first
`UNIT_SAMPLE` times decide (a fraction means seconds, integers milliseconds unless typically above
100,000, then microseconds) and the artifact says which unit was assumed and why, because a wrong
guess is a 1000x error that looks like a slow backend. Kept apart from the counting
(perfdash.collect.access_log) because the settings, the counter and the diagnosis's unit check
(`unit_suspect`) all reason about the same units.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

# Milliseconds per unit of an access log's request time.
TIME_UNITS: Mapping[str, float] = {"us": 0.001, "ms": 1.0, "s": 1000.0}
# The unit each access-log preset writes its request time in; None: the preset has no request time.
# gunicorn's `%(L)s` (decimal seconds) is told from its `%(M)s` by the fraction.
FORMAT_UNITS: Mapping[str, str | None] = {"combined": None, "common": None, "nginx": "s",
                                          "gunicorn": "ms", "apache": "us"}
UNIT_SAMPLE = 100  # request times looked at before an unset unit is inferred
MICROSECONDS_ABOVE = 100_000  # a typical integer time above this is microseconds, not ms
SUSPECT_RATIO = 10.0  # the server's mean time above this many times the clients' is a unit mistake
# JSON latency keys that do not say their unit: milliseconds or seconds, told apart by the times.
UNITLESS_KEYS = frozenset({"duration"})


def guess_json_unit(key: str, times: list[tuple[bytes, int]]) -> tuple[str, str]:
    """(unit, why) for a JSON latency whose key does not name its unit, from (raw time, count) pairs.

    A request typically under a millisecond is rarer than one under a second, so a typical time
    below 1 is seconds (structlog's and many middlewares' `duration`), else milliseconds."""
    values = sorted((float(raw), n) for raw, n in times)
    half, seen, median = sum(n for _, n in values) / 2, 0, 0.0
    for value, n in values:
        seen += n
        if seen >= half:
            median = value
            break
    if median < 1:
        return "s", (f"inferred: the {key!r} field, typically {median:g}, is read as seconds; if it is "
                     'ms set time_unit = "ms" for this log')
    return "ms", (f"inferred: the {key!r} field, typically {median:g}, is read as ms; if it is seconds "
                  'set time_unit = "s" for this log')


def infer_time_unit(times: list[tuple[bytes, int]]) -> tuple[str, str]:
    """(unit, why) for request times written without a unit, from (raw time, count) pairs.

    A fraction means seconds (nginx's `0.031`, gunicorn's `%(L)s`). Integers are never taken for
    seconds: they are milliseconds (gunicorn's `%(M)s`) unless the typical one is above
    MICROSECONDS_ABOVE, a request of minutes in ms but a tenth of a second in µs (`%(D)s`, `%D`)."""
    if any(b"." in raw for raw, _ in times):
        return "s", "inferred: request times with a fraction are seconds"
    values = sorted((int(raw), n) for raw, n in times)
    half, seen, median = sum(n for _, n in values) / 2, 0, 0
    for value, n in values:
        seen += n
        if seen >= half:
            median = value
            break
    if median > MICROSECONDS_ABOVE:
        return "us", f"inferred: integer request times, typically {median:,}, are microseconds"
    if median == 0:
        return "ms", ("inferred: integer request times, mostly 0, read as ms; if they are whole "
                      "seconds set access_log_time_unit = \"s\"")
    return "ms", f"inferred: integer request times, typically {median:,}, are milliseconds"


def unit_suspect(server_ms: float | None, client_ms: float | None,
                 assumed_unit: str | None = None) -> str | None:
    """A one-sentence warning when the access log's mean request time is more than SUSPECT_RATIO
    times the clients' mean latency for the same requests, else None.

    The server's time is part of the client's, so a log that says otherwise was read in the wrong
    unit: the ratio, rounded to a power of 1000, says by how much, and `assumed_unit` (the unit it
    was read in, "s" when unknown) which unit to set instead."""
    if server_ms is None or client_ms is None or client_ms <= 0 or server_ms <= SUSPECT_RATIO * client_ms:
        return None
    ratio = server_ms / client_ms
    # 178x and up counts as 1000x: a server spends 20-100% of the client's time on a request.
    steps = int(math.log10(ratio) / 3 + 0.25)
    units = list(TIME_UNITS)  # smallest first
    at = units.index(assumed_unit if assumed_unit is not None and assumed_unit in TIME_UNITS else "s")
    if steps < 1 or at - steps < 0:
        return (f"the access log's request time ({server_ms:,.1f} ms) is {ratio:,.0f}x the clients' "
                f"latency ({client_ms:,.1f} ms): check access_log_time_unit and access_log_format.")
    return (f"the access log's request time looks {1000 ** steps}x too large ({server_ms:,.1f} ms "
            f"against the clients' {client_ms:,.1f} ms): set access_log_time_unit = "
            f"\"{units[at - steps]}\".")
