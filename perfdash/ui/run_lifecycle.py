"""The dashboard's run lifecycle: follow a run from its first event to its exit code.

Live mode runs the orchestrator in a thread worker and reads its events from a bus subscription,
drained by a single 4 Hz timer (the subscription already coalesces samples to the newest), so the
cost of the screen follows what changed, not how much was published. When the run ends the app
switches to the result screen for its run directory; `perfdash show` opens that screen directly.
Stopping (a signal, a confirmed quit, a detach) lives here too, since a signal must stop the run
without a key; perfdash.ui.app adds the keys and builds the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeGuard

from textual import work
from textual.app import App
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from perfdash.artifacts import SUMMARY_JSON, RunPaths
from perfdash.events import Event, PreflightChecked, ProblemDetected, Subscription, ToolExited
from perfdash.ui.live.live_screen import LiveScreen
from perfdash.ui.live.state import LiveState

if TYPE_CHECKING:
    # The result view and the cleanup dialog (with its database driver) are imported when first
    # shown: a live screen never needs them before its run ends, and importing them up front was
    # a third of the time to the first paint.
    from perfdash.data.cleanup import CleanupPlan
    from perfdash.ui.result.result_screen import ResultScreen

DRAIN_HZ = 4
# Panes repaint together once every `refresh_s` (default a second: samples arrive at 1 Hz);
# problems, phase changes and the end of the run are shown at the next drain whatever it is. One
# frame a second instead of one per arrival is most of the difference between a cheap dashboard
# and an expensive one; `--refresh` trades freshness for CPU on a small generator host.
REFRESH_S = 1.0
EXIT_COULD_NOT_RUN = 3
EXIT_INTERRUPTED = 130


class _HasRoot(Protocol):
    @property
    def root(self) -> Path: ...


class RunOutcomeLike(Protocol):
    """What `run` returns: the orchestrator's `RunOutcome` fits."""

    @property
    def exit_code(self) -> int: ...

    @property
    def paths(self) -> _HasRoot: ...


RunFn = Callable[[], RunOutcomeLike | None]

CleanupFn = Callable[[], "CleanupPlan"]


