"""A terminal screen, as lines of Rich segments, drawn cell by cell into a PNG.

Converting Textual's SVG leaves every glyph to the converter's font matching: cairosvg has no
fallback (braille became empty rectangles) and librsvg's fallback takes braille from a proportional
font whose dots neither fill the cell nor line up. Drawing the cells ourselves fixes the grid: each
character is placed at its own column, braille, blocks and box lines are shapes (cell_glyphs), and
only text comes from a monospace font, with a font that has the character when that one does not.
Colours follow Rich's SVG export (same theme, dim and reverse), so the PNG and the SVG agree.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from rich.cells import get_character_cell_size
from rich.color import blend_rgb
from rich.color_triplet import ColorTriplet
from rich.segment import Segment
from rich.style import Style
from rich.terminal_theme import SVG_EXPORT_THEME, TerminalTheme

from perfdash.ui.cell_glyphs import RGB, draw_glyph, is_drawn

FONT_PX = 18
FC_TIMEOUT_S = 5
# Checked before asking fontconfig: where Debian, Fedora and Arch put these fonts, and the name
# stems of their bold, italic and bold italic faces.
KNOWN_MONO = (
    ("/usr/share/fonts/truetype/dejavu", "DejaVuSansMono", ("-Bold", "-Oblique", "-BoldOblique")),
    ("/usr/share/fonts/dejavu-sans-mono-fonts", "DejaVuSansMono", ("-Bold", "-Oblique", "-BoldOblique")),
    ("/usr/share/fonts/TTF", "DejaVuSansMono", ("-Bold", "-Oblique", "-BoldOblique")),
    ("/usr/share/fonts/truetype/liberation", "LiberationMono", ("-Bold", "-Italic", "-BoldItalic")),
)
UNMAPPED = "\U0010fffd"  # a private-use code point no text font maps: renders as the font's .notdef
BLANK = frozenset(" \xa0")


@dataclass(frozen=True)
class Cell:
    text: str  # one character, plus any zero-width ones that combine with it
    fg: RGB
    bg: RGB
    bold: bool = False
    italic: bool = False
    underline: bool = False
    strike: bool = False
    width: int = 1  # columns: 2 for a wide (East Asian, emoji) character


@dataclass(frozen=True)
class Grid:
    """Where cells land in the picture: column c, row r starts at (c * cell_w, r * cell_h)."""

    columns: int
    rows: int
    cell_w: int
    cell_h: int


@dataclass(frozen=True)
class FontFiles:
    regular: Path
    bold: Path | None = None
    italic: Path | None = None
    bold_italic: Path | None = None


def _rgb(color: ColorTriplet) -> RGB:
    return color.red, color.green, color.blue


@lru_cache(maxsize=512)
def _colours(style: Style | None, theme: TerminalTheme = SVG_EXPORT_THEME) -> tuple[RGB, RGB]:
    """(foreground, background) as Rich's SVG export computes them."""
    if style is None:
        return _rgb(theme.foreground_color), _rgb(theme.background_color)
    fg = (theme.foreground_color if style.color is None or style.color.is_default
          else style.color.get_truecolor(theme))
    bg = (theme.background_color if style.bgcolor is None or style.bgcolor.is_default
          else style.bgcolor.get_truecolor(theme))
    if style.reverse:
        fg, bg = bg, fg
    if style.dim:
        fg = blend_rgb(fg, bg, 0.4)
    return _rgb(fg), _rgb(bg)


def cells_from_lines(lines: Iterable[list[Segment]]) -> list[list[Cell]]:
    """One list of cells a screen line; control segments are skipped, zero-width characters join
    the cell before them."""
    rows: list[list[Cell]] = []
    for line in lines:
        row: list[Cell] = []
        for segment in line:
            if segment.control:
                continue
            style = segment.style
            fg, bg = _colours(style)
            bold = bool(style and style.bold)
            italic = bool(style and style.italic)
            underline = bool(style and style.underline)
            strike = bool(style and style.strike)
            for ch in segment.text:
                width = get_character_cell_size(ch)
                if width == 0:
                    if row:
                        last = row[-1]
                        row[-1] = Cell(last.text + ch, last.fg, last.bg, last.bold, last.italic,
                                       last.underline, last.strike, last.width)
                    continue
                row.append(Cell(ch, fg, bg, bold, italic, underline, strike, width))
        rows.append(row)
    return rows


