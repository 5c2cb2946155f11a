"""Screenshots of the help screen at 80×24 and 160×48 (the result screen's: test_result_snapshots.py,
the live screen's: test_live_snapshots.py). The recorded runs are fixed and no cursor blinks, so a
snapshot changes only when what the screen shows changes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from perfdash.ui.app import make_app
from tests.ui.conftest import PASS_RUN

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((160, 48), id="160x48")]
Compare = Callable[..., bool]


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Compare, size: tuple[int, int]) -> None:
    assert snap_compare(make_app(summary_dir=PASS_RUN), terminal_size=size,
                        press=["question_mark"])
