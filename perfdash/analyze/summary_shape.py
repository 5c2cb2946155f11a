"""Whether a stored summary.json has the shape perfdash wrote, checked once where it is read.

`show`, `attach` and `compare` read fields of an earlier run's summary in many places (the table,
the re-analysis, the comparison). A summary edited by hand or damaged can hold anything valid as
JSON; checking the types of what those places read, once, turns a string where a list belongs into
one sentence naming the field instead of a traceback deep in the table. Fields that are missing
are left to each reader (older summaries lack some); fields of the wrong type are refused.
"""

from __future__ import annotations

from typing import Any

Kinds = tuple[type, ...]
_NUMBER: Kinds = (int, float)
_NONE = type(None)

# Top-level fields and what each may be.
FIELDS: dict[str, Kinds] = {
    "run_id": (str,), "status": (str, _NONE), "exit_code": (int, _NONE), "profile": (str,),
    "environment": (str,), "started_at": (str,), "ended_at": (str,), "duration_s": _NUMBER,
    "counts": (dict,), "checks": (list,), "problems": (list,), "preflight": (list,),
    "tools": (dict,), "app_log": (dict, _NONE), "endpoints": (dict, list, _NONE),
    "findings": (list,), "diagnosis": (dict, _NONE), "run": (dict,), "artifacts": (dict,),
    "configuration": (dict,),
}
# Members of each check and problem that the table and the re-analysis read.
CHECK_FIELDS: dict[str, Kinds] = {
    "id": (str,), "name": (str,), "status": (str,), "value": (*_NUMBER, str, _NONE),
    "threshold": (str, _NONE), "source": (str, _NONE), "detail": (str, _NONE),
    "unit": (str, _NONE),
}
PROBLEM_FIELDS: dict[str, Kinds] = {"what": (str,), "fix": (str, _NONE)}
RUN_FIELDS: dict[str, Kinds] = {"interrupted": (bool,), "could_not_run": (bool,),
                                "load_started": (bool,), "not_measured": (dict,)}
CONFIGURATION_FIELDS: dict[str, Kinds] = {"profile": (dict,), "environment": (dict,)}


def _name(value: Any) -> str:
    kinds = {bool: "true/false", int: "a number", float: "a number", str: "a string",
             list: "a list", dict: "an object", _NONE: "null"}
    return kinds.get(type(value), type(value).__name__)


def _wanted(kinds: Kinds) -> str:
    names = dict.fromkeys({bool: "true/false", int: "a number", float: "a number",
                           str: "a string", list: "a list", dict: "an object",
                           _NONE: "null"}[k] for k in kinds)
    return " or ".join(names)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _fits(value: Any, kinds: Kinds) -> bool:
    if isinstance(value, bool):  # JSON true is no number
        return bool in kinds
    return isinstance(value, kinds)


def _members(where: str, value: dict[str, Any], fields: dict[str, Kinds]) -> str | None:
    for key, kinds in fields.items():
        if key in value and not _fits(value[key], kinds):
            return f"{_join(where, key)} is {_name(value[key])}, not {_wanted(kinds)}"
    return None


def _items(where: str, items: list[Any], fields: dict[str, Kinds],
           required: tuple[str, ...]) -> str | None:
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            return f"{where}[{i}] is {_name(item)}, not an object"
        if (problem := _members(f"{where}[{i}]", item, fields)) is not None:
            return problem
        if missing := [key for key in required if key not in item]:
            return f"{where}[{i}] has no {missing[0]!r}"
    return None


def shape_problem(stored: dict[str, Any]) -> str | None:
    """Why a summary cannot be read as one (one sentence, the field named), or None."""
    problem = _members("", stored, FIELDS)
    if problem is None:
        problem = (_items("checks", stored.get("checks") or [], CHECK_FIELDS, ("name", "status"))
                   or _items("problems", stored.get("problems") or [], PROBLEM_FIELDS, ("what",))
                   or _members("run", stored.get("run") or {}, RUN_FIELDS)
                   or _members("configuration", stored.get("configuration") or {},
                               CONFIGURATION_FIELDS)
                   or _dict_values("tools", stored.get("tools") or {}))
    if problem is None:
        return None
    return (f"summary.json's {problem}: the file was edited or damaged (restore it, or run the "
            "suite again)")


def _dict_values(where: str, value: dict[str, Any]) -> str | None:
    for key, member in value.items():
        if not isinstance(member, dict):
            return f"{_join(where, key)} is {_name(member)}, not an object"
    return None
