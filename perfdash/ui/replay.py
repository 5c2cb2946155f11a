"""A recorded run played back: `events.ndjson` turned back into events and published on a bus.

`perfdash show DIR --replay` feeds the dashboard this way, the UI tests use it to drive the live
screen from a real run, and the dashboard benchmark loops it. Nothing here imports Textual.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import typing
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from perfdash import events as ev
from perfdash.artifacts import open_regular
from perfdash.events import Bus, Event

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


def load_events(path: Path) -> list[Event]:
    """Every event of a recorded run, in order; a line cut short by a kill or an unknown type is skipped."""
    out: list[Event] = []
    with open_regular(path) as f:
        for line in f:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(record, dict) and (event := event_from_record(record)) is not None:
                out.append(event)
    return out


def events_path(location: Path) -> Path:
    """A run directory or an events.ndjson file, as the events file."""
    return location / "events.ndjson" if location.is_dir() else location


def events_until(events: Sequence[Event], seconds: float) -> list[Event]:
    """The events recorded within `seconds` of the first one: a run stopped at a chosen moment."""
    if not events:
        return []
    start = events[0].at
    return [e for e in events if e.at - start <= seconds]


class Replayer:
    """Publishes recorded events with their original spacing, divided by `speed`.

    `clock` and `sleep` are injectable so a test can replay a minute in no time; the default sleep
    waits on the stop flag, so `stop()` from another thread ends a replay at once.
    """

    def __init__(self, events: Iterable[Event], bus: Bus, *, speed: float = 1.0,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.events = list(events)
        self.bus = bus
        self.speed = speed
        self._clock = clock
        self._stopped = threading.Event()
        self._sleep = sleep or self._wait
        self.published = 0

    def _wait(self, seconds: float) -> None:
        self._stopped.wait(seconds)

    def stop(self) -> None:
        self._stopped.set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def run(self) -> int:
        """Publish every event at its time; returns how many were published before a stop."""
        if not self.events:
            return 0
        first = self.events[0].at
        start = self._clock()
        for event in self.events:
            due = start + (event.at - first) / self.speed
            while not self._stopped.is_set() and (wait := due - self._clock()) > 0:
                self._sleep(wait)
            if self._stopped.is_set():
                break
            self.bus.publish(event)
            self.published += 1
        return self.published
