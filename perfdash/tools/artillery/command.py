"""The `artillery run` command a profile implies, for any scenario YAML, unedited.

The target comes from the environment (or the profile's `target`) through `--target`, the
profile's phases (if any) and the progress plugin through `--overrides` (Artillery deep-merges
it into the script's config, replacing arrays), and the profile's `environment` through `-e`.
A profile that splits the config from the scenarios names its config file through `--config`.
The user's own plugins (`ensure`, `metrics-by-endpoint`, `apdex`) are untouched. The plugin is
loaded from perfdash's package through ARTILLERY_PLUGIN_PATH: nothing is installed in the project.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from perfdash.settings import Profile

PLUGIN = "perfdash-progress"


def plugin_dir() -> Path:
    return Path(__file__).resolve().parent / "plugins"


def run_argv(artillery: Path, profile: Profile, run_dir: Path, base_url: str | None) -> list[str]:
    assert profile.artillery_script is not None
    config: dict[str, Any] = {"plugins": {PLUGIN: {}}}
    if profile.artillery_phases:
        config["phases"] = [dict(p) for p in profile.artillery_phases]
    target = profile.artillery_target or base_url
    return [
        str(artillery), "run", "--output", str(run_dir / f"artillery-{profile.name}.json"),
        *(["--target", target] if target else []),
        *(["-e", profile.artillery_environment] if profile.artillery_environment else []),
        "--overrides", json.dumps({"config": config}),
        *(["--config", str(profile.artillery_config)] if profile.artillery_config else []),
        str(profile.artillery_script),
    ]


def child_env(run_dir: Path) -> dict[str, str]:
    return {
        "ARTILLERY_DISABLE_TELEMETRY": "true",
        "ARTILLERY_PLUGIN_PATH": str(plugin_dir()),
        "PERFDASH_PROGRESS_FILE": str(run_dir / "artillery-progress.ndjson"),
        "NO_COLOR": "1",
    }
