"""`perfdash init [--project DIR]`: profiles.toml and .env.performance.example for a project that
has neither, from what a look through its files (nothing is run) finds."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from perfdash.commands import Common
from perfdash.commands.common import EXIT_USAGE, error


def register(sub: Any, common: Common) -> None:
    # no common flags: there is no profiles.toml yet to point them at
    parser = sub.add_parser(
        "init", help="write profiles.toml and .env.performance.example for an existing project",
        description="Looks through the project (without running anything) for k6 scripts, "
                    "Artillery YAMLs, the package.json that starts the backend, its health route, "
                    "app log and compose file; writes a commented profiles.toml that runs those "
                    "scripts as they are, and .env.performance.example; prints what it found and "
                    "what is still to do.")
    parser.add_argument("--project", type=Path, default=None, metavar="DIR",
                        help="the project's root directory (default: this directory)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite an existing profiles.toml and .env.performance.example")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from perfdash.init import InitError, init_project

    project = (args.project or Path.cwd()).resolve()
    try:
        return init_project(project, force=args.force)
    except InitError as exc:
        error(str(exc))
        return EXIT_USAGE
