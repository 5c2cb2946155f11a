"""perfdash's one signal policy, for every way a run is asked to stop.

- SIGINT (Ctrl-C, `kill -INT`), SIGTERM (`kill`, a CI runner) and SIGHUP (the terminal closed,
  `tmux kill-session`) mean the same thing: stop the run, keep what was measured, exit 130.
- perfdash installs its own handlers for all three, whatever it inherited: a shell starts
  background jobs (`perfdash run ... &` in a script) with SIGINT ignored, and Python would keep it
  ignored.
- The first stop signal raises `Interrupted` (a BaseException, like KeyboardInterrupt, so no
  `except Exception` on the way swallows it) and shields the process at once: from then on, and
  from the moment a run starts its own cleanup, further signals are noted and never abort the
  cleanup (stopping the tools, writing the summary, stopping the demo backend and PostgreSQL).
- Children that can die with perfdash do: the supervisor starts them with the parent-death signal
  set (see `perfdash.proc.supervisor`). What cannot (the PostgreSQL cluster runs as another OS
  user) leaves a marker that `perfdash cleanup --stale` and the next demo find
  (`perfdash.demo.stale`).

Handlers run in the main thread only; the dashboard runs the orchestrator in a worker thread and
forwards the same three signals through its event loop instead (perfdash.ui.run_lifecycle).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from types import FrameType
from typing import Any

from perfdash.proc import forking

STOP_SIGNALS: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

Previous = dict[signal.Signals, Any]


class Interrupted(BaseException):  # like KeyboardInterrupt: no `except Exception` catches it
    """A stop signal (or a stop request) turned into an exception in the thread running the run."""

    @property
    def signal_name(self) -> str:
        return str(self.args[0]) if self.args else "a stop request"


class _State:
    shielded = False
    ignored: list[str] = []  # noqa: RUF012 - appended from the handler, read after the cleanup
    raised: str | None = None  # the signal the handler raised `Interrupted` for


_state = _State()


def _handler(signum: int, _frame: FrameType | None) -> None:
    name = signal.Signals(signum).name
    if _state.shielded:
        _state.ignored.append(name)
        # os.write takes no lock: safe even if the signal landed inside a print or a log write.
        with contextlib.suppress(OSError):
            os.write(2, f"perfdash: {name} received while stopping; finishing the cleanup "
                        "first\n".encode())
        return
    _state.shielded = True  # before raising: a second signal must not abort what this one starts
    _state.raised = name
    if forking.defer(lambda: _raise(name)):
        return  # the main thread is starting a child: raised once it is registered
    raise Interrupted(name)


def _raise(name: str) -> None:
    raise Interrupted(name)


def install() -> Previous:
    """Put perfdash's handler on SIGINT, SIGTERM and SIGHUP (also over an inherited SIG_IGN) and
    arm it; returns the previous handlers for `restore`. Outside the main thread: does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    _state.shielded = False
    _state.ignored = []
    _state.raised = None
    return {sig: signal.signal(sig, _handler) for sig in STOP_SIGNALS}


def shield() -> None:
    """Cleanup has begun: from now on a stop signal is noted, never raised."""
    _state.shielded = True


def shielded() -> bool:
    return _state.shielded


def raised() -> str | None:
    """The stop signal the handler raised `Interrupted` for, or None.

    Python runs the handler wherever the main thread is, and a few places print an exception and
    go on instead of raising it: at-fork hooks (the supervisor's starts defer the signal instead,
    see perfdash.proc.forking), `__del__`, weakref callbacks. A loop that is still waiting after
    this says a signal was raised lost it there, and raises it again."""
    return _state.raised


def ignored() -> list[str]:
    """The signals that arrived while shielded (for the run's log)."""
    return list(_state.ignored)


def restore(previous: Previous) -> None:
    """Put back what `install` replaced (tests call the CLI in their own process); the run's
    raised signal ends with it, so a later wait in this process does not raise it again."""
    if threading.current_thread() is not threading.main_thread():
        return
    _state.raised = None
    for sig, handler in previous.items():
        signal.signal(sig, handler if handler is not None else signal.SIG_DFL)


def reinstall_shielded() -> None:
    """After the dashboard's event loop closed (asyncio resets its signals to the defaults): keep
    the policy for what is left, which is only printing the verdict."""
    install()
    shield()

