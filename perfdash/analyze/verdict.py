"""One overall status from many checks, and the exit code that follows it.

A run that could not be carried out (preflight stopped it, the backend or its database went away) is
"incomplete" whatever its checks say: breaches measured against a dead backend mean nothing. Then
fail beats the rest (a breached threshold is a breach even if something else went unmeasured), and
a check that could not be measured makes the run at best "incomplete": never a pass. A load tool
that got no answer at all (refused, timed out) measured nothing, so such a run is "incomplete" even
if some threshold failed on the little it saw; one whose every request the backend answered with an
error measured a failure, and its "requests made" check fails the run like a breached threshold.
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
    if could_not_run or any(c.measured_nothing for c in checks):
        return "incomplete"
    if any(c.status == "fail" for c in checks):
        return "fail"
    if not checks or any(c.status == "not measured" for c in checks):
        return "incomplete"
    return "pass"
