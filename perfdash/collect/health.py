"""Backend watch: probes the health URL as the load starts and every 2 s after, so a backend that dies
or loses its database mid-run ends the run with one clear sentence instead of minutes of failed
requests, and counts every answer, so the verdict can say how healthy the backend stayed under load.

Built for a run by the collector registry (a watch names no health route); the orchestrator stops
the tools when `lost` is set, and `finish()` writes `answers()` into the run's record.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from perfdash.collect.background import Background
from perfdash.collect.base import RunNotes, Setup
from perfdash.events import Bus, ProblemDetected
from perfdash.net import probe


def health_poller(setup: Setup) -> BackendWatcher | None:
    """The registry's factory: a poller when the caller names a health route to poll."""
    if setup.health_url is None:
        return None
    return BackendWatcher(setup.bus, setup.health_url, path=setup.env.health_path)


class BackendWatcher(Background):
    name = "health"
    columns: tuple[str, ...] = ()

    def __init__(self, bus: Bus, url: str, *, interval_s: float = 2.0, failures: int = 3,
                 path: str = "") -> None:
        super().__init__("backend-watch")
        self._bus = bus
        self._url = url
        self._path = path or url
        self._interval = interval_s
        self._failures = failures
        self.lost: str | None = None
        self.codes: Counter[int] = Counter()
        self.timeouts = 0
        self.no_answer: Counter[str] = Counter()  # why nothing answered: refused, reset...

    def _run(self) -> None:
        streak = 0
        while True:
            status, detail = probe(self._url, timeout_s=self._interval)
            self._count(status, detail)
            if status is not None and status < 500:
                streak = 0
            else:
                streak += 1
            if streak == self._failures and self.lost is None:
                why = f"answered {status}" if status else f"does not answer ({detail})"
                self.lost = (f"the backend stopped serving during the run: {self._url} {why} "
                             f"{self._failures} times in a row")
                self._bus.publish(ProblemDetected(
                    self.lost, "check the backend's log and its database; the run was stopped",
                    severity="error"))
            if self._stopping.wait(self._interval):
                return

    def _count(self, status: int | None, detail: str) -> None:
        if status is not None:
            self.codes[status] += 1
        elif "timed out" in detail.lower():
            self.timeouts += 1
        else:
            self.no_answer[" ".join(detail.split())[:80] or "no answer"] += 1

    def finish(self, run_dir: Path, record: RunNotes) -> None:
        record.health = self.answers()

    def answers(self) -> dict[str, Any]:
        """What the polls got, for the run's record (read once the watcher has stopped)."""
        return {"path": self._path, "interval_s": self._interval,
                "polls": sum(self.codes.values()) + self.timeouts + sum(self.no_answer.values()),
                "codes": {str(code): n for code, n in sorted(self.codes.items())},
                "timeouts": self.timeouts, "no_answer": dict(self.no_answer)}
