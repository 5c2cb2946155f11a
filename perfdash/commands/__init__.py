"""Subcommands that live in their own module, found by name so adding one edits no shared file.

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


class CommandModule(Protocol):
    def register(self, sub: Any, common: Common) -> None: ...


def register_all(sub: Any, common: Common) -> None:
    """Registers every module of this package, in name order (which is also --help's order)."""
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_") or info.name == "common":
            continue
        module: CommandModule = importlib.import_module(f"{__name__}.{info.name}")
        module.register(sub, common)
