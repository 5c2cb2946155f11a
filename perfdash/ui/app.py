"""The perfdash dashboard and `make_app`, the one factory the CLI and the tests build it with.

`PerfdashApp` is the run lifecycle (perfdash.ui.run_lifecycle) plus its keys: quit, screenshot,
artifacts, cleanup and help, each an action on whichever screen is showing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

from rich.segment import Segment
from textual import work
from textual.binding import Binding, BindingType

from perfdash.events import Bus
from perfdash.ui.modals.artifacts_screen import ArtifactsScreen
from perfdash.ui.modals.help_screen import HelpScreen
from perfdash.ui.modals.quit_screen import QuitScreen
from perfdash.ui.replay import Replayer, events_path, load_events
from perfdash.ui.run_lifecycle import REFRESH_S, CleanupFn, RunFn, RunLifecycleApp, _is_result
from perfdash.ui.screenshot import screen_lines, write_png


class Attachable(Protocol):
    """What `attach` builds on the app's bus: perfdash.follow's Follower fits."""

    def run(self) -> object: ...

    def stop(self) -> None: ...


class PerfdashApp(RunLifecycleApp):
    """Returns the run's exit code from `run()` (the summary's in result-only mode)."""

    CSS_PATH = "app.tcss"
    TITLE = "perfdash"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        # Ctrl-C in a terminal app arrives as a key, not SIGINT: it asks, like q, mid-run.
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
        Binding("s", "take_screenshot", "Screenshot"),
        Binding("o", "artifacts", "Artifacts"),
        Binding("c", "cleanup", "Cleanup"),
        Binding("question_mark", "help", "Help"),
    ]

    # ------------------------------------------------------------------ keys
    async def action_quit(self) -> None:
        if isinstance(self.screen, QuitScreen):
            return
        if self.stopping:
            self.notify("still stopping: waiting for k6 and Artillery to end", timeout=5)
            return
        if self.run_active and self.detach_only:
            self.detach()
            return
        if self.run_active and self.ends_on_quit:
            self.stopping = True
            self.notify("writing what was watched; k6 and the backend are not touched",
                        title="ending the watch", timeout=30)
            if self._stop is not None:
                self._stop()
            return
        if self.run_active:
            self.push_screen(QuitScreen(), self._quit_answered)
            return
        code = self.exit_code
        self.exit(code, return_code=code or 0)

    def artifact_dir(self) -> Path | None:
        if self.result_dir is not None:
            return self.result_dir
        return Path(self.state.run_dir) if self.state.run_dir else None

    def action_take_screenshot(self) -> None:
        target = self.artifact_dir() or Path.cwd()
        kind = "result" if _is_result(self.screen) else "live"
        stamp = datetime.now().strftime("%H%M%S")
        name = f"screenshot-{kind}-{stamp}.svg"
        n = 1
        while (target / name).exists():
            n += 1
            name = f"screenshot-{kind}-{stamp}-{n}.svg"
        try:
            svg = Path(self.save_screenshot(filename=name, path=str(target)))
        except OSError as exc:
            self.notify(f"cannot write a screenshot into {target}: {exc.strerror}",
                        title="screenshot", severity="error", markup=False)
            return
        self._convert_screenshot(svg, screen_lines(self))

    @work(thread=True, group="screenshot", exit_on_error=False)
    def _convert_screenshot(self, svg: Path, lines: list[list[Segment]]) -> None:
        png, how = write_png(lines, svg.with_suffix(".png"))
        if png is not None:
            message, severity = f"{svg}\n{png} ({how})", "information"
        else:
            message, severity = f"{svg}\nno PNG: {how}", "warning"
        self.call_from_thread(self.notify, message, title="screenshot saved", severity=severity,
                              timeout=10, markup=False)

    def action_artifacts(self) -> None:
        self.push_screen(ArtifactsScreen(self.artifact_dir()))

    def action_cleanup(self) -> None:
        """Open the cleanup dialog; it refuses removal while the run still uses what it would
        remove, and explains itself where this dashboard has nothing to clean."""
        from perfdash.ui.modals.cleanup_screen import CleanupScreen, nothing_to_clean

        if isinstance(self.screen, CleanupScreen):
            return
        if _is_result(self.screen):
            run = self.screen.run
            why = nothing_to_clean(str(run.summary.get("environment") or ""), run.environment_kind,
                                   finished=True)
        else:
            why = nothing_to_clean(self.state.header.environment, None,
                                   finished=self.state.finished is not None)
        self.push_screen(CleanupScreen(self._cleanup, why_nothing=why, run_active=self.run_active))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())


def make_app(*, bus: Bus | None = None, run: RunFn | None = None,
             stop: Callable[[], None] | None = None, summary_dir: Path | None = None,
             replay: Path | None = None, replay_speed: float = 1.0,
             clock: Callable[[], float] = time.monotonic,
             comparison: dict[str, Any] | None = None,
             cleanup: CleanupFn | None = None, reanalyse: bool = False,
             attach: Callable[[Bus], Attachable] | None = None,
             refresh_s: float = REFRESH_S) -> PerfdashApp:
    """The dashboard for one of three uses:

    - live: `bus` (the orchestrator publishes on it) and `run` (blocks until the run ends and
      returns its outcome; called in a thread worker), `stop` to ask the run to stop (the
      orchestrator's `request_stop`). With `bus` alone it shows whatever is published on it.
    - replay: `replay`, a run directory or its events.ndjson, played back at `replay_speed`;
      ends on that directory's result screen.
    - result only: `summary_dir`, a finished run directory; with `reanalyse` (`perfdash show`)
      the verdict is computed again from its artifacts after the first frame.
    - attach: `attach` builds a follower (perfdash.follow) on the app's bus for a run another
      process carries out; q detaches and never stops that run; its result view opens where
      the run's RunFinished says its summary is.
    `clock` times the elapsed display; `comparison` is passed to the result screen's baseline
    panel. `cleanup` plans the cleanup of the run's environment (it reads the database, so the
    dialog calls it in a thread); None where there is nothing to clean from here (the demo
    environment, or a finished run shown without its environment). `refresh_s`: seconds between
    two repaints of the live screen (`--refresh`).
    """
    sources = sum(x is not None for x in (bus, summary_dir, replay, attach))
    if sources != 1:
        raise ValueError("make_app needs exactly one of bus, summary_dir, replay or attach")
    if run is not None and bus is None:
        raise ValueError("run needs the bus its events are published on")
    if replay is not None:
        bus = Bus()
        replayer = Replayer(load_events(events_path(replay)), bus, speed=replay_speed)

        def run_replay() -> None:
            replayer.run()

        run, stop = run_replay, replayer.stop
        summary_dir = replay if replay.is_dir() else replay.parent
    if attach is not None:  # `perfdash attach`: another process's run, followed read-only
        bus = Bus()
        follower = attach(bus)

        def follow() -> None:
            follower.run()

        run, stop = follow, follower.stop
    # An attacher catches up on a whole run at once: every second of its timeline must fit.
    limit = 1_000_000 if attach is not None else 10_000
    subscription = bus.subscribe(limit) if bus is not None else None
    app = PerfdashApp(subscription=subscription, run=run, stop=stop, result_dir=summary_dir,
                      clock=clock, comparison=comparison, cleanup=cleanup, reanalyse=reanalyse,
                      refresh_s=refresh_s)
    app.detach_only = attach is not None
    if attach is not None or replay is not None:
        # A followed or replayed run started before this screen: time it on its recording.
        app.state.recorded_pace = replay_speed if replay is not None else 1.0
    return app
