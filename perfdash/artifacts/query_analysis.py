"""The one reader of query-analysis.json, the database's statements, scans, counters and index
advice as the session wrote them at the end of the load.

The checks (perfdash.analyze), the diagnosis (perfdash.diagnose), compare, the reports and the
result screen all read it; its shape is declared here once, for everything any of them takes out
of it, and checked once where it is read. A damaged file is one sentence naming the field, which
the checks report as "not measured" and the diagnosis as a gap, never a traceback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfdash.artifacts.cache import PerVersion
from perfdash.artifacts.errors import DAMAGED_FIX, UnreadableArtifact
from perfdash.artifacts.files import read_json
from perfdash.artifacts.paths import RunPaths, run_paths
from perfdash.shape import NONE, NUMBER, ListOf, MapOf, Obj, Spec, file_problem

_COUNT: Spec = (*NUMBER, NONE)
_ANY: Spec = (object,)

QUERY_ANALYSIS = Obj({
    "not_measured": ListOf(Obj({"what": _ANY, "reason": (str, NONE)}), nullable=True),
    "database": Obj({"pg_stat_statements": _ANY, "max_connections": _COUNT}),
    "slow_queries": ListOf(Obj({"mean_ms": NUMBER, "calls": NUMBER, "query": _ANY},
                               required=("mean_ms", "calls", "query")), nullable=True),
    # the diagnosis formats these three as numbers: null is damage here
    "sequential_scans": ListOf(Obj({"hint": (str, NONE), "table": (str,), "seq_scan": NUMBER,
                                    "seq_tup_read": NUMBER, "n_live_tup": NUMBER},
                                   required=("table",)), nullable=True),
    "workload": Obj({"statements": ListOf(Obj({
        "calls": _COUNT, "total_ms": _COUNT, "rows": _COUNT, "share_of_time": _COUNT,
        "temp_blks_written": _COUNT, "rank": MapOf(_ANY, nullable=True)}), nullable=True)},
        nullable=True),
    "database_counters": MapOf(_ANY, nullable=True),
    "index_advice": ListOf(Obj({"create_index": (str, NONE), "cost_before": _COUNT,
                                "cost_after": _COUNT}), nullable=True),
})


class QueryAnalysisError(UnreadableArtifact):
    """query-analysis.json is missing, not JSON or of the wrong shape."""


def damaged(name: str, where: str) -> str:
    """The sentence for a file whose `where` is not what its reader declares."""
    return f"{name}'s {where}: {DAMAGED_FIX}"


def _parse(path: Path) -> dict[str, Any]:
    data, problem = read_json(path)
    if problem is not None:
        raise QueryAnalysisError(path, problem, "", missing=problem.endswith(" is missing"))
    if not isinstance(data, dict):
        raise QueryAnalysisError(path, damaged(path.name, "content is not a JSON object"))
    if (problem := file_problem(path.name, data, QUERY_ANALYSIS)) is not None:
        raise QueryAnalysisError(path, problem)
    return data


_analyses = PerVersion(_parse)


def load_query_analysis(run: RunPaths | Path, path: Path | None = None) -> dict[str, Any]:
    """The run's query-analysis.json (or the one at `path`, where its summary says it is), checked;
    raises QueryAnalysisError with one sentence when it is missing or damaged."""
    return _analyses(path or run_paths(run).query_analysis)


def read_query_analysis(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """query-analysis.json at `path`, or (None, why not in one sentence) when missing or damaged:
    for callers that report a gap rather than stop."""
    try:
        return _analyses(path), None
    except QueryAnalysisError as exc:
        return None, exc.reason
