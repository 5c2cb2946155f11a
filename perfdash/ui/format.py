"""Small text builders shared by the panes: sparklines, progress bars, durations and units.

Plain functions returning strings or Rich `Text`, so a pane's render stays a pure function of its
view and a test can check a sparkline without a terminal.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

BARS = "▁▂▃▄▅▆▇█"
STATUS_STYLE = {
    "pass": "bold green", "warn": "bold yellow", "fail": "bold red", "skip": "dim",
    "not measured": "bold magenta", "incomplete": "bold magenta", "interrupted": "bold yellow",
}


def spark_rows(values: Sequence[float], width: int, rows: int = 1, lo: float | None = None,
               hi: float | None = None) -> list[str]:
    """A sparkline `rows` lines tall, top line first: one column per sample, newest at the right.

    A fixed scale (0–100 for percentages) keeps a flat 30% from looking like a spike, as a
    min–max scale would; the lowest value still shows as `▁` so a column is never blank.
    """
    rows = max(1, rows)
    if width <= 0:
        return [""] * rows
    shown = list(values)[-width:]
    low = min(shown, default=0.0) if lo is None else lo
    high = max(shown, default=0.0) if hi is None else hi
    span = high - low
    steps = rows * len(BARS) - 1
    levels = [round((0.0 if span <= 0 else min(1.0, max(0.0, (v - low) / span))) * steps)
              for v in shown]
    pad = " " * (width - len(shown))
    out = []
    for row in reversed(range(rows)):
        chars = []
        for level in levels:
            part = level - row * len(BARS)
            chars.append(" " if part < 0 else "█" if part >= len(BARS) else BARS[part])
        out.append(pad + "".join(chars))
    return out


def spark(values: Sequence[float], width: int, lo: float | None = None,
          hi: float | None = None) -> str:
    """A one-line sparkline (see `spark_rows`)."""
    return spark_rows(values, width, 1, lo, hi)[0]


def labelled_spark(label: Text, values: Sequence[float], width: int, rows: int, style: str,
                   lo: float | None = None, hi: float | None = None) -> list[Text]:
    """A sparkline after a label: the label on the bottom line, blanks beside the lines above."""
    graph = spark_rows(values, max(0, width - label.cell_len), rows, lo, hi)
    lines = [Text(" " * label.cell_len) + Text(g, style=style) for g in graph[:-1]]
    return [*lines, label + Text(graph[-1], style=style)]


def bar(done: float, total: float, width: int) -> Text:
    """A progress bar in block characters: filled part in the accent colour, the rest dim."""
    width = max(1, width)
    frac = 0.0 if total <= 0 else min(1.0, max(0.0, done / total))
    eighths = int(frac * width * 8)
    full, part = divmod(eighths, 8)
    text = Text("█" * full, style="green")
    if full < width:
        text.append(" ▏▎▍▌▋▊▉"[part] if part else "", style="green")
        text.append("─" * (width - full - (1 if part else 0)), style="dim")
    return text


def ms(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def pct(ratio: float | None, digits: int = 1) -> str:
    return "—" if ratio is None else f"{ratio * 100:.{digits}f}%"


def clock_time(seconds: float) -> str:
    """`m:ss`, or `h:mm:ss` for a soak run."""
    s = max(0, int(seconds))
    hours, rest = divmod(s, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{n} B"
