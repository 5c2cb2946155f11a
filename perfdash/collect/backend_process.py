"""Which local process is the backend: the one listening on the base URL's port.

The demo knows its backend's pid; a user's backend started by hand, by `make start` or by a
daemonising start command does not tell. When the base URL is on this machine, the process that
listens on its port is the backend (for a pre-fork server such as gunicorn, the master, whose
workers share the socket), so metrics.csv can carry the backend's CPU and memory for every project,
and the diagnosis can tell "the app is busy computing" from "the app is waiting".
"""

from __future__ import annotations

import time
from typing import Final
from urllib.parse import urlsplit

import psutil

LOCAL_HOSTS: Final = frozenset({"127.0.0.1", "localhost", "::1", "0.0.0.0"})
RETRY_S: Final = 5.0


def local_port(base_url: str) -> int | None:
    """The TCP port of a base URL on this machine; None when the URL names another host."""
    parts = urlsplit(base_url)
    if (parts.hostname or "") not in LOCAL_HOSTS:
        return None
    try:
        return parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None


def listening_pids(port: int) -> list[int]:
    """Every process listening on a TCP port on this machine (those this user may see)."""
    try:
        return sorted({c.pid for c in psutil.net_connections(kind="tcp")
                       if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
                       and c.pid})
    except (psutil.Error, OSError):
        return []


def listening_pid(port: int) -> int | None:
    """The root of the processes listening on a TCP port on this machine, or None."""
    pids = set(listening_pids(port))
    for pid in sorted(pids):
        try:
            parent = psutil.Process(pid).ppid()
        except psutil.Error:
            continue
        if parent not in pids:
            return pid
    return min(pids, default=None)


class BackendByPort:
    """A `backend_pid` callable for the system collector: looks the listener up once, again when it
    has gone, and at most every few seconds while none is found."""

    def __init__(self, base_url: str) -> None:
        self._port = local_port(base_url)
        self._pid: int | None = None
        self._next_try = 0.0

    def __call__(self) -> int | None:
        if self._port is None:
            return None
        if self._pid is not None and psutil.pid_exists(self._pid):
            return self._pid
        now = time.monotonic()
        if now < self._next_try:
            return None
        self._next_try = now + RETRY_S
        self._pid = listening_pid(self._port)
        return self._pid
