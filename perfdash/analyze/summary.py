"""Build `summary.json` from a run directory's artifacts: every check, the overall status, pointers to
every artifact and the resolved configuration with secrets redacted.

Used at the end of a live run and by `perfdash show`, so both give the same answer.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from perfdash.analyze.artillery import analyse_artillery
from perfdash.analyze.checks import Check
from perfdash.analyze.dbreport import analyse_database
from perfdash.analyze.host import analyse_host
from perfdash.analyze.k6 import analyse_k6
from perfdash.analyze.verdict import EXIT_CODES, Overall, overall_status
from perfdash.artifacts import RunPaths
from perfdash.settings import Environment, Profile

SCHEMA_VERSION = 1


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

    def problem(self, what: str, fix: str = "") -> None:
        self.problems.append({"what": what, "fix": fix})


def collect_checks(paths: RunPaths, profile: Profile, record: RunRecord) -> list[Check]:
    checks: list[Check] = []
    if profile.k6_script:
        checks += analyse_k6(paths.k6_summary, profile, record.not_measured.get("k6"))
    if profile.artillery_script:
        checks += analyse_artillery(paths.artillery_report, paths.artillery_progress, profile,
                                    record.not_measured.get("artillery"))
    checks += analyse_host(paths.metrics_csv, profile, record.not_measured.get("metrics"))
    checks += analyse_database(paths.query_analysis, profile, record.not_measured.get("database"))
    return checks


def artifact_index(paths: RunPaths) -> dict[str, dict[str, Any]]:
    roles = {
        "k6_summary": paths.k6_summary, "k6_config": paths.k6_config,
        "k6_stdout": paths.k6_stdout, "k6_stderr": paths.k6_stderr,
        "k6_progress": paths.k6_progress,
        "artillery_report": paths.artillery_report, "artillery_progress": paths.artillery_progress,
        "artillery_stdout": paths.artillery_stdout, "artillery_stderr": paths.artillery_stderr,
        "metrics_csv": paths.metrics_csv, "query_analysis": paths.query_analysis,
        "db_connections": paths.db_connections,
        "preflight": paths.preflight, "events": paths.events, "perfdash_log": paths.perfdash_log,
        "backend_log": paths.root / "app.log", "db_snapshot_start": paths.db_snapshot_start,
    }
    return {role: {"path": p.name, "exists": p.exists(),
                   "bytes": p.stat().st_size if p.exists() else 0}
            for role, p in roles.items()}


def build_summary(paths: RunPaths, profile: Profile, env: Environment,
                  record: RunRecord) -> dict[str, Any]:
    checks = collect_checks(paths, profile, record) if record.load_started else []
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
        "artifacts": artifact_index(paths),
        "configuration": {
            "profile": _profile_json(profile),
            "environment": env.redacted(),
        },
    }


def _profile_json(p: Profile) -> dict[str, Any]:
    return {
        "name": p.name, "description": p.description, "mode": p.mode,
        "k6_script": str(p.k6_script) if p.k6_script else None,
        "artillery_script": str(p.artillery_script) if p.artillery_script else None,
        "k6_stages": [{"duration": s.duration, "target": s.target} for s in p.k6_stages],
        "artillery_phases": [dict(ph) for ph in p.artillery_phases],
        "thresholds": [{"tool": t.tool, "metric": t.metric, "expression": t.expression}
                       for t in p.thresholds],
        "host": {"cpu_warn_pct": p.host.cpu_warn_pct, "memory_warn_pct": p.host.memory_warn_pct},
        "slow_query_ms": p.slow_query_ms,
        "checks_min_rate": p.checks_min_rate,
        "planned_seconds": p.planned_seconds,
    }
