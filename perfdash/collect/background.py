"""The lifecycle every collector shares: a daemon thread running `_run` until `stop()` is called.

Collectors wait on `self._stopping` between samples, so `stop()` returns within one wait, not one
full interval.
"""

from __future__ import annotations

import threading


class Background:
    def __init__(self, name: str) -> None:
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        raise NotImplementedError
