"""The Artillery install command README and `perfdash doctor` give is one constant
(perfdash.tools.artillery.locate.own_install_command): README is checked against it here, and the
slow test runs it, as a user would paste it, into an empty prefix from the npm registry.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from perfdash.tools.artillery.locate import (
    PINNED_VERSION,
    SKIP_BROWSER,
    find_artillery,
    fix_sentence,
    own_install_command,
    own_install_dirs,
)

from .conftest import ROOT


def test_readme_gives_the_install_command_perfdash_checks() -> None:
    readme = (ROOT / "README.md").read_text()
    command = own_install_command()
    assert command.startswith(f"{SKIP_BROWSER} npm install --prefix ~/.local/share/perfdash/artillery ")
    assert command.endswith(f" artillery@{PINNED_VERSION}")
    assert f"\n{command}\n" in readme  # on a line of its own, ready to paste
    # no older form of it, without the variable, is left anywhere in README
    assert readme.count("npm install --prefix") == readme.count(command)
    assert "runs on\nNode.js 20" in readme
    assert "declares Node.js 22.18 or newer" in readme


def test_doctors_fix_gives_the_same_command_for_perfdash_s_own_copy(tmp_path: Path) -> None:
    own = own_install_dirs()[0]
    sentence = fix_sentence(tmp_path)
    assert f"`{own_install_command(own)}`" in sentence
    assert f"`{SKIP_BROWSER} npm install -g" in sentence  # the first choice skips it too
    (tmp_path / "package.json").write_text("{}")
    assert f"`{SKIP_BROWSER} npm install -D" in fix_sentence(tmp_path)


def test_a_prefix_with_a_space_is_quoted_for_the_shell(tmp_path: Path) -> None:
    assert f"--prefix '{tmp_path}/my data' " in own_install_command(tmp_path / "my data")


@pytest.mark.slow  # npm, from the registry
def test_the_install_command_installs_artillery_into_an_empty_prefix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    prefix = data / "perfdash" / "artillery"
    browsers = tmp_path / "browsers"
    env = {**os.environ, "PLAYWRIGHT_BROWSERS_PATH": str(browsers)}
    env.pop("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", None)  # the command must carry it itself
    done = subprocess.run(["/bin/sh", "-c", own_install_command(prefix)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert not browsers.exists() or not any(browsers.iterdir()), "a browser was downloaded"
    # where perfdash looks for its own copy, found and runnable
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.delenv("PERFDASH_ARTILLERY", raising=False)
    monkeypatch.setenv("PATH", os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if not (Path(p) / "artillery").exists()))
    loc = find_artillery(None, tmp_path)
    assert loc.ok, loc.problem
    assert loc.path == prefix / "node_modules" / ".bin" / "artillery"
    assert loc.version == PINNED_VERSION
    assert loc.how.startswith("perfdash's own pinned copy, on Node.js v")
    version = subprocess.run([str(loc.path), "--version"], capture_output=True, text=True,
                             timeout=120, check=False, env={**os.environ,
                                                            "ARTILLERY_DISABLE_TELEMETRY": "true"})
    assert f"Artillery: {PINNED_VERSION}" in version.stdout, version.stdout + version.stderr


@pytest.mark.parametrize(("node", "ok"), [("v18.19.1", False), ("v20.20.2", True),
                                          ("v22.18.0", True)])
def test_artillery_on_a_node_older_than_20_is_refused_with_the_versions_that_work(
        node: str, ok: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from perfdash.tools.artillery import locate
    from perfdash.tools.base import ToolLocation

    binary = tmp_path / "node_modules" / ".bin" / "artillery"
    binary.parent.mkdir(parents=True)
    binary.write_text("#!/bin/sh\n")
    monkeypatch.delenv("PERFDASH_ARTILLERY", raising=False)
    # which node is installed is the question here, not running it (the fast tier starts no node)
    monkeypatch.setattr(locate, "find_node", lambda: ToolLocation(
        "node", Path("/usr/bin/node"), node, None, None, "PATH"))
    loc = find_artillery(None, tmp_path)
    assert loc.ok is ok
    if ok:
        assert loc.how == f"the project's node_modules, on Node.js {node}"
    else:
        assert loc.problem == f"Artillery {PINNED_VERSION} needs Node.js 20 or newer; " \
                              f"/usr/bin/node is {node}"
        assert loc.fix is not None
        assert "22.18 or newer" in loc.fix
