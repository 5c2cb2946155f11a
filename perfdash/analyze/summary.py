"""Build `summary.json` from a run directory's artifacts: every check, the overall status, pointers to
every artifact and the resolved configuration with secrets redacted.

Used at the end of a live run and by `perfdash show`, so both give the same answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from perfdash.analyze.checks import Check
from perfdash.analyze.dbreport import analyse_connections, analyse_database
from perfdash.analyze.endpoints import endpoints_for
from perfdash.analyze.findings import findings
from perfdash.analyze.health import health_check
from perfdash.analyze.host import analyse_host
from perfdash.analyze.rejections import with_backend_side
from perfdash.analyze.verdict import EXIT_CODES, Overall, overall_status
from perfdash.artifacts import SCHEMA_VERSION, SUMMARY_JSON, RunPaths, SummaryError, load_summary
from perfdash.check import ZERO
from perfdash.diagnose import diagnose
from perfdash.settings import Environment, HostLimits, K6Stage, Profile, read_tool_tables
from perfdash.thresholds import Threshold
from perfdash.tools import TOOLS, tools_for
from perfdash.tools.k6.generators import generator_artifacts


@dataclass
class RunRecord:
    """What the orchestrator knows that the artifacts cannot say: how tools ended, what went wrong."""

    started_at: datetime
    ended_at: datetime | None = None
    interrupted: bool = False
    could_not_run: bool = False
    load_started: bool = False
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[dict[str, str]] = field(default_factory=list)
    not_measured: dict[str, str] = field(default_factory=dict)
    preflight: list[dict[str, Any]] = field(default_factory=list)
    app_log: dict[str, Any] | None = None
    health: dict[str, Any] | None = None  # the health route's answers during the load

    def problem(self, what: str, fix: str = "") -> None:
        """Each problem once: the live event and the sentence written at the end often say the
        same thing, one a little longer than the other."""
        for known in self.problems:
            if known["what"].startswith(what) or what.startswith(known["what"]):
                if len(what) > len(known["what"]):
                    known.update(what=what, fix=fix or known["fix"])
                return
        self.problems.append({"what": what, "fix": fix})


def collect_checks(paths: RunPaths, profile: Profile, record: RunRecord) -> list[Check]:
    checks: list[Check] = []
    for tool in tools_for(profile):
        checks += [with_backend_side(c, record.app_log, paths.root) for c in tool.checks(
            paths.root, profile, record.tools.get(tool.name), record.not_measured.get(tool.name))]
    checks += analyse_host(paths.metrics_csv, profile, record.not_measured.get("metrics"))
    checks += analyse_database(paths.query_analysis, profile, record.not_measured.get("database"))
    if paths.db_connections.exists() or "database" not in record.not_measured:
        checks.append(analyse_connections(paths.db_connections,
                                          record.not_measured.get("database"),
                                          load_seconds(profile, record)))
    if record.app_log is not None and "errors" in record.app_log:
        checks.append(_app_log_check(record.app_log))
    if record.health is not None:
        checks.append(health_check(record.health))
    return checks


def load_seconds(profile: Profile, record: RunRecord) -> float | None:
    """How long the load ran: the tools' own elapsed time (one after the other in a sequential
    profile), or None when no tool says."""
    elapsed = [float(t["elapsed_s"]) for t in record.tools.values()
               if isinstance(t, dict) and isinstance(t.get("elapsed_s"), int | float)
               and not isinstance(t.get("elapsed_s"), bool) and t["elapsed_s"] > 0]
    if not elapsed:
        return None
    return sum(elapsed) if profile.mode == "sequential" else max(elapsed)


def _app_log_check(app_log: dict[str, Any]) -> Check:
    """ERROR lines in the backend's log during the load: the first place to look after a breach."""
    if app_log.get("unmeasured"):
        return Check.not_measured("app_log.errors", "Backend log errors", str(app_log["unmeasured"]),
                                  ZERO.text, "perfdash default", ZERO)
    errors, warnings = int(app_log.get("errors", 0)), int(app_log.get("warnings", 0))
    return Check("app_log.errors", "Backend log errors", "warn" if errors else "pass", errors,
                 ZERO.text, "perfdash default",
                 f"{errors} ERROR and {warnings} WARN lines of {app_log.get('lines', 0)} in "
                 f"{_app_log_names(app_log)}", limit=ZERO)


def _app_log_names(app_log: dict[str, Any]) -> str:
    """`app.log`, or `app.log and worker.log` when the counts add up several app logs, naming any
    of them that could not be followed (its errors are missing from the count)."""
    files = app_log.get("files")
    apps = [f for f in files if isinstance(f, dict) and f.get("kind") == "app" and f.get("path")
            ] if isinstance(files, list) else []
    read = [Path(str(f["path"])).name for f in apps if not f.get("unmeasured")]
    missed = [f"{Path(str(f['path'])).name} not measured: {f['unmeasured']}" for f in apps
              if f.get("unmeasured")]
    if len(apps) < 2 or not read:
        return Path(str(app_log.get("path", "the app log"))).name
    names = read[0] if len(read) == 1 else ", ".join(read[:-1]) + " and " + read[-1]
    return names + "".join(f" ({m})" for m in missed)


