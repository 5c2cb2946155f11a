"""The results directory of one run and how files get into it.

JSON is written to a temporary name and renamed, so a run cut short leaves either the previous
complete file or none, never half of one. The orchestrator, the analysis and `perfdash show` all
find files through `RunPaths`, so their names live in one place.
"""

from __future__ import annotations

import codecs
import contextlib
import errno
import json
import os
import stat
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any


class ArtifactError(OSError):
    """The results directory cannot be created or written; the message says where and why."""


@dataclass(frozen=True)
class RunPaths:
    """Every artifact of a run, by role."""

    root: Path
    profile: str

    @property
    def run_id(self) -> str:
        return self.root.name

    @property
    def metrics_csv(self) -> Path:
        return self.root / "metrics.csv"

    @property
    def hosts_json(self) -> Path:
        """The hosts measured through node_exporter, with roles (only when hosts were listed)."""
        return self.root / "hosts.json"

    @property
    def db_connections(self) -> Path:
        return self.root / "db-connections.csv"

    @property
    def db_activity(self) -> Path:
        """Once-a-second samples of what the database's sessions wait on (the diagnosis reads it)."""
        return self.root / "db-activity.ndjson"

    @property
    def query_analysis(self) -> Path:
        return self.root / "query-analysis.json"

    @property
    def db_snapshot_start(self) -> Path:
        return self.root / "db-snapshot-start.json"

    @property
    def preflight(self) -> Path:
        return self.root / "preflight.json"

    @property
    def events(self) -> Path:
        return self.root / "events.ndjson"

    @property
    def perfdash_log(self) -> Path:
        return self.root / "perfdash.log"

    @property
    def backend_stdout(self) -> Path:
        return self.root / "backend.stdout.log"

    @property
    def backend_stderr(self) -> Path:
        return self.root / "backend.stderr.log"

    @property
    def summary(self) -> Path:
        return self.root / "summary.json"

    @property
    def server_latency(self) -> Path:
        """The backend's request time per second per endpoint group (perfdash.timeline.server_latency):
        written only when a log gave request times."""
        return self.root / "server-latency.csv"


def new_run_dir(results_dir: Path, profile: str, now: datetime | None = None) -> RunPaths:
    """`results/perf/<UTC timestamp>/`, made unique with a suffix when two runs start together."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
        for n in range(1000):
            root = results_dir / (stamp if n == 0 else f"{stamp}-{n}")
            try:
                root.mkdir()
            except FileExistsError:
                continue
            return RunPaths(root, profile)
    except OSError as exc:
        raise ArtifactError(
            f"cannot create the results directory {results_dir}: {exc.strerror}; "
            "make it writable or set [defaults] results_dir in profiles.toml."
        ) from None
    raise ArtifactError(f"too many runs started in the same second under {results_dir}")


def write_text_atomic(path: Path, text: str) -> None:
    """Write then rename: readers see the old file or the complete new one, never a torn write."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; artifacts are meant to be shared and archived
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


class NotRegularFileError(OSError):
    """An artifact path that is a FIFO, a device or a directory: refused without reading from it."""


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISDIR, "a directory"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def open_regular(path: Path, mode: str = "r", *, encoding: str | None = None,
                 errors: str | None = None, newline: str | None = None) -> IO[Any]:
    """Open a run artifact for reading, refusing anything but a regular file.

    The file is opened non-blocking (so a FIFO in its place cannot block the open) and checked with
    fstat on that very descriptor before a byte is read: `perfdash show` on a directory someone
    replaced a file in with a FIFO answers at once instead of hanging forever.
    """
    if "b" in mode:
        encoding = errors = newline = None
    elif encoding is None:
        encoding = "utf-8"
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegularFileError(errno.EINVAL, f"it is {_kind(st.st_mode)}, not a regular file",
                                      str(path))
        os.set_blocking(fd, True)
        return os.fdopen(fd, mode, encoding=encoding, errors=errors, newline=newline)
    except BaseException:
        os.close(fd)
        raise


