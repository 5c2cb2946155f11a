"""`perfdash init` in projects that are not shaped like perfdash, through the real entry points.

Each test builds a small foreign project in tmp_path (a Node service one level down, a k6 script on
`options.scenarios`, an Artillery file with environments and ensure, a log under var/log) and checks
what lands in the generated files, because those files are what a new user runs first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

from perfdash.cli import main
from perfdash.init.discover import discover
from perfdash.settings import load_settings
from perfdash.tools.k6.command import env_args

PERFDASH = Path(__file__).resolve().parent.parent / ".venv" / "bin" / "perfdash"

K6_SCRIPT = """\
import http from 'k6/http';
import { check, sleep } from "k6";

const BASE = __ENV.BASE_URL || 'http://127.0.0.1:3000';
const P95 = Number(__ENV.BROWSE_P95_MS || 800);

export const options = {
  scenarios: {
    browse: { executor: 'constant-vus', vus: 2, duration: '10s' },
  },
  thresholds: { 'http_req_duration{scenario:browse}': [`p(95)<${P95}`] },
};

export default function () {
  check(http.get(`${BASE}/products`), { 'status 200': (r) => r.status === 200 });
  sleep(1);
}
"""

K6_HELPER = "import http from 'k6/http';\nexport function login() { return http.post('/login'); }\n"

ARTILLERY = """\
# checkout flow
config:
  target: "http://127.0.0.1:3000"
  phases:
    - duration: 30
      arrivalRate: 5
  ensure:
    p95: 800
  environments:
    chaos:
      phases:
        - duration: 60
          arrivalRate: 20
    nightly:
      target: "http://nightly.internal"
  plugins:
    metrics-by-endpoint: {}
scenarios:
  - name: checkout
    flow:
      - get:
          url: "/cart"
