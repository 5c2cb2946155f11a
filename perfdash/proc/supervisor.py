"""Child processes of a run (k6, Artillery, the demo backend): start in their own process group,
stop in stages with one deadline, and never leave one behind.

The orchestrator, the demo launcher and the tests all start children through `Supervisor`, so a
Ctrl-C anywhere reaches exactly the processes perfdash started and nothing else.

Every child also dies with perfdash: it is started with the parent-death signal set to SIGTERM
(Linux `prctl(PR_SET_PDEATHSIG)`), so a perfdash killed with SIGKILL leaves no k6, Artillery or demo
backend behind. The kernel sends it when the *thread* that forked the child ends, so children are
started from the thread that runs the whole run (the main thread headless, the dashboard's run
worker), never from a short-lived helper thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass

from perfdash.launch import LaunchRequest
from perfdash.proc.forking import starting_child
from perfdash.proc.redacted_copy import Redact, RedactedCopy

# INT first (k6 and Artillery finish their summaries on it), then TERM, then KILL.
_STOP_SIGNALS: tuple[tuple[signal.Signals, float], ...] = (
    (signal.SIGINT, 0.6),
    (signal.SIGTERM, 0.3),
    (signal.SIGKILL, 0.1),
)


_PR_SET_PDEATHSIG = 1
DRAIN_S = 2.0  # how long an exited child's output may take to reach its files


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


# Looked up once in the parent: the child, between fork and exec, only calls it.
_PRCTL = _load_prctl()


def die_with_parent() -> Callable[[], None] | None:
    """A `preexec_fn` that makes the child receive SIGTERM when this process (strictly: the
    forking thread) dies; None where the platform has no such thing."""
    prctl = _PRCTL
    if prctl is None:
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the line above: no signal will come
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


@dataclass(frozen=True)
class Outcome:
    """How a child ended: exit code (negative: killed by that signal), wall time, how we stopped it."""

    name: str
    returncode: int
    elapsed_s: float
    stopped_by: str | None = None


class Child:
    """A running child in its own process group (pgid == pid)."""

    def __init__(self, request: LaunchRequest, proc: subprocess.Popen[bytes],
                 copies: tuple[RedactedCopy, ...] = ()) -> None:
        self.request = request
        self.proc = proc
        self.started = time.monotonic()
        self.stopped_by: str | None = None
        self._copies = copies

    @property
    def pid(self) -> int:
        return self.proc.pid

    def poll(self) -> int | None:
        return self.proc.poll()

    def wait(self, timeout: float | None = None) -> Outcome:
        code = self.proc.wait(timeout)
        return self.outcome(code)

    def outcome(self, code: int) -> Outcome:
        """How the child ended, once its log files hold everything it wrote (callers read them
        next). A helper it left behind may hold its output open: that is waited for briefly."""
        for copy in self._copies:
            copy.join(DRAIN_S)
        return Outcome(self.request.name, code, time.monotonic() - self.started, self.stopped_by)

    def stop(self, deadline_s: float = 5.0, log: Callable[[str], None] | None = None) -> Outcome:
        """Signal the whole group INT, then TERM, then KILL, within `deadline_s` in total."""
        for sig, share in _STOP_SIGNALS:
            if self.proc.poll() is not None and not _group_alive(self.pid):
                break
            self.stopped_by = sig.name
            if log:
                log(f"sending {sig.name} to {self.request.name} (pid {self.pid})")
            _signal_group(self.pid, sig)
            try:
                self.proc.wait(deadline_s * share)
            except subprocess.TimeoutExpired:
                continue
            if not _group_alive(self.pid):
                break
        code = self.proc.wait()
        return self.outcome(code)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


class Supervisor:
    """Registry of the children a run started; `stop_all` is called from `finally` and signal paths."""

    def __init__(self, log: Callable[[str], None] | None = None, redact: Redact | None = None) -> None:
        """`redact`: the run's redactor, which every child's output passes through on its way to
        the child's log files; without one (a probe whose output is parsed, never kept) the child
        writes to its files directly."""
        self._children: list[Child] = []
        self._lock = threading.Lock()
        self._log = log
        self._redact = redact

    def start(self, request: LaunchRequest) -> Child:
        env = {**os.environ, **request.env}
        request.stdout.parent.mkdir(parents=True, exist_ok=True)
        out = request.stdout.open("wb")
        piped = self._redact is not None
        try:
            err = request.stderr.open("wb")
        except BaseException:
            out.close()
            raise
        # A stop signal arriving while the child starts is raised once it is registered (below),
        # never inside an at-fork hook (perfdash.proc.forking), so stop_all always finds it.
        with starting_child():
            try:
                proc = subprocess.Popen(
                    list(request.argv),
                    cwd=request.cwd,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE if piped else out,
                    stderr=subprocess.PIPE if piped else err,
                    start_new_session=True,
                    preexec_fn=die_with_parent(),  # noqa: PLW1509 - only prctl runs between fork and exec
                )
            except BaseException:
                out.close()
                err.close()
                raise
            copies: tuple[RedactedCopy, ...] = ()
            if self._redact is not None:
                assert proc.stdout is not None
                assert proc.stderr is not None
                copies = (RedactedCopy(proc.stdout, out, self._redact, self._log),
                          RedactedCopy(proc.stderr, err, self._redact, self._log))
                for copy in copies:
                    copy.start()
            else:
                out.close()  # the child holds its own copies of the descriptors
                err.close()
            child = Child(request, proc, copies)
            with self._lock:
                self._children.append(child)
        if self._log:
            self._log(f"started {request.name} (pid {proc.pid}): {request.display()}")
        return child

    def running(self) -> list[Child]:
        with self._lock:
            return [c for c in self._children if c.poll() is None]

    def stop_all(self, deadline_s: float = 5.0, keep: Collection[Child] = ()) -> list[Outcome]:
        """Stop every child still running, in parallel, all within one deadline. `keep`: children
        (and their groups) the caller stops later in its own way (a backend perfdash started,
        stopped after the run's cleanup, with its stop command)."""
        children = [c for c in self.running() if c not in keep]
        outcomes: list[Outcome] = []
        threads = [
            threading.Thread(target=lambda c=c: outcomes.append(c.stop(deadline_s, self._log)))
            for c in children
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # A child may have exited on its own while its group lives on (a worker it forked).
        with self._lock:
            for child in self._children:
                if child not in keep and _group_alive(child.pid):
                    _signal_group(child.pid, signal.SIGKILL)
        return outcomes
