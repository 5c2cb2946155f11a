"""What every command shares: exit codes, the error line, the console and loading settings."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from perfdash.settings import Settings

EXIT_USAGE = 2
EXIT_COULD_NOT_RUN = 3
EXIT_INTERRUPTED = 130


def find_project(start: Path) -> Path:
    """The nearest directory, from `start` up, that holds a profiles.toml (else `start`)."""
    for candidate in (start, *start.parents):
        if (candidate / "profiles.toml").is_file():
            return candidate
    return start


def error(message: str) -> None:
    print(f"perfdash: error: {message}", file=sys.stderr)


def load_settings_for(args: argparse.Namespace) -> tuple[Settings, Path] | None:
    """Settings and the env file for a command with the common flags; None after printing why."""
    from perfdash.settings import DEMO_PROJECT, ENV_FILE_NAME, SettingsError, load_settings

    if args.command == "demo" and args.project is None and args.config is None:
        # The demo ships inside perfdash: it runs from any directory and writes ./results/perf.
        try:
            settings = load_settings(DEMO_PROJECT)
        except SettingsError as exc:
            error(str(exc))
            return None
        results = (args.results_dir or Path.cwd() / "results" / "perf").resolve()
        return dataclasses.replace(settings, results_dir=results), DEMO_PROJECT / ENV_FILE_NAME
    project = (args.project or find_project(Path.cwd())).resolve()
    env_file = args.env_file or project / ENV_FILE_NAME
    try:
        settings = load_settings(project, args.config, env_file)
    except SettingsError as exc:
        error(str(exc))
        return None
    if args.results_dir is not None:
        settings = dataclasses.replace(settings, results_dir=args.results_dir.resolve())
    return settings, env_file


def console() -> Console:
    """On a terminal, its width; in CI logs, wide enough that tables and lines do not fold."""
    from rich.console import Console

    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=160)
    return out
