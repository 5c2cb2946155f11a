"""The core never imports Textual: each core module is imported in a fresh interpreter and checked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import perfdash

PACKAGE = Path(perfdash.__file__).parent
CORE = sorted(
    ".".join(("perfdash", *p.relative_to(PACKAGE).with_suffix("").parts))
    for p in PACKAGE.rglob("*.py")
    if p.name not in ("__main__.py",) and "ui" not in p.relative_to(PACKAGE).parts
)


@pytest.mark.parametrize("module", [m.removesuffix(".__init__") for m in CORE])
def test_core_module_does_not_import_textual(module: str) -> None:
    code = f"import sys, {module}; print('textual' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False", f"{module} pulls in textual"


def test_help_does_not_import_textual() -> None:
    code = ("import sys\nfrom perfdash.cli import build_parser\nbuild_parser().format_help()\n"
            "print('textual' in sys.modules, 'psycopg' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"
