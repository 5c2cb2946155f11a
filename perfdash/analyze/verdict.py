"""One overall status from many checks, and the exit code that follows it.

fail beats everything (a breached threshold is a breach even if something else went unmeasured);
then a check that could not be measured makes the run at best "incomplete": never a pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from perfdash.analyze.checks import Check

Overall = Literal["pass", "fail", "incomplete", "interrupted"]

EXIT_CODES: dict[Overall, int] = {"pass": 0, "fail": 1, "incomplete": 3, "interrupted": 130}


def overall_status(checks: Sequence[Check], *, interrupted: bool = False,
                   could_not_run: bool = False) -> Overall:
    if interrupted:
        return "interrupted"
    if any(c.status == "fail" for c in checks):
        return "fail"
    if could_not_run or not checks or any(c.status == "not measured" for c in checks):
        return "incomplete"
    return "pass"
