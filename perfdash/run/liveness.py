"""Whether a run directory's run is still going: a lock file the running perfdash holds.

The run (or a watch) takes an exclusive `flock` on `perfdash.lock` in its directory for as long as
it lasts and writes its PID into it. The kernel drops a flock when the process dies, however it
dies (SIGKILL included), so a crashed run can never look alive; a PID file alone could (the PID
gets reused). Anyone may test the lock without disturbing the run: a shared, non-blocking lock
attempt that fails means the run holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
from pathlib import Path

LOCK_FILE = "perfdash.lock"


class RunLock:
    """Held by the process carrying out a run, from its directory's creation to its last write."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_FILE
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.ftruncate(self._fd, 0)
            os.write(self._fd, f"{os.getpid()}\n".encode())
        except OSError:
            os.close(self._fd)
            self._fd = None
            raise

    def release(self) -> None:
        """The run is over: the file stays (with the last PID), the lock goes."""
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        os.close(self._fd)
        self._fd = None


def run_alive(run_dir: Path) -> bool | None:
    """True while a perfdash process holds the directory's lock, False when its lock is free (the
    run ended, or died), None when the directory has no lock file (an older perfdash's run)."""
    try:
        fd = os.open(run_dir / LOCK_FILE, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)  # closing drops the shared lock we may have taken
    return False


def holder_pid(run_dir: Path) -> int | None:
    """The PID the run wrote into its lock (for messages; liveness is the lock, not the PID)."""
    try:
        text = (run_dir / LOCK_FILE).read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def foreign_holder(run_dir: Path) -> str | None:
    """Who holds the lock when it is not a perfdash process (a sentence fragment), else None.

    The lock says a process holds the file, not which: a backup tool, an editor or a stray
    `flock` holding perfdash.lock would make a finished run look alive forever. The PID perfdash
    wrote into the lock decides: a process that is gone is not the run, nor is one that neither
    runs perfdash (its command line) nor has the lock file open (perfdash embedded in another
    program still does). Where there is no /proc to ask, the lock is trusted as before.
    """
    pid = holder_pid(run_dir)
    if pid is None:
        return "a process that wrote no PID into it"
    if pid == os.getpid():
        return None  # this very process carries out the run (a run and its server, tests)
    proc = Path(f"/proc/{pid}")
    if not Path("/proc/self").is_dir():
        return None  # no /proc here: trust the lock
    try:
        raw = (proc / "cmdline").read_bytes()
    except FileNotFoundError:
        return f"another process (the PID in it, {pid}, is gone)"
    except OSError:
        return None
    words = [w.decode("utf-8", "replace") for w in raw.split(b"\0") if w]
    if _runs_perfdash(words) or _has_open(proc, run_dir / LOCK_FILE):
        return None
    return f"another process (the PID in it, {pid}, is {' '.join(words)[:60] or '?'})"


def _runs_perfdash(words: list[str]) -> bool:
    """`perfdash ...`, `python .../perfdash ...`, `python -m perfdash ...`, `python -c` code
    that uses perfdash."""
    if any(Path(w).name == "perfdash" for w in words[:2]):
        return True
    for flag, arg in itertools.pairwise(words):
        if flag == "-m" and (arg == "perfdash" or arg.startswith("perfdash.")):
            return True
        if flag == "-c" and "perfdash" in arg:
            return True
    return False


def _has_open(proc: Path, path: Path) -> bool:
    """Whether process `proc` has `path` open (unknown, e.g. another user's process: True)."""
    try:
        want = os.stat(path)
        fds = list((proc / "fd").iterdir())
    except PermissionError:
        return True
    except OSError:
        return False
    for fd in fds:
        try:
            st = os.stat(fd)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (want.st_dev, want.st_ino):
            return True
    return False
