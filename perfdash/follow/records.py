"""One line of events.ndjson back into its event: the decoding replay, attach and serve share."""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any

from perfdash import events as ev
from perfdash.events import Event

# Every concrete event type by the name the recorder writes (`type(event).__name__`).
EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in vars(ev).values()
    if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
}


def _tuple_fields(cls: type[Event]) -> frozenset[str]:
    """Fields declared as tuples: JSON gave them back as lists, the frozen events want tuples."""
    hints = typing.get_type_hints(cls, vars(ev))
    return frozenset(name for name, hint in hints.items() if typing.get_origin(hint) is tuple)


_TUPLE_FIELDS = {name: _tuple_fields(cls) for name, cls in EVENT_TYPES.items()}


def _as_tuple(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_as_tuple(v) for v in value)
    return value


def event_from_record(record: dict[str, Any]) -> Event | None:
    """One events.ndjson record as its event, or None for a type or shape this version does not know."""
    name = record.get("type")
    cls = EVENT_TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        return None
    known = {f.name for f in dataclasses.fields(cls)}
    tuples = _TUPLE_FIELDS[cls.__name__]
    kwargs = {k: (_as_tuple(v) if k in tuples else v) for k, v in record.items() if k in known}
    try:
        return cls(**kwargs)
    except TypeError:  # a required field is missing: a record from another version
        return None


def event_from_line(line: str) -> Event | None:
    """A complete line of events.ndjson as its event; None for anything that is not one."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return event_from_record(record) if isinstance(record, dict) else None


def record_type(line: str) -> str | None:
    """The event type of a recorded line without parsing it: the recorder writes `type` first."""
    prefix = '{"type": "'
    if not line.startswith(prefix):
        return None
    end = line.find('"', len(prefix))
    return line[len(prefix):end] if end > 0 else None
