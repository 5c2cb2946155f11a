"""Backend watch: probes the health URL every 2 s during the load window, so a backend that dies or
loses its database mid-run ends the run with one clear sentence instead of minutes of failed requests.

Started by the orchestrator next to the other collectors; the orchestrator stops the tools when
`lost` is set.
"""

from __future__ import annotations

from perfdash.collect.background import Background
from perfdash.events import Bus, ProblemDetected
from perfdash.net import probe


class BackendWatcher(Background):
    def __init__(self, bus: Bus, url: str, *, interval_s: float = 2.0, failures: int = 3) -> None:
        super().__init__("backend-watch")
        self._bus = bus
        self._url = url
        self._interval = interval_s
        self._failures = failures
        self.lost: str | None = None

    def _run(self) -> None:
        streak = 0
        while not self._stopping.wait(self._interval):
            status, detail = probe(self._url, timeout_s=self._interval)
            if status is not None and status < 500:
                streak = 0
                continue
            streak += 1
            if streak == self._failures and self.lost is None:
                why = f"answered {status}" if status else f"does not answer ({detail})"
                self.lost = (f"the backend stopped serving during the run: {self._url} {why} "
                             f"{self._failures} times in a row")
                self._bus.publish(ProblemDetected(
                    self.lost, "check the backend's log and its database; the run was stopped",
                    severity="error"))
