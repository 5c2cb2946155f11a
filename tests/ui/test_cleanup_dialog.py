"""The cleanup dialog (`c`) against a real database with rows perfdash seeded: it lists what it would
remove, removes exactly the seeded rows only after the button and a second yes, shows progress and
each result (a failure in red), refuses a protected environment and a run still in progress, and
explains itself where there is nothing to clean.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import Button, Checkbox, Static

from perfdash.data.cleanup import CleanupPlan, plan_cleanup
from perfdash.data.seed import seed, seeded_rows
from perfdash.demo.database import prepare_database
from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.events import Bus
from perfdash.secret import Secret
from perfdash.settings import Settings, load_settings
from perfdash.ui.app import PerfdashApp, make_app
from perfdash.ui.modals.cleanup_screen import PLANNING, RUN_ACTIVE, CleanupScreen
from perfdash.ui.result.result_screen import ResultScreen
from tests.conftest import ROOT, make_database
from tests.ui.conftest import FAIL_RUN, MID_RUN_S, PASS_RUN, FakeClock, LiveRig, recorded

SEEDED = {"public.customers": 5, "public.orders": 15}


@dataclass
class Seeded:
    url: Secret
    settings: Settings

    def planner(self, environment: str) -> Callable[[], CleanupPlan]:
        env = self.settings.environment(environment)
        return lambda: plan_cleanup(env, env.database_url, cwd=ROOT)

    def customers(self) -> int:
        with psycopg.connect(self.url.reveal()) as conn:
            row = conn.execute("SELECT count(*) FROM customers").fetchone()
        assert row is not None
        return int(row[0])


@pytest.fixture
def seeded(pg_cluster: ThrowawayPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    url = make_database(pg_cluster, "dialog")
    prepare_database(url, customers=50, products=10, orders=100)
    config = tmp_path / "profiles.toml"
    config.write_text((ROOT / "profiles.toml").read_text().replace(
        "[environments.local]\n", '[environments.local]\nseed_sql = "perfdash/demo/seed.sql"\n'
        "seed_scale = 5\n", 1).replace(
        "[environments.staging]\n", '[environments.staging]\nseed_sql = "perfdash/demo/seed.sql"\n', 1))
    monkeypatch.setenv("PERF_DATABASE_URL", url.reveal())
    monkeypatch.setenv("PERF_STAGING_DATABASE_URL", url.reveal())
    settings = load_settings(ROOT, config, env_file=tmp_path / ".env.performance")
    seed(url, "run-dialog", settings.environment("local"), cwd=ROOT)
    assert seeded_rows(url) == SEEDED
    return Seeded(url, settings)


def text_of(screen: CleanupScreen, selector: str) -> str:
    console = Console(width=200, record=True)
    console.print(screen.query_one(selector, Static).content)
    return " ".join(console.export_text().split())


async def until(pilot: Pilot[Any], check: Callable[[], bool], timeout_s: float = 15.0) -> None:
    for _ in range(int(timeout_s / 0.05)):
        if check():
            return
        await pilot.pause(0.05)
    raise AssertionError("the dialog did not get there in time")


async def open_dialog(pilot: Pilot[Any], app: PerfdashApp) -> CleanupScreen:
    await pilot.press("c")
    screen = app.screen
    assert isinstance(screen, CleanupScreen)
    await until(pilot, lambda: screen.phase not in ("planning",))
    return screen


async def test_lists_the_seeded_rows_then_removes_them_after_a_second_yes(
        seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    others = seeded.customers() - SEEDED["public.customers"]
    gate = threading.Event()
    plan = seeded.planner("local")

    def slow_planner() -> CleanupPlan:
        gate.wait(10)
        return plan()

    progress: list[tuple[str, str]] = []
    shown_progress = CleanupScreen._progress

    def record(screen: CleanupScreen, name: str, message: str) -> None:
        progress.append((name, message))
        shown_progress(screen, name, message)

    monkeypatch.setattr(CleanupScreen, "_progress", record)
    app = make_app(summary_dir=PASS_RUN, cleanup=slow_planner)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CleanupScreen)
        assert text_of(screen, "#cleanup-intro") == PLANNING  # planning waits in its thread
        gate.set()
        await until(pilot, lambda: screen.phase == "choosing")
        assert "environment 'local'" in text_of(screen, "#cleanup-intro")
        assert [c.name for c in screen.query(Checkbox)] == ["seeded-data"]
        box = screen.query_one("#check-seeded-data", Checkbox)
        assert box.value
        assert not box.disabled
        assert text_of(screen, "#detail-seeded-data") == (
            "delete 15 rows from public.orders, 5 from public.customers (seeded by perfdash)")

        await pilot.click("#cleanup-remove")
        assert screen.phase == "confirming"
        assert text_of(screen, "#cleanup-confirm") == (
            "this will delete 15 rows from public.orders, 5 from public.customers (seeded by "
            "perfdash); press y to confirm, n to keep everything")
        assert seeded_rows(seeded.url) == SEEDED  # the button alone removes nothing

        # Someone else's transaction holds the customers table: the removal waits on it, which
        # shows progress arriving while it runs, and that Esc does not abandon it.
        with psycopg.connect(seeded.url.reveal()) as blocker:
            blocker.execute("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")
            await pilot.press("y")
            await until(pilot, lambda: screen.phase == "executing")
            await until(pilot, lambda: ("seeded-data", "deleting seeded rows from public.customers")
                        in progress)
            assert "deleting seeded rows from public.customers" in text_of(
                screen, "#status-seeded-data")
            await pilot.press("escape")
            assert isinstance(app.screen, CleanupScreen)
            assert app.screen.phase == "executing"  # Esc is refused while removing
            blocker.rollback()
        await until(pilot, lambda: screen.phase == "done")

        assert progress[0] == ("seeded-data", "delete 15 rows from public.orders, 5 from "
                               "public.customers (seeded by perfdash)")
        status = screen.query_one("#status-seeded-data", Static)
        assert text_of(screen, "#status-seeded-data") == (
            "ok: deleted 15 rows from public.orders, 5 from public.customers (seeded by perfdash)")
        assert "green" in str(getattr(status.content, "style", ""))
        assert seeded_rows(seeded.url) == {}
        assert seeded.customers() == others  # everyone else's rows survive
        await pilot.press("escape")
        assert isinstance(app.screen, ResultScreen)


async def test_a_failed_removal_is_shown_in_red_and_nothing_is_deleted(seeded: Seeded) -> None:
    with psycopg.connect(seeded.url.reveal()) as conn:  # an order nobody told perfdash about
        conn.execute("INSERT INTO orders (customer_id, product_id, quantity, status) SELECT "
                     "min(id), (SELECT min(id) FROM products), 1, 'pending' FROM customers "
                     "WHERE email LIKE 'perf+%'")
    app = make_app(summary_dir=PASS_RUN, cleanup=seeded.planner("local"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_dialog(pilot, app)
        await pilot.click("#cleanup-remove")
        await pilot.press("y")
        await until(pilot, lambda: screen.phase == "done")
        status = text_of(screen, "#status-seeded-data")
        assert status.startswith("failed: rows in public.orders that perfdash did not create")
        assert "nothing was deleted" in status
        assert "red" in str(getattr(screen.query_one("#status-seeded-data", Static).content,
                                    "style", ""))
        assert text_of(screen, "#cleanup-intro").startswith("1 of 1 cleanup actions failed")
    assert seeded_rows(seeded.url) == SEEDED


async def test_protected_environment_shows_data_removal_disabled(seeded: Seeded) -> None:
    with psycopg.connect(seeded.url.reveal(), autocommit=True) as conn:  # staging's own rows
        conn.execute("UPDATE perfdash.ledger SET environment = 'staging'")
    app = make_app(summary_dir=PASS_RUN, cleanup=seeded.planner("staging"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_dialog(pilot, app)
        box = screen.query_one("#check-seeded-data", Checkbox)
        assert box.disabled
        assert not box.value
        detail = text_of(screen, "#detail-seeded-data")
        assert "delete 15 rows from public.orders" in detail
        assert "not possible: environment 'staging' is protected" in detail
        assert screen.query_one("#cleanup-remove", Button).disabled
        await pilot.click("#cleanup-remove")
        await pilot.press("y")
        assert screen.phase == "choosing"
    assert seeded_rows(seeded.url) == SEEDED


async def test_cancelling_at_the_confirmation_deletes_nothing(seeded: Seeded) -> None:
    app = make_app(summary_dir=PASS_RUN, cleanup=seeded.planner("local"))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_dialog(pilot, app)
        await pilot.click("#cleanup-remove")
        assert screen.query_one("#cleanup-confirm", Static).display
        await pilot.press("n")
        assert screen.phase == "choosing"
        assert not screen.query_one("#cleanup-confirm", Static).display
        assert not screen.query_one("#check-seeded-data", Checkbox).disabled
        await pilot.click("#cleanup-remove")
        await pilot.press("escape")  # Esc at the confirmation goes back, a second one closes
        assert screen.phase == "choosing"
        await pilot.press("escape")
        assert isinstance(app.screen, ResultScreen)
    assert seeded_rows(seeded.url) == SEEDED


async def test_during_a_live_run_nothing_can_be_removed(seeded: Seeded) -> None:
    app = make_app(bus=Bus(), clock=FakeClock(), cleanup=seeded.planner("local"))
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.run_active
        screen = await open_dialog(pilot, app)
        assert RUN_ACTIVE in text_of(screen, "#cleanup-intro")
        box = screen.query_one("#check-seeded-data", Checkbox)
        assert box.disabled
        assert not box.value
        assert f"not possible: {RUN_ACTIVE}" in text_of(screen, "#detail-seeded-data")
        await pilot.click("#cleanup-remove")
        await pilot.press("y")
        assert screen.phase == "choosing"
    assert seeded_rows(seeded.url) == SEEDED


async def test_without_a_planner_the_dialog_says_why_there_is_nothing_to_clean() -> None:
    app = make_app(summary_dir=PASS_RUN)  # a demo run: its stack went away with the run
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_dialog(pilot, app)
        assert screen.phase == "nothing"
        assert text_of(screen, "#cleanup-intro") == (
            "nothing to clean: the demo stack (its throwaway PostgreSQL cluster, the data seeded "
            "into it and the demo backend) exists only while the run lasts and was removed when "
            "the run ended")
        assert not screen.query(Checkbox)
        assert not screen.query_one("#cleanup-remove", Button).display
        await pilot.press("escape")
        assert isinstance(app.screen, ResultScreen)


async def test_mid_run_in_the_demo_the_dialog_says_the_stack_goes_away_with_the_run(
        rig: LiveRig) -> None:
    async with rig.app.run_test(size=(120, 40)) as pilot:
        rig.feed(recorded(FAIL_RUN, MID_RUN_S))
        screen = await open_dialog(pilot, rig.app)
        assert screen.phase == "nothing"
        intro = text_of(screen, "#cleanup-intro")
        assert intro.startswith("nothing to clean: the demo stack")
        assert intro.endswith("is stopped automatically when the run ends")
        assert not screen.query(Checkbox)


async def test_a_planner_that_fails_is_shown_not_swallowed() -> None:
    def planner() -> CleanupPlan:
        raise OSError("the project directory is gone")

    app = make_app(summary_dir=PASS_RUN, cleanup=planner)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_dialog(pilot, app)
        assert screen.phase == "nothing"
        assert text_of(screen, "#cleanup-intro") == (
            "could not look at what perfdash created: OSError: the project directory is gone")
