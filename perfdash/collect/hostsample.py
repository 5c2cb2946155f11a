"""The event of the hosts measured through node_exporter: one per second, every host in it (backend
first), so the dashboard, the timeline and the console see the same set at the same instant."""

from __future__ import annotations

from dataclasses import dataclass

from perfdash.events import Event
from perfdash.prom.node import HostSample


@dataclass(frozen=True)
class HostsSampled(Event):
    hosts: tuple[HostSample, ...]

    def first(self, role: str) -> HostSample | None:
        """The first host of a role that answered this second."""
        return next((h for h in self.hosts if h.role == role and h.up), None)
