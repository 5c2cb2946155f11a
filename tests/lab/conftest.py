"""The lab API, twice per session: every pathology on (`all`) and none (`clean`).

Each instance runs from a copy of tests/lab of its own (so its logs land in the copy's var/log,
where the copy's profiles.toml looks for them) on a database of its own in the session's throwaway
cluster, on a port of its own. Both start at once; start-up (schema, seed, indexes) takes a few
seconds. A service is stopped by its process group.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.net import free_port
from perfdash.secret import Secret

from ..conftest import make_database

LAB = Path(__file__).resolve().parent
START_TIMEOUT_S = 60
COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "var", "results", ".env.performance",
                                     "conftest.py", "test_*.py")


@dataclass
class LabInstance:
    pathologies: str
    base_url: str
    database_url: Secret
    root: Path  # the copy of tests/lab this instance runs from
    process: subprocess.Popen[bytes]

    @property
    def log_dir(self) -> Path:
        return self.root / "var" / "log"

    @property
    def access_log(self) -> Path:
        return self.log_dir / "access.log"

    @property
    def app_log(self) -> Path:
        return self.log_dir / "app.log"

    @property
    def output(self) -> Path:
        return self.log_dir / "service.out"


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def _start(pathologies: str, cluster: ThrowawayPostgres, base: Path,
           extra: dict[str, str] | None = None) -> LabInstance:
    root = base / f"lab-{pathologies}"
    shutil.copytree(LAB, root, ignore=COPY_IGNORE)
    (root / "var" / "log").mkdir(parents=True)
    url = make_database(cluster, f"lab_{pathologies}")
    port = free_port()
    env = {**os.environ, "LAB_DB_URL": url.reveal(), "LAB_PORT": str(port),
           "LAB_LOG_DIR": str(root / "var" / "log"), "LAB_PATHOLOGIES": pathologies, **(extra or {})}
    with (root / "var" / "log" / "service.out").open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "service"], cwd=root, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    return LabInstance(pathologies, f"http://127.0.0.1:{port}", url, root, proc)


def _wait_healthy(lab: LabInstance, started: float) -> None:
    while not _healthy(lab.base_url + "/health"):
        if lab.process.poll() is not None:
            raise AssertionError(f"the lab ({lab.pathologies}) exited during start-up:\n"
                                 + lab.output.read_text()[-3000:])
        assert time.monotonic() - started < START_TIMEOUT_S, (
            f"the lab ({lab.pathologies}) did not answer /health within {START_TIMEOUT_S} s:\n"
            + lab.output.read_text()[-3000:])
        time.sleep(0.1)


def _stop(lab: LabInstance) -> None:
    """SIGTERM the instance's process group (uvicorn shuts down gracefully), SIGKILL what is left."""
    pgid = lab.process.pid  # start_new_session: the group id is the service's pid
    for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            break
        try:
            lab.process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def lab_instances(pg_cluster: ThrowawayPostgres, tmp_path_factory: pytest.TempPathFactory
                  ) -> Iterator[dict[str, LabInstance]]:
    base = tmp_path_factory.mktemp("lab")
    labs: dict[str, LabInstance] = {}
    try:
        started = time.monotonic()
        for name in ("all", "clean"):
            labs[name] = _start(name, pg_cluster, base)
        # the CPU-bound report on its own: saturating the event loop beside the other problems
        # would hide them (every request waits for the loop, the pool no longer fills)
        labs["cpu"] = _start("cpu", pg_cluster, base, {"LAB_REPORT_CPU_MS": "100"})
        labs["catalogue"] = _start("catalogue", pg_cluster, base)
        for lab in labs.values():
            _wait_healthy(lab, started)
        print(f"[lab] all, clean, cpu and catalogue up after {time.monotonic() - started:.1f} s",
              file=sys.stderr)
        yield labs
    finally:
        for lab in labs.values():
            _stop(lab)


@pytest.fixture(scope="session")
def lab_all(lab_instances: dict[str, LabInstance]) -> LabInstance:
    return lab_instances["all"]


@pytest.fixture(scope="session")
def lab_cpu(lab_instances: dict[str, LabInstance]) -> LabInstance:
    return lab_instances["cpu"]


@pytest.fixture(scope="session")
def lab_catalogue(lab_instances: dict[str, LabInstance]) -> LabInstance:
    return lab_instances["catalogue"]


@pytest.fixture(scope="session")
def lab_clean(lab_instances: dict[str, LabInstance]) -> LabInstance:
    return lab_instances["clean"]


NGINX = Path("/usr/sbin/nginx")


@dataclass
class ProxyInstance:
    """nginx in front of a lab instance, with the proxy's pathologies (tests/lab/proxy/nginx.conf)."""

    base_url: str
    backend: LabInstance
    root: Path  # a copy of tests/lab whose var/log holds nginx's access log
    process: subprocess.Popen[bytes]

    @property
    def access_log(self) -> Path:
        return self.root / "var" / "log" / "nginx-access.log"

    @property
    def prefix(self) -> Path:
        return self.root / "var" / "nginx"


def _start_proxy(backend: LabInstance, base: Path) -> ProxyInstance:
    if not NGINX.is_file():  # a required binary: fail, never skip (scripts/install.sh brings it)
        raise AssertionError(f"{NGINX} is missing: run scripts/install.sh (apt package nginx-light)")
    root = base / "lab-proxy"
    shutil.copytree(LAB, root, ignore=COPY_IGNORE)
    (root / "var" / "log").mkdir(parents=True)
    prefix = root / "var" / "nginx"
    prefix.mkdir(parents=True)
    port = free_port()
    conf = (LAB / "proxy" / "nginx.conf").read_text()
    for name, value in (("@PREFIX@", str(prefix)), ("@PORT@", str(port)),
                        ("@ACCESS_LOG@", str(root / "var" / "log" / "nginx-access.log")),
                        ("@UPSTREAM@", backend.base_url.removeprefix("http://"))):
        conf = conf.replace(name, value)
    (prefix / "nginx.conf").write_text(conf)
    with (prefix / "nginx.out").open("wb") as out:
        proc = subprocess.Popen([str(NGINX), "-p", str(prefix), "-c", str(prefix / "nginx.conf")],
                                cwd=root, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return ProxyInstance(f"http://127.0.0.1:{port}", backend, root, proc)


@pytest.fixture(scope="session")
def lab_proxy(lab_instances: dict[str, LabInstance], tmp_path_factory: pytest.TempPathFactory
              ) -> Iterator[ProxyInstance]:
    """nginx in front of the `clean` instance: the backend is healthy, the proxy is not."""
    proxy = _start_proxy(lab_instances["clean"], tmp_path_factory.mktemp("lab-proxy"))
    try:
        started = time.monotonic()
        while not _healthy(proxy.base_url + "/health"):
            out = "".join(f.read_text() for f in (proxy.prefix / "nginx.out", proxy.prefix / "error.log")
                          if f.exists())
            assert proxy.process.poll() is None, f"nginx exited during start-up:\n{out[-3000:]}"
            assert time.monotonic() - started < 10, f"nginx did not answer within 10 s:\n{out[-3000:]}"
            time.sleep(0.1)
        yield proxy
    finally:
        for sig, wait in ((signal.SIGQUIT, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proxy.process.pid, sig)
            except ProcessLookupError:
                break
            try:
                proxy.process.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
