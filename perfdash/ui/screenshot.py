"""The screen as a PNG beside Textual's SVG: what goes into a ticket must show what the terminal showed.

SVG converters draw the text with whatever fonts match (cairosvg turned every braille chart into a
row of empty rectangles), so the PNG is drawn from the screen's own cells instead (perfdash.ui.raster).
The cells are taken on the UI thread, the same way Textual's `export_screenshot` takes them; drawing
and writing the file can then run in a worker. Without a monospace font there is no PNG, and the
reason says how to get one: never a PNG that shows boxes.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.segment import Segment
from textual.app import App

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NO_FONT = ("no monospace TrueType font found to draw the PNG with (apt-get install fonts-dejavu-core, "
           "or scripts/install.sh); the SVG is kept")
NO_PILLOW = "Pillow is not installed (pip install pillow); the SVG is kept"


def screen_lines(app: App[Any]) -> list[list[Segment]]:
    """The current screen, modals over their background included, as one list of segments per line.

    Call on the UI thread: it renders the compositor as `App.export_screenshot` does (that method
    returns only SVG text), into a console of the screen's size."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", legacy_windows=False, safe_box=False)
    update = app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    if update is None:  # only for a partial update; a full one always renders
        return []
    segments = Segment.filter_control(console.render(update, console.options))
    return list(Segment.split_and_crop_lines(segments, width, pad=True))[:height]


def write_png(lines: list[list[Segment]], png: Path) -> tuple[Path | None, str]:
    """(png, how) when the PNG was written, else (None, why not and how to get one)."""
    try:
        from perfdash.ui import raster
    except ImportError:
        return None, NO_PILLOW
    fonts = raster.find_fonts()
    if fonts is None:
        return None, NO_FONT
    try:
        grid = raster.write_png(raster.cells_from_lines(lines), png, fonts)
    except OSError as exc:
        png.unlink(missing_ok=True)
        return None, f"cannot write {png}: {exc.strerror or exc}; the SVG is kept"
    return png, f"{grid.columns}×{grid.rows} cells in {fonts.regular.stem}"
