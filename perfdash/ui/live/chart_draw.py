"""Drawing the timeline in text: braille lines for several series on one scale, block areas for one
series, a marker row and an m:ss axis, all on the same columns.

Pure functions from column values to rows of (text, style) runs: no layout, no plotting library,
so the chart widget can rebuild its strips once a second for a few hundred microseconds, and a
test can read what a chart shows without a terminal.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import groupby
from operator import itemgetter

from perfdash.ui.format import clock_time

Run = tuple[str, str]  # (text, style name)
Row = list[Run]

BLOCKS = " ▁▂▃▄▅▆▇█"
BRAILLE = 0x2800
# Dot bits of a braille cell by dot row (0 = bottom), for the left and right dot columns.
_LEFT = (0x40, 0x04, 0x02, 0x01)
_RIGHT = (0x80, 0x20, 0x10, 0x08)
MARKS = {"breach": ("◆", "bold red"), "problem": ("▲", "bold yellow"),
         "tool_exit": ("■", "magenta"), "phase": ("│", "dim")}
MARK_RANK = {"breach": 4, "problem": 3, "tool_exit": 2, "phase": 1}
AXIS_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400)


def runs(cells: Sequence[tuple[str, str]]) -> Row:
    """Cells (character, style) merged into runs of one style."""
    return [("".join(c for c, _ in group), style)
            for style, group in groupby(cells, key=itemgetter(1))]


def scale_top(values: Sequence[float | None], floor: float) -> float:
    """A round upper bound above the largest value (1, 2 or 5 times a power of ten)."""
    top = max((v for v in values if v is not None), default=0.0)
    top = max(top, floor)
    magnitude = 10.0 ** math.floor(math.log10(top)) if top > 0 else 1.0
    for m in (1, 2, 2.5, 5, 10):
        if top <= m * magnitude:
            return m * magnitude
    return top


def area(values: Sequence[float | None], rows: int, top: float, style: str) -> list[Row]:
    """One series as a filled area, `rows` lines tall, top line first; None leaves a gap."""
    steps = rows * 8
    levels = [None if v is None else max(1 if v > 0 else 0,
                                         min(steps, round(v / top * steps))) if top > 0 else 0
              for v in values]
    out = []
    for row in reversed(range(rows)):
        cells = []
        for level in levels:
            part = -1 if level is None else level - row * 8
            cells.append((" " if part <= 0 else BLOCKS[min(8, part)], style if part > 0 else ""))
        out.append(runs(cells))
    return out


def lines(series: Sequence[tuple[Sequence[float | None], str]], rows: int, top: float,
          limit: float | None = None, limit_style: str = "red") -> list[Row]:
    """Several series as braille lines on one scale (later series drawn over earlier ones: put the
    most important last), with an optional horizontal limit line in `limit_style`."""
    width = max((len(v) for v, _ in series), default=0)
    dots = rows * 4
    bits = [[0] * width for _ in range(rows)]
    style = [[""] * width for _ in range(rows)]

    def level(v: float) -> int:
        return max(0, min(dots - 1, round(v / top * (dots - 1)))) if top > 0 else 0

    for values, name in series:
        prev: int | None = None
        for x, v in enumerate(values):
            if v is None:
                prev = None
                continue
            y = level(v)
            low, high = (y, y) if prev is None else (min(prev, y), max(prev, y))
            for d in range(low, high + 1):  # the rise from the previous column, so it reads as a line
                bits[d // 4][x] |= _LEFT[d % 4]
                style[d // 4][x] = name
            bits[y // 4][x] |= _RIGHT[y % 4]
            prev = y
    if limit is not None and 0 <= limit <= top:
        y = level(limit)
        for x in range(width):
            if not bits[y // 4][x]:
                bits[y // 4][x] = _LEFT[y % 4] | (0 if x % 2 else _RIGHT[y % 4])
                style[y // 4][x] = limit_style
    return [runs([(chr(BRAILLE + b) if b else " ", s) for b, s in zip(bits[r], style[r],
                                                                       strict=True)])
            for r in reversed(range(rows))]


def marker_row(markers: Sequence[tuple[tuple[str, str], ...]]) -> Row:
    cells = []
    for marks in markers:
        kinds = [k for k, _ in marks if k in MARKS]
        if not kinds:
            cells.append((" ", ""))
            continue
        char, style = MARKS[max(kinds, key=lambda k: MARK_RANK[k])]
        cells.append((char, style))
    return runs(cells)


def axis_row(count: int, seconds_per_column: int, width: int, cells_per_column: int = 1) -> Row:
    """Tick labels in m:ss under the columns, one every `step` seconds with room between them;
    `cells_per_column` > 1 when a short run is stretched over the width."""
    label_w = len(clock_time(count * seconds_per_column)) + 2
    step = next((s for s in AXIS_STEPS if s % seconds_per_column == 0
                 and s // seconds_per_column * cells_per_column >= label_w), AXIS_STEPS[-1])
    cells = [" "] * width
    every = max(1, step // seconds_per_column * cells_per_column)
    for col in range(0, width, every):
        text = "└" + clock_time(col // cells_per_column * seconds_per_column)
        if col + len(text) > width:
            break
        cells[col:col + len(text)] = text
    return [("".join(cells), "dim")]
