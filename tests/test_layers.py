"""The layer rules in pyproject.toml's [tool.importlinter] hold, and `lint-imports` can fail.

Each contract is checked on its own (`lint-imports --contract <id>`) so a broken one names itself
and a known break cannot hide a new one. A throwaway package in tmp_path proves the tool really
fails on a forbidden import, so a green run here means something.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import perfdash

ROOT = Path(__file__).parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
CONTRACTS = {c["id"]: c for c in CONFIG["contracts"]}
# Modules that may reach Textual: the UI itself, the cli and its commands (they open the UI
# lazily) and `python -m`.
UI_SIDE = {"ui", "cli", "__main__", "commands"}

# Contracts known to be broken (none today): each would be an xfail with the import chain.
KNOWN_BREAKS: dict[str, str] = {}


def _lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("contract", [
    pytest.param(cid, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BREAKS[cid]))
    if cid in KNOWN_BREAKS else cid
    for cid in CONTRACTS
])
def test_contract_is_kept(contract: str) -> None:
    out = _lint_imports(ROOT, "--contract", contract)
    assert out.returncode == 0, f"lint-imports broke {contract}:\n{out.stdout}\n{out.stderr}"


def test_lint_imports_passes() -> None:
    """The whole configuration, as a developer or CI runs it from the repository root."""
    out = _lint_imports(ROOT)
    broken = {line.removesuffix(" BROKEN") for line in out.stdout.splitlines()
              if line.endswith(" BROKEN")}
    assert broken == {CONTRACTS[cid]["name"] for cid in KNOWN_BREAKS}, out.stdout
    if KNOWN_BREAKS:
        pytest.xfail(f"known breaks, each checked above: {', '.join(sorted(KNOWN_BREAKS))}")
    assert out.returncode == 0, f"lint-imports failed:\n{out.stdout}\n{out.stderr}"


def test_every_core_module_is_a_textual_source() -> None:
    """A new top-level module is covered by "The core never imports Textual" or fails here."""
    package = Path(perfdash.__file__).parent
    top = {p.stem for p in package.glob("*.py")} | {
        p.parent.name for p in package.glob("*/__init__.py")}
    core = {f"perfdash.{m}" for m in top - UI_SIDE - {"__init__"}}
    listed = set(CONTRACTS["core-no-textual"]["source_modules"])
    assert core - listed == set(), "add these to the core-no-textual contract's source_modules"
    assert listed - core == set(), "these are listed but do not exist"


_PROBE_CONFIG = """\
[importlinter]
root_package = layerprobe
include_external_packages = True

[importlinter:contract:core-no-textual]
name = The core never imports Textual
type = forbidden
source_modules =
    layerprobe.core
forbidden_modules =
    textual
"""


@pytest.mark.parametrize("core_imports_ui", [False, True], ids=["clean-core", "core-imports-ui"])
def test_contract_can_fail(tmp_path: Path, core_imports_ui: bool) -> None:
    """A core module that reaches Textual through the UI (an indirect chain) breaks the contract;
    the same tree without that import keeps it, so the failure comes from the import alone."""
    pkg = tmp_path / "layerprobe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("", encoding="utf-8")
    (pkg / "ui.py").write_text("import textual\n", encoding="utf-8")
    (pkg / "core.py").write_text("import layerprobe.ui\n" if core_imports_ui else "import json\n",
                                 encoding="utf-8")
    (tmp_path / ".importlinter").write_text(_PROBE_CONFIG, encoding="utf-8")
    out = _lint_imports(tmp_path)
    if core_imports_ui:
        assert out.returncode != 0, out.stdout
        assert "BROKEN" in out.stdout
        assert "layerprobe.core -> layerprobe.ui" in out.stdout, out.stdout
    else:
        assert out.returncode == 0, f"{out.stdout}\n{out.stderr}"
        assert "KEPT" in out.stdout
