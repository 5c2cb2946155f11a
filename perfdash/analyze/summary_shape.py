"""The shape of a stored summary.json, checked once where `show`, `attach` and `compare` read it.

They read fields of an earlier run's summary in many places (the table, the re-analysis, the
comparison); checking the types of what those places read, once, turns a string where a list
belongs into one sentence naming the field instead of a traceback deep in the table.
"""

from __future__ import annotations

from typing import Any

from perfdash.shape import NONE, NUMBER, TEXT, ListOf, MapOf, Obj, file_problem

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


def shape_problem(stored: dict[str, Any]) -> str | None:
    """Why a summary cannot be read as one (one sentence, the field named), or None."""
    return file_problem("summary.json", stored, SUMMARY)
