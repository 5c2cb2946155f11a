"""Before any load: can the hosts and the Prometheus the run depends on be reached?

Each problem is one sentence with its fix, in the shape preflight shows: (name, status, detail,
fix). A Prometheus that does not answer fails the run before it starts (its hosts and merged
generators would measure nothing); a node_exporter that does not answer is a warning, since its
host's checks will say "not measured" on their own.
"""

from __future__ import annotations

from collections.abc import Sequence

from perfdash.net import probe
from perfdash.prom.client import PromClient

Result = tuple[str, str, str, str]  # name, "pass" | "warn" | "fail", detail, fix


def check_prometheus(url: str, env_name: str, purpose: str) -> Result:
    problem = PromClient(url, timeout_s=3).ready()
    if problem is None:
        return ("Prometheus reachable", "pass", f"{url} is ready ({purpose})", "")
    return ("Prometheus reachable", "fail", f"Prometheus is needed for {purpose}, but {problem}",
            f"start Prometheus at {url} or fix prometheus_url of [environments.{env_name}]")


def check_node_exporters(hosts: Sequence[tuple[str, str]], env_name: str) -> list[Result]:
    """(host name, node_exporter URL) of the hosts read directly."""
    results: list[Result] = []
    for name, url in hosts:
        page = url.rstrip("/") if url.rstrip("/").endswith("/metrics") else url.rstrip("/") + "/metrics"
        status, detail = probe(page, timeout_s=3)
        if status == 200:
            results.append((f"host {name} measured", "pass", f"node_exporter answers at {page}", ""))
        else:
            why = detail if status is None else f"it answered {status}"
            results.append((f"host {name} measured", "warn",
                            f"node_exporter at {page} does not answer ({why}): host {name} will "
                            "be not measured",
                            f"start node_exporter on {name} or fix its URL in "
                            f"[environments.{env_name}.hosts]"))
    return results
