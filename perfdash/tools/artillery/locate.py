"""Where Artillery is, in the order a user would expect: $PERFDASH_ARTILLERY, the environment's
`artillery` setting, the project's own `node_modules/.bin`, PATH, and last perfdash's own pinned
copy. Never npx, which may download. The fix sentence fits the case at hand.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from perfdash.settings import Environment
from perfdash.tools.base import ToolLocation
from perfdash.tools.locate import find_node, first_existing

PINNED_VERSION = "2.0.34"


def own_install_dirs() -> list[Path]:
    """perfdash's own pinned Artillery: the data directory a user installs it into, and the source
    checkout's `artillery/` (what `scripts/install.sh` fills)."""
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    checkout = Path(__file__).resolve().parents[3] / "artillery"
    return [data_home / "perfdash" / "artillery", checkout]


def fix_sentence(project_dir: Path) -> str:
    own = own_install_dirs()[0]
    if (project_dir / "package.json").is_file():
        first = f"`npm i -D artillery@{PINNED_VERSION}` in {project_dir}"
    else:
        first = f"`npm install -g artillery@{PINNED_VERSION}`"
    return (f"install it with {first} (or `npm install --prefix {own} artillery@{PINNED_VERSION}` "
            "for perfdash's own copy), or point PERFDASH_ARTILLERY at an artillery binary")


def find_artillery(env: Environment | None, project_dir: Path) -> ToolLocation:
    override = os.environ.get("PERFDASH_ARTILLERY")
    if override and not Path(override).exists():
        return ToolLocation("artillery", None, None, f"PERFDASH_ARTILLERY names {override}, "
                            "which does not exist", "point PERFDASH_ARTILLERY at an artillery "
                            "binary or unset it")
    if env is not None and env.artillery_bin is not None and not env.artillery_bin.exists():
        return ToolLocation("artillery", None, None, f"the environment's artillery setting names "
                            f"{env.artillery_bin}, which does not exist",
                            f"fix artillery in [environments.{env.name}] or remove it")
    bins = [(project_dir / "node_modules" / ".bin" / "artillery", "the project's node_modules")]
    if env is not None and env.working_dir is not None and env.working_dir != project_dir:
        bins.append((env.working_dir / "node_modules" / ".bin" / "artillery",
                     "the working directory's node_modules"))
    on_path = shutil.which("artillery")
    found = first_existing([
        (Path(override) if override else None, "PERFDASH_ARTILLERY"),
        (env.artillery_bin if env is not None else None, "the environment's artillery setting"),
        *bins,
        (Path(on_path) if on_path else None, "PATH"),
        *[(d / "node_modules" / ".bin" / "artillery", "perfdash's own pinned copy")
          for d in own_install_dirs()],
    ])
    if found is None:
        return ToolLocation("artillery", None, None, "Artillery is not installed (looked in "
                            "PERFDASH_ARTILLERY, the project's node_modules, PATH and perfdash's "
                            "own copy)", fix_sentence(project_dir))
    path, how = found
    node = find_node()
    if not node.ok:
        return ToolLocation("artillery", path, None, f"Artillery needs Node.js: {node.problem}",
                            node.fix)
    return ToolLocation("artillery", path, _version(path), None, None, how)


def _version(path: Path) -> str | None:
    """From the package's package.json (node_modules/.bin/artillery -> artillery/bin/run): asking
    the binary costs several seconds of Node start-up."""
    pkg = path.resolve().parent.parent / "package.json"
    try:
        data = json.loads(pkg.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(data.get("version")) if data.get("name") == "artillery" else None
