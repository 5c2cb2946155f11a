"""CPU, memory and load over the run, plotted from metrics.csv: was the machine, not the backend,
the bottleneck? Drawn once when the result screen opens; nothing here moves afterwards.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Grid
from textual.reactive import reactive
from textual.widgets import Static
from textual_plotext import PlotextPlot

from perfdash.ui.result.run_data import RunData


class HostPlots(Grid):
    DEFAULT_CSS = """
    HostPlots {
        grid-size: 2;
        grid-gutter: 0 1;
        height: 14;
        border: round $primary 40%;
        border-title-color: $text-primary;
    }
    HostPlots > PlotextPlot {
        height: 100%;
    }
    HostPlots > #host-missing {
        column-span: 2;
        color: $text-muted;
    }
    """

    data: reactive[RunData | None] = reactive(None)

    def compose(self) -> ComposeResult:
        yield PlotextPlot(id="cpu-mem-plot")
        yield PlotextPlot(id="load-plot")
        yield Static(id="host-missing")

    def on_mount(self) -> None:
        self.border_title = "host over the run (metrics.csv)"

    def watch_data(self, run: RunData | None) -> None:
        if run is None or not self.is_mounted:
            return
        host = run.host
        missing = self.query_one("#host-missing", Static)
        missing.display = host.problem is not None
        for plot in self.query(PlotextPlot):
            plot.display = host.problem is None
        if host.problem is not None:
            missing.update(f"no host plots: {host.problem}")
            return
        cpu_mem = self.query_one("#cpu-mem-plot", PlotextPlot).plt
        cpu_mem.clear_data()
        # Colours are named in the title: plotext's legend box would sit on top of a 100% line.
        cpu_mem.plot(host.elapsed, host.cpu, color="red")
        cpu_mem.plot(host.elapsed, host.mem, color="cyan")
        cpu_mem.ylim(0, 100)
        cpu_mem.title("CPU % (red), memory % (cyan)")
        cpu_mem.xlabel("seconds")
        load = self.query_one("#load-plot", PlotextPlot).plt
        load.clear_data()
        load.plot(host.elapsed, host.load1, color="yellow")
        load.plot(host.elapsed, host.load5, color="magenta")
        load.ylim(0, max([*host.load1, *host.load5, 1.0]) * 1.1)
        load.title("load 1 min (yellow), 5 min (magenta)")
        load.xlabel("seconds")
        for plot in self.query(PlotextPlot):
            plot.refresh()
