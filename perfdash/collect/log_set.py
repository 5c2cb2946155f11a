"""Every log of an environment followed at once: one tail per file, their counts added up.

App logs give the ERROR/WARN counts, the pool lines and the live log pane (each line named by its
file when the pane follows more than one); access logs, and app logs that hold request lines, give
the requests per endpoint. Each tail keeps its own EndpointCounter and PoolLines, as each reads on
its own thread; they are added up once the tails have stopped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from perfdash.artifacts import write_json_atomic
from perfdash.collect.access_log import ARTIFACT as ENDPOINTS_ARTIFACT
from perfdash.collect.access_log import EndpointCounter
from perfdash.collect.applog import SAMPLE_LINES, AppLogTail
from perfdash.collect.base import DISK_FIX, RunNotes, Setup
from perfdash.events import Bus
from perfdash.settings import LogSpec

NO_APP_LOG = ("the environment names only access logs: add an app log to logs "
              '({ path = "...", kind = "app" }) to count its errors')


def labels(paths: Sequence[Path]) -> list[str]:
    """Short names that tell the files apart: the file name, with its directory when two share it."""
    names = [p.name for p in paths]
    repeated = {n for n, k in Counter(names).items() if k > 1}
    return [f"{p.parent.name}/{p.name}" if p.name in repeated else p.name for p in paths]


def log_set(setup: Setup) -> LogSet | None:
    """The registry's factory: the logs the caller resolved (the demo's, or the environment's)."""
    if not setup.logs:
        return None
    env = setup.env
    return LogSet(setup.bus, setup.logs, fields=env.log_fields, from_start=setup.logs_from_start,
                  pool_pattern=env.pool_log_pattern)


class LogSet:
    """Starts and stops a tail per log; `record()` and `endpoints_json()` are the totals."""

    name = "logs"
    columns: tuple[str, ...] = ("log_lines", "log_errors", "srv_p50_ms", "srv_p95_ms", "srv_p99_ms")

    def __init__(self, bus: Bus, specs: Sequence[LogSpec], *, fields: Mapping[str, str] | None = None,
                 pool_pattern: str | None = None, from_start: bool = False,
                 batch_interval_s: float = 0.25) -> None:
        self.specs = tuple(specs)
        app = [s for s in self.specs if s.kind == "app"]
        named = dict(zip((s.path for s in app), labels([s.path for s in app]), strict=True))
        self.tails: list[AppLogTail] = [
            AppLogTail(bus, s.path, batch_interval_s=batch_interval_s, from_start=from_start,
                       endpoints=EndpointCounter(fields, log_format=s.format, time_unit=s.time_unit)
                       if s.counts_requests else None,
                       pool_pattern=pool_pattern, levels=s.kind == "app",
                       label=named.get(s.path) if len(app) > 1 else None)
            for s in self.specs]

    def start(self) -> None:
        for tail in self.tails:
            tail.start()

    def stop(self) -> None:
        for tail in self.tails:
            tail.stop()

    def finish(self, run_dir: Path, record: RunNotes) -> None:
        """summary.json's `app_log` and applog-endpoints.json; a file that cannot be written is a
        problem of the run, never the end of its summary."""
        record.app_log = self.record()
        try:
            self.write_endpoints(run_dir / ENDPOINTS_ARTIFACT)
        except OSError as exc:
            record.problem(f"cannot write {ENDPOINTS_ARTIFACT}: {exc.strerror}", DISK_FIX)

    def _app(self) -> list[tuple[LogSpec, AppLogTail]]:
        return [(s, t) for s, t in zip(self.specs, self.tails, strict=True) if s.kind == "app"]

    @property
    def lines_total(self) -> int:
        return sum(t.lines_total for _, t in self._app())

    @property
    def errors_total(self) -> int:
        return sum(t.errors_total for _, t in self._app())

    @property
    def warnings_total(self) -> int:
        return sum(t.warnings_total for _, t in self._app())

    def unmeasured(self) -> str | None:
        """Why no error could be counted: no app log, or none of them could be followed."""
        app = self._app()
        if not app:
            return NO_APP_LOG
        reasons = [t.unmeasured() for _, t in app]
        if all(reasons):
            return "; ".join(r for r in reasons if r)
        return None

    def pool_lines(self) -> dict[str, Any] | None:
        parts = [t.pool_lines for _, t in self._app() if t.pool_lines.by_library]
        if not parts:
            return None
        by_library: Counter[str] = Counter()
        for p in parts:
            by_library.update(p.by_library)
        waiting = max(p.max_waiting for p in parts)
        return {"by_library": dict(by_library), "lines": sum(by_library.values()),
                "max_waiting": waiting or None, "example": next(p.example for p in parts)}

    def record(self) -> dict[str, Any]:
        """summary.json's `app_log`: the app logs' totals under the first one's path, and each file
        on its own when there are several."""
        app = self._app()
        first = app[0][0].path if app else self.specs[0].path
        out: dict[str, Any] = {"path": str(first), "lines": self.lines_total,
                               "errors": self.errors_total, "warnings": self.warnings_total,
                               "unmeasured": self.unmeasured(), "pool_lines": self.pool_lines(),
                               "error_lines": self._first("error_lines"),
                               "warning_lines": self._first("warning_lines")}
        if len(self.specs) > 1:
            out["files"] = [{"path": str(s.path), "kind": s.kind, "lines": t.lines_total,
                             "errors": t.errors_total, "warnings": t.warnings_total,
                             "unmeasured": t.unmeasured()}
                            for s, t in zip(self.specs, self.tails, strict=True)]
        return out

    def _first(self, level: str) -> list[str]:
        """The first ERROR (or WARN) lines the app logs kept, each named by its file when there
        are several, so a verdict can quote what the backend said."""
        app = self._app()
        names = labels([s.path for s, _ in app]) if len(app) > 1 else [""] * len(app)
        return [f"[{name}] {line}" if name else line
                for name, (_, t) in zip(names, app, strict=True)
                for line in getattr(t, level)][:SAMPLE_LINES]

    def endpoints_json(self) -> dict[str, Any] | None:
        """applog-endpoints.json: one log's counts as they are, several logs' added up."""
        counted = [(t.path, t.endpoints) for t in self.tails if t.endpoints is not None]
        if not counted:
            return None
        if len(counted) == 1:
            return counted[0][1].to_json()
        return merge_endpoints([(path, counter.to_json()) for path, counter in counted])

    def write_endpoints(self, path: Path) -> None:
        data = self.endpoints_json()
        if data is not None:
            write_json_atomic(path, data)


