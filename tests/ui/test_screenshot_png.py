"""The PNG screenshot shows what the terminal showed: the live screen's braille charts and the result
view's block charts, read back pixel by pixel from the PNG at the cells where the screen had them.

A cell (c, r) of a W×H screen is the rectangle of the PNG starting at (c * png.width / W,
r * png.height / H). A braille character is a 2×4 grid of dots (Unicode's dot numbering); a dot's
place is the centre of its half-column and quarter-row, lit when its bit is set and dark otherwise.
An empty rectangle (a font without the glyph) lights none of those centres and lights the cell's
outline, which no braille pattern with few dots does.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from rich.segment import Segment
from rich.style import Style
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Static

from perfdash.ui import raster
from perfdash.ui.app import make_app
from perfdash.ui.screenshot import PNG_SIGNATURE, screen_lines, write_png
from tests.ui.conftest import FAIL_RUN, MID_RUN_S, PASS_RUN, live_rig, recorded
from tests.ui.live_ticks import with_ticks

SIZE = (160, 48)
# Each dot alone, then full, blank, columns and rows: every bit lit somewhere and dark somewhere.
PROBE = "⠁⠂⠄⡀⠈⠐⠠⢀⣿⠀⡇⢸⠛⣤⢕⡪"
PROBE_FG, PROBE_BG = (255, 255, 255), (0, 0, 0)
DOTS = ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3), (1, 3))  # bit → (column, row)
# Block elements: points (fractions of the cell) and whether the foreground covers them.
BLOCKS: dict[str, tuple[tuple[float, float, bool], ...]] = {
    "█": ((0.5, 0.1, True), (0.5, 0.9, True), (0.1, 0.5, True), (0.9, 0.5, True)),
    "▄": ((0.5, 0.25, False), (0.5, 0.75, True)),
    "▀": ((0.5, 0.25, True), (0.5, 0.75, False)),
    "▔": ((0.5, 0.02, True), (0.5, 0.5, False)),
    "▁": ((0.5, 0.98, True), (0.5, 0.5, False)),
    "▖": ((0.25, 0.25, False), (0.75, 0.25, False), (0.25, 0.75, True), (0.75, 0.75, False)),
    "▗": ((0.25, 0.25, False), (0.75, 0.25, False), (0.25, 0.75, False), (0.75, 0.75, True)),
    "▘": ((0.25, 0.25, True), (0.75, 0.25, False), (0.25, 0.75, False), (0.75, 0.75, False)),
    "▝": ((0.25, 0.25, False), (0.75, 0.25, True), (0.25, 0.75, False), (0.75, 0.75, False)),
    "▚": ((0.25, 0.25, True), (0.75, 0.25, False), (0.25, 0.75, False), (0.75, 0.75, True)),
    "▞": ((0.25, 0.25, False), (0.75, 0.25, True), (0.25, 0.75, True), (0.75, 0.75, False)),
}


class Shot:
    """A PNG of a screen and the cells the screen had when it was taken."""

    def __init__(self, png: Path, cells: list[list[raster.Cell]]) -> None:
        with png.open("rb") as f:
            assert f.read(8) == PNG_SIGNATURE
        self.image = Image.open(png).convert("RGB")
        self.cells = cells
        columns, rows = SIZE
        assert self.image.width % columns == 0, "an exact cell grid"
        assert self.image.height % rows == 0, "an exact cell grid"
        self.cell_w, self.cell_h = self.image.width // columns, self.image.height // rows

    def at(self, column: int, row: int, fx: float, fy: float) -> tuple[int, int, int]:
        x = int(column * self.cell_w + fx * self.cell_w)
        y = int(row * self.cell_h + fy * self.cell_h)
        r, g, b = self.image.getpixel((x, y))  # type: ignore[misc]
        return r, g, b

    def lit_pixels(self, column: int, row: int, fg: tuple[int, int, int]) -> int:
        box = (column * self.cell_w, row * self.cell_h, (column + 1) * self.cell_w, (row + 1) * self.cell_h)
        counts = self.image.crop(box).getcolors(maxcolors=self.cell_w * self.cell_h) or []
        return sum(n for n, colour in counts if colour == fg)

    def where(self, wanted: str) -> Iterator[tuple[int, int, raster.Cell]]:
        for r, row in enumerate(self.cells):
            c = 0
            for cell in row:
                if cell.text in wanted:
                    yield c, r, cell
                c += cell.width


def _check_braille(shot: Shot, column: int, row: int, cell: raster.Cell) -> None:
    bits = ord(cell.text) - 0x2800
    where = f"{cell.text!r} at column {column}, row {row}"
    for bit, (dx, dy) in enumerate(DOTS):
        seen = shot.at(column, row, (2 * dx + 1) / 4, (2 * dy + 1) / 8)
        expected = cell.fg if bits & (1 << bit) else cell.bg
        assert seen == expected, f"dot {bit + 1} of {where}: {seen}, not {expected}"
    # Between the dots of a column the cell is dark, and a few dots light a few pixels, not an outline.
    for dy in range(3):
        assert shot.at(column, row, 0.25, (dy + 1) / 4) == cell.bg, f"between the dots of {where}"
    lit = shot.lit_pixels(column, row, cell.fg)
    dots = bin(bits).count("1")
    assert lit <= dots * shot.cell_w * shot.cell_h / 8 * 0.6, f"{where} lights {lit} pixels"
    assert (lit == 0) == (dots == 0), where


def _check_probe(shot: Shot) -> None:
    found = [(c, r) for r, row in enumerate(shot.cells) for c in range(len(row))
             if "".join(cell.text for cell in row[c:c + len(PROBE)]) == PROBE]
    assert len(found) == 1, "the probe is on the screen once"
    column, row = found[0]
    for i, cell in enumerate(shot.cells[row][column:column + len(PROBE)]):
        assert (cell.fg, cell.bg) == (PROBE_FG, PROBE_BG)
        _check_braille(shot, column + i, row, cell)
    assert shot.at(column + 8, row, 0.25, 1 / 8) == PROBE_FG  # ⣿: light where the dots are …
    assert shot.at(column + 9, row, 0.25, 1 / 8) == PROBE_BG  # … ⠀: dark


async def _shoot(app: App[object], pilot: Pilot[object], tmp_path: Path, name: str) -> Shot:
    probe = Static(PROBE, id="probe")
    probe.styles.dock = "bottom"
    probe.styles.width = len(PROBE)
    probe.styles.height = 1
    probe.styles.color = "#ffffff"
    probe.styles.background = "#000000"
    await app.screen.mount(probe)
    await pilot.pause()
    lines = screen_lines(app)
    png, how = write_png(lines, tmp_path / f"{name}.png")
    assert png is not None, how
    return Shot(png, raster.cells_from_lines(lines))


async def test_live_screen_png_has_every_braille_dot(tmp_path: Path) -> None:
    rig = live_rig()
    rig.app.state.files_dir = PASS_RUN
    async with rig.app.run_test(size=SIZE) as pilot:
        rig.feed(with_ticks(recorded(FAIL_RUN, MID_RUN_S)))
        await pilot.pause()
        shot = await _shoot(rig.app, pilot, tmp_path, "live")
    _check_probe(shot)
    braille = list(shot.where("".join(chr(c) for c in range(0x2801, 0x2900))))
    assert len(braille) > 300, "the charts (req/s, latency, host, database) are braille"
    for column, row, cell in braille:
        _check_braille(shot, column, row, cell)


async def test_result_view_png_has_its_charts_and_braille(tmp_path: Path) -> None:
    app = make_app(summary_dir=FAIL_RUN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        shot = await _shoot(app, pilot, tmp_path, "result")
    _check_probe(shot)
    blocks = list(shot.where("".join(BLOCKS)))
    assert len(blocks) > 300, "the result view's charts are half and quadrant blocks"
    for column, row, cell in blocks:
        for fx, fy, lit in BLOCKS[cell.text]:
            expected = cell.fg if lit else cell.bg
            assert shot.at(column, row, fx, fy) == expected, f"{cell.text!r} at {column}, {row}"


async def test_box_lines_meet_their_neighbours(tmp_path: Path) -> None:
    app = make_app(summary_dir=FAIL_RUN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        shot = await _shoot(app, pilot, tmp_path, "result")
    runs = 0
    for r, row in enumerate(shot.cells):
        c = 0
        while c < len(row):
            end = c
            while end < len(row) and row[end].text == "─" and row[end].fg == row[c].fg:
                end += 1
            if end - c >= 4:
                runs += 1
                y0, fg = r * shot.cell_h, row[c].fg
                xs = range(c * shot.cell_w, end * shot.cell_w)
                assert any(all(shot.image.getpixel((x, y)) == fg for x in xs)
                           for y in range(y0, y0 + shot.cell_h)), f"a gap in the line at row {r}"
            c = max(end, c + 1)
    assert runs >= 5


def test_a_character_the_monospace_font_lacks_comes_from_a_font_that_has_it() -> None:
    """😀 is in DejaVu Sans, not DejaVu Sans Mono: drawn from the first, over two columns, not as
    the mono font's empty rectangle; 中 is in neither here and shows that rectangle, as a terminal would."""
    fonts = raster.find_fonts()
    assert fonts is not None
    if "DejaVuSansMono" not in fonts.regular.name or shutil.which("fc-match") is None:
        pytest.skip("needs DejaVu Sans Mono and fontconfig")
    white, black = (255, 255, 255), (0, 0, 0)

    def drawn(text: str) -> tuple[bytes, raster.Grid]:
        image, grid = raster.rasterise([raster.cells_from_lines([[Segment(text)]])[0]], fonts)
        return image.convert("L").point(lambda v: 255 if v > 128 else 0).tobytes(), grid

    cells = raster.cells_from_lines([[Segment("😀", Style(color="#ffffff", bgcolor="#000000"))]])
    assert [(c.text, c.width, c.fg, c.bg) for c in cells[0]] == [("😀", 2, white, black)]
    face, grid = drawn("😀")
    assert grid.columns == 2
    assert face != drawn(raster.UNMAPPED + " ")[0], "not the missing-glyph rectangle"
    assert any(face), "something is drawn"
    if shutil.which("fc-list") and not subprocess.run(["fc-list", ":charset=4e2d"], capture_output=True,
                                                      text=True, check=False).stdout.strip():
        assert drawn("中")[0] == drawn(raster.UNMAPPED + " ")[0]
