"""`perfdash init` in projects that are not shaped like perfdash, through the real entry points.

Each test builds a small foreign project in tmp_path (a Node service one level down, a k6 script on
`options.scenarios`, an Artillery file with environments and ensure, a log under var/log) and checks
what lands in the generated files, because those files are what a new user runs first.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

from perfdash.cli import main
from perfdash.settings import load_settings

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
    """Needs the lead's schema change (working_dir, optional stages/phases) in perfdash/settings.py."""
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
