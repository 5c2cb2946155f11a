"""Braille, block elements and box-drawing lines drawn as shapes filling a terminal cell.

A terminal draws these from geometry, not from the font: the charts are braille (2×4 dots a cell),
the bars are eighth blocks, the panels are box lines that must meet their neighbours. Monospace
fonts rarely carry braille (DejaVu Sans Mono does not), and a fallback font's glyphs neither fill
the cell nor sit on its grid, so a screenshot that relied on fonts showed empty rectangles or
dotted smudges. Characters not handled here (double or dashed lines, ▲◆■, text) go to the font.
"""

from __future__ import annotations

from PIL import ImageDraw

RGB = tuple[int, int, int]
Box = tuple[int, int, int, int]  # left, top, width, height in pixels

# Braille bit → (column, row) of its dot in the 2×4 grid (Unicode's dot numbering 1–8).
BRAILLE_DOTS = ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2), (0, 3), (1, 3))

LIGHT, HEAVY = 1, 2
# Box-drawing line weights towards (left, up, right, down) for the single-line characters.
BOX_ARMS: dict[str, tuple[int, int, int, int]] = {
    "─": (1, 0, 1, 0), "━": (2, 0, 2, 0), "│": (0, 1, 0, 1), "┃": (0, 2, 0, 2),
    "┌": (0, 0, 1, 1), "┍": (0, 0, 2, 1), "┎": (0, 0, 1, 2), "┏": (0, 0, 2, 2),
    "┐": (1, 0, 0, 1), "┑": (2, 0, 0, 1), "┒": (1, 0, 0, 2), "┓": (2, 0, 0, 2),
    "└": (0, 1, 1, 0), "┕": (0, 1, 2, 0), "┖": (0, 2, 1, 0), "┗": (0, 2, 2, 0),
    "┘": (1, 1, 0, 0), "┙": (2, 1, 0, 0), "┚": (1, 2, 0, 0), "┛": (2, 2, 0, 0),
    "├": (0, 1, 1, 1), "┝": (0, 1, 2, 1), "┠": (0, 2, 1, 2), "┣": (0, 2, 2, 2),
    "┤": (1, 1, 0, 1), "┥": (2, 1, 0, 1), "┨": (1, 2, 0, 2), "┫": (2, 2, 0, 2),
    "┬": (1, 0, 1, 1), "┯": (2, 0, 2, 1), "┰": (1, 0, 1, 2), "┳": (2, 0, 2, 2),
    "┴": (1, 1, 1, 0), "┷": (2, 1, 2, 0), "┸": (1, 2, 1, 0), "┻": (2, 2, 2, 0),
    "┼": (1, 1, 1, 1), "┿": (2, 1, 2, 1), "╂": (1, 2, 1, 2), "╋": (2, 2, 2, 2),
    "╴": (1, 0, 0, 0), "╵": (0, 1, 0, 0), "╶": (0, 0, 1, 0), "╷": (0, 0, 0, 1),
    "╸": (2, 0, 0, 0), "╹": (0, 2, 0, 0), "╺": (0, 0, 2, 0), "╻": (0, 0, 0, 2),
    "╼": (1, 0, 2, 0), "╽": (0, 1, 0, 2), "╾": (2, 0, 1, 0), "╿": (0, 2, 0, 1),
}
# Rounded corners: which quarter of a circle, as Pillow's arc angles (clockwise from 3 o'clock), and
# the arms (left, up, right, down) the curve joins.
ROUNDED: dict[str, tuple[int, int, tuple[int, int, int, int]]] = {
    "╭": (180, 270, (0, 0, 1, 1)), "╮": (270, 360, (1, 0, 0, 1)),
    "╯": (0, 90, (1, 1, 0, 0)), "╰": (90, 180, (0, 1, 1, 0)),
}
# Quadrant blocks ▖…▟: which of (upper left, upper right, lower left, lower right) are filled.
QUADRANTS: dict[str, tuple[bool, bool, bool, bool]] = {
    "▖": (False, False, True, False), "▗": (False, False, False, True),
    "▘": (True, False, False, False), "▙": (True, False, True, True),
    "▚": (True, False, False, True), "▛": (True, True, True, False),
    "▜": (True, True, False, True), "▝": (False, True, False, False),
    "▞": (False, True, True, False), "▟": (False, True, True, True),
}
SHADES = {"░": 0.25, "▒": 0.5, "▓": 0.75}


def is_drawn(ch: str) -> bool:
    """True when `draw_glyph` draws `ch` itself rather than leaving it to the font."""
    code = ord(ch) if len(ch) == 1 else -1
    return 0x2800 <= code <= 0x28FF or 0x2580 <= code <= 0x259F or ch in BOX_ARMS or ch in ROUNDED


def braille_dot_size(width: int, height: int) -> int:
    """Side of one square dot: about 60% of the smaller side of its 1/2 × 1/4 share of the cell,
    so neighbouring dots stay apart and a line of them reads as dots, as in a terminal."""
    return max(1, round(min(width / 2, height / 4) * 0.6))


def braille_dot_centre(box: Box, column: int, row: int) -> tuple[float, float]:
    left, top, width, height = box
    return left + width * (2 * column + 1) / 4, top + height * (2 * row + 1) / 8


def _blend(fg: RGB, bg: RGB, amount: float) -> RGB:
    r, g, b = (round(f * amount + k * (1 - amount)) for f, k in zip(fg, bg, strict=True))
    return r, g, b