"""

SERVER = """\
const express = require('express');
const app = express();
app.get('/healthz', (req, res) => res.send('ok'));
app.listen(process.env.PORT || 4100);
"""


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def node_project(root: Path) -> Path:
    write(root, {
        "package.json": json.dumps({"name": "shop", "devDependencies": {"artillery": "^2"}}),
        "service/package.json": json.dumps({"name": "shop-api", "scripts": {
            "start": "node src/server.js", "stop": "pkill -F app.pid", "test": "jest"}}),
        "service/src/server.js": SERVER,
        "perf/k6/browse.js": K6_SCRIPT,
        "perf/k6/lib/auth.js": K6_HELPER,
        "perf/k6/checkout.js": "import http from 'k6/http';\nexport default function () {}\n",
        "perf/artillery/checkout.yml": ARTILLERY,
        "docker-compose.yml": "services:\n  db:\n    image: postgres:16\n",
        "var/log/old.log": "old\n",
        "var/log/app.jsonl": '{"level":"info"}\n',
        "node_modules/k6-things/index.js": "import http from 'k6/http';\nexport default function () {}\n",
        "results/perf/x/script.js": "import http from 'k6/http';\nexport default function () {}\n",
        ".gitignore": "node_modules/\n",
    })
    old = time.time() - 3600
    os.utime(root / "var/log/old.log", (old, old))
    return root


def run_init(root: Path, *extra: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["init", "--project", str(root), *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_node_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = node_project(tmp_path)
    code, out, err = run_init(root, capsys=capsys)
    assert code == 0, err
    text = (root / "profiles.toml").read_text()
    data = tomllib.loads(text)
    smoke = data["profiles"]["smoke"]
    assert smoke["k6"] == {"script": "perf/k6/browse.js"}  # no stages: the script's scenarios run
    assert smoke["artillery"] == {"script": "perf/artillery/checkout.yml"}
    assert smoke["thresholds"] == {"k6": {}, "artillery": {}}
    local = data["environments"]["local"]
    assert local["kind"] == "external"
    assert local["working_dir"] == "service"
    assert local["start_command"] == "npm run start"
    assert local["stop_command"] == "npm run stop"
    assert local["health_path"] == "/healthz"
    assert local["app_log"] == "../var/log/app.jsonl"  # newest log, relative to working_dir
    assert local["compose_file"] == "docker-compose.yml"
    assert local["protected"] is False
    assert "staging" not in data["environments"]
    assert '# env = { BROWSE_P95_MS = "800" }' in text
    assert "__ENV.BASE_URL, __ENV.BROWSE_P95_MS" in text
    assert '# environment = "chaos"' in text
    assert "chaos, nightly" in text
    assert "# stages = [" in text
    assert "# phases = [" in text
    assert "# [environments.staging]" in text
    assert "# protected = true" in text
    assert "# seed_sql = " in text
    assert "# seed_command = " in text
    assert "# cleanup_after_run" in text
    assert '# artillery = "node_modules/.bin/artillery"' in text
    assert "node_modules/k6-things" not in text
    assert "results/perf/x" not in text
    assert "# Other suites found" in text
    assert "#   perf/k6/checkout.js\n\n" in text  # lib/auth.js has no default function: a helper
    assert "perf/k6/lib/auth.js (no default function and no scenarios: a shared module?)" in out
    for line in text.splitlines():  # every key, written or commented out, has a comment above it
        if line and not line.startswith(("#", "[")):
            assert text.splitlines()[text.splitlines().index(line) - 1].startswith("#"), line

    env = (root / ".env.performance.example").read_text()
    assert "PERF_BASE_URL=http://127.0.0.1:4100" in env
    assert "service/src/server.js" in env
    assert "PERF_DATABASE_URL=postgresql://USER:PASSWORD@127.0.0.1:5432/DBNAME" in env
    assert "\nPERF_API_TOKEN=\n" in env
    assert (root / ".gitignore").read_text().splitlines()[-2:] == [".env.performance", "results/"]

    for expected in ("perf/k6/browse.js", "perf/artillery/checkout.yml", "service/package.json",
                     "/healthz in service/src/server.js", "var/log/app.jsonl", "docker-compose.yml",
                     "added .env.performance and results/ to .gitignore", "still to do:",
                     "PERF_DATABASE_URL", "perfdash run --profile smoke --env local"):
        assert expected in out, expected


def test_generated_settings_load(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Needs the lead's schema change (working_dir, optional stages/phases) in perfdash/settings/."""
    root = node_project(tmp_path)
    assert run_init(root, capsys=capsys)[0] == 0
    settings = load_settings(root)
    smoke = settings.profile("smoke")
    assert smoke.k6_script == root / "perf/k6/browse.js"
    assert not smoke.k6_stages
    assert smoke.artillery_script == root / "perf/artillery/checkout.yml"
    local = settings.environment("local")
    assert local.health_path == "/healthz"
    assert local.stop_command == "npm run stop"
    assert local.working_dir == (root / "service").resolve()
    assert local.app_log == (root / "var/log/app.jsonl").resolve()


