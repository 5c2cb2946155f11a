"""Wakes a log tail when something happens to its file's name, for as long as the file is calm.

Apart from the tail (perfdash.collect.applog) because it is the one part that talks to the
filesystem's change notifications: the tail reads and counts, this only says "look now", and the
tail's own stat every second covers whatever notifications never come (network and some container
filesystems).
"""

from __future__ import annotations

import os
from pathlib import Path
from threading import Event

import watchfiles

WATCH_STEP_MS = 50


class _Paused:
    """The watch's stop signal: stopping for good, or standing down while the file is busy."""

    def __init__(self, stop: Event, calm: Event) -> None:
        self._stop = stop
        self._calm = calm

    def is_set(self) -> bool:
        return self._stop.is_set() or not self._calm.is_set()


def watch_name(path: Path, wake: Event, *, stop: Event, calm: Event, debounce_ms: int, poll_s: float) -> None:
    """Set `wake` on changes to `path`'s name while `calm` is set, until `stop` is.

    While the file is busy (`calm` cleared) the reader polls on its own and the watch is closed:
    watchfiles handles every inotify event in its own thread, which at 20k one-line writes a second
    costs more than all the reading and counting together. `poll_s`: how long a wait lasts before
    the stop signal is looked at again.
    """
    name, directory = path.name, path.parent
    paused = _Paused(stop, calm)

    def ours(_change: watchfiles.Change, changed: str) -> bool:
        return os.path.basename(changed) == name

    while not stop.is_set():
        if not calm.wait(poll_s):
            continue
        try:
            watched = os.stat(directory).st_ino
            for changes in watchfiles.watch(
                    directory, watch_filter=ours, debounce=debounce_ms,
                    step=WATCH_STEP_MS, stop_event=paused, rust_timeout=int(poll_s * 1000),
                    yield_on_timeout=True, recursive=False, raise_interrupt=False):
                if changes:
                    wake.set()
                if os.stat(directory).st_ino != watched:
                    break  # the directory was replaced: watch the new one
        except (OSError, RuntimeError):
            # No directory yet, or it vanished: the reader's stat every second covers the gap.
            stop.wait(poll_s)
