"""Child output passes through the run's redactor on its way to its log files: a k6 `setup()` that
console.logs the connection string, a seed command that echoes it, a backend that logs its settings.
Each secret form (raw, percent-encoded, inside the `postgresql://user:pass@host` URL, JSON-escaped
once and twice) is looked for in the written files: zero each.

Real k6 (the binary perfdash uses) started through the supervisor; then one real headless run through
`python -m perfdash` with such a k6 script and a start_command holding secrets, every file of its run
directory grepped, and the GitHub step summary it appends to. Commands as summary.json keeps them are
tested here too.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.launch import LaunchRequest
from perfdash.net import free_port
from perfdash.proc.command import run_process
from perfdash.proc.redacted_copy import MAX_PENDING, RedactedCopy
from perfdash.proc.supervisor import Supervisor
from perfdash.secret import REDACTED, Redactor, Secret, redact_command
from perfdash.settings import Environment
from perfdash.tools.k6.locate import find_k6

from .conftest import ROOT, DemoService
from .test_secret_outputs import _role

PW = 'Pa"ss@w:rd/x%y+z\\q'  # a quote and a backslash (JSON escapes them), URL delimiters, a percent
TOKEN = "tok-" + PW


def _url(pw: str = PW, port: int = 5432, database: str = "shop", user: str = "perf") -> str:
    return f"postgresql://{user}:{quote(pw, safe='')}@127.0.0.1:{port}/{database}"


def secret_forms(pw: str, url: str, token: str) -> dict[str, str]:
    """Every form the brief names, for the password, the token and the URL."""
    out: dict[str, str] = {"url": url}
    for who, value in (("password", pw), ("token", token)):
        once = json.dumps(value)[1:-1]
        out |= {f"{who} raw": value, f"{who} percent-encoded": quote(value, safe=""),
                f"{who} json-escaped": once, f"{who} json-escaped twice": json.dumps(once)[1:-1]}
    return out


def k6_script(pw: str, url: str, token: str, *, requests: bool = False) -> str:
    """setup() printing each form the way a debugging line would."""
    lines = [f"console.log({json.dumps('raw ' + value)});" for value in (pw, token)]
    lines += [f"console.log({json.dumps('encoded ' + quote(value, safe=''))});" for value in (pw, token)]
    lines += [f"console.log({json.dumps('connecting to ' + url)});",
              f"console.log(JSON.stringify({{url: {json.dumps(url)}, password: {json.dumps(pw)}, "
              f"token: {json.dumps(token)}}}));",
              "console.error('setup done');"]
    body = ("http.get(`${__ENV.BASE_URL}/health`);" if requests else "") + " sleep(0.2);"
    return ("import http from 'k6/http';\nimport { sleep } from 'k6';\n"
            "export function setup() {\n  " + "\n  ".join(lines) + "\n}\n"
            f"export default function () {{ {body} }}\n")


def _hits(text: str, forms: dict[str, str]) -> dict[str, int]:
    return {name: text.count(form) for name, form in forms.items() if form in text}


@pytest.mark.slow
@pytest.mark.parametrize("log_format", ["default", "raw", "json"])
def test_k6_setup_printing_every_form_leaves_none_in_its_logs(log_format: str, tmp_path: Path) -> None:
    k6 = find_k6()
    assert k6.path is not None, k6.problem
    url = _url()
    script = tmp_path / "leak.js"
    script.write_text(k6_script(PW, url, TOKEN))
    argv = [str(k6.path), "run", "--no-usage-report", "--quiet", "--iterations", "1",
            *([] if log_format == "default" else ["--log-format", log_format]), str(script)]
    supervisor = Supervisor(redact=Redactor([Secret(url), Secret(TOKEN)]))
    child = supervisor.start(LaunchRequest("k6", argv, tmp_path, tmp_path / "k6.stdout.log",
                                           tmp_path / "k6.stderr.log", {"K6_NO_USAGE_REPORT": "true"}))
    assert child.wait(60).returncode == 0
    stderr = (tmp_path / "k6.stderr.log").read_text()
    text = stderr + (tmp_path / "k6.stdout.log").read_text()
    assert "setup done" in stderr  # the lines were written, and after every leaky one
    assert text.count(REDACTED) >= 8
    assert _hits(text, secret_forms(PW, url, TOKEN)) == {}


@pytest.mark.slow
def test_without_the_redactor_the_same_k6_run_leaks_every_form(tmp_path: Path) -> None:
    """The fixture is not toothless: the same script, written straight to a file, holds each form."""
    k6 = find_k6()
    assert k6.path is not None, k6.problem
    url = _url()
    script = tmp_path / "leak.js"
    script.write_text(k6_script(PW, url, TOKEN))
    found: set[str] = set()
    for fmt in ([], ["--log-format", "raw"]):
        out = subprocess.run([str(k6.path), "run", "--no-usage-report", "--quiet", "--iterations",
                              "1", *fmt, str(script)], capture_output=True, text=True, timeout=60,
                             check=True)
        found |= set(_hits(out.stderr, secret_forms(PW, url, TOKEN)))
    assert found == set(secret_forms(PW, url, TOKEN))


def _copy_through_pipe(tmp_path: Path, parts: list[bytes], pause_s: float = 0.0) -> bytes:
    read_fd, write_fd = os.pipe()
    target = tmp_path / "out.log"
    copy = RedactedCopy(os.fdopen(read_fd, "rb"), target.open("wb"),
                        Redactor([Secret(_url()), Secret(TOKEN)]))
    copy.start()
    with os.fdopen(write_fd, "wb") as w:
        for part in parts:
            w.write(part)
            w.flush()
            time.sleep(pause_s)
    copy.join(10)
    assert not copy.is_alive()
    return target.read_bytes()


def test_a_secret_split_across_two_writes_is_still_taken_out(tmp_path: Path) -> None:
    line = f"password is {PW} and token {TOKEN}\n".encode()
    cut = line.index(b"w:rd")
    out = _copy_through_pipe(tmp_path, [line[:cut], line[cut:]], pause_s=0.2)
    assert out == f"password is {REDACTED} and token {REDACTED}\n".encode()


def test_bytes_that_are_not_utf8_and_a_line_without_end_pass_through(tmp_path: Path) -> None:
    binary = b"\xff\xfe\x00 binary " + quote(PW, safe="").encode() + b" \xc3(\n"
    endless = b"x" * (MAX_PENDING + 10) + TOKEN.encode()  # no newline, ever: written at the end
    out = _copy_through_pipe(tmp_path, [binary, endless])
    assert out.startswith(b"\xff\xfe\x00 binary *** \xc3(\n")
    assert out.endswith(b"x***")
    assert len(out) == len(binary) - len(quote(PW, safe="")) + 3 + MAX_PENDING + 10 + 3


def test_a_seed_command_echoing_the_url_leaves_no_secret_in_the_run_directory(tmp_path: Path) -> None:
    url = _url()
    result = run_process("seed-command", ["/bin/sh", "-c", 'echo "$PERF_DATABASE_URL"; '
                                          'echo "pw=$PW" >&2'],
                         cwd=tmp_path, env={"PERF_DATABASE_URL": url, "PW": PW}, timeout_s=10,
                         out_dir=tmp_path, secrets=[Secret(url)])
    assert result.returncode == 0
    written = (tmp_path / "seed-command.stdout.log").read_text() + \
        (tmp_path / "seed-command.stderr.log").read_text()
    assert written == "***\npw=***\n"
    assert _hits(written, secret_forms(PW, url, TOKEN)) == {}


def _environment(**commands: str) -> Environment:
    return Environment(name="staging", description="", kind="external",
                       base_url="http://127.0.0.1:8000", database_url=Secret(_url()),
                       api_token=Secret(TOKEN), app_log=None, protected=False, health_path="/health",
                       **commands)  # type: ignore[arg-type]


def test_commands_in_summary_json_keep_their_shape_not_their_secrets() -> None:
    start = "env PERF_DATABASE_URL='postgresql://u:secret@h/db' PERF_API_TOKEN=abc ./start.sh"
    env = _environment(start_command=start,
                       stop_command=f"curl -H 'Authorization: Bearer {TOKEN}' http://h/stop",
                       seed_command=f"psql '{_url()}' --password={PW} -f seed.sql")
    shown = env.redacted()
    assert shown["start_command"] == ("env PERF_DATABASE_URL='postgresql://u:***@h/db' "
                                      "PERF_API_TOKEN=*** ./start.sh")
    assert shown["stop_command"] == "curl -H 'Authorization: Bearer ***' http://h/stop"
    assert shown["seed_command"] == "psql '***' --password=*** -f seed.sql"  # the URL is a secret whole
    text = json.dumps(shown)
    assert "secret" not in text
    assert "abc" not in text
    assert _hits(text, secret_forms(PW, _url(), TOKEN)) == {}


@pytest.mark.parametrize("command", [
    "API_KEY=k3y-1234 DB_PASSWORD=\"two words\" MY_SECRET='x y' ./run",
    "./run --token t0k3n --api-key=k3y-1234 --auth s3cr3tv",
])
def test_secret_looking_assignments_and_options_are_redacted(command: str) -> None:
    out = redact_command(command, [])
    for secret in ("k3y-1234", "two words", "x y", "t0k3n", "s3cr3tv"):
        assert secret not in out
    assert out.startswith(("API_KEY=***", "./run --token ***"))
    assert redact_command("PATH=/usr/bin KEYBOARD=us ./run --port 8000", []) == \
        "PATH=/usr/bin KEYBOARD=us ./run --port 8000"


@pytest.mark.e2e
def test_a_run_whose_k6_setup_prints_the_secrets_leaves_none_in_any_file(
        demo_service: DemoService, pg_cluster: ThrowawayPostgres, tmp_path: Path) -> None:
    database = demo_service.database_url.reveal().rsplit("/", 1)[1]
    role = _role(pg_cluster, database, PW)
    url = _url(PW, pg_cluster.port, database, role)
    token = TOKEN
    script = tmp_path / "leak.js"
    script.write_text(k6_script(PW, url, token, requests=True))
    start = f"env PERF_DATABASE_URL='{url}' PERF_API_TOKEN={json.dumps(token)} ./start.sh"
    (tmp_path / "profiles.toml").write_text(f"""
