"""Screenshots of the result view, passing and failing, at 80×24, 160×48 and 240×67 (one zoomed into
the failing run's timeline, one of a Locust run: a third tool reads as k6 does): the recorded runs
and their timelines are fixed, so a snapshot changes only when what the screen shows changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from perfdash.ui.app import make_app
from tests.ui.conftest import FAIL_RUN, LOCUST_RUN, PASS_RUN

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48"),
         pytest.param((240, 67), id="240x67")]
Compare = Callable[..., bool]


@pytest.mark.parametrize("size", SIZES)
def test_result_view_passing(snap_compare: Compare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(summary_dir=PASS_RUN), terminal_size=size)


@pytest.mark.parametrize("size", SIZES)
def test_result_view_failing(snap_compare: Compare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(summary_dir=FAIL_RUN), terminal_size=size)


def test_result_view_zoomed(snap_compare: Compare) -> None:
    assert snap_compare(make_app(summary_dir=FAIL_RUN), terminal_size=(160, 48),
                        press=["plus", "plus", "right"])


def test_result_view_of_a_locust_run(snap_compare: Compare) -> None:
    assert snap_compare(make_app(summary_dir=LOCUST_RUN), terminal_size=(160, 48))
