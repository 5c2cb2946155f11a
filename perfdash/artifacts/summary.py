"""The one reader of summary.json: loaded with the one schema check (its version and the types of
every field anything reads), once per version of the file.

`show`, `attach`, `compare`, `history`, the baseline and the result screen read fields of an
earlier run's summary in many places; checking them once here turns a string where a list belongs
into one sentence naming the field instead of a traceback deep in a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from perfdash.artifacts.cache import PerVersion
from perfdash.artifacts.errors import UnreadableArtifact
from perfdash.artifacts.files import read_json
from perfdash.artifacts.paths import SUMMARY_JSON, RunPaths, run_paths
from perfdash.shape import NONE, NUMBER, TEXT, ListOf, MapOf, Obj, file_problem

SCHEMA_VERSION = 1

# A check's threshold taken apart (perfdash.thresholds.Limit); summaries written before it lack it.
LIMIT = Obj({"stat": TEXT, "op": TEXT, "value": NUMBER, "unit": TEXT, "text": TEXT},
            required=("op", "value"), nullable=True)
CHECK = Obj({"id": TEXT, "name": TEXT, "status": TEXT, "value": (*NUMBER, str, NONE),
             "threshold": (str, NONE), "source": (str, NONE), "detail": (str, NONE),
             "unit": (str, NONE), "limit": LIMIT}, required=("name", "status"))
PROBLEM = Obj({"what": TEXT, "fix": (str, NONE)}, required=("what",))
# The profile as it ran, which re-analysis rebuilds (perfdash.analyze.summary.profile_from_json).
PROFILE = Obj({
    "name": TEXT, "description": (str, NONE), "thresholds": ListOf((dict,), nullable=True),
    "host": Obj({"cpu_warn_pct": NUMBER, "memory_warn_pct": NUMBER}),
    "k6_stages": ListOf(Obj({"duration": TEXT, "target": NUMBER}, required=("duration", "target")),
                        nullable=True),
    "artillery_phases": ListOf((dict,), nullable=True), "k6_env": MapOf((object,), nullable=True),
    **dict.fromkeys(("slow_query_ms", "checks_min_rate", "regression_tolerance_pct",
                     "regression_min_effect_ms", "regression_confidence"), NUMBER),
}, required=("name",))
SUMMARY = Obj({
    "run_id": TEXT, "status": (str, NONE), "exit_code": (int, NONE), "profile": TEXT,
    "environment": TEXT, "started_at": TEXT, "ended_at": TEXT, "duration_s": NUMBER,
    "counts": (dict,), "checks": ListOf(CHECK), "problems": ListOf(PROBLEM),
    "preflight": (list,), "tools": MapOf((dict,)),
    "app_log": Obj({"errors": NUMBER, "warnings": NUMBER}, nullable=True),
    "health": Obj({"polls": NUMBER, "timeouts": NUMBER, "codes": MapOf(NUMBER),
                   "no_answer": MapOf(NUMBER)}, nullable=True),
    "endpoints": (dict, list, NONE), "findings": (list,), "diagnosis": (dict, NONE),
    "run": Obj({"interrupted": (bool,), "could_not_run": (bool,), "load_started": (bool,),
                "not_measured": (dict,)}),
    "artifacts": (dict,),
    "configuration": Obj({"profile": PROFILE, "environment": (dict,)}),
})


class SummaryError(UnreadableArtifact):
    """summary.json is missing, damaged, of another schema version or of the wrong shape."""


@dataclass(frozen=True)
class Summary:
    """A checked summary.json. `data` is the caller's own copy (editing it changes nothing else)."""

    root: Path
    data: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.data.get("run_id") or self.root.name)

    @property
    def profile(self) -> str:
        return str(self.data.get("profile") or "")

    @property
    def environment(self) -> str:
        return str(self.data.get("environment") or "")

    @property
    def status(self) -> str | None:
        status = self.data.get("status")
        return str(status) if status is not None else None

    def artifact(self, role: str, default: str) -> Path:
        return artifact_path(self.root, self.data, role, default)


def artifact_path(root: Path, summary: dict[str, Any] | None, role: str, default: str) -> Path:
    """Where a summary says the artifact of `role` is (relative to the run directory, or
    absolute), else `root / default`, its usual name."""
    entry = ((summary or {}).get("artifacts") or {}).get(role)
    if isinstance(entry, dict) and entry.get("path"):
        return root / str(entry["path"])  # an absolute path stays itself
    return root / default


def schema_problem(stored: dict[str, Any]) -> str | None:
    """Why a summary's schema_version is not one this perfdash reads, or None.

    A summary written before versions were recorded (no key) is read as version 1.
    """
    version = stored.get("schema_version", SCHEMA_VERSION)
    if isinstance(version, bool) or version != SCHEMA_VERSION:
        return (f"{SUMMARY_JSON} has schema_version {version!r}, which this perfdash (schema "
                f"{SCHEMA_VERSION}) cannot read (open it with the perfdash version that wrote it)")
    return None


def _parse(path: Path) -> tuple[dict[str, Any], str | None, str | None]:
    """(the summary, why its version is not read, why its shape is not), or SummaryError when it
    is no JSON object at all."""
    data, problem = read_json(path)
    if problem is not None:
        raise SummaryError(path, problem, "pass the results directory of a finished run",
                           missing=problem.endswith(" is missing"))
    if not isinstance(data, dict):
        raise SummaryError(path, f"{path.name} is not a JSON object")
    return data, schema_problem(data), file_problem(path.name, data, SUMMARY)


_summaries = PerVersion(_parse)


def _checked(path: Path, any_version: bool) -> Summary:
    data, version_problem, shape_problem = _summaries(path)
    if version_problem is not None and not any_version:
        raise SummaryError(path, version_problem, "")
    if shape_problem is not None:
        raise SummaryError(path, shape_problem)
    return Summary(path.parent, data)


def load_summary(run: RunPaths | Path, *, any_version: bool = False) -> Summary:
    """The run's summary.json, checked; raises SummaryError (one sentence, `.reason` the clause
    without the fix) when it is missing, damaged, of another version or of the wrong shape.

    `any_version`: the result screen shows a summary of another schema version as stored (its
    fields still checked) and says why it cannot compute it again; everything else refuses it."""
    return _checked(run_paths(run).summary, any_version)


def load_summary_file(path: Path) -> Summary:
    """A summary.json given by its own path (`attach` is told where the run wrote it)."""
    return _checked(path, False)
