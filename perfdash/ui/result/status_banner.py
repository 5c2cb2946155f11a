"""The overall status in letters three lines tall on a block of its colour: the one thing nobody
should misread at the end of a run. Exit code, run, profile and counts sit beside it.
"""

from __future__ import annotations

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from perfdash.ui.format import clock_time
from perfdash.ui.result.run_data import RunData

# Five pixel rows per letter, drawn two rows per line with half blocks.
_FONT = {
    "A": (".#.", "#.#", "###", "#.#", "#.#"), "C": ("###", "#..", "#..", "#..", "###"),
    "D": ("##.", "#.#", "#.#", "#.#", "##."), "E": ("###", "#..", "##.", "#..", "###"),
    "F": ("###", "#..", "##.", "#..", "#.."), "I": ("###", ".#.", ".#.", ".#.", "###"),
    "L": ("#..", "#..", "#..", "#..", "###"), "O": ("###", "#.#", "#.#", "#.#", "###"),
    "M": ("#...#", "##.##", "#.#.#", "#...#", "#...#"),
    "N": ("#..#", "##.#", "#.##", "#..#", "#..#"), "P": ("###", "#.#", "###", "#..", "#.."),
    "R": ("###", "#.#", "##.", "#.#", "#.#"), "S": ("###", "#..", "###", "..#", "###"),
    "T": ("###", ".#.", ".#.", ".#.", ".#."), "U": ("#.#", "#.#", "#.#", "#.#", "###"),
    " ": ("..", "..", "..", "..", ".."),
}
_HALF = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
MEANING = {
    "pass": "every check passed or warned",
    "fail": "a threshold was breached",
    "incomplete": "something could not be measured",
    "interrupted": "the run was stopped before the end",
}


def big_word(word: str) -> list[str]:
    """`word` as three lines of half-block letters; letters the font lacks are left out."""
    letters = [_FONT[c] for c in word.upper() if c in _FONT]
    lines = []
    for top in (0, 2, 4):
        parts = []
        for glyph in letters:
            upper = glyph[top]
            lower = glyph[top + 1] if top + 1 < len(glyph) else "." * len(upper)
            parts.append("".join(_HALF[(u == "#", d == "#")] for u, d in zip(upper, lower, strict=True)))
        lines.append(" ".join(parts))
    return lines


def banner_text(run: RunData, width: int) -> Text:
    status = run.status
    s = run.summary
    counts = s.get("counts") or {}
    facts = [
        Text.assemble((status.upper(), "bold"), f" (exit {s.get('exit_code', '?')}): ",
                      MEANING.get(status, "")),
        Text(f"run {run.run_id} · {s.get('profile', '?')} on {s.get('environment', '?')}"
             + (f" · {clock_time(float(s['duration_s']))}" if isinstance(
                 s.get("duration_s"), int | float) else "")),
        Text(" · ".join(f"{n} {k}" for k, n in counts.items()) or (run.summary_problem or "")),
    ]
    word = big_word(status)
    word_width = max(len(line) for line in word)
    out = Text(no_wrap=True, overflow="ellipsis", end="")
    for i, (line, fact) in enumerate(zip(word, facts, strict=True)):
        if i:
            out.append("\n")
        if width >= word_width + 24:
            out.append(f" {line.ljust(word_width)}   ", style="bold")
        out.append_text(fact)
    return out


class StatusBanner(Widget):
    DEFAULT_CSS = """
    StatusBanner {
        height: 3;
        padding: 0 1;
        background: $panel;
        color: $text;
    }
    StatusBanner.-pass { background: $success; color: black; }
    StatusBanner.-fail { background: $error; color: white; }
    StatusBanner.-incomplete { background: magenta; color: white; }
    StatusBanner.-interrupted { background: $warning; color: black; }
    """

    data: reactive[RunData | None] = reactive(None)

    def watch_data(self, run: RunData | None) -> None:
        self.remove_class("-pass", "-fail", "-incomplete", "-interrupted")
        if run is not None:
            self.add_class(f"-{run.status}")

    def render(self) -> Text:
        if self.data is None:
            return Text("reading the results…", style="italic")
        return banner_text(self.data, self.size.width)
