"""Loopback helpers shared by the launchers and preflight: a free port, a bounded HTTP probe."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

# Requests to the backend under test and to k6's API go to loopback: a proxy from the environment
# (http_proxy) must never see them.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    """A port the kernel just handed out on 127.0.0.1 (tools bind it a moment later)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def probe(url: str, timeout_s: float = 5.0) -> tuple[int | None, str]:
    """(HTTP status, detail) of a GET; status None when nothing answered, detail says why."""
    try:
        with OPENER.open(url, timeout=timeout_s) as resp:
            return int(resp.status), resp.read(200).decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.reason if isinstance(exc.reason, str) else str(exc.reason)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, str(reason)