def merge_endpoints(parts: Sequence[tuple[Path, Mapping[str, Any]]]) -> dict[str, Any]:
    """Several logs' request counts as one artifact: counts, classes and histograms added per route;
    the format and unit named per file under `logs`, the busiest timed file's unit on top (the
    unit check of the diagnosis compares that one with the clients' latency)."""
    routes: dict[str, dict[str, Any]] = {}
    for _, part in parts:
        for route, r in part["routes"].items():
            into = routes.setdefault(route, {"count": 0, "by_class": Counter(), "status_429": 0,
                                             "latency_n": 0, "latency_sum": 0.0, "buckets": Counter()})
            into["count"] += r["count"]
            into["by_class"].update(r["by_class"])
            into["status_429"] += r["status_429"]
            into["latency_n"] += r["latency_n"]
            into["latency_sum"] += (r["latency_avg_ms"] or 0.0) * r["latency_n"]
            into["buckets"].update(r["buckets"])
            if r.get("upstream_n") or r.get("proxy_answered"):
                _add_upstream(into, r)
    merged = {route: {"count": r["count"], "by_class": dict(sorted(r["by_class"].items())),
                      "status_429": r["status_429"], "latency_n": r["latency_n"],
                      "latency_avg_ms": round(r["latency_sum"] / r["latency_n"], 3)
                      if r["latency_n"] else None,
                      "buckets": dict(sorted(r["buckets"].items(), key=lambda i: int(i[0]))),
                      **_upstream_json(r)}
              for route, r in sorted(routes.items())}
    names = labels([p for p, _ in parts])
    formats = list(dict.fromkeys(str(part["format"]) for _, part in parts if part["format"]))
    timed = [part for _, part in parts if any(r["latency_n"] for r in part["routes"].values())]
    unit_of = max(timed, key=lambda part: part["request_lines"]) if timed else None
    notes = [f"{name}: {part['note']}" for name, (_, part) in zip(names, parts, strict=True)
             if part["note"]]
    return {"format": "+".join(formats) or None,
            "upstream_times": any(part.get("upstream_times") for _, part in parts),
            "request_lines": sum(int(part["request_lines"]) for _, part in parts),
            "latency_not_read": sum(int(part["latency_not_read"]) for _, part in parts),
            "time_unit": unit_of["time_unit"] if unit_of else None,
            "time_unit_source": unit_of["time_unit_source"] if unit_of else None,
            "bucket_base": parts[0][1]["bucket_base"], "routes": merged,
            "note": "; ".join(notes) or None,
            "logs": [{"path": str(path), "format": part["format"],
                      "request_lines": part["request_lines"], "time_unit": part["time_unit"],
                      "time_unit_source": part["time_unit_source"], "note": part["note"]}
                     for path, part in parts]}


def _add_upstream(into: dict[str, Any], r: Mapping[str, Any]) -> None:
    """A reverse proxy's figures for a route (access_log.py): sums, so several logs add up."""
    n = int(r.get("upstream_n") or 0)
    into["upstream_n"] = into.get("upstream_n", 0) + n
    into["upstream_sum"] = into.get("upstream_sum", 0.0) + (r.get("upstream_avg_ms") or 0.0) * n
    into["proxy_sum"] = into.get("proxy_sum", 0.0) + (r.get("proxy_avg_ms") or 0.0) * n
    into.setdefault("upstream_buckets", Counter()).update(r.get("upstream_buckets") or {})
    into.setdefault("proxy_answered", Counter()).update(r.get("proxy_answered") or {})


def _upstream_json(r: Mapping[str, Any]) -> dict[str, Any]:
    if "upstream_n" not in r:
        return {}
    n = r["upstream_n"]
    return {"upstream_n": n,
            "upstream_avg_ms": round(r["upstream_sum"] / n, 3) if n else None,
            "proxy_avg_ms": round(r["proxy_sum"] / n, 3) if n else None,
            "upstream_buckets": dict(sorted(r["upstream_buckets"].items(), key=lambda i: int(i[0]))),
            "proxy_answered": dict(sorted(r["proxy_answered"].items()))}
