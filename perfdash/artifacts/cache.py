"""Each artifact is parsed once per process per version of the file.

`show` opens a run's summary for the screen, again for the re-analysis and again for the
comparison; `history` reads every run's summary for each query. A version is the file's path,
size, modification time and inode: a file rewritten (even to the same size within one mtime
tick, as an atomic rename gives a new inode) is read again.
"""

from __future__ import annotations

import copy
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

T = TypeVar("T")
Version = tuple[str, int, int, int, int]


class PerVersion(Generic[T]):
    """A reader's parsed files, the newest `keep` versions. Failures are not kept (they are rare and
    the file may be repaired). Each call gets its own deep copy, so a caller that edits what it
    got (re-analysis replaces the checks) never changes what the next caller reads; a `shared`
    value (the metrics columns, megabytes for a soak) is handed out as is and must not be edited."""

    def __init__(self, parse: Callable[[Path], T], keep: int = 16, *, shared: bool = False) -> None:
        self._parse = parse
        self._copy: Callable[[T], T] = (lambda v: v) if shared else copy.deepcopy
        self._keep = keep
        self._kept: OrderedDict[Version, T] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, path: Path) -> T:
        try:
            st = os.stat(path)
        except OSError:
            return self._parse(path)  # the parser says what is wrong with it
        key = (str(path), st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev)
        with self._lock:
            if key in self._kept:
                self._kept.move_to_end(key)
                return self._copy(self._kept[key])
        value = self._parse(path)
        with self._lock:
            self._kept[key] = value
            while len(self._kept) > self._keep:
                self._kept.popitem(last=False)
        return self._copy(value)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
