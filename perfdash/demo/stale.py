"""What a dead perfdash left behind: throwaway PostgreSQL clusters, found through their markers.

The cluster runs as another OS user (`postgres` when perfdash runs as root) and `pg_ctl` detaches
it, so it cannot die with perfdash the way k6, Artillery and the demo backend do (parent-death
signal, perfdash.proc.supervisor). Instead every cluster writes a marker when it starts: its owner
(PID and that process's start time from /proc/PID/stat, so a reused PID is not mistaken for the
owner), its directory, its `pg_ctl` and the OS user it runs as. A clean stop removes the marker. A
marker is stale when its owner is gone or is another process with the same PID; `perfdash cleanup
--stale` and the start of every demo stop such a cluster and delete its directory, and touch
nothing else: a cluster whose perfdash is still running is left alone.

Markers live in `$PERFDASH_STATE_DIR/clusters` (default `~/.local/state/perfdash/clusters`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLUSTER_PREFIX = "perfdash-pg-"


def marker_dir() -> Path:
    base = os.environ.get("PERFDASH_STATE_DIR") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state"), "perfdash")
    return Path(base) / "clusters"


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/PID/stat (clock ticks since boot): a PID plus this names one process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after the last ')'.
    fields = stat[stat.rfind(")") + 2:].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def write_marker(root: Path, pg_ctl: Path, run_as: str | None) -> Path:
    """Record that this process owns the cluster in `root`; returns the marker's path."""
    folder = marker_dir()
    folder.mkdir(parents=True, exist_ok=True)
    pid = os.getpid()
    marker = folder / f"{root.name}.json"
    data = {"owner_pid": pid, "owner_start": process_start_time(pid), "cluster_dir": str(root),
            "pg_ctl": str(pg_ctl), "run_as": run_as}
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(json.dumps(data) + "\n")
    tmp.replace(marker)
    return marker


def remove_marker(marker: Path | None) -> None:
    if marker is not None:
        with contextlib.suppress(OSError):
            marker.unlink()


@dataclass(frozen=True)
class Marker:
    path: Path
    owner_pid: int
    owner_start: int | None
    cluster_dir: Path
    pg_ctl: Path
    run_as: str | None

    @property
    def owner_alive(self) -> bool:
        start = process_start_time(self.owner_pid)
        return start is not None and (self.owner_start is None or start == self.owner_start)


def read_markers() -> list[Marker]:
    found: list[Marker] = []
    folder = marker_dir()
    if not folder.is_dir():
        return found
    for path in sorted(folder.glob("*.json")):
        try:
            data: dict[str, Any] = json.loads(path.read_text())
            found.append(Marker(path, int(data["owner_pid"]), data.get("owner_start"),
                                Path(data["cluster_dir"]), Path(data["pg_ctl"]),
                                data.get("run_as")))
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not ours to judge: a half-written or foreign file is left as it is
    return found


def stale_markers() -> list[Marker]:
    return [m for m in read_markers() if not m.owner_alive]


def _postmaster_pid(data: Path) -> int | None:
    try:
        return int((data / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def remove_stale_cluster(marker: Marker) -> str:
    """Stop the cluster of a dead perfdash and delete its directory; returns what was done."""
    root = marker.cluster_dir
    if not root.name.startswith(CLUSTER_PREFIX):
        remove_marker(marker.path)
        return f"ignored marker {marker.path.name}: {root} is not a perfdash cluster directory"
    data = root / "data"
    done: list[str] = []
    pid = _postmaster_pid(data)
    if pid is not None and process_start_time(pid) is not None:
        subprocess.run([str(marker.pg_ctl), "-D", str(data), "-m", "immediate", "-w", "-t", "20",
                        "stop"], user=marker.run_as, cwd="/", capture_output=True,
                       stdin=subprocess.DEVNULL, timeout=60, check=False)
        deadline = time.monotonic() + 5
        while process_start_time(pid) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if process_start_time(pid) is not None:  # pg_ctl could not: its own process group goes
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        done.append(f"stopped PostgreSQL (pid {pid})")
    if root.exists():
        shutil.rmtree(root, ignore_errors=True)
        done.append(f"removed {root}")
    remove_marker(marker.path)
    owner = f"left by perfdash pid {marker.owner_pid}, which is gone"
    return (", ".join(done) or f"nothing left of {root}") + f" ({owner})"


def cleanup_stale(say: Callable[[str], None] = print) -> list[str]:
    """Remove every cluster a dead perfdash left; `say` each; returns what was said."""
    said: list[str] = []
    for marker in stale_markers():
        line = remove_stale_cluster(marker)
        said.append(line)
        say(line)
    return said
