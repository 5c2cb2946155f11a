"""What every command shares: exit codes, the error line, the console, loading settings and the
CI job summary."""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from perfdash.secret import Secret
    from perfdash.settings import Settings

EXIT_USAGE = 2
EXIT_COULD_NOT_RUN = 3
EXIT_INTERRUPTED = 130
REFRESH_S = 1.0
# Past a minute the live screen would be a snapshot, not a dashboard: `watch` or `--headless` fit.
REFRESH_MAX_S = 60.0


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


def add_project_flags(parser: argparse.ArgumentParser) -> None:
    """--project, --config, --env-file and --results-dir: where a command that reads the settings
    finds them (the ``common`` each module's ``register`` receives)."""
    parser.add_argument("--project", type=Path, default=None,
                        help="directory holding profiles.toml (default: this directory or the "
                             "nearest parent that has one)")
    parser.add_argument("--config", type=Path, default=None, help="profiles.toml to read")
    parser.add_argument("--env-file", type=Path, default=None,
                        help=".env.performance to read (default: in the project directory)")
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="where run directories go (default: [defaults] results_dir, "
                             "results/perf)")


def refresh_seconds(text: str) -> float:
    """`--refresh`'s value: seconds between two repaints of the live screen, above 0 and at most a
    minute (argparse turns the error into one line and exit 2)."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= REFRESH_MAX_S:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a repaint interval; pass seconds above 0 and at most "
            f"{REFRESH_MAX_S:g}, e.g. --refresh 2")
    return seconds


def add_refresh_flag(parser: argparse.ArgumentParser) -> None:
    """`--refresh SECONDS` on every command that can show the live screen."""
    parser.add_argument("--refresh", type=refresh_seconds, default=REFRESH_S, metavar="SECONDS",
                        help="seconds between two repaints of the live dashboard (default "
                             f"{REFRESH_S:g}; above 0, at most {REFRESH_MAX_S:g}): a longer one "
                             "leaves more CPU to the load generator on a small host")


def console() -> Console:
    """On a terminal, its width; in CI logs, wide enough that tables and lines do not fold."""
    from rich.console import Console

    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=160)
    return out


def step_summary(summary: Mapping[str, Any], run_dir: Path,
                 secrets: Callable[[], Sequence[Secret]]) -> None:
    """Append the verdict to GitHub's job page when GITHUB_STEP_SUMMARY names a file; a file that
    cannot be written is a warning, never a different exit code. The secrets are looked up only
    then (`show` reads the settings for them)."""
    if not os.environ.get("GITHUB_STEP_SUMMARY", "").strip():
        return
    from perfdash.analyze.step_summary import append_step_summary

    warning = append_step_summary(summary, run_dir, secrets())
    if warning is not None:
        print(f"perfdash: warning: {warning}", file=sys.stderr)
