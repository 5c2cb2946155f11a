"""An access log read in the wrong unit: the server cannot take longer than its clients waited, so a
server time ten times the client's is a reading error, said before anyone trusts a number from it."""

from __future__ import annotations

from perfdash.artifacts import APPLOG_ENDPOINTS_JSON
from perfdash.collect.request_time_units import unit_suspect
from perfdash.diagnose.facts import Facts
from perfdash.diagnose.model import Evidence, Finding, Gap

ID = "log-time-unit"


def find(facts: Facts) -> list[Finding] | Gap:
    both = [e for e in facts.endpoints if e.server_p50_ms and e.client_p50_ms]
    if not both:
        return []
    busiest = max(both, key=lambda e: e.requests or 0)
    warning = unit_suspect(busiest.server_p50_ms, busiest.client_p50_ms, facts.log_time_unit)
    if warning is None:
        return []
    return [Finding(
        ID, "The access log's request times cannot be right: " + warning.rstrip("."), 0.0,
        "the log's request-time field is in another unit than the one it was read in",
        "set access_log_format (nginx, gunicorn, apache…) or access_log_time_unit for this "
        "environment in profiles.toml, then `perfdash show` the run again",
        "high", [Evidence(f"{busiest.endpoint}: server p50 {busiest.server_p50_ms:,.1f} ms against "
                          f"{busiest.client_source} p50 {busiest.client_p50_ms:,.1f} ms",
                          APPLOG_ENDPOINTS_JSON)], endpoint=busiest.endpoint)]
