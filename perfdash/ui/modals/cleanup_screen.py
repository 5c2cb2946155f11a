"""`c`: remove what perfdash created in the run's environment (seeded rows, the backend it started,
the compose project) after showing each action's exact effect and asking a second time.

The app opens it with a planner (the CLI's `plan_cleanup` for the environment) or, where nothing can
be cleaned from this dashboard, with the sentence saying why. Planning and removing both touch the
database or other processes, so each runs in a thread worker and the dialog stays responsive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, Literal

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Static
from textual.worker import Worker, WorkerState

from perfdash.data.cleanup import ActionResult, CleanupPlan, execute

Phase = Literal["planning", "nothing", "choosing", "confirming", "executing", "done"]

PLANNING = "looking at what perfdash created…"
RUN_ACTIVE = ("the run is still using it: cleanup is possible once the run has finished "
              "(or was stopped)")
_PLAN_WORKER = "cleanup-plan"
_EXECUTE_WORKER = "cleanup-execute"
_SUBTITLES: dict[Phase, str] = {
    "planning": "Esc closes",
    "nothing": "Esc closes",
    "choosing": "Space toggles · Esc closes",
    "confirming": "y removes · n keeps everything",
    "executing": "removing: the dialog closes once it has finished",
    "done": "Esc closes",
}


def nothing_to_clean(environment: str, kind: str | None, finished: bool) -> str:
    """Why this dashboard offers no cleanup: it was opened without a planner for the environment."""
    if kind == "demo" or (kind is None and environment == "demo"):
        state = "and was removed when the run ended" if finished else \
            "and is stopped automatically when the run ends"
        return ("nothing to clean: the demo stack (its throwaway PostgreSQL cluster, the data seeded "
                f"into it and the demo backend) exists only while the run lasts {state}")
    if not environment:
        return "nothing to clean yet: the run has not started"
    return (f"nothing to clean from here: this dashboard was opened without environment "
            f"{environment!r}'s settings; `perfdash cleanup --env {environment}` lists and removes "
            "what perfdash created there")


class CleanupScreen(ModalScreen[None]):
    """Lists the plan's actions with checkboxes; removal needs the button and then `y`."""

    DEFAULT_CSS = """
    CleanupScreen {
        align: center middle;
    }
    CleanupScreen > VerticalScroll {
        width: 90%;
        max-width: 110;
        height: auto;
        max-height: 90%;
        border: round $warning;
        border-title-color: $text-warning;
        background: $surface;
        padding: 0 1;
    }
    CleanupScreen #cleanup-actions, CleanupScreen .cleanup-action {
        height: auto;
    }
    CleanupScreen .cleanup-action {
        margin-top: 1;
    }
    CleanupScreen .cleanup-detail, CleanupScreen .cleanup-status {
        padding-left: 4;
    }
    CleanupScreen #cleanup-confirm {
        margin-top: 1;
        color: $text-error;
        text-style: bold;
    }
    CleanupScreen #cleanup-remove {
        margin-top: 1;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("c,q", "close", "Close", show=False),
        Binding("y", "confirm", "Confirm", show=False),
        Binding("n", "back", "Back", show=False),
    ]

    phase: reactive[Phase] = reactive("planning", init=False)

    def __init__(self, planner: Callable[[], CleanupPlan] | None, *, why_nothing: str = "",
                 run_active: bool = False) -> None:
        super().__init__()
        self._planner = planner
        self._why_nothing = why_nothing
        self.run_active = run_active
        self.plan: CleanupPlan | None = None
        self.allowed: set[str] = set()
        self.results: list[ActionResult] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="cleanup-box") as box:
            box.border_title = "cleanup"
            yield Static(id="cleanup-intro")
            yield Vertical(id="cleanup-actions")
            yield Static(id="cleanup-confirm")
            yield Button("Remove the checked items", id="cleanup-remove", variant="error")

    def on_mount(self) -> None:
        if self._planner is None:
            self._intro(self._why_nothing, "")
            self.phase = "nothing"
        else:
            self._intro(PLANNING, "italic")
            self._plan_in_thread(self._planner)
        self.watch_phase(self.phase)

    # ------------------------------------------------------------------ state
    def watch_phase(self, phase: Phase) -> None:
        """Each phase decides what may be touched: nothing changes while a removal is pending."""
        box = self.query_one("#cleanup-box", VerticalScroll)
        box.border_subtitle = _SUBTITLES[phase]
        button = self.query_one("#cleanup-remove", Button)
        button.display = phase in ("choosing", "confirming")
        button.disabled = phase != "choosing" or not self.selected()
        self.query_one("#cleanup-confirm", Static).display = phase == "confirming"
        for check in self.query(Checkbox):
            check.disabled = phase != "choosing" or str(check.name) not in self.allowed

    def selected(self) -> set[str]:
        return {str(c.name) for c in self.query(Checkbox) if c.value and str(c.name) in self.allowed}

    def _intro(self, message: str, style: str) -> None:
        self.query_one("#cleanup-intro", Static).update(Text(message, style=style))

    def _status(self, name: str, text: Text) -> None:
        status = self.query_one(f"#status-{name}", Static)
        status.update(text)
        status.display = True

    # ------------------------------------------------------------------ planning
    @work(thread=True, exit_on_error=False, name=_PLAN_WORKER)
    def _plan_in_thread(self, planner: Callable[[], CleanupPlan]) -> CleanupPlan:
        return planner()

    async def _show_plan(self, plan: CleanupPlan) -> None:
        self.plan = plan
        if not plan.actions:
            self._intro(f"nothing to clean: perfdash has recorded no seeded data, started backend "
                        f"or compose project for environment {plan.environment!r}", "")
            self.phase = "nothing"
            return
        self.allowed = set() if self.run_active else plan.available()
        heading = Text(f"environment {plan.environment!r}: what perfdash created", style="bold")
        if self.run_active:
            heading.append(f"\n{RUN_ACTIVE}", style="yellow")
        self.query_one("#cleanup-intro", Static).update(heading)
        rows = []
        for action in plan.actions:
            detail = Text(action.describe())
            reason = action.reason if not action.available else RUN_ACTIVE if self.run_active else ""
            if reason:
                detail.append(f"\nnot possible: {reason}", style="yellow")
            rows.append(Vertical(
                Checkbox(action.name, action.name in self.allowed, name=action.name,
                         id=f"check-{action.name}", compact=True),
                Static(detail, id=f"detail-{action.name}", classes="cleanup-detail"),
                Static(id=f"status-{action.name}", classes="cleanup-status"),
                classes="cleanup-action",
            ))
        await self.query_one("#cleanup-actions", Vertical).mount_all(rows)
        for status in self.query(".cleanup-status"):
            status.display = False
        self.phase = "choosing"
        first = next((a.name for a in plan.actions if a.name in self.allowed), None)
        if first is not None:
            self.query_one(f"#check-{first}", Checkbox).focus()

    # ------------------------------------------------------------------ choosing and confirming
    @on(Checkbox.Changed)
    def _toggled(self) -> None:
        if self.phase == "choosing":
            self.query_one("#cleanup-remove", Button).disabled = not self.selected()

    @on(Button.Pressed, "#cleanup-remove")
    def _remove_pressed(self) -> None:
        selected = self.selected()
        if self.phase != "choosing" or self.plan is None or not selected:
            return
        effects = "; ".join(a.describe() for a in self.plan.actions if a.name in selected)
        self.query_one("#cleanup-confirm", Static).update(
            Text(f"this will {effects}; press y to confirm, n to keep everything"))
        self.phase = "confirming"
        self.query_one("#cleanup-confirm", Static).scroll_visible()

    def action_back(self) -> None:
        if self.phase == "confirming":
            self.phase = "choosing"

    def action_confirm(self) -> None:
        if self.phase != "confirming" or self.plan is None:
            return
        selected = self.selected()
        self.phase = "executing"
        for name in sorted(selected):
            self._status(name, Text("waiting…", style="italic"))
        self._execute_in_thread(self.plan, selected)

    def action_close(self) -> None:
        if self.phase == "executing":
            self.notify("cleanup is still running: the dialog can close once it has finished",
                        title="cleanup", severity="warning", timeout=5)
        elif self.phase == "confirming":
            self.phase = "choosing"
        else:
            self.dismiss(None)

    # ------------------------------------------------------------------ executing
    @work(thread=True, exit_on_error=False, name=_EXECUTE_WORKER)
    def _execute_in_thread(self, plan: CleanupPlan, selected: set[str]) -> list[ActionResult]:
        def progress(name: str, message: str) -> None:
            self.app.call_from_thread(self._progress, name, message)

        return execute(plan, selected, confirmed=True, progress=progress)

    def _progress(self, name: str, message: str) -> None:
        if self.phase == "executing" and self.query(f"#status-{name}"):
            self._status(name, Text(f"… {message}", style="cyan"))

    def _show_results(self, results: list[ActionResult]) -> None:
        self.results = results
        for result in results:
            if result.ok:
                self._status(result.name, Text(f"ok: {result.detail}", style="bold green"))
            else:
                self._status(result.name, Text(f"failed: {result.detail}", style="bold red"))
        failed = [r.name for r in results if not r.ok]
        if failed:
            self._intro(f"{len(failed)} of {len(results)} cleanup actions failed: "
                        f"{', '.join(failed)}; see below", "bold red")
        else:
            self._intro(f"done: {len(results)} of {len(results)} cleanup actions succeeded",
                        "bold green")
        self.phase = "done"

    async def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.name not in (_PLAN_WORKER, _EXECUTE_WORKER):
            return
        if event.state == WorkerState.SUCCESS:
            if worker.name == _PLAN_WORKER and isinstance(worker.result, CleanupPlan):
                await self._show_plan(worker.result)
            elif worker.name == _EXECUTE_WORKER and isinstance(worker.result, list):
                self._show_results(worker.result)
        elif event.state == WorkerState.ERROR:
            error = f"{type(worker.error).__name__}: {worker.error}"
            if worker.name == _PLAN_WORKER:
                self._intro(f"could not look at what perfdash created: {error}", "bold red")
                self.phase = "nothing"
            else:
                self._intro(f"cleanup stopped with an error: {error}; some actions may not have "
                            "run", "bold red")
                self.phase = "done"