def test_refuses_without_force_then_overwrites(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    root = node_project(tmp_path)
    (root / "profiles.toml").write_text("# mine\n")
    code, out, err = run_init(root, capsys=capsys)
    assert code == 2
    assert "profiles.toml already exists" in err
    assert "--force" in err
    assert err.count("\n") == 1
    assert out == ""
    assert (root / "profiles.toml").read_text() == "# mine\n"
    assert not (root / ".env.performance.example").exists()
    assert (root / ".gitignore").read_text() == "node_modules/\n"

    code, out, _ = run_init(root, "--force", capsys=capsys)
    assert code == 0
    assert "(overwritten)" in out
    assert "perf/k6/browse.js" in (root / "profiles.toml").read_text()
    code, _, err = run_init(root, capsys=capsys)  # the example file alone also blocks a rerun
    assert code == 2
    assert ".env.performance.example" in err


def test_k6_only_project(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {"load/api.ts": "import { sleep } from 'k6';\nconst u = __ENV['API_URL'];\n"
                                    "export const options = { stages: [{ duration: '5s', target: 1 }] };\n"
                                    "export default async function () { sleep(1); }\n"})
    code, out, _ = run_init(tmp_path, capsys=capsys)
    assert code == 0
    text = (tmp_path / "profiles.toml").read_text()
    data = tomllib.loads(text)
    assert data["profiles"]["smoke"] == {
        "description": data["profiles"]["smoke"]["description"], "mode": "parallel",
        "k6": {"script": "load/api.ts"}, "thresholds": {"k6": {}, "artillery": {}}}
    local = data["environments"]["local"]
    assert local["working_dir"] == "."
    assert local["health_path"] == "/health"
    assert "start_command" not in local
    assert '# start_command = "make start"' in text
    assert "app_log" not in local
    assert "compose_file" not in local
    # the base URL is passed under API_URL by perfdash: no second copy of it in profiles.toml
    assert "API_URL =" not in text
    assert "the environment's base URL is passed as BASE_URL and API_URL" in text
    assert "[profiles.smoke.artillery]" not in text
    example = (tmp_path / ".env.performance.example").read_text()
    assert "PERF_BASE_URL=http://127.0.0.1:3000" in example
    assert "3000 is a placeholder" in example
    assert "Node" not in example
    assert "not found  an Artillery YAML" in out
    assert "not found  a start command" in out
    assert "not found  a port" in out
    assert "API_URL" not in out.split("still to do:")[1]
    assert "no .gitignore" in out
    assert load_settings(tmp_path).environment("local").working_dir == tmp_path.resolve()


def test_empty_project_refuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing to run: a profile must name a script, so init says what it looked for and writes nothing."""
    write(tmp_path, {"README.md": "hello\n", "service/package.json": '{"scripts": {"dev": "vite"}}'})
    code, out, err = run_init(tmp_path, capsys=capsys)
    assert code == 2
    assert "not found  a k6 script" in out
    assert "not found  an Artillery YAML" in out
    assert 'found      backend         service/package.json "dev" script: start `npm run dev`' in out
    assert "no k6 script" in err
    assert "nothing was written" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "service"]


def test_console_script_in_cwd(tmp_path: Path) -> None:
    root = node_project(tmp_path)
    proc = subprocess.run([str(PERFDASH), "init"], cwd=root, capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert f"looked through {root}" in proc.stdout
    data = tomllib.loads((root / "profiles.toml").read_text())
    assert data["environments"]["local"]["working_dir"] == "service"
    again = subprocess.run([str(PERFDASH), "init"], cwd=root, capture_output=True, text=True,
                           timeout=60, check=False)
    assert again.returncode == 2
    assert "--force" in again.stderr


# ------------------------------------------------------------------ foreign layouts under tests/data/init
# What init must find in each layout (the README's table says the same). Paths are relative to the
# project; a log "not written yet" is found in the code or config, not on disk.

DATA = Path(__file__).resolve().parent / "data" / "init"

LAYOUTS: dict[str, dict[str, object]] = {
    # Python: gunicorn started by `make start`, plain logging to $LOG_DIR/app.log, gunicorn access log
    # with %(M)s, k6 and Artillery reading API_URL / target on port 5000, three negative tests.
    "python-make": {
        "start_command": "make start", "stop_command": "make stop", "working_dir": ".",
        "port": "5000", "health_path": "/healthz",
        "app_log": "var/log/app.log", "access_log": "var/log/access.log",
        "access_format": ("gunicorn", "ms"),
        "k6": "perf/k6/smoke.js", "k6_url_env": ("API_URL",),
        "artillery": "perf/artillery/load.yml",
        "negative": {"perf/k6/invalid-login.js", "perf/artillery/bad-token.yml",
                     "perf/artillery/auth-rejects.yml"},
        "compose_file": None,
    },
    # Node: package.json start/stop, PORT default in the code, pino app log and morgan access log under
    # a LOG_DIR built from __dirname, a k6 base read from a shared module as TARGET, a stray script
    # defaulting to 3000, a database-only compose file.
    "node-scripts": {
        "start_command": "npm run start", "stop_command": "npm run stop", "working_dir": ".",
        "port": "4000", "health_path": "/health",
        "app_log": "logs/app.log", "access_log": "logs/access.log", "access_format": ("combined", None),
        "k6": "k6/load-test.js", "k6_url_env": ("TARGET",),
        "artillery": "artillery/api.yml",
        "negative": {"artillery/expired-session.yml"},
        "compose_file": "docker-compose.yml",
    },
    # docker compose builds a FastAPI app (uvicorn in the Dockerfile's CMD on 8000, published as 8080),
    # logs through a dictConfig YAML into /srv/app/logs, mounted from ./var/logs.
    "compose-fastapi": {
        "start_command": "docker compose up -d --build", "stop_command": "docker compose down",
        "working_dir": ".", "port": "8080", "health_path": "/health",
        "app_log": "var/logs/app.log", "access_log": "var/logs/access.log", "access_format": (None, None),
        "k6": "loadtest/k6/orders.js", "k6_url_env": ("BASE_URL", "WS_URL"),
        "artillery": "loadtest/artillery/flows.yml",
        "negative": {"loadtest/artillery/negative/no-token.yml"},
        "compose_file": "compose.yaml",
    },
}


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_foreign_layout_discovery(layout: str) -> None:
    want = LAYOUTS[layout]
    d = discover(DATA / layout)
    assert d.service is not None
    assert d.service.start_command == want["start_command"]
    assert d.service.stop_command == want["stop_command"]
    assert d.service.working_dir == want["working_dir"]
    assert d.port.port == want["port"]
    assert not d.port.conflict, d.port.disagree
    assert d.health is not None
    assert d.health.value == want["health_path"]
    assert d.app_log is not None
    assert d.access_log is not None
    assert (d.app_log.path, d.access_log.path) == (want["app_log"], want["access_log"])
    assert not d.app_log.exists  # found in code and config before the app ever ran
    assert (d.access_log.access_format, d.access_log.time_unit) == want["access_format"]
    assert d.main_k6 is not None
    assert d.main_artillery is not None
    assert d.main_k6.path == want["k6"]
    assert d.main_k6.url_env == want["k6_url_env"]
    assert d.main_artillery.path == want["artillery"]
    assert {s.path for s in d.negative} == want["negative"]
    assert d.compose_file == want["compose_file"]


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_foreign_layout_files(layout: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """What lands in profiles.toml and .env.performance.example, and that perfdash loads it."""
    want = LAYOUTS[layout]
    root = tmp_path / layout
    shutil.copytree(DATA / layout, root)
    code, out, err = run_init(root, capsys=capsys)
    assert code == 0, err
    text = (root / "profiles.toml").read_text()
    data = tomllib.loads(text)
    assert set(data["profiles"]) == {"smoke"}  # negative tests: commented profiles of their own
    smoke = data["profiles"]["smoke"]
    assert smoke["k6"] == {"script": want["k6"]}  # no env: the base URL is not copied here
    assert smoke["artillery"] == {"script": want["artillery"]}
    for negative in want["negative"]:  # type: ignore[attr-defined]
        assert f'# script = "{negative}"' in text
        assert f"every request in {negative} is meant to" in text.replace("\n# ", " ")
    local = data["environments"]["local"]
    assert local["start_command"] == want["start_command"]
    assert local["stop_command"] == want["stop_command"]
    assert local["health_path"] == want["health_path"]
    # both logs found: each read for what it holds, the access log with its format and time unit
    fmt, unit = want["access_format"]  # type: ignore[misc]
    access = {"path": want["access_log"], "kind": "access"}
    access.update({"format": fmt} if fmt else {})
    access.update({"time_unit": unit} if unit else {})
    assert local["logs"] == [{"path": want["app_log"], "kind": "app"}, access]
    assert "app_log" not in local
    assert "API_URL =" not in text
    assert "TARGET =" not in text
    example = (root / ".env.performance.example").read_text()
    assert f"PERF_BASE_URL=http://127.0.0.1:{want['port']}\n" in example
    assert "usual" not in example
    assert "still to do:" in out

    (root / ".env.performance").write_text(f"PERF_BASE_URL=http://127.0.0.1:{want['port']}\n")
    settings = load_settings(root)
    env = settings.environment("local")
    assert env.base_url == f"http://127.0.0.1:{want['port']}"
    assert env.app_log == (root / str(want["app_log"])).resolve()
    assert [(log.path, log.kind, log.requests, log.format, log.time_unit) for log in env.followed_logs()] == [
        ((root / str(want["app_log"])).resolve(), "app", False, None, None),
        ((root / str(want["access_log"])).resolve(), "access", False, fmt, unit)]
    assert env.start_command == want["start_command"]
    profile = settings.profile("smoke")
    names = env_args(profile, env.base_url)
    for name in ("BASE_URL", *want["k6_url_env"]):  # type: ignore[misc]
        assert any(a.startswith(f"{name}=") for a in names), names
    if layout == "compose-fastapi":  # a ws:// fallback keeps its scheme and path, the port is ours
        assert "WS_URL=ws://127.0.0.1:8080/events" in names


def test_procfile_and_pyproject_starts(tmp_path: Path) -> None:
    """A Procfile web line reading $PORT gets PORT in front; a pdm start/stop pair beats it."""
    write(tmp_path, {"Procfile": "web: gunicorn app:app --bind 0.0.0.0:$PORT\n",
                     "app.py": "import os\nPORT = int(os.environ.get('PORT', '7000'))\n",
                     "load.js": "import http from 'k6/http';\nexport default () => {};\n"})
    d = discover(tmp_path)
    assert d.service is not None
    assert d.service.start_command == "PORT=7000 gunicorn app:app --bind 0.0.0.0:$PORT"
    assert d.service.stop_command is None
    assert d.port.port == "7000"
    write(tmp_path, {"pyproject.toml": '[tool.pdm.scripts]\nstart = "uvicorn app:app --port 7000"\n'
                                       'stop = "pkill -F uvicorn.pid"\n'})
    d = discover(tmp_path)
    assert d.service is not None
    assert (d.service.start_command, d.service.stop_command) == ("pdm run start", "pdm run stop")
    assert [o.kind for o in d.other_services] == ["Procfile"]


def test_ports_disagreeing_say_which_and_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, {
        "Makefile": "PORT ?= 5000\nstart:\n\tgunicorn app:app -b 127.0.0.1:$(PORT)\n",
        "app.py": "import os\nport = int(os.getenv('PORT', '8000'))\n",
        "perf/smoke.js": "import http from 'k6/http';\nconst U = __ENV.API_URL || 'http://localhost:9999';\n"
                         "export default () => http.get(`${U}/x`);\n"})
    code, out, _ = run_init(tmp_path, capsys=capsys)
    assert code == 0
    example = (tmp_path / ".env.performance.example").read_text()
    assert "PERF_BASE_URL=http://127.0.0.1:5000\n" in example
    flat = example.replace("\n# ", " ")
    assert "app.py (`port = int(os.getenv('PORT', '8000'))`) (the code's default) says port 8000" in flat
    assert "perf/smoke.js (http://localhost:9999) defaults to port 9999" in flat
    assert "port conflict" in out
    assert "check that 5000 is the one the backend listens on" in out


def test_negative_names_are_words_not_substrings(tmp_path: Path) -> None:
    art = "config:\n  target: http://localhost:1\nscenarios:\n  - name: {name}\n    flow: []\n"
    write(tmp_path, {
        "a/badge-service.yml": art.format(name="badges"),
        "a/error-rate.yml": art.format(name="errors"),
        "a/tokens.yml": "# expects failures: every handshake is rejected\n" + art.format(name="x"),
        "a/login.yml": art.format(name="login with a wrong password"),
        "k6/negative/auth.js": "import http from 'k6/http';\nexport default () => {};\n",
        "k6/smoke.js": "import http from 'k6/http';\nexport default () => {};\n"})
    d = discover(tmp_path)
    assert {s.path for s in d.negative} == {"a/tokens.yml", "a/login.yml", "k6/negative/auth.js"}
    assert d.main_artillery is not None
    assert d.main_artillery.path in ("a/badge-service.yml", "a/error-rate.yml")
    assert d.main_k6 is not None
    assert d.main_k6.path == "k6/smoke.js"
