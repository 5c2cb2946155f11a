"""profiles.toml: hosts, prometheus_url and k6 generators, each mistake one sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfdash.settings import HostSpec, Settings, SettingsError, load_settings

BASE = '''
[profiles.p.k6]
script = "k6/x.js"
{k6}
[environments.e]
kind = "external"
base_url = "http://127.0.0.1:1"
{env}
'''


def _load(tmp: Path, k6: str = "", env: str = "") -> Settings:
    (tmp / "profiles.toml").write_text(BASE.format(k6=k6, env=env), encoding="utf-8")
    return load_settings(tmp)


def test_hosts_and_generators_are_read(tmp_path: Path) -> None:
    settings = _load(tmp_path, "generators = 3", '''prometheus_url = "http://127.0.0.1:9090/"
[environments.e.hosts]
db-1 = { role = "database", instance = "db-1:9100" }
api-1 = { role = "backend", node_exporter = "http://api-1:9100" }
''')
    env = settings.environment("e")
    assert env.prometheus_url == "http://127.0.0.1:9090"
    assert env.hosts == (HostSpec("api-1", "backend", "http://api-1:9100", None),
                         HostSpec("db-1", "database", None, "db-1:9100"))
    assert settings.profile("p").k6_generators == 3
    assert env.redacted()["hosts"][0]["name"] == "api-1"


def test_defaults_keep_one_machine_and_one_k6(tmp_path: Path) -> None:
    settings = _load(tmp_path)
    assert settings.environment("e").hosts == ()
    assert settings.environment("e").prometheus_url is None
    assert settings.profile("p").k6_generators == 1


def test_k6_operator_generators(tmp_path: Path) -> None:
    settings = _load(tmp_path, 'generators = "k6-operator"')
    assert settings.profile("p").k6_generators == "k6-operator"


@pytest.mark.parametrize(("k6", "env", "message"), [
    ("generators = 0", "", "expected a whole number from 1 to 64"),
    ('generators = "ssh"', "", "expected a whole number from 1 to 64"),
    ("", '[environments.e.hosts]\napi-1 = { role = "backend" }',
     "needs exactly one of node_exporter"),
    ("", '[environments.e.hosts]\napi-1 = { instance = "api-1:9100" }',
     "names an instance label but the environment has no prometheus_url"),
    ("", '[environments.e.hosts]\napi-1 = { node_exporter = "api-1:9100" }',
     "is not an http(s) URL"),
    ("", '[environments.e.hosts]\napi-1 = { node_exporter = "http://a:9100", port = 1 }',
     "unknown key 'port'"),
    ("", 'prometheus_url = "localhost:9090"', "is not an http(s) URL"),
])
def test_mistakes_are_one_sentence(tmp_path: Path, k6: str, env: str, message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(").replace(")", r"\)")) as exc:
        _load(tmp_path, k6, env)
    assert str(exc.value).startswith("profiles.toml")
    assert str(exc.value).endswith(".")
