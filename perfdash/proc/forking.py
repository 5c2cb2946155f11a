"""Starting a child from the main thread while a stop signal may arrive.

`subprocess` runs Python's at-fork hooks around a fork that has a `preexec_fn` (the supervisor's
parent-death setting); logging registers hooks that take and release its module lock. A signal
handler that raises (perfdash.run.signals) and happens to run inside one of those hooks has its
exception printed as "Exception ignored in ..." with a traceback, then dropped, and logging's lock
can stay held. So while the main thread starts a child, the handler only notes the signal and
`starting_child` raises it once the child has been started and registered, where stopping it is
possible. Signal handlers run in the main thread only, so only its starts are covered.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator


class _State:
    depth = 0  # nested `starting_child` blocks in the main thread
    pending: Callable[[], None] | None = None  # raises the signal that arrived inside one


@contextlib.contextmanager
def starting_child() -> Iterator[None]:
    """Around starting and registering a child: a stop signal that arrives inside is raised at
    the end (also over an exception from the start, which it then carries as its context)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _State.depth += 1
    try:
        yield
    finally:
        _State.depth -= 1
        if _State.depth == 0 and _State.pending is not None:
            pending, _State.pending = _State.pending, None
            pending()


def defer(raise_later: Callable[[], None]) -> bool:
    """For a signal handler: inside `starting_child`, keeps `raise_later` for its end and returns
    True (the handler returns without raising); otherwise False."""
    if _State.depth == 0 or threading.current_thread() is not threading.main_thread():
        return False
    _State.pending = raise_later
    return True
