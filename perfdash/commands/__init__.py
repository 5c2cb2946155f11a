"""Every subcommand lives in its own module here, found by name so adding one edits no shared file.

Each module here (but `common`, which holds what they share) defines ``register(sub, common)``:
it adds its parser to ``sub`` and sets ``handler`` (a ``Callable[[argparse.Namespace], int]``)
as a default, so `perfdash.cli.main` dispatches to it without knowing it exists.
``common`` adds the shared --project/--config/--env-file/--results-dir flags. Modules must stay
cheap to import (`perfdash --help` imports them all): heavy imports go inside the handler.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from collections.abc import Callable
from typing import Any, Protocol

Common = Callable[[argparse.ArgumentParser], None]
Handler = Callable[[argparse.Namespace], int]


# --help lists these first, in the order a newcomer meets them; the others follow in name order.
FIRST: tuple[str, ...] = ("run", "demo", "doctor", "cleanup", "show", "compare", "init")


class CommandModule(Protocol):
    def register(self, sub: Any, common: Common) -> None: ...


def register_all(sub: Any, common: Common) -> None:
    """Registers every module of this package: FIRST in its order, then the rest by name (which is
    also --help's order)."""
    names = {info.name for info in pkgutil.iter_modules(__path__)
             if not info.name.startswith("_") and info.name != "common"}
    for name in [*FIRST, *sorted(names - set(FIRST))]:
        module: CommandModule = importlib.import_module(f"{__name__}.{name}")
        module.register(sub, common)
