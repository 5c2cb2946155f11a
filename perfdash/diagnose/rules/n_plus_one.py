"""N+1 queries: a one-row lookup run once per row of a list, many times per request.

The chain is read from the workload alone, as Sentry reads it from spans: a lookup statement B
(one row per call, fast) whose calls match the rows returned by a list statement A, and A's calls
match the requests of one endpoint. Then B runs A's rows-per-call times per request of that
endpoint. When no list statement matches, B's calls are compared with each endpoint's requests:
a whole-number ratio of ten or more is a weaker sign, and said so.
"""

from __future__ import annotations

import re

from perfdash.artifacts import APPLOG_ENDPOINTS_JSON, QUERY_ANALYSIS_JSON, SUMMARY_JSON
from perfdash.diagnose.facts import EndpointLoad, Facts, Statement
from perfdash.diagnose.model import Confidence, Evidence, Finding, Gap
from perfdash.diagnose.rules.common import ms, short

ID = "n-plus-one"
_READ = re.compile(r"\s*(?:select|with)\b", re.I)
MIN_RATIO = 10.0
MIN_CALLS = 200
LOOKUP_MAX_ROWS = 1.05
LOOKUP_MAX_MS = 5.0
ROWS_MATCH = 0.05  # B.calls within 5% of A.rows
REQUESTS_MATCH = 0.10  # A.calls within 10% of an endpoint's requests
WHOLE = 0.02  # a ratio within 0.02 of a whole number (calls are whole multiples of requests)
MIN_REQUESTS = 50  # an endpoint hit a handful of times gives a whole ratio by chance


def _close(a: float, b: float, tol: float) -> bool:
    return b > 0 and abs(a - b) / b <= tol


def _endpoint_for(calls: int, endpoints: list[EndpointLoad]) -> EndpointLoad | None:
    near = [e for e in endpoints if e.requests and _close(calls, e.requests, REQUESTS_MATCH)]
    return min(near, key=lambda e: abs(calls - (e.requests or 0)), default=None)


def _by_ratio(b: Statement, endpoints: list[EndpointLoad]) -> tuple[EndpointLoad, float] | None:
    found = []
    for e in endpoints:
        if not e.requests:
            continue
        ratio = b.calls / e.requests
        if ratio >= MIN_RATIO and e.requests >= MIN_REQUESTS and abs(ratio - round(ratio)) <= WHOLE:
            found.append((e, ratio))
    # the smallest whole ratio: an endpoint with half the requests would give twice the ratio
    return min(found, key=lambda p: p[1], default=None)


def find(facts: Facts) -> list[Finding] | Gap:
    if facts.statements_gap and not facts.statements:
        return Gap(ID, f"the run's statement workload: {facts.statements_gap}")
    stmts = [s for s in facts.statements if s.kind == "statement"]
    out = []
    for b in stmts:
        if b.calls < MIN_CALLS or b.rows_per_call > LOOKUP_MAX_ROWS or b.mean_ms > LOOKUP_MAX_MS:
            continue
        lists = [a for a in stmts if a is not b and a.rows_per_call >= MIN_RATIO
                 and _close(b.calls, a.rows, ROWS_MATCH)]
        a = min(lists, key=lambda a: abs(a.rows - b.calls), default=None)
        endpoint, ratio = None, 0.0
        confidence: Confidence = "low"
        evidence = []
        if a is not None:
            ratio = b.calls / a.calls
            endpoint = _endpoint_for(a.calls, facts.endpoints)
            confidence = "high" if endpoint else "medium"
            evidence.append(Evidence(
                f"`{short(b.query, 80)}` ran {b.calls:,} times ({b.rows_per_call:.1f} row per call, "
                f"mean {ms(b.mean_ms)}) — once per row returned by `{short(a.query, 80)}` "
                f"({a.calls:,} calls, {a.rows:,} rows, {a.rows_per_call:.0f} per call)",
                QUERY_ANALYSIS_JSON))
        elif _READ.match(b.query):  # without a list to match, only a read is a lookup
            match = _by_ratio(b, facts.endpoints)
            if match is None:
                continue
            endpoint, ratio = match
            evidence.append(Evidence(
                f"`{short(b.query, 80)}` ran {b.calls:,} times ({b.rows_per_call:.1f} row per call, "
                f"mean {ms(b.mean_ms)}): {ratio:.1f} calls per request of {endpoint.endpoint}",
                QUERY_ANALYSIS_JSON))
        if ratio < MIN_RATIO:
            continue
        where = f" in {endpoint.endpoint}" if endpoint else ""
        if endpoint is not None:
            evidence.append(Evidence(
                f"{endpoint.endpoint} served {endpoint.requests:,} requests "
                f"(counted by {endpoint.requests_source})",
                APPLOG_ENDPOINTS_JSON if endpoint.requests_source == "log" else SUMMARY_JSON))
        if b.merged:
            evidence.append(Evidence(f"merged: {b.merged}", QUERY_ANALYSIS_JSON))
        out.append(Finding(
            ID,
            f"N+1{where}: `{short(b.query, 80)}` runs {ratio:.0f}× per request "
            f"({b.calls:,} calls)",
            b.share,
            f"the code loads a list, then fetches each row with its own query: {ratio:.0f} round "
            "trips per request, each paying network and pool latency",
            "load the rows in one query: a JOIN, `WHERE id = ANY($1)` with the list of ids, or "
            "your ORM's eager loading (select_related / prefetch_related, joinedload / selectinload, "
            "include)",
            confidence, evidence, endpoint=endpoint.endpoint if endpoint else None,
            statement=b.query))
    return out
