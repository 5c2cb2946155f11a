"""The backend is found by the port it listens on, so a user's backend gets its CPU measured."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

from perfdash.collect.backend_process import BackendByPort, listening_pid
from perfdash.net import free_port


def test_the_listener_on_the_base_url_port_is_the_backend() -> None:
    port = free_port()
    child = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        assert listening_pid(port) == child.pid
        assert BackendByPort(f"http://127.0.0.1:{port}/api")() == child.pid
        assert BackendByPort(f"http://example.invalid:{port}")() is None  # not this machine
    finally:
        child.terminate()
        child.wait(5)
    assert listening_pid(port) is None
