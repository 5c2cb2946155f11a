"""Attaching to a run another perfdash process carries out, with the real tools: one headless run
served with --serve against the demo backend, followed at once by a local headless attacher, an
HTTP attacher with the printed token, one without it (401), and two dashboards in tmux (one quits
mid-run with q, one stays to the result view); then a run killed with SIGKILL under attachers that
must say so within seconds."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from perfdash.net import free_port
from perfdash.run.liveness import run_alive

from .conftest import ROOT, DemoService
from .test_dashboard_e2e import Terminal
from .test_faults import local_env, processes_mentioning

pytestmark = pytest.mark.e2e
PERFDASH = str(Path(sys.executable).parent / "perfdash")

PROFILE = """
[profiles.attachable]
description = "k6 alone, long enough to attach to"
[profiles.attachable.k6]
script = "k6/demo-api.js"
stages = [{ duration = "%(k6_s)ds", target = 2 }]
[profiles.attachable.thresholds.k6]
"http_req_duration" = ["p(95)<2000"]
"""


def _config(tmp: Path, k6_s: int) -> Path:
    path = tmp / "profiles.toml"
    path.write_text((ROOT / "profiles.toml").read_text() + PROFILE % {"k6_s": k6_s})
    return path


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("PERF_") and k != "PERFDASH_SERVE_TOKEN"}
    return {**env, **extra}


@dataclass
class Served:
    proc: subprocess.Popen[str]
    results: Path
    url: str
    token: str
    stderr_head: list[str] = field(default_factory=list)

    def run_dir(self, timeout: float = 30) -> Path:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for d in self.results.iterdir() if self.results.exists() else []:
                if run_alive(d):
                    return d
            time.sleep(0.05)
        raise AssertionError("no running run directory appeared")


def _serve_run(service: DemoService, tmp: Path, k6_s: int) -> Served:
    port = free_port()
    results = tmp / "results"
    proc = subprocess.Popen(
        [PERFDASH, "run", "--profile", "attachable", "--env", "local", "--headless",
         "--config", str(_config(tmp, k6_s)), "--results-dir", str(results),
         "--serve", f"127.0.0.1:{port}"],
        cwd=ROOT, env=_clean_env(**local_env(service)), text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    head = [proc.stderr.readline(), proc.stderr.readline()]
    found = re.search(r"token, shown only now: (\S+)", head[0])
    assert found, head
    return Served(proc, results, f"http://127.0.0.1:{port}", found.group(1), head)


def _attach(args: list[str], tmp: Path, token: str | None = None) -> subprocess.Popen[str]:
    env = _clean_env(XDG_CACHE_HOME=str(tmp / "cache"))
    if token is not None:
        env["PERFDASH_SERVE_TOKEN"] = token
    return subprocess.Popen([PERFDASH, "attach", "--headless", *args], cwd=tmp, env=env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _get(url: str, token: str | None) -> tuple[int, str]:
    request = urllib.request.Request(url)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read(2000).decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


@dataclass
class Attached:
    served: Served
    run_dir: Path
    run_code: int
    run_out: str
    run_err: str
    local: tuple[int, str, str]
    http: tuple[int, str, str]
    refused: tuple[int, str, str]
    raw_401: list[tuple[int, str]]
    raw_ok: tuple[int, str]
    quitter_code: int
    quitter_left_run_going: bool
    quitter_live_screen: str
    stayer_result: str
    stayer_code: int


@pytest.fixture(scope="module")
def attached(demo_service: DemoService, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Attached]:
    tmp = tmp_path_factory.mktemp("attach")
    served = _serve_run(demo_service, tmp, k6_s=16)
    terms: list[Terminal] = []
    try:
        run_dir = served.run_dir()
        local = _attach(["--results-dir", str(served.results)], tmp)
        http = _attach([served.url], tmp, served.token)
        refused = _attach([served.url], tmp)
        raw_401 = [_get(f"{served.url}/events", None), _get(f"{served.url}/events", "wrong" * 5),
                   _get(f"{served.url}/files/summary.json", None), _get(f"{served.url}/nope", None)]
        raw_ok = _get(f"{served.url}/files", served.token)
        quitter = Terminal(f"{PERFDASH} attach --results-dir {served.results} latest")
        stayer = Terminal(f"{PERFDASH} attach --results-dir {served.results} {run_dir}")
        terms += [quitter, stayer]
        live = quitter.wait_for(lambda s: "app log" in s and "k6" in s and "s left" in s, 40,
                                "the attached live screen")
        quitter.keys("q")
        quitter_code = quitter.exit_code(20)
        going = served.proc.poll() is None and run_alive(run_dir) is True
        result = stayer.wait_for(lambda s: ("(exit " in s and "PASS" in s) or "FAIL" in s, 90,
                                 "the result view in the attacher")
        stayer.keys("q")
        stayer_code = stayer.exit_code(20)
        out, err = served.proc.communicate(timeout=90)
        outputs = [p.communicate(timeout=30) for p in (local, http, refused)]
        yield Attached(
            served, run_dir, served.proc.returncode, out, "".join(served.stderr_head) + err,
            *[(p.returncode, o, e) for p, (o, e) in zip((local, http, refused), outputs,
                                                        strict=True)],
            raw_401, raw_ok, quitter_code, going, live, result, stayer_code)
    finally:
        for term in terms:
            term.close()
        if served.proc.poll() is None:
            served.proc.kill()


def test_the_run_itself_is_unchanged_by_its_attachers(attached: Attached) -> None:
    assert attached.run_code == 0, attached.run_out[-3000:] + attached.run_err[-2000:]
    summary = json.loads((attached.run_dir / "summary.json").read_text())
    assert summary["status"] == "pass"
    assert run_alive(attached.run_dir) is False  # released once the run is over


def test_a_local_headless_attacher_follows_to_the_verdict(attached: Attached) -> None:
    code, out, err = attached.local
    assert code == 0, out[-2000:] + err[-2000:]
    assert f"run {attached.run_dir.name}" in out  # caught up from the start
    assert "== load" in out
    assert "overall status: PASS" in out
    assert f"results: {attached.run_dir}" in out


def test_an_http_attacher_with_the_token_follows_and_mirrors_the_result(attached: Attached,
                                                                       ) -> None:
    code, out, err = attached.http
    assert code == 0, out[-2000:] + err[-2000:]
    assert "overall status: PASS" in out
    mirror = Path(out.rsplit("results: ", 1)[1].split()[0])
    assert mirror != attached.run_dir
    assert mirror.name == attached.run_dir.name
    assert json.loads((mirror / "summary.json").read_text())["status"] == "pass"
    assert (mirror / "timeline.csv").is_file()
    recorded = (attached.run_dir / "events.ndjson").read_text().splitlines()
    assert len((mirror / "events.ndjson").read_text().splitlines()) == len(recorded)


def test_without_the_token_the_server_says_401_and_nothing_about_the_run(attached: Attached
                                                                        ) -> None:
    code, out, err = attached.refused
    assert code == 2, out + err
    assert "401" in err
    assert "PERFDASH_SERVE_TOKEN" in err
    run_id = attached.run_dir.name
    assert run_id not in out + err
    for status, body in attached.raw_401:
        assert status == 401
        assert run_id not in body
        assert "profile" not in body
    status, body = attached.raw_ok
    assert status == 200
    assert "events.ndjson" not in body


def test_the_token_is_printed_once_and_kept_out_of_the_run(attached: Attached) -> None:
    token = attached.served.token
    assert (attached.run_out + attached.run_err).count(token) == 1
    for path in attached.run_dir.iterdir():
        assert token not in path.read_text(errors="replace"), path.name


def test_q_in_an_attached_dashboard_detaches_and_leaves_the_run_going(attached: Attached
                                                                     ) -> None:
    assert attached.quitter_code == 0
    assert attached.quitter_left_run_going
    assert attached.run_dir.name in attached.quitter_live_screen


def test_an_attached_dashboard_switches_to_the_result_view(attached: Attached) -> None:
    assert "PASS (exit 0)" in attached.stayer_result
    assert attached.stayer_code == 0


def test_attachers_survive_the_run_being_killed_and_say_so(demo_service: DemoService,
                                                          tmp_path: Path) -> None:
    served = _serve_run(demo_service, tmp_path, k6_s=40)
    try:
        run_dir = served.run_dir()
        local = _attach([str(run_dir)], tmp_path)
        http = _attach([served.url], tmp_path, served.token)
        deadline = time.monotonic() + 40
        while '"phase": "load"' not in (run_dir / "events.ndjson").read_text():
            assert time.monotonic() < deadline, "the load never started"
            time.sleep(0.2)
        time.sleep(2)
        killed = time.monotonic()
        os.kill(served.proc.pid, signal.SIGKILL)
        results = []
        for attacher in (local, http):
            out, err = attacher.communicate(timeout=20)
            results.append((attacher.returncode, time.monotonic() - killed, out, err))
    finally:
        if served.proc.poll() is None:
            served.proc.kill()
        served.proc.communicate(timeout=10)
    for code, took, out, err in results:
        assert code == 3, out[-2000:] + err[-2000:]
        assert "the run stopped without finishing" in err
        assert took < 5, f"said after {took:.1f} s"
        assert "Traceback" not in err
    deadline = time.monotonic() + 10
    while processes_mentioning(str(run_dir)):  # k6 dies with perfdash (parent-death signal)
        assert time.monotonic() < deadline, "a process of the killed run survived"
        time.sleep(0.2)
