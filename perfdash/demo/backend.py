"""Launch the demo backend (perfdash/demo/server.py) as a supervised child and wait until it serves.

`perfdash demo` and the end-to-end tests use `DemoBackend` to get a base URL to point k6 and
Artillery at. The database URL and the API token reach the child only through its environment, so
they never show up in `ps`, in the launch line perfdash logs, or in an error message.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Final

from perfdash.launch import LaunchRequest
from perfdash.net import free_port, probe
from perfdash.proc.supervisor import Child, Outcome, Supervisor
from perfdash.secret import Secret, scrub

HOST: Final = "127.0.0.1"
_POLL_INTERVAL_S: Final = 0.1


class DemoBackend:
    """One demo backend process: `start()` returns its base URL once `/health` answers 200."""

    # The positional signature is the public contract the launchers use, port included.
    def __init__(
        self,
        supervisor: Supervisor,
        database_url: Secret,
        token: Secret,
        log_file: Path,
        output_dir: Path,
        port: int | None = None,
    ) -> None:
        self._supervisor = supervisor
        self._database_url = database_url
        self._token = token
        self.log_file = log_file
        self.output_dir = output_dir
        self._port = port
        self._child: Child | None = None
        self._base_url: str | None = None

    @property
    def child(self) -> Child:
        if self._child is None:
            raise RuntimeError("the demo backend has not been started")
        return self._child

    @property
    def pid(self) -> int:
        return self.child.pid

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("the demo backend has not been started")
        return self._base_url

    @property
    def stderr_file(self) -> Path:
        return self.output_dir / "demo-backend.stderr"

    def start(self, timeout: float = 30) -> str:
        """Start the server and wait for `/health` to answer 200; return the base URL.

        Healthy means the database answered too, so a URL returned here is ready for load. If the
        child exits or the deadline passes, it is stopped and the error names the files to read.
        """
        if self._child is not None and self._child.poll() is None:
            return self.base_url
        port = self._port or free_port()
        base_url = f"http://{HOST}:{port}"
        self.output_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            sys.executable, "-m", "perfdash.demo.server",
            "--host", HOST, "--port", str(port), "--log-file", str(self.log_file),
        ]
        request = LaunchRequest(
            name="demo-backend",
            argv=argv,
            cwd=self.output_dir,
            stdout=self.output_dir / "demo-backend.stdout",
            stderr=self.stderr_file,
            env={
                "PERF_DATABASE_URL": self._database_url.reveal(),
                "PERF_API_TOKEN": self._token.reveal(),
                # The child must import this very perfdash, also from a checkout not installed.
                "PYTHONPATH": os.pathsep.join(
                    p for p in (_package_root(), os.environ.get("PYTHONPATH", "")) if p
                ),
                "PYTHONUNBUFFERED": "1",
            },
            shown=" ".join(argv),
        )
        self._child = self._supervisor.start(request)
        deadline = time.monotonic() + timeout
        last_error = "no answer yet"
        while True:
            code = self._child.poll()
            if code is not None:
                raise RuntimeError(
                    f"the demo backend exited with code {code} before it was healthy; "
                    f"see {self.log_file} and {self.stderr_file}{self._stderr_tail()}"
                )
            status, detail = probe(f"{base_url}/health")
            last_error = f"HTTP {status}: {detail}" if status else detail
            if status == 200:
                self._base_url = base_url
                return base_url
            if time.monotonic() >= deadline:
                self._child.stop()
                raise RuntimeError(
                    f"the demo backend at {base_url} was not healthy within {timeout:g}s "
                    f"({last_error}); see {self.log_file} and {self.stderr_file}"
                )
            time.sleep(_POLL_INTERVAL_S)

    def stop(self, deadline_s: float = 5.0) -> Outcome | None:
        """Stop the server through its supervisor child (INT, then TERM, then KILL)."""
        if self._child is None:
            return None
        return self._child.stop(deadline_s)

    def _stderr_tail(self) -> str:
        try:
            lines = self.stderr_file.read_text(errors="replace").strip().splitlines()[-5:]
        except OSError:
            return ""
        if not lines:
            return ""
        return ": " + scrub(" | ".join(lines), [self._token, self._database_url])


def _package_root() -> str:
    """The directory that holds the `perfdash` package this process imported."""
    return str(Path(__file__).resolve().parents[2])