[defaults]
results_dir = "results"

[profiles.leak]
description = "k6 only, 3 s"
[profiles.leak.k6]
script = {json.dumps(str(script))}
stages = [{{ duration = "8s", target = 1 }}]

[environments.ext]
description = "the session's demo backend as an external environment"
kind = "external"
health_path = "/health"
protected = false
start_command = {json.dumps(start)}
""")
    env_file = tmp_path / ".env.performance"
    env_file.write_text(f"PERF_BASE_URL={demo_service.base_url}\n"
                        f"PERF_DATABASE_URL='{url}'\nPERF_API_TOKEN={json.dumps(token)}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERF_")}
    # served while it runs, and followed over HTTP by an attacher with a cache of its own: what
    # the server sends and what the attacher mirrors must be as clean as the run directory
    port, serve_token = free_port(), "serve-token-" + "x" * 24
    page = tmp_path / "github-step-summary.md"  # the CI job's page, written to at the end
    running = subprocess.Popen(
        [sys.executable, "-m", "perfdash", "run", "--profile", "leak", "--env", "ext", "--headless",
         "--config", str(tmp_path / "profiles.toml"), "--env-file", str(env_file),
         "--results-dir", str(tmp_path / "results"), "--serve", f"127.0.0.1:{port}"],
        cwd=ROOT, env={**env, "PERFDASH_SERVE_TOKEN": serve_token, "GITHUB_STEP_SUMMARY": str(page)},
        text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    cache = tmp_path / "cache"
    _wait_for_port(port, running)
    attacher = subprocess.run(
        [sys.executable, "-m", "perfdash", "attach", "--headless", f"http://127.0.0.1:{port}"],
        cwd=tmp_path, env={**env, "XDG_CACHE_HOME": str(cache), "PERFDASH_SERVE_TOKEN": serve_token},
        capture_output=True, text=True, timeout=180, check=False)
    stdout, stderr = running.communicate(timeout=180)
    out = subprocess.CompletedProcess(running.args, running.returncode, stdout, stderr)
    mirrored = [p for p in sorted(cache.rglob("*")) if p.is_file()]
    assert {"summary.json", "events.ndjson"} <= {p.name for p in mirrored}, (
        f"the attacher mirrored {[p.name for p in mirrored]}: {attacher.stdout[-2000:]}"
        f"{attacher.stderr[-2000:]}")
    run_dir = next((tmp_path / "results").iterdir())
    assert (run_dir / "k6.stderr.log").is_file(), out.stdout[-3000:] + out.stderr[-3000:]
    assert "setup done" in (run_dir / "k6.stderr.log").read_text()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["configuration"]["environment"]["start_command"] == \
        "env PERF_DATABASE_URL='***' PERF_API_TOKEN=*** ./start.sh"
    forms = secret_forms(PW, url, token)
    places = {"stdout": out.stdout, "stderr": out.stderr}
    places |= {str(p.relative_to(run_dir)): p.read_text(errors="replace")
               for p in sorted(run_dir.rglob("*")) if p.is_file()}
    places |= {f"attached: {p.relative_to(cache)}": p.read_text(errors="replace") for p in mirrored}
    places |= {"attach stdout": attacher.stdout, "attach stderr": attacher.stderr}
    places["GITHUB_STEP_SUMMARY"] = page.read_text()
    assert "perfdash leak on ext" in places["GITHUB_STEP_SUMMARY"]
    counts = {place: _hits(text, forms) for place, text in places.items()}
    assert {p: c for p, c in counts.items() if c} == {}


def _wait_for_port(port: int, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        assert proc.poll() is None, "perfdash run ended before serving"
        time.sleep(0.1)
    raise AssertionError(f"nothing served on 127.0.0.1:{port}")


def test_threads_of_a_finished_child_do_not_linger(tmp_path: Path) -> None:
    before = threading.active_count()
    supervisor = Supervisor(redact=Redactor([]))
    child = supervisor.start(LaunchRequest("echo", ["/bin/echo", "hello"], tmp_path,
                                           tmp_path / "o.log", tmp_path / "e.log"))
    child.wait(10)
    assert (tmp_path / "o.log").read_text() == "hello\n"
    assert threading.active_count() == before
