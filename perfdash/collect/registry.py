"""Which collectors a run or a watch builds, in the order they start: one line per collector.

A new collector is its module (a class with the Collector protocol of perfdash.collect.base and a
factory from `Setup`) plus one line in `BUILT_IN`; both `perfdash run` and `perfdash watch` then
start, stop and finish it through perfdash.session.collectors. `register()` adds one at run time
(a plugin, a test) and returns the function that takes it out again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from perfdash.collect.base import Factory
from perfdash.collect.database import database_sampler
from perfdash.collect.health import health_poller
from perfdash.collect.log_set import log_set
from perfdash.collect.remote_hosts import host_sampler


@dataclass(frozen=True)
class Entry:
    """A collector's name in the registry and how to build it."""

    name: str
    build: Factory


# Start order: the host first (its first sample lands a second after the load's start), the
# health poll last (it may end the load, so everything else is measuring by then).
BUILT_IN: tuple[Entry, ...] = (
    Entry("host", host_sampler),
    Entry("logs", log_set),
    Entry("database", database_sampler),
    Entry("health", health_poller),
)

_added: list[Entry] = []


def register(name: str, build: Factory) -> Callable[[], None]:
    """Add a collector after the built-in ones; returns the call that removes it."""
    if any(e.name == name for e in entries()):
        raise ValueError(f"a collector named {name!r} is registered already: pick another name")
    entry = Entry(name, build)
    _added.append(entry)
    return lambda: _added.remove(entry) if entry in _added else None


def entries() -> tuple[Entry, ...]:
    """Every registered collector, in start order."""
    return (*BUILT_IN, *_added)
