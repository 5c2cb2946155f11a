"""A foreign mini-project whose start script backgrounds its server and exits 0 (as `docker compose
up -d`, `pm2 start` or a `scripts/start.sh` that backgrounds node do), with a stop script that kills
the server by its pid file. The server is Python's http.server on a free 127.0.0.1 port, answering
200 on /health. Used by tests/test_backend_start.py (fast) and tests/test_start_command_e2e.py.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from perfdash.net import free_port

# Binds after a moment, as a real daemon does: the start script has exited 0 long before.
_SERVER = '''\
import functools, http.server, os, sys, time
root = os.path.dirname(os.path.abspath(__file__))
if "--escape" in sys.argv:
    os.setsid()  # leaves the process group it was started in, as a daemon does
time.sleep(0.3)
server = http.server.ThreadingHTTPServer(
    ("127.0.0.1", int(sys.argv[1])),
    functools.partial(http.server.SimpleHTTPRequestHandler, directory=os.path.join(root, "www")))
with open(os.path.join(root, "server.pid"), "w") as f:
    f.write(str(os.getpid()))
server.serve_forever()
'''


@dataclass(frozen=True)
class DaemonProject:
    root: Path
    port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.root / "server.pid"

    def server_pid(self, timeout_s: float = 5.0) -> int:
        deadline = time.monotonic() + timeout_s
        while not self.pid_file.is_file() or not self.pid_file.read_text().strip():
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.pid_file} was never written")
            time.sleep(0.05)
        return int(self.pid_file.read_text())

    def kill_server(self) -> None:
        """For a test's `finally`: the server must not outlive it, whatever perfdash did."""
        if self.pid_file.is_file():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(self.pid_file.read_text()), signal.SIGKILL)


def make_daemon_project(root: Path, *, escape: bool = False, foreground: bool = False
                        ) -> DaemonProject:
    """`escape`: the server leaves the start script's process group (setsid). `foreground`: the
    start script execs the server instead of backgrounding it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "www").mkdir(exist_ok=True)
    (root / "www" / "health").write_text("ok\n")
    (root / "server.py").write_text(_SERVER)
    port = free_port()
    server = f"{shlex.quote(sys.executable)} server.py {port}" + (" --escape" if escape else "")
    scripts = root / "scripts"
    scripts.mkdir(exist_ok=True)
    start = (f"#!/bin/sh\ncd \"$(dirname \"$0\")/..\"\nexec {server} >>server.log 2>&1\n"
             if foreground else
             f"#!/bin/sh\ncd \"$(dirname \"$0\")/..\"\n{server} >>server.log 2>&1 &\n"
             "echo \"started the server in the background\"\nexit 0\n")
    (scripts / "start.sh").write_text(start)
    (scripts / "stop.sh").write_text(
        "#!/bin/sh\ncd \"$(dirname \"$0\")/..\"\n[ -f server.pid ] || exit 0\n"
        "kill \"$(cat server.pid)\" && rm -f server.pid\necho stopped\n")
    for script in ("start.sh", "stop.sh"):
        (scripts / script).chmod(0o755)
    return DaemonProject(root, port)


def alive(pid: int) -> bool:
    """Running and not a zombie (a killed child of the test process counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"