def _fc_match(pattern: str, want_mono: bool) -> Path | None:
    if shutil.which("fc-match") is None:
        return None
    try:
        done = subprocess.run(["fc-match", "-f", "%{file}\n%{spacing}", pattern], capture_output=True,
                              text=True, timeout=FC_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    file, _, spacing = done.stdout.partition("\n")
    if done.returncode != 0 or not file.lower().endswith((".ttf", ".otf", ".ttc")):
        return None
    if want_mono and spacing.strip() != "100":  # fontconfig's FC_MONO
        return None
    path = Path(file)
    return path if path.is_file() else None


def find_fonts() -> FontFiles | None:
    """A monospace TrueType/OpenType font and whichever of its bold and italic faces exist, or None."""
    for folder, stem, (bold, italic, bold_italic) in KNOWN_MONO:
        regular = Path(folder) / f"{stem}.ttf"
        if regular.is_file():
            faces = [Path(folder) / f"{stem}{suffix}.ttf" for suffix in (bold, italic, bold_italic)]
            return FontFiles(regular, *(face if face.is_file() else None for face in faces))
    regular_path = _fc_match("monospace", want_mono=True)
    if regular_path is None:
        return None
    styled = [_fc_match(f"monospace:{style}", want_mono=True) for style in ("bold", "italic", "bold:italic")]
    return FontFiles(regular_path, *(face if face != regular_path else None for face in styled))


class _FontSet:
    """The faces at one size, with a fallback face per character the monospace font lacks."""

    def __init__(self, files: FontFiles, px: int) -> None:
        self.px = px
        self.regular = ImageFont.truetype(str(files.regular), px)
        self.faces = {(False, False): self.regular}
        for key, path in (((True, False), files.bold), ((False, True), files.italic),
                          ((True, True), files.bold_italic or files.bold)):
            self.faces[key] = ImageFont.truetype(str(path), px) if path else self.regular
        ascent, descent = self.regular.getmetrics()
        self.ascent = ascent
        self.cell_h = ascent + descent
        self.cell_w = max(1, round(self.regular.getlength("M")))
        self._fallback: dict[str, ImageFont.FreeTypeFont] = {}

    @staticmethod
    def _has(font: ImageFont.FreeTypeFont, text: str) -> bool:
        return _mask_key(font, text) != _mask_key(font, UNMAPPED)

    def face(self, text: str, bold: bool, italic: bool) -> ImageFont.FreeTypeFont:
        font = self.faces[bold, italic]
        if text in self._fallback:
            return self._fallback[text]
        if self._has(font, text):
            return font
        other = _fc_match(f":charset={ord(text[0]):x}", want_mono=False)
        chosen = font
        if other is not None:
            candidate = ImageFont.truetype(str(other), self.px)
            if self._has(candidate, text):
                chosen = candidate
        self._fallback[text] = chosen  # the .notdef box, as a terminal would show, when none has it
        return chosen


@lru_cache(maxsize=4096)
def _mask_key(font: ImageFont.FreeTypeFont, text: str) -> bytes:
    """The character's pixels in this face: equal to UNMAPPED's exactly when the face lacks it."""
    size = round(font.size * 2)
    picture = Image.new("L", (size, size), 0)
    ImageDraw.Draw(picture).text((0, 0), text, font=font, fill=255)
    return picture.tobytes()


def rasterise(rows: list[list[Cell]], fonts: FontFiles, px: int = FONT_PX) -> tuple[Image.Image, Grid]:
    """The picture of `rows` and the grid it was drawn on."""
    faces = _FontSet(fonts, px)
    columns = max((sum(c.width for c in row) for row in rows), default=0)
    grid = Grid(columns, len(rows), faces.cell_w, faces.cell_h)
    background = rows[0][0].bg if rows and rows[0] else _rgb(SVG_EXPORT_THEME.background_color)
    image = Image.new("RGB", (max(1, columns * grid.cell_w), max(1, grid.rows * grid.cell_h)), background)
    draw = ImageDraw.Draw(image)
    for r, row in enumerate(rows):
        top = r * grid.cell_h
        x = 0
        for cell in row:  # backgrounds first: a wide glyph or a fallback face may reach the next cell
            draw.rectangle((x, top, x + cell.width * grid.cell_w - 1, top + grid.cell_h - 1), fill=cell.bg)
            x += cell.width * grid.cell_w
        x = 0
        for cell in row:
            width = cell.width * grid.cell_w
            box = (x, top, width, grid.cell_h)
            if is_drawn(cell.text):
                draw_glyph(draw, cell.text, box, cell.fg, cell.bg)
            elif cell.text not in BLANK:
                font = faces.face(cell.text, cell.bold, cell.italic)
                draw.text((x, top + faces.ascent), cell.text, font=font, fill=cell.fg, anchor="ls")
            if cell.underline:
                y = min(top + grid.cell_h - 1, top + faces.ascent + 2)
                draw.line((x, y, x + width - 1, y), fill=cell.fg)
            if cell.strike:
                y = top + faces.ascent - round(faces.px * 0.3)
                draw.line((x, y, x + width - 1, y), fill=cell.fg)
            x += width
    return image, grid


def write_png(rows: list[list[Cell]], png: Path, fonts: FontFiles, px: int = FONT_PX) -> Grid:
    image, grid = rasterise(rows, fonts, px)
    image.save(png, format="PNG", optimize=False, compress_level=6)
    return grid
