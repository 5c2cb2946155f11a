"""A stop signal that arrives while the supervisor starts a child, inside logging's at-fork hook.

`subprocess` runs Python's at-fork hooks around a fork with a `preexec_fn`; a handler that raised
there used to have its `Interrupted` printed as "Exception ignored in ... Traceback" and dropped
(the flaky `term-thrice-during-cleanup` case of tests/test_signals.py). Here the signal is sent
from an at-fork hook of the test's own, so it lands in a hook every time.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path

import pytest

from perfdash.launch import LaunchRequest
from perfdash.proc.supervisor import Supervisor
from perfdash.run import signals

_ARMED = threading.Event()


def _term_from_the_hook() -> None:
    # The Python-level handler runs at the next instruction: still inside this hook.
    if _ARMED.is_set():
        os.kill(os.getpid(), signal.SIGTERM)
        _ARMED.clear()


os.register_at_fork(after_in_parent=_term_from_the_hook)  # inert unless armed


def test_a_signal_inside_an_at_fork_hook_is_raised_once_the_child_is_registered(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unraisable: list[object] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    previous = signals.install()
    supervisor = Supervisor()
    try:
        _ARMED.set()
        with pytest.raises(signals.Interrupted, match="SIGTERM"):
            supervisor.start(LaunchRequest("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"],
                                           tmp_path, tmp_path / "out", tmp_path / "err"))
        assert not _ARMED.is_set(), "the hook did not run: no fork with a preexec_fn happened"
        assert unraisable == [], "the signal's exception was printed and dropped in the hook"
        assert [c.request.name for c in supervisor.running()] == ["sleeper"], \
            "the child must be registered before the signal is raised, so stop_all stops it"
        assert signals.shielded()
    finally:
        _ARMED.clear()
        supervisor.stop_all(2.0)
        signals.restore(previous)
    assert supervisor.running() == []