class RunLifecycleApp(App[int | None]):
    """The run behind the screens: its worker, its events, its stop and its exit code."""

    # `perfdash attach`: the run belongs to another process; q (and a stop signal) only detach.
    detach_only: bool = False
    detached: bool = False
    # `perfdash watch`: nothing of perfdash's own to stop, so q ends the watch without asking.
    ends_on_quit: bool = False

    def __init__(self, *, subscription: Subscription | None, run: RunFn | None,
                 stop: Callable[[], None] | None, result_dir: Path | None,
                 clock: Callable[[], float], comparison: dict[str, Any] | None = None,
                 cleanup: CleanupFn | None = None, reanalyse: bool = False,
                 refresh_s: float = REFRESH_S) -> None:
        super().__init__()
        if not refresh_s > 0:
            raise ValueError(f"refresh_s must be above 0, not {refresh_s}")
        # Drained at 4 Hz (or faster, for a refresh under 250 ms), painted every `paint_every`.
        self.drain_s = min(1 / DRAIN_HZ, refresh_s)
        self.paint_every = max(1, round(refresh_s / self.drain_s))
        self._cleanup = cleanup
        self._reanalyse = reanalyse
        # `show`: the verdict computed again from the artifacts once the result screen has it
        self.fresh_summary: dict[str, Any] | None = None
        self._sub = subscription
        self._run = run
        self._stop = stop
        self.result_dir = result_dir
        self.comparison = comparison
        # A replayed run reads its files (the p95 limit's) from where it is now, not where it ran.
        self.state = LiveState(clock, files_dir=result_dir)
        self.outcome: RunOutcomeLike | None = None
        self.run_error: BaseException | None = None
        self.stopping = False
        self._worker: Worker[RunOutcomeLike | None] | None = None
        self._timer: Timer | None = None
        self._live: LiveScreen | None = None
        self._ticks = 0
        self._finish_handled = False
        self._run_done = threading.Event()  # the run (and its cleanup) returned
        self._run_result: RunOutcomeLike | None = None
        self.showing_result = False

    # ------------------------------------------------------------------ lifecycle
    def on_mount(self) -> None:
        if self._sub is None:
            assert self.result_dir is not None
            self._show_result(self.result_dir)
            return
        self._live = LiveScreen(self.state)
        self.push_screen(self._live)
        self._timer = self.set_interval(self.drain_s, self.drain, name="drain")
        if self._run is not None:
            self._worker = self._run_in_thread()
            self._handle_signals()

    def _handle_signals(self) -> None:
        """SIGTERM, SIGHUP (the terminal closed) and a SIGINT sent with kill stop the run without
        asking, keep the partial artifacts, and close the app: the orchestrator in the worker
        thread cannot see signals (perfdash.run.signals is the policy this follows)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._hangup if sig == signal.SIGHUP
                                        else self.stop_now)

    def _hangup(self) -> None:
        """The terminal is gone: stop like SIGTERM, and leave once the run has stopped and written
        its summary. Textual's output thread dies on the closed terminal and its exit would then
        wait on it forever, so nothing is left to show and nothing waits for the screen."""
        with contextlib.suppress(OSError):
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
        self.stop_now()

        def leave_when_stopped() -> None:
            self._run_done.wait()
            result = self._run_result
            os._exit(result.exit_code if result is not None else EXIT_INTERRUPTED)

        threading.Thread(target=leave_when_stopped, name="hangup-exit", daemon=True).start()

    def stop_now(self) -> None:
        if self.run_active and self.detach_only:
            self.detach()
            return
        if self.run_active:
            if not self.stopping:
                self._quit_answered(True)
            return
        code = self.exit_code
        self.exit(code, return_code=code or 0)

    def on_unmount(self) -> None:
        if self.run_active and self._stop is not None:
            self._stop()  # the app is going away: never leave the tools running unattended

    @work(thread=True, exit_on_error=False, name="run")
    def _run_in_thread(self) -> RunOutcomeLike | None:
        assert self._run is not None
        try:
            self._run_result = self._run()
            return self._run_result
        finally:
            self._run_done.set()

    @property
    def live(self) -> bool:
        return self._sub is not None

    @property
    def run_active(self) -> bool:
        """A live run that has not finished: quitting must stop it first."""
        if not self.live or self.state.finished is not None:
            return False
        return self._worker is None or self._worker.state in (WorkerState.PENDING,
                                                               WorkerState.RUNNING)

    def drain(self) -> None:
        """The one timer: fold what arrived, announce what matters, and once every `refresh_s` (or
        at once after something notable) hand the panes their views; only changed views repaint."""
        if self._sub is None or self._live is None or self.showing_result:
            return
        events = self._sub.drain()
        notable = self.state.apply(events) if events else []
        urgent = bool(notable) or (bool(events) and self.state.phase_changed)
        self._ticks += 1
        if urgent or self._ticks % self.paint_every == 0:
            self.show_now()
        for event in notable:
            self._announce(event)
        if self.state.finished is not None and not self._finish_handled and not self.stopping:
            self._finish_handled = True
            self._show_result(self._finished_dir())

    def show_now(self) -> None:
        """Repaint the live panes from the current state (only views that changed repaint)."""
        if self._live is not None:
            self.state.tick()
            self._live.show()

    def _announce(self, event: Event) -> None:
        if isinstance(event, ProblemDetected):
            self.notify(event.what + (f"\n→ {event.fix}" if event.fix else ""), title="problem",
                        severity="error" if event.severity == "error" else "warning",
                        timeout=12, markup=False)
        elif isinstance(event, PreflightChecked):
            self.notify(event.detail + (f"\n→ {event.fix}" if event.fix else ""),
                        title=f"preflight failed: {event.name}", severity="error", timeout=20,
                        markup=False)
        elif isinstance(event, ToolExited) and event.returncode != 0:
            self.notify(f"exit {event.returncode} after {event.elapsed_s:.1f} s"
                        + (f" (stopped by {event.stopped_by})" if event.stopped_by else ""),
                        title=f"{event.tool} exited", severity="warning", timeout=8, markup=False)

    def _finished_dir(self) -> Path | None:
        if self.result_dir is not None:
            return self.result_dir
        finished = self.state.finished
        if finished is not None and finished.summary_path:
            return Path(finished.summary_path).parent
        if self.outcome is not None:
            return self.outcome.paths.root
        return Path(self.state.run_dir) if self.state.run_dir else None

    def _show_result(self, run_dir: Path | None) -> None:
        if run_dir is None or not RunPaths(run_dir).summary.exists():
            self.notify(f"the run ended without a {SUMMARY_JSON}; its partial artifacts are in "
                        f"{run_dir or 'no run directory'}", title="no result", severity="error",
                        timeout=30, markup=False)
            return
        self.showing_result = True
        if self._timer is not None:
            self._timer.stop()  # the result screen is still: nothing left to drain
        self.result_dir = run_dir
        while len(self.screen_stack) > 2:
            self.pop_screen()
        from perfdash.ui.result.result_screen import ResultScreen

        screen = ResultScreen(run_dir, self.comparison, reanalyse=self._reanalyse)
        if self._live is not None and self.screen is self._live:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def on_result_screen_reanalysed(self, event: ResultScreen.Reanalysed) -> None:
        self.fresh_summary = event.summary

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is not self._worker or event.state not in (
                WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            return
        if event.state == WorkerState.SUCCESS:
            result = event.worker.result
            self.outcome = result if hasattr(result, "exit_code") else None
        elif event.state == WorkerState.ERROR:
            self.run_error = event.worker.error
            self.notify(f"{type(self.run_error).__name__}: {self.run_error}",
                        title="the run stopped with an error", severity="error", timeout=60,
                        markup=False)
        self.drain()  # the last events may have arrived after the previous tick
        if self.stopping:
            self.exit(self.exit_code, return_code=self.exit_code or 0)
        elif not self._finish_handled and self.outcome is not None:
            self._finish_handled = True
            self._show_result(self._finished_dir())

    @property
    def exit_code(self) -> int | None:
        """The run's exit code once known: what the CLI returns after the app closes."""
        if self.outcome is not None:
            return self.outcome.exit_code
        if self.state.finished is not None:
            # The verdict is written: an error after it (while cleaning up) does not change it.
            return self.state.finished.exit_code
        if self.run_error is not None:
            return EXIT_COULD_NOT_RUN
        if self.stopping:
            return EXIT_INTERRUPTED
        if not self.live and self.screen_stack and _is_result(self.screen):
            code = self.screen.run.summary.get("exit_code")
            return int(code) if isinstance(code, int) else EXIT_COULD_NOT_RUN
        return None

    def detach(self) -> None:
        """Stop following an attached run and leave at once: the run itself goes on (exit 0)."""
        self.detached = True
        if self._stop is not None:
            self._stop()
        self.exit(0, return_code=0)

    def _quit_answered(self, stop: bool | None) -> None:
        if not stop:
            return
        self.stopping = True
        self.state.stopping()
        if self._live is not None:
            self._live.show()
        self.notify("stopping k6 and Artillery; partial results are kept in the run directory",
                    title="stopping", timeout=30)
        if self._stop is not None:
            self._stop()
        if self._worker is None or self._worker.is_finished:
            code = self.exit_code
            self.exit(code, return_code=code or 0)


def _is_result(screen: object) -> TypeGuard[ResultScreen]:
    """Whether `screen` is the result view, without importing it before one was shown."""
    module = sys.modules.get("perfdash.ui.result.result_screen")
    return module is not None and isinstance(screen, module.ResultScreen)
