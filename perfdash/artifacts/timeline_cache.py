"""A parsed copy of a long `timeline.csv`, kept in the user's cache, so the second look at a day-long
soak (the end of the live run is the first) reads 8-byte floats instead of parsing 2 million cells.

It never outlives the file it was parsed from: it is stored with the file's identity (size,
modification time in ns, inode and device) and used only while the file still has exactly that
identity, so a run re-analysed, re-recorded or copied back over reads the csv again. It lives
outside the run directory (which stays the run's artifacts only and may be read-only), one file per
timeline path, the newest few kept. Any problem with it (unwritable cache, a damaged or foreign
file) means the csv is parsed as if there were no cache; the cache never produces an error.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import sys
import threading
import time
import zlib
from array import array
from collections.abc import Sequence
from math import isnan, nan
from pathlib import Path
from typing import BinaryIO, cast

Series = list[float | None]
Identity = tuple[int, int, int, int]  # size, mtime_ns, inode, device

# Below this the csv parses in a few tens of milliseconds: no cache file for it.
MIN_BYTES = 1_000_000
KEEP = 16  # cache files kept: a day's timeline is about 2 MB compressed
_MAGIC = b"perfdash-timeline-cache 1\n"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "perfdash" / "timeline"


def identity(path: Path) -> Identity | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev


def _entry(csv_path: Path) -> Path:
    key = hashlib.sha256(str(csv_path.resolve()).encode(errors="surrogateescape")).hexdigest()[:32]
    return cache_dir() / f"{key}.bin"


def load(csv_path: Path, ident: Identity) -> tuple[list[float], dict[str, Series]] | None:
    """(t, series) as parsed from `csv_path` when it had identity `ident`, else None."""
    try:
        with _entry(csv_path).open("rb") as f:
            if f.readline() != _MAGIC:
                return None
            head = json.loads(f.readline())
            if head.get("identity") != list(ident) or head.get("path") != str(csv_path.resolve()):
                return None
            names: list[str] = head["columns"]
            rows: int = head["rows"]
            t = _column(f, rows)
            series: dict[str, Series] = {}
            for name, mixed in zip(names, head["mixed"], strict=True):
                if mixed == "none":
                    _column(f, 0)
                    series[name] = [None] * rows
                    continue
                values = _column(f, rows)
                if mixed:
                    series[name] = [None if isnan(v) else v for v in values]  # NaN: not measured
                else:
                    series[name] = values  # type: ignore[assignment]  # floats are float | None
    except (OSError, ValueError, KeyError, TypeError, zlib.error, EOFError):
        return None
    with contextlib.suppress(OSError):
        os.utime(_entry(csv_path))  # used: the pruning keeps the entries looked at last
    return t, series


def _column(f: BinaryIO, rows: int) -> list[float]:
    size = int.from_bytes(f.read(8), "little")
    values = array("d", zlib.decompress(f.read(size)))
    if sys.byteorder != "little":
        values.byteswap()
    if len(values) != rows:
        raise ValueError("a column of the wrong length")
    return values.tolist()


def store(csv_path: Path, ident: Identity, t: list[float], series: dict[str, Series]) -> None:
    """Keeps (t, series) for `csv_path` at identity `ident`; silently nothing when it cannot."""
    if ident[0] < MIN_BYTES:
        return
    entry = _entry(csv_path)
    mixed: list[bool | str] = []
    blocks = [_pack(t)]
    for values in series.values():
        empty = values.count(None)
        mixed.append("none" if empty == len(values) else bool(empty))
        if empty == len(values):
            blocks.append(_pack([]))
        elif empty:
            blocks.append(_pack([nan if v is None else v for v in values]))
        else:
            blocks.append(_pack(cast("list[float]", values)))  # not one None in it
    head = {"path": str(csv_path.resolve()), "identity": list(ident), "rows": len(t),
            "columns": list(series), "mixed": mixed}
    tmp = entry.with_name(f".{entry.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        with tmp.open("wb") as f:
            f.write(_MAGIC + json.dumps(head).encode() + b"\n")
            for block in blocks:
                f.write(len(block).to_bytes(8, "little") + block)
        os.replace(tmp, entry)
        _prune(entry.parent)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink()


# How long the writer waits: the result view that read the timeline draws its charts meanwhile
# (a tenth of a second after the read; writing holds the GIL about as long, and delayed them by as
# much). A process that ends sooner writes it on its way out (`_write_now`), which a quit soon after
# the charts waits for.
STORE_AFTER_S = 0.4
_now = threading.Event()
_writers: list[threading.Thread] = []


def store_later(csv_path: Path, ident: Identity, t: list[float], series: dict[str, Series]
                ) -> threading.Thread:
    """`store`, `STORE_AFTER_S` later in a thread of its own: never before the charts."""
    def write() -> None:
        _now.wait(STORE_AFTER_S)
        store(csv_path, ident, t, series)

    writer = threading.Thread(target=write, name="timeline-cache", daemon=True)
    _writers[:] = [w for w in _writers if w.is_alive()] + [writer]
    writer.start()
    return writer


@atexit.register
def _write_now() -> None:
    """A `show` quit within the second still leaves the cache for the next look."""
    _now.set()
    for writer in _writers:
        writer.join(5)


def _pack(values: Sequence[float]) -> bytes:
    data = array("d", values)
    if sys.byteorder != "little":
        data.byteswap()
    return zlib.compress(data.tobytes(), 1)


def _prune(folder: Path) -> None:
    """The `KEEP` entries written or read last stay; older ones, and temporary files a killed writer
    left, go."""
    stamped: list[tuple[float, Path]] = []
    for path in folder.glob("*.bin"):
        with contextlib.suppress(OSError):
            stamped.append((path.stat().st_mtime, path))
    stale = [p for _, p in sorted(stamped, reverse=True)[KEEP:]]
    for tmp in folder.glob(".*.tmp"):
        with contextlib.suppress(OSError):
            if time.time() - tmp.stat().st_mtime > 3600:  # not a writer at work now
                stale.append(tmp)
    for old in stale:
        with contextlib.suppress(OSError):
            old.unlink()
