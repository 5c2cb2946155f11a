"""The rules of the diagnosis, one module each; a new rule is its module and one line in `RULES`.

A rule gets facts, never files, and answers with findings, or with the one thing it lacked
(`Gap`) when it could not look: silence would read as "nothing wrong".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from perfdash.diagnose.facts import Facts
from perfdash.diagnose.model import Finding, Gap
from perfdash.diagnose.rules import (
    app_cpu,
    database_counters,
    endpoint_errors,
    lock_contention,
    log_units,
    memory,
    missing_index,
    n_plus_one,
    pool,
    reverse_proxy,
    slow_dependency,
    slow_statement,
    throttling,
    waits,
)

Rule = Callable[[Facts], "list[Finding] | Gap"]

RULES: Final[tuple[Rule, ...]] = (
    lock_contention.find,
    pool.find,
    n_plus_one.find,
    missing_index.find,
    endpoint_errors.find,
    database_counters.find,
    app_cpu.find,
    log_units.find,
    slow_statement.find,
    waits.find,
    throttling.find,
    reverse_proxy.find,
    memory.find,
    slow_dependency.find,
)
