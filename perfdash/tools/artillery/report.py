"""The one reader of Artillery's results: the report (`artillery-<profile>.json`), and when Artillery
was killed before writing it, the progress lines the perfdash-progress plugin recorded (a partial
picture, marked as such). Analysis, reports, compare and the result view all read through here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from perfdash.artifacts import read_json_member, read_regular_text
from perfdash.shape import NONE, NUMBER, MapOf, Obj, file_problem
from perfdash.tools.base import EndpointRow, LatencyRow

# Socket.IO client failures surface as `errors.Error: <message>` (xhr poll error, websocket error,
# server error, or the server's own rejection such as `unauthorized`); plain HTTP failures use
# error codes (ECONNREFUSED, ETIMEDOUT) instead.
SOCKETIO_ERROR_PREFIXES = ("errors.Error: ",)
SOCKETIO_ERROR_NAMES = ("errors.response timeout", "errors.data is not valid")
# Errors after which no reply came at all: the port refused, the connection was reset or timed out
# before any answer (Socket.IO's polling and websocket transports report a closed port as `xhr poll
# error` and `websocket error`). Any other error is the backend's answer: a rejected handshake
# (`errors.Error: unauthorized`), a failed capture on a 401 body, `server error` from a server that
# is not a Socket.IO server.
NO_ANSWER_ERRORS = frozenset({
    "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ESOCKETTIMEDOUT", "EHOSTUNREACH", "ENETUNREACH",
    "ENOTFOUND", "EAI_AGAIN", "Error: xhr poll error", "Error: websocket error", "Error: timeout",
    "response timeout"})
LATENCY_METRICS = ("http.response_time", "socketio.response_time")
# perfdash's names for latency statistics -> Artillery's keys in a summary
LATENCY_KEYS = {"avg": "mean", "min": "min", "med": "median", "p90": "p90", "p95": "p95",
                "p99": "p99", "max": "max"}
ENDPOINT_PREFIX = "plugins.metrics-by-endpoint.response_time."
_BY_ENDPOINT = "plugins.metrics-by-endpoint."
# `<url> (<name>)` when the request has a `name`, else `<url>`; then `.codes.<n>` or `.errors.<E>`
_ENDPOINT_COUNTER = re.compile(r"^(.*)\.(codes|errors)\.([^.]+(?:\..*)?)$")
_NAMED = re.compile(r"^(.*) \(([^()]*)\)$")
# What the checks, the endpoints and the result view read of the report's aggregate.
REPORT = Obj({"aggregate": Obj({"counters": MapOf(NUMBER, nullable=True),
                                "summaries": MapOf(MapOf((*NUMBER, NONE)), nullable=True)})})


@dataclass(frozen=True)
class ArtilleryResults:
    aggregate: dict[str, Any]
    partial: bool  # from progress lines: Artillery did not finish its report
    problem: str | None
    ensure: list[dict[str, Any]] | None  # the ensure plugin's verdict, when it ran

    @property
    def counters(self) -> dict[str, Any]:
        return self.aggregate.get("counters") or {}

    def summary(self, metric: str) -> dict[str, Any] | None:
        value = (self.aggregate.get("summaries") or {}).get(metric)
        return value if isinstance(value, dict) else None

    def socketio_errors(self) -> dict[str, int]:
        return socketio_errors(self.counters)

    def latency_rows(self) -> list[LatencyRow]:
        """HTTP and Socket.IO response times, then one row per endpoint when the scenario uses
        the metrics-by-endpoint plugin."""
        summaries = self.aggregate.get("summaries") or {}
        names = [n for n in LATENCY_METRICS if isinstance(summaries.get(n), dict)]
        names += sorted(n for n in summaries if n.startswith(ENDPOINT_PREFIX)
                        and isinstance(summaries[n], dict))
        rows = []
        for name in names:
            s = summaries[name]
            label = ("endpoint " + name.removeprefix(ENDPOINT_PREFIX)
                     if name.startswith(ENDPOINT_PREFIX) else name)
            stats = {k: float(v) if isinstance(v := s.get(src), int | float) else None
                     for k, src in LATENCY_KEYS.items()}
            count = s.get("count")
            rows.append(LatencyRow("Artillery", label, stats,
                                   int(count) if isinstance(count, int | float) else None))
        return rows


    def endpoints(self) -> list[EndpointRow]:
        """One row per metrics-by-endpoint key (`url` or `url (name)`), plus one for Socket.IO
        (Artillery reports its emits as one metric, not per event)."""
        summaries = self.aggregate.get("summaries") or {}
        keys: dict[str, dict[str, Any]] = {}
        for name, s in summaries.items():
            if name.startswith(ENDPOINT_PREFIX) and isinstance(s, dict):
                keys.setdefault(name.removeprefix(ENDPOINT_PREFIX), {})["summary"] = s
        for name, value in self.counters.items():
            if not name.startswith(_BY_ENDPOINT) or name.startswith(ENDPOINT_PREFIX):
                continue
            m = _ENDPOINT_COUNTER.match(name.removeprefix(_BY_ENDPOINT))
            if m and isinstance(value, int | float):
                entry = keys.setdefault(m.group(1), {})
                entry.setdefault(m.group(2), {})[m.group(3)] = int(value)
        rows = []
        for key, entry in sorted(keys.items()):
            named = _NAMED.match(key)
            url, label = (named.group(1), named.group(2)) if named else (key, key)
            s = entry.get("summary") or {}
            codes: dict[str, int] = entry.get("codes") or {}
            errors = sum((entry.get("errors") or {}).values())
            count = s.get("count")
            answered = sum(codes.values())
            rows.append(EndpointRow(
                "Artillery", label, "http", url=url, tag="name" if named else None,
                requests=answered + errors if codes or errors else (
                    int(count) if isinstance(count, int | float) else None),
                p50=_num(s.get("median")), p95=_num(s.get("p95")), p99=_num(s.get("p99")),
                errors=errors, status_5xx=sum(n for c, n in codes.items() if c.startswith("5")),
                codes=codes))
        sio = self.summary("socketio.response_time")
        emits = self.counters.get("socketio.emit")
        if sio is not None or isinstance(emits, int | float):
            s = sio or {}
            rows.append(EndpointRow(
                "Artillery", "socket.io emit", "socketio",
                requests=int(emits) if isinstance(emits, int | float) else None,
                p50=_num(s.get("median")), p95=_num(s.get("p95")), p99=_num(s.get("p99")),
                errors=sum(self.socketio_errors().values())))
        return rows


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def error_counters(counters: dict[str, Any]) -> dict[str, int]:
    """Every `errors.<what>` counter of the aggregate, name kept whole (`errors.ECONNREFUSED`)."""
    return {k: int(v) for k, v in counters.items()
            if k.startswith("errors.") and isinstance(v, int | float) and not isinstance(v, bool)}


def no_answer(counter: str) -> bool:
    """Whether an error counter means nothing answered (refused, reset, timed out)."""
    return counter.removeprefix("errors.") in NO_ANSWER_ERRORS


def socketio_errors(counters: dict[str, Any]) -> dict[str, int]:
    return {k.removeprefix("errors."): int(v) for k, v in counters.items()
            if k.startswith(SOCKETIO_ERROR_PREFIXES) or k in SOCKETIO_ERROR_NAMES}


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_mtime_ns, st.st_size


def read_artillery(run_dir: Path, profile_name: str) -> tuple[ArtilleryResults | None, str | None]:
    """The report's aggregate, else the recorded progress; None with the reason when neither.

    A soak's report is tens of megabytes of JSON and the checks, the endpoints and the result
    view all ask: the answer is kept while neither file changes."""
    report = run_dir / f"artillery-{profile_name}.json"
    progress = run_dir / "artillery-progress.ndjson"
    return _read_cached(report, progress, _stamp(report), _stamp(progress))


@lru_cache(maxsize=4)
def _read_cached(report: Path, progress: Path, _report_stamp: tuple[int, int] | None,
                 _progress_stamp: tuple[int, int] | None,
                 ) -> tuple[ArtilleryResults | None, str | None]:
    ensure = read_ensure(progress)
    aggregate, problem = read_json_member(report, "aggregate")
    if isinstance(aggregate, dict):
        if (shape := file_problem(report.name, {"aggregate": aggregate}, REPORT)) is not None:
            return None, shape
        return ArtilleryResults(aggregate, False, None, ensure), None
    partial = _from_progress(progress)
    if partial is not None and file_problem(progress.name, {"aggregate": partial}, REPORT):
        partial = None  # damaged progress lines: the report's own problem is the answer
    if partial is not None:
        why = f"{problem}; using the live progress lines recorded so far"
        return ArtilleryResults(partial, True, why, ensure), why
    return None, problem


def read_ensure(progress: Path) -> list[dict[str, Any]] | None:
    for rec in _records(progress):
        if rec.get("type") == "ensure" and isinstance(rec.get("checks"), list):
            return [c for c in rec["checks"] if isinstance(c, dict)]
    return None


def _records(path: Path) -> list[dict[str, Any]]:
    try:
        lines = read_regular_text(path).splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a kill
        if isinstance(rec, dict):
            out.append(rec)
    return out


def _from_progress(path: Path) -> dict[str, Any] | None:
    """Sum the per-window counters of the progress lines; keep the last window's summaries."""
    counters: dict[str, float] = {}
    summaries: dict[str, Any] = {}
    seen = False
    for rec in _records(path):
        if rec.get("type") == "summary":
            return {"counters": rec.get("counters", {}), "summaries": rec.get("summaries", {}),
                    "rates": rec.get("rates", {})}
        if rec.get("type") not in (None, "intermediate"):
            continue
        seen = True
        for k, v in (rec.get("counters") or {}).items():
            counters[k] = counters.get(k, 0) + v
        summaries.update(rec.get("summaries") or {})
    return {"counters": counters, "summaries": summaries, "rates": {}} if seen else None
