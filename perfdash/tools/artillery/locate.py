"""Where Artillery is, in the order a user would expect: $PERFDASH_ARTILLERY, the environment's
`artillery` setting, the project's own `node_modules/.bin`, PATH, and last perfdash's own pinned
copy. Never npx, which may download. The fix sentence fits the case at hand, and its install
commands are the ones README gives (tests/test_artillery_install.py runs one from an empty prefix).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from pathlib import Path

from perfdash.settings import Environment
from perfdash.tools.base import ToolLocation
from perfdash.tools.locate import find_node, first_existing

PINNED_VERSION = "2.0.34"
# Artillery depends on Playwright, whose install script downloads a browser (hundreds of MB, and a
# failed install where the download cannot finish); perfdash never drives a browser.
SKIP_BROWSER = "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1"
# Artillery 2.0.34 declares Node >= 22.18 (npm warns EBADENGINE on older ones) and runs on Node 20:
# perfdash's tests run it on 20.20. Older than 20 is refused here.
NODE_DECLARED = "22.18"
NODE_MIN_MAJOR = 20
README_PREFIX = "~/.local/share/perfdash/artillery"  # the data directory, as a shell expands it
NPM_QUIET = "--no-audit --no-fund"


def own_install_command(prefix: Path | None = None) -> str:
    """The shell command that installs perfdash's own pinned copy into `prefix` (default: the
    README's `~/.local/share/perfdash/artillery`, left for the shell to expand)."""
    where = shlex.quote(str(prefix)) if prefix is not None else README_PREFIX
    return f"{SKIP_BROWSER} npm install --prefix {where} {NPM_QUIET} artillery@{PINNED_VERSION}"


def own_install_dirs() -> list[Path]:
    """perfdash's own pinned Artillery: the data directory a user installs it into, and the source
    checkout's `artillery/` (what `scripts/install.sh` fills)."""
    data_home = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    checkout = Path(__file__).resolve().parents[3] / "artillery"
    return [data_home / "perfdash" / "artillery", checkout]


def fix_sentence(project_dir: Path) -> str:
    own = own_install_dirs()[0]
    if (project_dir / "package.json").is_file():
        first = f"`{SKIP_BROWSER} npm install -D {NPM_QUIET} artillery@{PINNED_VERSION}` in {project_dir}"
    else:
        first = f"`{SKIP_BROWSER} npm install -g {NPM_QUIET} artillery@{PINNED_VERSION}`"
    return (f"install it with {first} (or `{own_install_command(own)}` for perfdash's own copy; "
            f"Node.js {NODE_MIN_MAJOR} or newer), or point PERFDASH_ARTILLERY at an artillery binary")


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
    major = _major(node.version)
    if major is not None and major < NODE_MIN_MAJOR:
        return ToolLocation("artillery", path, None, f"Artillery {PINNED_VERSION} needs Node.js "
                            f"{NODE_MIN_MAJOR} or newer; {node.path} is {node.version}",
                            f"install Node.js {NODE_DECLARED} or newer (what Artillery declares; "
                            f"{NODE_MIN_MAJOR} works too) and put it first on PATH")
    on_node = f", on Node.js {node.version}" if node.version else ""
    return ToolLocation("artillery", path, _version(path), None, None, how + on_node)


def _major(version: str | None) -> int | None:
    found = re.search(r"(\d+)\.\d+", version or "")
    return int(found.group(1)) if found else None


def _version(path: Path) -> str | None:
    """From the package's package.json (node_modules/.bin/artillery -> artillery/bin/run): asking
    the binary costs several seconds of Node start-up."""
    pkg = path.resolve().parent.parent / "package.json"
    try:
        data = json.loads(pkg.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return str(data.get("version")) if data.get("name") == "artillery" else None
