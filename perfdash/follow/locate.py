"""Which run `perfdash attach [DIR | latest]` means."""

from __future__ import annotations

from pathlib import Path

from perfdash.artifacts import RunPaths
from perfdash.run.liveness import foreign_holder, run_alive


class NoRunError(Exception):
    """No run to attach to; the message is one sentence with what to do."""


def running_runs(results_dir: Path) -> list[Path]:
    """Run directories whose run is still going, oldest first (their names are UTC timestamps)."""
    try:
        dirs = [p for p in results_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return []
    return sorted((p for p in dirs if run_alive(p) is True and foreign_holder(p) is None),
                  key=lambda p: p.name)


def resolve_run(target: str | None, results_dir: Path) -> Path:
    """A run directory from what the user typed: a directory, or `latest`/nothing for the newest
    running run under `results_dir`."""
    if target in (None, "", "latest"):
        running = running_runs(results_dir)
        if not running:
            raise NoRunError(f"no run is going on in {results_dir}: start one (perfdash run ...) "
                             "or pass its directory or http://HOST:PORT")
        return running[-1]
    path = Path(str(target))
    if not path.is_dir():
        raise NoRunError(f"{path} is not a run directory: pass results/perf/<timestamp>, latest, "
                         "or http://HOST:PORT")
    if not RunPaths(path).events.is_file() and run_alive(path) is not True:
        raise NoRunError(f"{path} has no events.ndjson and no running run: pass a run directory "
                         "of perfdash 0.1 or later")
    return path