def artifact_index(paths: RunPaths) -> dict[str, dict[str, Any]]:
    roles: dict[str, Path] = {}
    for tool in TOOLS:
        roles.update(tool.artifacts(paths.root, paths.profile))
    roles |= {
        "metrics_csv": paths.metrics_csv, "query_analysis": paths.query_analysis,
        "db_connections": paths.db_connections, "db_activity": paths.db_activity,
        "preflight": paths.preflight, "events": paths.events, "perfdash_log": paths.perfdash_log,
        "backend_log": paths.app_log, "db_snapshot_start": paths.db_snapshot_start,
        "timeline": paths.timeline_csv, "timeline_markers": paths.timeline_markers,
    }
    # Only when the run wrote them: hosts measured through node_exporter, the server's request
    # times per endpoint group, k6 split across generators (each one's own summary beside the
    # merged result).
    if paths.hosts_json.is_file():
        roles["hosts"] = paths.hosts_json
    if paths.server_latency.is_file():
        roles["server_latency"] = paths.server_latency
    roles |= generator_artifacts(paths.root, paths.profile)
    return {role: {"path": p.name, "exists": p.exists(),
                   "bytes": p.stat().st_size if p.exists() else 0}
            for role, p in roles.items()}


def build_summary(paths: RunPaths, profile: Profile, env: Environment,
                  record: RunRecord, extra_checks: list[Check] | None = None) -> dict[str, Any]:
    checks = collect_checks(paths, profile, record) if record.load_started else []
    checks += extra_checks or []
    status: Overall = overall_status(checks, interrupted=record.interrupted,
                                     could_not_run=record.could_not_run)
    ended = record.ended_at or datetime.now(UTC)
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": paths.run_id,
        "status": status,
        "exit_code": EXIT_CODES[status],
        "profile": profile.name,
        "environment": env.name,
        "started_at": record.started_at.isoformat(timespec="seconds"),
        "ended_at": ended.isoformat(timespec="seconds"),
        "duration_s": round((ended - record.started_at).total_seconds(), 1),
        "counts": dict(Counter(c.status for c in checks)),
        "checks": [c.to_json() for c in checks],
        "problems": record.problems,
        "preflight": record.preflight,
        "tools": record.tools,
        "app_log": record.app_log,
        "health": record.health,
        **endpoints_and_findings(paths, profile, record.load_started, record.app_log),
        # What only the orchestrator knew, kept so `perfdash show` can analyse the artifacts again.
        "run": {"interrupted": record.interrupted, "could_not_run": record.could_not_run,
                "load_started": record.load_started, "not_measured": record.not_measured},
        "artifacts": artifact_index(paths),
        "configuration": {
            "profile": _profile_json(profile),
            "environment": env.redacted(),
        },
    }


def endpoints_and_findings(paths: RunPaths, profile: Profile, load_started: bool,
                           app_log: dict[str, Any] | None = None) -> dict[str, Any]:
    """"endpoints" (k6, Artillery and the app log joined per endpoint), "findings" (what moved
    together on the timeline) and "diagnosis" (what is wrong, why, what to do), all read from the
    run directory."""
    if not load_started:
        return {"endpoints": None, "findings": [], "diagnosis": None}
    from perfdash.artifacts.timeline import read_timeline

    endpoints = endpoints_for(paths.root, profile)
    timeline, _ = read_timeline(paths.root)
    diagnosis = diagnose(paths.root, endpoints, app_log)
    moved = [f for f in findings(timeline, endpoints)
             if not (f.rule == "latency-jump-cpu" and _server_side(diagnosis))]
    return {"endpoints": endpoints, "findings": [f.to_json() for f in moved], "diagnosis": diagnosis}


def _server_side(diagnosis: dict[str, Any]) -> bool:
    """True when the server's own time explains the latency: then a busy load generator is not
    the story, and blaming it would send the reader the wrong way."""
    rows = [r for r in diagnosis.get("time_by_endpoint") or []
            if r.get("server_p50_ms") is not None and r.get("client_p50_ms")]
    if rows and rows[0]["server_p50_ms"] >= 0.5 * rows[0]["client_p50_ms"] >= 5.0:
        return True
    server = {"pool-saturation", "lock-contention", "cpu-bound-app"}
    return any(f.get("id") in server for f in diagnosis.get("findings") or [])


