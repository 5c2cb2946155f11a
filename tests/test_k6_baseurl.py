"""The environment's base URL reaches a k6 script under every name the script reads its base from.

The issue's Python project read `__ENV.API_URL`; init told the user to copy the URL into profiles.toml.
These tests pin the detection on script shapes seen in the wild, and the `k6 run` command it yields.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from perfdash.settings import Profile
from perfdash.tools.k6 import command
from perfdash.tools.k6.baseurl import base_url_env, url_variables

BASE = "http://127.0.0.1:5000"

# (script source, the -e values perfdash must pass besides BASE_URL)
CASES: list[tuple[str, dict[str, str]]] = [
    ("const API = __ENV.API_URL || 'http://localhost:5000';\nhttp.get(`${API}/items`);",
     {"API_URL": BASE}),
    ("const u = __ENV.TARGET;\nexport default () => http.get(u + '/x');", {"TARGET": BASE}),
    ("const vus = parseInt(__ENV.TARGET || '10');", {}),  # TARGET as a VU count: a knob
    ("const t = __ENV.TARGET || 20;", {}),
    ("const API = __ENV['API_URL'] ?? \"http://localhost:5000/api/v1\";", {"API_URL": BASE + "/api/v1"}),
    ("const h = __ENV.HOST || 'localhost:5000';\nhttp.get(`http://${h}/x`);", {"HOST": "127.0.0.1:5000"}),
    ("http.get(`http://${__ENV.HOSTNAME}/x`);", {"HOSTNAME": "127.0.0.1:5000"}),
    ("const WS = __ENV.WS_URL || 'ws://localhost:5000';", {"WS_URL": "ws://127.0.0.1:5000"}),
    ("const SUT = __ENV.SUT;\nhttp.get(`${SUT}/health`);", {"SUT": BASE}),
    ("const srv = __ENV.SERVICE;\nhttp.get(`${srv}/health`);", {"SERVICE": BASE}),  # used as the base
    ("const srv = __ENV.SERVICE || 'checkout';\nhttp.get(`${srv}/health`);", {}),  # a word
    ("const db = __ENV.DATABASE_URL || 'postgres://x';\nconst p = __ENV.PROMETHEUS_URL;", {}),
    ("const k = __ENV.API_KEY;\nconst tok = __ENV.AUTH_TOKEN;\nconst d = __ENV.DURATION || '10s';", {}),
    ("const B = __ENV.BASE_URL || 'http://localhost:3000';", {}),  # BASE_URL: always passed anyway
]


@pytest.mark.parametrize(("source", "expected"), CASES)
def test_detected_names_and_values(tmp_path: Path, source: str, expected: dict[str, str]) -> None:
    script = tmp_path / "load.js"
    script.write_text("import http from 'k6/http';\n" + source + "\n")
    assert base_url_env(script, BASE) == {"BASE_URL": BASE, **expected}


def test_local_imports_are_followed(tmp_path: Path) -> None:
    """A shared config module that reads the base: the main script never names the variable."""
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "config.js").write_text(
        "export const API = __ENV.API_URL || 'http://localhost:8080';\n")
    script = tmp_path / "smoke.js"
    script.write_text("import http from 'k6/http';\nimport { API } from './lib/config.js';\n"
                      "import { x } from 'https://jslib.k6.io/x/1.0.0/index.js';\n"
                      "export default () => http.get(`${API}/ping`);\n")
    assert base_url_env(script, BASE) == {"BASE_URL": BASE, "API_URL": BASE}


def test_order_and_fallbacks() -> None:
    found = url_variables(["const a = __ENV.TARGET_URL;\nconst b = __ENV.API_URL || 'https://x.test/api';"])
    assert [(v.name, v.fallback, v.host_only) for v in found] == [
        ("TARGET_URL", None, False), ("API_URL", "https://x.test/api", False)]


def test_run_argv_passes_every_name_and_the_profile_wins(tmp_path: Path) -> None:
    script = tmp_path / "load.js"
    script.write_text("import http from 'k6/http';\nconst A = __ENV.API_URL || 'http://localhost:5000';\n"
                      "const T = __ENV.TARGET;\nexport default () => http.get(`${T}/a`);\n")
    profile = Profile(name="smoke", description="", mode="parallel", k6_script=script,
                      artillery_script=None, k6_stages=(), artillery_phases=(), thresholds=(),
                      k6_env={"TARGET": "http://elsewhere:1"})
    argv = command.run_argv(Path("k6"), profile, tmp_path, BASE, 6565)
    pairs = [argv[i + 1] for i, a in enumerate(argv) if a == "-e"]
    assert pairs == ["TARGET=http://elsewhere:1", f"BASE_URL={BASE}", f"API_URL={BASE}"]
    assert command.env_args(profile, None) == ["-e", "TARGET=http://elsewhere:1"]
