"""Where Locust is: $PERFDASH_LOCUST, then perfdash's own environment (where `perfdash[locust]`
installs it, beside the Python running perfdash), then PATH. Locust is a Python package, so its
fix is a pip command, never a download behind the user's back."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from perfdash.settings import Environment
from perfdash.tools.base import ToolLocation, version_of
from perfdash.tools.locate import first_existing

PINNED_VERSION = "2.47.0"
FIX = (f"install it with `pip install 'perfdash[locust]'` (Locust {PINNED_VERSION}) in perfdash's "
       "environment, or point PERFDASH_LOCUST at a locust binary")


def find_locust(env: Environment | None, project_dir: Path) -> ToolLocation:
    override = os.environ.get("PERFDASH_LOCUST")
    if override and not Path(override).exists():
        return ToolLocation("locust", None, None, f"PERFDASH_LOCUST names {override}, which does not "
                            "exist", "point PERFDASH_LOCUST at a locust binary or unset it")
    on_path = shutil.which("locust")
    found = first_existing([
        (Path(override) if override else None, "PERFDASH_LOCUST"),
        (Path(sys.executable).parent / "locust", "perfdash's own environment"),
        (Path(on_path) if on_path else None, "PATH"),
    ])
    if found is None:
        return ToolLocation("locust", None, None, "Locust is not installed (looked in "
                            "PERFDASH_LOCUST, perfdash's own environment and PATH)", FIX)
    path, how = found
    out, err = version_of([str(path), "--version"])
    if err is not None:
        return ToolLocation("locust", path, None, f"{path} does not run: {err}", FIX)
    # "locust 2.47.0 from /…/site-packages/locust (Python 3.11.7)"
    words = (out or "").split()
    return ToolLocation("locust", path, words[1] if len(words) > 1 else out, None, None, how)
