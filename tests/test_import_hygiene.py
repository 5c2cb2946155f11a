"""The core never imports Textual: every core module is imported and checked for it.

One interpreter per core module cost about a quarter of the fast tier, so the modules are imported in
turn by as few fresh interpreters as it takes: Textual absent from `sys.modules` after importing a
module means neither it nor anything it pulled in imported Textual. The first module that does is
reported and the next interpreter carries on after it, so every module still gets its own verdict.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import perfdash

PACKAGE = Path(perfdash.__file__).parent
CORE = sorted(
    ".".join(("perfdash", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
    for p in PACKAGE.rglob("*.py")
    if p.name not in ("__main__.py",) and "ui" not in p.relative_to(PACKAGE).parts
)
# Imports the modules named on its command line in turn, one line each, and stops after the first
# that brings Textual in (the rest go to a fresh interpreter).
IMPORT_IN_TURN = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
    pulled = "textual" in sys.modules
    print(name, "textual" if pulled else "clean", flush=True)
    if pulled:
        break
"""


@pytest.fixture(scope="module")
def verdicts() -> dict[str, str]:
    """Each core module: "clean", "textual", or why it could not be imported."""
    found: dict[str, str] = {}
    todo = list(CORE)
    while todo:
        out = subprocess.run([sys.executable, "-c", IMPORT_IN_TURN, *todo], capture_output=True,
                             text=True, check=False)
        lines = out.stdout.splitlines()
        for line in lines:
            name, verdict = line.split(" ", 1)
            found[name] = verdict
        done = len(lines)
        if out.returncode != 0 and done < len(todo):
            found[todo[done]] = f"import failed: {out.stderr.strip()[-2000:]}"
            done += 1
        todo = todo[done:]
    return found


@pytest.mark.parametrize("module", CORE)
def test_core_module_does_not_import_textual(module: str, verdicts: dict[str, str]) -> None:
    assert verdicts[module] == "clean", f"{module}: {verdicts[module]}"


def test_help_does_not_import_textual() -> None:
    code = ("import sys\nfrom perfdash.cli import build_parser\nbuild_parser().format_help()\n"
            "print('textual' in sys.modules, 'psycopg' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
