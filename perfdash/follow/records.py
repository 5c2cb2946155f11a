"""One line of events.ndjson back into its event: the decoding replay, attach and serve share."""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any

from perfdash import events as ev
from perfdash.collect.hostsample import HostsSampled
from perfdash.events import Event, current_record
from perfdash.prom.node import HostSample

# Every concrete event type by the name the recorder writes (`type(event).__name__`).
EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls
    for cls in vars(ev).values()
    if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
}
# Published by the node_exporter collector rather than declared with the others; without it an
# attacher or a replay would never show the hosts of a run that measured them.
EVENT_TYPES[HostsSampled.__name__] = HostsSampled
_HOST_FIELDS = frozenset(f.name for f in dataclasses.fields(HostSample))


def _tuple_fields(cls: type[Event]) -> frozenset[str]:
    """Fields declared as tuples: JSON gave them back as lists, the frozen events want tuples."""
    if cls is HostsSampled:
        return frozenset()  # its one tuple holds records, decoded by _hosts
    hints = typing.get_type_hints(cls, vars(ev))
    return frozenset(name for name, hint in hints.items() if typing.get_origin(hint) is tuple
                     or any(typing.get_origin(arm) is tuple for arm in typing.get_args(hint)))


_TUPLE_FIELDS = {name: _tuple_fields(cls) for name, cls in EVENT_TYPES.items()}


def _as_tuple(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_as_tuple(v) for v in value)
    return value


def event_from_record(record: dict[str, Any]) -> Event | None:
    """One events.ndjson record as its event, or None for a type or shape this version does not know."""
    record = current_record(record)
    name = record.get("type")
    cls = EVENT_TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        return None
    if cls is HostsSampled:
        return _hosts(record)
    known = {f.name for f in dataclasses.fields(cls)}
    tuples = _TUPLE_FIELDS[cls.__name__]
    kwargs = {k: (_as_tuple(v) if k in tuples else v) for k, v in record.items() if k in known}
    try:
        return cls(**kwargs)
    except TypeError:  # a required field is missing: a record from another version
        return None


def _hosts(record: dict[str, Any]) -> HostsSampled | None:
    hosts = record.get("hosts")
    at = record.get("at")
    if not isinstance(hosts, list) or not isinstance(at, int | float):
        return None
    try:
        return HostsSampled(tuple(HostSample(**{k: v for k, v in h.items() if k in _HOST_FIELDS})
                                  for h in hosts if isinstance(h, dict)), at=float(at))
    except TypeError:
        return None


def event_from_line(line: str) -> Event | None:
    """A complete line of events.ndjson as its event; None for anything that is not one."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return None
    return event_from_record(record) if isinstance(record, dict) else None


def sample_key(line: str) -> str | None:
    """What a recorded sample replaces when a backlog is compacted: its type, and for a tool's
    progress the tool too (two tools in parallel are two series)."""
    kind = record_type(line)
    if kind != "ToolProgressed":
        return kind
    start = line.find('"tool": "')
    end = line.find('"', start + 9) if start > 0 else -1
    return f"{kind}:{line[start + 9:end]}" if end > 0 else kind


def record_type(line: str) -> str | None:
    """The event type of a recorded line without parsing it: the recorder writes `type` first."""
    prefix = '{"type": "'
    if not line.startswith(prefix):
        return None
    end = line.find('"', len(prefix))
    return line[len(prefix):end] if end > 0 else None
