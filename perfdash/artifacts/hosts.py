"""The one reader of hosts.json, the hosts measured through node_exporter with their roles
(perfdash.collect.remote_hosts writes it), so a run directory alone says which hosts were the
backend."""

from __future__ import annotations

from pathlib import Path

from perfdash.artifacts.errors import UnreadableArtifact
from perfdash.artifacts.files import read_json
from perfdash.artifacts.paths import RunPaths, run_paths
from perfdash.shape import ListOf, Obj, file_problem

HOSTS = Obj({"hosts": ListOf((dict,))}, required=("hosts",))


class HostsError(UnreadableArtifact):
    """hosts.json is missing, not JSON or of the wrong shape."""


def load_hosts(run: RunPaths | Path) -> list[tuple[str, str]]:
    """(name, role) of every host, in metrics.csv's order (backend first); raises HostsError when
    the file is missing or damaged. A host without a role is a backend; one without a name is
    skipped."""
    path = run_paths(run).hosts_json
    data, problem = read_json(path)
    if problem is not None:
        raise HostsError(path, problem, "", missing=problem.endswith(" is missing"))
    if (problem := file_problem(path.name, data, HOSTS)) is not None:
        raise HostsError(path, problem)
    return [(str(h["name"]), str(h.get("role") or "backend")) for h in data["hosts"]
            if isinstance(h.get("name"), str) and h["name"]]


def host_roles(run: RunPaths | Path) -> list[tuple[str, str]]:
    """`load_hosts`, or [] for a run without hosts or an unreadable file (callers then treat every
    host as a backend)."""
    try:
        return load_hosts(run)
    except HostsError:
        return []