def _rect(draw: ImageDraw.ImageDraw, x0: float, y0: float, x1: float, y1: float, fill: RGB) -> None:
    """Fill [x0, x1) × [y0, y1) after rounding, so fractions of neighbouring cells tile exactly."""
    ix0, iy0, ix1, iy1 = round(x0), round(y0), round(x1), round(y1)
    if ix1 > ix0 and iy1 > iy0:
        draw.rectangle((ix0, iy0, ix1 - 1, iy1 - 1), fill=fill)


def _braille(draw: ImageDraw.ImageDraw, bits: int, box: Box, fg: RGB) -> None:
    size = braille_dot_size(box[2], box[3])
    for bit, (column, row) in enumerate(BRAILLE_DOTS):
        if bits & (1 << bit):
            cx, cy = braille_dot_centre(box, column, row)
            x0, y0 = round(cx - size / 2), round(cy - size / 2)
            draw.rectangle((x0, y0, x0 + size - 1, y0 + size - 1), fill=fg)


def _block(draw: ImageDraw.ImageDraw, ch: str, box: Box, fg: RGB, bg: RGB) -> None:
    left, top, width, height = box
    right, bottom = left + width, top + height
    code = ord(ch)
    if ch == "▀":
        _rect(draw, left, top, right, top + height / 2, fg)
    elif 0x2581 <= code <= 0x2588:  # ▁ … █: lower eighths
        _rect(draw, left, bottom - height * (code - 0x2580) / 8, right, bottom, fg)
    elif 0x2589 <= code <= 0x258F:  # ▉ … ▏: left eighths, seven down to one
        _rect(draw, left, top, left + width * (0x2590 - code) / 8, bottom, fg)
    elif ch == "▐":
        _rect(draw, left + width / 2, top, right, bottom, fg)
    elif ch in SHADES:
        _rect(draw, left, top, right, bottom, _blend(fg, bg, SHADES[ch]))
    elif ch == "▔":
        _rect(draw, left, top, right, top + height / 8, fg)
    elif ch == "▕":
        _rect(draw, right - width / 8, top, right, bottom, fg)
    else:
        mid_x, mid_y = left + width / 2, top + height / 2
        upper_left, upper_right, lower_left, lower_right = QUADRANTS[ch]
        for filled, (x0, y0, x1, y1) in (
            (upper_left, (left, top, mid_x, mid_y)), (upper_right, (mid_x, top, right, mid_y)),
            (lower_left, (left, mid_y, mid_x, bottom)), (lower_right, (mid_x, mid_y, right, bottom)),
        ):
            if filled:
                _rect(draw, x0, y0, x1, y1, fg)


def line_thickness(width: int, weight: int) -> int:
    light = max(1, round(width / 10))
    return light if weight == LIGHT else 2 * light + 1


def _arms(draw: ImageDraw.ImageDraw, arms: tuple[int, int, int, int], box: Box, fg: RGB,
          inset: int = 0) -> None:
    """Lines from the cell's centre to the middle of each edge with a weight; `inset` keeps them
    off the centre by that many pixels (a rounded corner's curve fills the gap)."""
    left, top, width, height = box
    cx, cy = left + width // 2, top + height // 2
    to_left, up, to_right, down = arms
    widest = max(line_thickness(width, w) for w in arms if w)
    half = widest // 2
    for weight, horizontal, start, end in (
        (to_left, True, left, cx + widest - half - inset), (to_right, True, cx - half + inset, left + width),
        (up, False, top, cy + widest - half - inset), (down, False, cy - half + inset, top + height),
    ):
        if not weight:
            continue
        t = line_thickness(width, weight)
        if horizontal:
            y0 = cy - t // 2
            draw.rectangle((start, y0, end - 1, y0 + t - 1), fill=fg)
        else:
            x0 = cx - t // 2
            draw.rectangle((x0, start, x0 + t - 1, end - 1), fill=fg)


def _rounded(draw: ImageDraw.ImageDraw, ch: str, box: Box, fg: RGB) -> None:
    start, end, arms = ROUNDED[ch]
    left, top, width, height = box
    cx, cy = left + width // 2, top + height // 2
    t = line_thickness(width, LIGHT)
    radius = min(width, height) // 2
    _, _, to_right, down = arms
    # The circle's centre sits `radius` towards the two arms; the arc's stroke is centred on the lines.
    ox = cx + (radius if to_right else -radius)
    oy = cy + (radius if down else -radius)
    lo, hi = t // 2, t - t // 2
    draw.arc((ox - radius - lo, oy - radius - lo, ox + radius + hi - 1, oy + radius + hi - 1),
             start, end, fill=fg, width=t)
    _arms(draw, arms, box, fg, inset=radius)


def draw_glyph(draw: ImageDraw.ImageDraw, ch: str, box: Box, fg: RGB, bg: RGB) -> None:
    """Draw `ch` (for which `is_drawn` is true) in `fg` over a cell already filled with `bg`."""
    code = ord(ch)
    if 0x2800 <= code <= 0x28FF:
        _braille(draw, code - 0x2800, box, fg)
    elif 0x2580 <= code <= 0x259F:
        _block(draw, ch, box, fg, bg)
    elif ch in ROUNDED:
        _rounded(draw, ch, box, fg)
    else:
        _arms(draw, BOX_ARMS[ch], box, fg)
