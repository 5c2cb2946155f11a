"""Every command is a module of perfdash/commands/ that registers its own parser and handler: the
top-level help lists them in a fixed order (the everyday ones first), each parser dispatches to its
module's handler, and `--serve` is on `run` and `demo` whichever other commands exist."""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil

import pytest

import perfdash.commands
from perfdash.cli import build_parser
from perfdash.commands import FIRST


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(actions) == 1
    return dict(actions[0].choices)


def _modules() -> list[str]:
    return sorted(i.name for i in pkgutil.iter_modules(perfdash.commands.__path__)
                  if not i.name.startswith("_") and i.name != "common")


def test_help_lists_the_everyday_commands_first_then_the_rest_by_name() -> None:
    names = list(_subcommands())
    assert names[:len(FIRST)] == ["run", "demo", "doctor", "cleanup", "show", "compare", "init"]
    assert names[len(FIRST):] == sorted(names[len(FIRST):])
    assert {"attach", "history", "k8s-manifest", "watch"} <= set(names[len(FIRST):])


def test_every_command_module_registers_one_command_with_its_handler() -> None:
    commands = _subcommands()
    assert len(commands) == len(_modules())
    for name, sub in commands.items():
        module = importlib.import_module(f"perfdash.commands.{name.replace('-', '_')}")
        handler = sub.get_default("handler")
        assert callable(handler), f"`{name}` sets no handler: main() would only print the help"
        # demo is the run with the environment fixed: the one command whose handler lives elsewhere
        owner = importlib.import_module("perfdash.commands.run") if name == "demo" else module
        assert handler.__module__ == owner.__name__, name


@pytest.mark.parametrize("name", ["run", "demo"])
def test_the_commands_that_run_a_suite_can_serve_it(name: str) -> None:
    options = {o for a in _subcommands()[name]._actions for o in a.option_strings}
    assert {"--serve", "--refresh", "--baseline", "--project", "--results-dir"} <= options


def test_the_cli_module_holds_no_command() -> None:
    """cli.py is the top-level parser and the dispatch: a command's code goes in its own module."""
    from perfdash import cli

    own = sorted(n for n, v in vars(cli).items()
                 if inspect.isfunction(v) and v.__module__ == cli.__name__)
    assert own == ["build_parser", "main"]