def read_regular_text(path: Path, errors: str = "strict") -> str:
    """The whole text of a regular file (see `open_regular`); raises OSError otherwise."""
    with open_regular(path, "r", encoding="utf-8", errors=errors) as f:
        return str(f.read())


def read_json(path: Path) -> tuple[Any, str | None]:
    """(data, None), or (None, why it cannot be read) for a missing, empty, truncated or non-regular
    file (a FIFO in its place is refused without blocking)."""
    try:
        text = read_regular_text(path)
    except FileNotFoundError:
        return None, f"{path.name} is missing"
    except OSError as exc:
        return None, f"{path.name} cannot be read: {exc.strerror}"
    except UnicodeDecodeError as exc:
        return None, f"{path.name} is not UTF-8 text (byte {exc.start})"
    if not text.strip():
        return None, f"{path.name} is empty"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"{path.name} is not valid JSON (truncated?): {exc.msg} at line {exc.lineno}"
    except RecursionError:
        return None, f"{path.name} is nested too deeply to be a perfdash artifact"


def read_json_member(path: Path, key: str) -> tuple[Any, str | None]:
    """(the value of `key` in the JSON object in `path`, None), or (None, why not).

    Artillery's report of a day-long soak is tens of megabytes, nearly all of it the 10-second
    windows after the aggregate. Only a prefix of the file is read (doubling until `key` is
    decoded) and only the members before `key` are decoded, so a report whose aggregate comes
    first costs milliseconds instead of a second and a hundred megabytes. A file that does not
    end its object is refused as truncated, as `read_json` would; anything else unusual (the
    key missing, a syntax error) gets `read_json`'s own answer."""
    try:
        with open_regular(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - 64))
            closed = f.read().rstrip().endswith(b"}")
            f.seek(0)
            chunk = 1 << 20
            data = b""
            while closed:
                data += f.read(chunk - len(data))
                # a character cut at the prefix's end waits for the next read; bad bytes raise
                found = _member(codecs.getincrementaldecoder("utf-8")().decode(data), key)
                if found is not _MISSING or len(data) >= size:
                    break
                chunk *= 2
            else:
                found = _MISSING
    except FileNotFoundError:
        return None, f"{path.name} is missing"
    except OSError as exc:
        return None, f"{path.name} cannot be read: {exc.strerror}"
    except UnicodeDecodeError:
        found = _MISSING  # read_json says which byte
    if found is not _MISSING:
        return found, None
    whole, problem = read_json(path)  # the careful path, with its own sentence for what is wrong
    if problem is not None:
        return None, problem
    if not isinstance(whole, dict) or key not in whole:
        return None, f"{path.name} has no {key!r}"
    return whole[key], None


_MISSING = object()
_SPACE = " \t\r\n"


def _member(text: str, key: str) -> Any:
    """The value of top-level `key` if it is decoded before the text runs out, else _MISSING."""
    decoder = json.JSONDecoder()
    pos = _skip_space(text, 0)
    if text[pos:pos + 1] != "{":
        return _MISSING
    pos += 1
    try:
        while True:
            name, pos = decoder.raw_decode(text, _skip_space(text, pos))
            pos = _skip_space(text, pos)
            if text[pos:pos + 1] != ":":
                return _MISSING
            value, pos = decoder.raw_decode(text, _skip_space(text, pos + 1))
            if name == key:
                return value
            pos = _skip_space(text, pos)
            if text[pos:pos + 1] != ",":
                return _MISSING
            pos += 1
    except (ValueError, RecursionError):
        return _MISSING


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SPACE:
        pos += 1
    return pos


def tail_lines(path: Path, n: int = 8) -> list[str]:
    """The last lines of a tool log, to show why a tool stopped."""
    try:
        with open_regular(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 16_384))
            data = f.read().decode("utf-8", "replace")
    except OSError:
        return []
    return [ln for ln in data.splitlines() if ln.strip()][-n:]
