"""An SVG screenshot turned into a PNG with whatever converter this machine has.

Textual writes SVG; a PNG is what goes into a ticket or a chat. cairosvg (Python), rsvg-convert
(librsvg2-bin) and ImageMagick's convert are tried in that order, and each result is checked for
the PNG signature, because a `convert` on PATH is not always ImageMagick. No Textual here.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

MONO_FAMILY = "font-family: Fira Code, monospace"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TIMEOUT_S = 60
NO_CONVERTER = ("no SVG-to-PNG converter found (pip install cairosvg, or apt-get install "
                "librsvg2-bin or imagemagick); the SVG is kept")


def _is_png(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(8) == PNG_SIGNATURE
    except OSError:
        return False


def _cairosvg(svg: Path, png: Path) -> bool:
    try:
        module = importlib.import_module("cairosvg")
    except (ImportError, OSError):  # OSError: the module is there but libcairo is not
        return False
    try:
        # cairosvg takes only the first family and cannot load Textual's web font, so it would
        # fall back to a proportional font and columns would drift; ask for any monospace.
        text = svg.read_text(encoding="utf-8").replace(MONO_FAMILY, "font-family: monospace")
        module.svg2png(bytestring=text.encode("utf-8"), write_to=str(png))
    except Exception:  # any failure inside the converter means: try the next one
        return False
    return True


def _command(argv: list[str]) -> bool:
    if shutil.which(argv[0]) is None:
        return False
    try:
        done = subprocess.run(argv, capture_output=True, timeout=TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def svg_to_png(svg: Path) -> tuple[Path | None, str]:
    """(png, how) when a converter produced a real PNG beside the SVG, else (None, why not)."""
    png = svg.with_suffix(".png")
    attempts: tuple[tuple[str, Callable[[], bool]], ...] = (
        ("cairosvg", lambda: _cairosvg(svg, png)),
        ("rsvg-convert", lambda: _command(["rsvg-convert", "-o", str(png), str(svg)])),
        ("convert", lambda: _command(["convert", str(svg), str(png)])),
    )
    for name, attempt in attempts:
        if attempt() and _is_png(png):
            return png, name
        png.unlink(missing_ok=True)  # a stand-in may leave a file that is not a PNG
    return None, NO_CONVERTER
