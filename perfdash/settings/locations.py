"""Where settings live: the file names perfdash looks for in a project, and the demo project and
seed shipped inside the package, so `perfdash demo` runs from any directory.
"""

from __future__ import annotations

from pathlib import Path

CONFIG_NAME = "profiles.toml"
# The demo project shipped inside the package: `perfdash demo` runs it from any directory.
DEMO_PROJECT = Path(__file__).resolve().parents[1] / "demo" / "project"
DEMO_SEED = Path(__file__).resolve().parents[1] / "demo" / "seed.sql"
ENV_FILE_NAME = ".env.performance"
