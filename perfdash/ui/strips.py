"""Rich `Text` lines into Textual strips, for widgets that draw line by line.

The live panes repaint every second; building their strips straight from each line's segments
skips the text layout Textual would otherwise run on a rendered `Text` (wrapping, measuring),
which is most of what a small repaint costs.
"""

from __future__ import annotations

from rich.console import Console
from rich.style import Style
from rich.text import Text
from textual.strip import Strip


def text_strips(lines: list[Text], width: int, console: Console, base: Style) -> list[Strip]:
    """One strip per line, cut with an ellipsis or padded to `width`, over the widget's style."""
    strips = []
    for line in lines:
        fitted = line
        if line.cell_len > width:
            fitted = line.copy()
            fitted.truncate(width, overflow="ellipsis")
        strip = Strip(list(fitted.render(console, end=""))).apply_style(base)
        strips.append(strip.crop_extend(0, width, base))
    return strips
