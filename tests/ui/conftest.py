"""Shared pieces of the dashboard tests: the recorded runs, a fake clock, and a way to feed a
recorded run into a live app as the drain timer would see it, without waiting for real time."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from perfdash.events import Bus, Event
from perfdash.ui.app import PerfdashApp, make_app
from perfdash.ui.replay import Replayer, events_until, load_events

DATA = Path(__file__).parent / "data"
PASS_RUN = DATA / "pass-run"
FAIL_RUN = DATA / "fail-run"
LOCUST_RUN = DATA / "locust-run"  # the demo's locust-smoke profile, recorded
# Mid-run: load started at 2.9 s, k6 is 11 of 20 s in, Artillery has sent its first report.
MID_RUN_S = 14.0


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class LiveRig:
    """A live app on a bus, with the fake clock its elapsed time is read from."""

    app: PerfdashApp
    bus: Bus
    clock: FakeClock

    def feed(self, events: list[Event]) -> None:
        """Publish `events` with their recorded spacing on the fake clock, draining after every
        gap as the 4 Hz timer would; returns at once."""

        def sleep(seconds: float) -> None:
            self.clock.now += seconds
            self.app.drain()

        Replayer(events, self.bus, clock=self.clock, sleep=sleep).run()
        self.app.drain()
        self.app.show_now()


def recorded(run: Path, until_s: float | None = None, *, without: tuple[type, ...] = ()
             ) -> list[Event]:
    events = load_events(run / "events.ndjson")
    if until_s is not None:
        events = events_until(events, until_s)
    return [e for e in events if not isinstance(e, without)]


def live_rig() -> LiveRig:
    bus, clock = Bus(), FakeClock()
    return LiveRig(make_app(bus=bus, clock=clock), bus, clock)


@pytest.fixture
def rig() -> LiveRig:
    return live_rig()