def _profile_json(p: Profile) -> dict[str, Any]:
    return {
        "name": p.name, "description": p.description, "mode": p.mode,
        "k6_script": str(p.k6_script) if p.k6_script else None,
        "artillery_script": str(p.artillery_script) if p.artillery_script else None,
        "artillery_config": str(p.artillery_config) if p.artillery_config else None,
        "k6_stages": [{"duration": s.duration, "target": s.target} for s in p.k6_stages],
        "artillery_phases": [dict(ph) for ph in p.artillery_phases],
        "thresholds": [t.to_json() for t in p.thresholds],
        "k6_env": dict(p.k6_env),
        "artillery_environment": p.artillery_environment,
        "artillery_target": p.artillery_target,
        "project_dir": str(p.project_dir) if p.project_dir else None,
        "host": {"cpu_warn_pct": p.host.cpu_warn_pct, "memory_warn_pct": p.host.memory_warn_pct},
        "slow_query_ms": p.slow_query_ms,
        "checks_min_rate": p.checks_min_rate,
        "regression_tolerance_pct": p.regression_tolerance_pct,
        "fail_on_regression": p.fail_on_regression,
        "regression_min_effect_ms": p.regression_min_effect_ms,
        "regression_confidence": p.regression_confidence,
        "planned_seconds": p.planned_seconds,
        "tool_tables": {name: dict(t.raw) for name, t in p.tool_tables.items()},
    }


def profile_from_json(data: dict[str, Any], source: str) -> Profile:
    """The profile a run used, rebuilt from its summary, so an old run is judged by its own rules
    even after profiles.toml changed."""
    thresholds = [t for raw in data.get("thresholds", []) if isinstance(raw, dict)
                  and (t := Threshold.from_json(raw, f"{source} (as run)")) is not None]
    host = data.get("host", {})
    return Profile(
        name=data["name"], description=data.get("description", ""),
        mode="sequential" if data.get("mode") == "sequential" else "parallel",
        k6_script=Path(data["k6_script"]) if data.get("k6_script") else None,
        artillery_script=Path(data["artillery_script"]) if data.get("artillery_script") else None,
        k6_stages=tuple(K6Stage(s["duration"], int(s["target"])) for s in data.get("k6_stages", [])),
        artillery_phases=tuple(data.get("artillery_phases", [])),
        thresholds=tuple(thresholds),
        host=HostLimits(float(host.get("cpu_warn_pct", 80.0)),
                        float(host.get("memory_warn_pct", 90.0))),
        slow_query_ms=float(data.get("slow_query_ms", 100.0)),
        checks_min_rate=float(data.get("checks_min_rate", 0.99)),
        regression_tolerance_pct=float(data.get("regression_tolerance_pct", 10.0)),
        fail_on_regression=bool(data.get("fail_on_regression", False)),
        regression_min_effect_ms=float(data.get("regression_min_effect_ms", 1.0)),
        regression_confidence=float(data.get("regression_confidence", 0.95)),
        k6_env=dict(data.get("k6_env") or {}),
        artillery_environment=data.get("artillery_environment"),
        artillery_target=data.get("artillery_target"),
        artillery_config=Path(data["artillery_config"]) if data.get("artillery_config") else None,
        project_dir=Path(data["project_dir"]) if data.get("project_dir") else None,
        tool_tables=read_tool_tables(data.get("tool_tables") or {},
                                     Path(data["project_dir"]) if data.get("project_dir") else Path()),
    )


def reanalyse(run_dir: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The verdict of an earlier run, computed again from its artifacts (what `show` prints).

    The stored summary supplies what only the live run knew (how tools ended, problems, the
    profile as it was); every check is read again from the files.
    """
    try:
        stored = load_summary(run_dir).data
    except SummaryError as exc:
        return None, exc.reason
    try:
        profile = profile_from_json(stored["configuration"]["profile"], SUMMARY_JSON)
        run = stored.get("run") or {}
        record = RunRecord(
            started_at=datetime.fromisoformat(stored["started_at"]),
            ended_at=datetime.fromisoformat(stored["ended_at"]),
            interrupted=bool(run.get("interrupted", stored.get("status") == "interrupted")),
            could_not_run=bool(run.get("could_not_run", False)),
            load_started=bool(run.get("load_started", bool(stored.get("checks")))),
            not_measured=dict(run.get("not_measured", {})),
            app_log=stored.get("app_log"),
            health=stored.get("health") if isinstance(stored.get("health"), dict) else None,
            tools=dict(stored.get("tools") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        return stored, f"{SUMMARY_JSON} lacks what re-analysis needs ({exc}); showing it as stored"
    paths = RunPaths(run_dir, profile.name)
    try:
        extra = [Check.from_json(c) for c in stored.get("checks") or []
                 if isinstance(c, dict) and c.get("id") == "baseline.regressions"]
    except TypeError:
        extra = []  # a stored baseline check of another shape is left out, not a traceback
    checks = (collect_checks(paths, profile, record) if record.load_started else []) + extra
    status: Overall = overall_status(checks, interrupted=record.interrupted,
                                     could_not_run=record.could_not_run)
    fresh = {**stored, "status": status, "exit_code": EXIT_CODES[status],
             "counts": dict(Counter(c.status for c in checks)),
             "checks": [c.to_json() for c in checks], "artifacts": artifact_index(paths),
             **endpoints_and_findings(paths, profile, record.load_started, record.app_log)}
    return fresh, None
