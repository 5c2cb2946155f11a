"""How long the screenshot key's PNG takes at 160x48, beside the SVG converters it replaced.

The live screen mid-run (the recorded failing run at 14 s, as in the live snapshot tests) and the
failing run's result view, each at 160x48: the time from the screen to a PNG on disk (cells taken
on the UI thread, then drawn and written), median of `--runs`. For comparison, the same screen's
SVG through rsvg-convert and cairosvg when they are installed (perfdash no longer uses either:
cairosvg has no glyph fallback, librsvg takes braille from a proportional font).

    .venv/bin/python bench/bench_screenshot.py [--runs 5] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from textual.app import App  # noqa: E402

from perfdash.ui.app import make_app  # noqa: E402 - the checkout, not an installed copy
from perfdash.ui.screenshot import screen_lines, write_png  # noqa: E402
from tests.ui.conftest import FAIL_RUN, MID_RUN_S, PASS_RUN, live_rig, recorded  # noqa: E402
from tests.ui.live_ticks import with_ticks  # noqa: E402

SIZE = (160, 48)


def _median_s(runs: int, once: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        once()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _measure(app: App[Any], name: str, out: Path, runs: int) -> None:
    svg = out / f"{name}.svg"
    svg.write_text(app.export_screenshot(), encoding="utf-8")

    def ours() -> None:
        png, how = write_png(screen_lines(app), out / f"{name}.png")
        if png is None:
            sys.exit(how)

    print(f"{name}: cells → PNG {_median_s(runs, ours) * 1000:.0f} ms (median of {runs})")
    if shutil.which("rsvg-convert"):
        argv = ["rsvg-convert", "-o", str(out / f"{name}-rsvg.png"), str(svg)]
        ms = _median_s(runs, lambda: subprocess.run(argv, check=True)) * 1000
        print(f"{name}: SVG → PNG by rsvg-convert {ms:.0f} ms")
    try:
        cairosvg = importlib.import_module("cairosvg")
    except (ImportError, OSError):
        return
    target = str(out / f"{name}-cairosvg.png")
    ms = _median_s(runs, lambda: cairosvg.svg2png(url=str(svg), write_to=target)) * 1000
    print(f"{name}: SVG → PNG by cairosvg {ms:.0f} ms")


async def _run(out: Path, runs: int) -> None:
    rig = live_rig()
    rig.app.state.files_dir = PASS_RUN
    async with rig.app.run_test(size=SIZE) as pilot:
        rig.feed(with_ticks(recorded(FAIL_RUN, MID_RUN_S)))
        await pilot.pause()
        _measure(rig.app, "live", out, runs)
    app = make_app(summary_dir=FAIL_RUN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        _measure(app, "result", out, runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="write the SVGs and PNGs here to look at them")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        asyncio.run(_run(args.keep, args.runs))
        return
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(_run(Path(tmp), args.runs))


if __name__ == "__main__":
    main()
