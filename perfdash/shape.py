"""The shape an artifact's JSON must have, declared once per reader and checked once where the file
is read.

Readers of summary.json, query-analysis.json, the k6 and Artillery reports and the app log's
endpoint counts take fields out of files anyone can edit and any crash can damage. Rather than
guard every `.get` deep in the analysis, each reader declares what it reads (`Obj`, `ListOf`,
`MapOf`, a tuple of types) and calls `mistyped` on what it loaded: a string where a list belongs
becomes one sentence naming the field, and the reader answers with it (a check that is not
measured, a `show` that exits 2) instead of a traceback. Missing fields are left to each reader
(older files lack some); fields present with the wrong type are refused.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Union

NONE = type(None)
NUMBER: tuple[type, ...] = (int, float)
TEXT: tuple[type, ...] = (str,)


@dataclass(frozen=True)
class Obj:
    """A JSON object with these members (others are allowed and not looked at)."""

    fields: Mapping[str, Spec]
    required: tuple[str, ...] = ()
    nullable: bool = False


@dataclass(frozen=True)
class ListOf:
    """A JSON array whose every element fits `item`."""

    item: Spec
    nullable: bool = False


@dataclass(frozen=True)
class MapOf:
    """A JSON object with any keys whose every value fits `value`."""

    value: Spec
    nullable: bool = False


@dataclass(frozen=True)
class Lazy:
    """A spec defined later (a k6 group holds groups)."""

    get: Callable[[], Spec] = field(compare=False)


Spec = Union[tuple[type, ...], Obj, ListOf, MapOf, Lazy]  # noqa: UP007 (a runtime alias)

_NAMES = {bool: "true/false", int: "a number", float: "a number", str: "a string",
          list: "a list", dict: "an object", NONE: "null"}


def kind(value: Any) -> str:
    """How a JSON value reads in a sentence."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return _NAMES.get(type(value), type(value).__name__)


def _wanted(kinds: tuple[type, ...]) -> str:
    return " or ".join(dict.fromkeys(_NAMES.get(k, k.__name__) for k in kinds))


def _fits(value: Any, kinds: tuple[type, ...]) -> bool:
    if object in kinds:
        return True
    if isinstance(value, bool):  # JSON true is no number
        return bool in kinds
    if isinstance(value, float) and not math.isfinite(value):
        return False  # NaN and Infinity are no JSON numbers (Python's json reads them anyway)
    return isinstance(value, kinds)


def _join(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


def mistyped(value: Any, spec: Spec, where: str = "") -> str | None:
    """Where `value` departs from `spec` and how ("metrics.checks is a list, not an object"),
    or None when it fits."""
    if isinstance(spec, Lazy):
        return mistyped(value, spec.get(), where)
    if isinstance(spec, tuple):
        return None if _fits(value, spec) else f"{where or 'it'} is {kind(value)}, not " \
                                                f"{_wanted(spec)}"
    if value is None and spec.nullable:
        return None
    if isinstance(spec, ListOf):
        if not isinstance(value, list):
            return f"{where or 'it'} is {kind(value)}, not a list{' or null' * spec.nullable}"
        for i, item in enumerate(value):
            if (problem := mistyped(item, spec.item, _join(where, i))) is not None:
                return problem
        return None
    if not isinstance(value, dict):
        return f"{where or 'it'} is {kind(value)}, not an object{' or null' * spec.nullable}"
    if isinstance(spec, MapOf):
        for key, item in value.items():
            if (problem := mistyped(item, spec.value, _join(where, key))) is not None:
                return problem
        return None
    for key, member in spec.fields.items():
        if key in value and (problem := mistyped(value[key], member, _join(where, key))) is not None:
            return problem
    missing = [key for key in spec.required if key not in value]
    return f"{where or 'it'} has no {missing[0]!r}" if missing else None


def file_problem(name: str, value: Any, spec: Spec) -> str | None:
    """`mistyped` as one sentence about file `name`, with what to do."""
    problem = mistyped(value, spec)
    if problem is None:
        return None
    said = f"{name} {problem[3:]}" if problem.startswith("it ") else f"{name}'s {problem}"
    return f"{said}: the file was edited or damaged (restore it, or run the suite again)"
