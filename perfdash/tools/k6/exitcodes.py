"""k6's exit codes in words, from k6's own list (`errext/exitcodes` in its source), and whether
each means k6 finished its plan, finished and failed its own thresholds, or did not finish.

99 and 110 are k6's own verdict of failure: a run ending with them is never a pass, whatever
perfdash managed to read from the summary.
"""

from __future__ import annotations

from perfdash.tools.base import ExitMeaning

THRESHOLDS_CROSSED = 99
MARKED_AS_FAILED = 110

_ERRORS: dict[int, str] = {
    97: "k6 reported that its cloud test run failed",
    98: "k6 could not get the progress of its cloud test run",
    100: "the k6 script's setup() ran past its timeout (setupTimeout)",
    101: "the k6 script's teardown() ran past its timeout (teardownTimeout)",
    102: "k6 stopped on a timeout",
    103: "k6 was stopped through its REST API (or its engine failed) before the end of the plan",
    104: "k6 rejected the configuration (invalid options: e.g. a scenario's exec function is not "
         "exported, or --stage replaced the script's scenarios)",
    105: "k6 was interrupted before the end of the plan",
    106: "k6 could not start its REST API (the --address port is taken)",
    107: "the k6 script threw an exception",
    108: "the k6 script aborted the test (test.abort())",
    109: "k6 crashed (Go panic)",
    # perfdash's own, for k6 split across generators (perfdash.tools.k6.generators)
    120: "the k6 generators ran but their results could not be merged through Prometheus",
}


def k6_exit(code: int) -> ExitMeaning:
    if code == 0:
        return ExitMeaning("finished", None)
    if code == THRESHOLDS_CROSSED:
        return ExitMeaning("verdict-fail", "k6 exited 99: thresholds crossed")
    if code == MARKED_AS_FAILED:
        return ExitMeaning("verdict-fail", "k6 exited 110: the script marked the test as failed "
                                           "(exec.test.fail())")
    if code < 0:
        return ExitMeaning("error", f"k6 was killed by signal {-code}")
    return ExitMeaning("error", _ERRORS.get(code, f"k6 exited with code {code}"))
