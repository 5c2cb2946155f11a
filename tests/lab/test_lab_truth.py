"""The lab's planted problems are real: measured from PostgreSQL and the access log, without perfdash.

One short k6 run of the lab's mix per instance (tests/lab/truth/measure.py), shared by the tests of
that instance. Under `all` every problem shows in the database or the log; under `clean` none does.
The last test checks that perfdash's own access-log reader understands the lab's log as it is.
"""

from __future__ import annotations

import sys
from pathlib import Path

import psutil
import psycopg
import pytest

from perfdash.collect.access_log import count_file

from .conftest import LabInstance, ProxyInstance
from .truth.measure import ITEMS_PER_ORDER, STATEMENT_MARKS, Truth, measure, render

pytestmark = pytest.mark.e2e

DURATION = "12s"
ORDERS = "GET /api/orders/{id}"
TRANSFERS = "POST /api/transfers"
QUOTE = "GET /api/quote"
REPORT = "GET /api/report"
SEARCH = "GET /api/transfers/search"
EVENTS = "GET /api/accounts/{id}/events"
EVERY_ROUTE = (TRANSFERS, SEARCH, ORDERS, EVENTS, "GET /api/accounts/{id}", QUOTE, REPORT)


def _measure(lab: LabInstance, tmp: Path, k6_env: dict[str, str] | None = None) -> Truth:
    truth = measure(lab.database_url.reveal(), lab.access_log, lab.base_url, DURATION,
                    pid=lab.process.pid, settle_s=1.0, k6_log=tmp / f"k6-{lab.pathologies}.log",
                    k6_env=k6_env)
    print(f"\n[lab truth: {lab.pathologies}]\n{render(truth)}", file=sys.stderr)
    return truth


@pytest.fixture(scope="module")
def truth_all(lab_all: LabInstance, tmp_path_factory: pytest.TempPathFactory) -> Truth:
    return _measure(lab_all, tmp_path_factory.mktemp("truth-all"))


@pytest.fixture(scope="module")
def truth_cpu(lab_cpu: LabInstance, tmp_path_factory: pytest.TempPathFactory) -> Truth:
    """The CPU-bound report alone, loaded as the cpu-quick profile loads it."""
    return _measure(lab_cpu, tmp_path_factory.mktemp("truth-cpu"),
                    {"REPORT_USERS": "6", "REPORT_THINK_S": "0.05"})


@pytest.fixture(scope="module")
def truth_clean(lab_clean: LabInstance, tmp_path_factory: pytest.TempPathFactory) -> Truth:
    return _measure(lab_clean, tmp_path_factory.mktemp("truth-clean"))


def _pool_waits(lab: LabInstance) -> int:
    return sum(1 for line in lab.app_log.read_text().splitlines()
               if " WARNING lab.pool: waited " in line)


# ------------------------------------------------------------------------------------- both

@pytest.mark.parametrize("which", ["all", "clean"])
def test_every_route_was_hit_and_every_access_line_parsed(which: str, truth_all: Truth,
                                                          truth_clean: Truth) -> None:
    truth = truth_all if which == "all" else truth_clean
    missing = [r for r in EVERY_ROUTE if truth.route(r).requests == 0]
    assert missing == [], f"routes k6 never reached: {missing}"
    assert truth.other_lines == 0, "access-log lines the lab's own parser could not read"
    assert truth.samples, "pg_stat_activity was never sampled"


# ------------------------------------------------------------------------------------- lock

def test_all_lock_waiters_queue_behind_an_idle_in_transaction_holder(truth_all: Truth) -> None:
    for_update = truth_all.statement(STATEMENT_MARKS["lock"])
    assert for_update is not None, "no SELECT ... FOR UPDATE in pg_stat_statements"
    assert for_update.calls == truth_all.route(TRANSFERS).requests
    assert truth_all.lock_waiters_max > 0, "no lock waiter in any pg_stat_activity sample"
    assert truth_all.blocker_states.get("idle in transaction", 0) > 0, truth_all.blocker_states
    # waiting for the row is where the transfer's database time goes
    insert = truth_all.statement("INSERT INTO transfers")
    assert insert is not None
    assert for_update.mean_ms > 5 * insert.mean_ms


def test_clean_has_no_row_lock_and_no_waiter(truth_clean: Truth) -> None:
    assert truth_clean.statement(STATEMENT_MARKS["lock"]) is None
    assert truth_clean.lock_waiters_max == 0
    assert truth_clean.blocker_states == {}


# ------------------------------------------------------------------------------------- pool

def test_all_app_connections_are_pinned_at_four(truth_all: Truth, lab_all: LabInstance) -> None:
    plateau, share = truth_all.connections_plateau
    assert truth_all.connections_max == 4
    assert plateau == 4, (plateau, share)
    assert share >= 0.8, (plateau, share)
    assert _pool_waits(lab_all) > 0, "the app never logged a wait for a pooled connection"


def test_clean_pool_is_not_exhausted(truth_clean: Truth, lab_clean: LabInstance) -> None:
    assert truth_clean.connections_max <= 20
    assert _pool_waits(lab_clean) == 0
    assert all(s.states.get("idle", 0) > 0 for s in truth_clean.samples), "a sample with no idle connection"


# ------------------------------------------------------------------------------------- N+1

def test_all_orders_make_fifty_lookups_per_request(truth_all: Truth) -> None:
    lookup = truth_all.statement(STATEMENT_MARKS["nplus1"])
    orders = truth_all.route(ORDERS)
    assert lookup is not None, "no per-item lookup in pg_stat_statements"
    assert orders.statuses == {"200": orders.requests}
    assert lookup.calls == ITEMS_PER_ORDER * orders.requests


def test_clean_orders_make_one_items_query_per_request(truth_clean: Truth) -> None:
    assert truth_clean.statement(STATEMENT_MARKS["nplus1"]) is None
    batched = truth_clean.statement("WHERE id = ANY($1")
    assert batched is not None
    assert batched.calls == truth_clean.route(ORDERS).requests


# ------------------------------------------------------------------------------------- indexes

@pytest.mark.parametrize(("table", "route"), [("transfers", SEARCH), ("events", EVENTS)])
def test_all_missing_indexes_mean_sequential_scans(truth_all: Truth, table: str, route: str) -> None:
    scans = truth_all.tables[table]
    assert scans.seq_scan > 0, scans
    assert scans.idx_scan == 0, scans
    assert scans.seq_tup_read >= 40_000 * scans.seq_scan, "each scan reads the whole table"
    assert truth_all.route(route).requests > 0


@pytest.mark.parametrize(("table", "route"), [("transfers", SEARCH), ("events", EVENTS)])
def test_clean_indexes_are_used(truth_clean: Truth, table: str, route: str) -> None:
    scans = truth_clean.tables[table]
    assert scans.seq_scan == 0, scans
    assert scans.idx_scan > 0, scans
    assert truth_clean.route(route).requests > 0


# ------------------------------------------------------------------------------------- errors

def test_all_5xx_only_on_the_quote_route(truth_all: Truth) -> None:
    quote = truth_all.route(QUOTE)
    assert 0.05 * quote.requests <= quote.status_5xx <= 0.4 * quote.requests, quote.statuses
    others = {k: r.status_5xx for k, r in truth_all.routes.items() if k != QUOTE and r.status_5xx}
    assert others == {}


def test_clean_has_no_5xx(truth_clean: Truth) -> None:
    assert {k: r.status_5xx for k, r in truth_clean.routes.items() if r.status_5xx} == {}


# ------------------------------------------------------------------------------------- CPU

def test_all_report_burns_cpu_on_the_event_loop(truth_all: Truth, truth_clean: Truth) -> None:
    report = truth_all.route(REPORT)
    all_p50, clean_p50 = report.percentile_ms(50), truth_clean.route(REPORT).percentile_ms(50)
    assert all_p50 is not None, report.seconds[:10]
    assert all_p50 >= 20, report.seconds[:10]
    assert clean_p50 is not None, "clean serves the report from its cache"
    assert clean_p50 < 10, "clean serves the report from its cache"
    assert truth_all.backend_cpu_s is not None
    assert truth_clean.backend_cpu_s is not None
    # ~25 ms of CPU per report request, on top of what the other routes cost
    assert truth_all.backend_cpu_s >= 0.02 * report.requests


# ------------------------------------------------------------------------------------- perfdash

def test_perfdash_reads_the_access_log_per_route(lab_all: LabInstance, truth_all: Truth) -> None:
    counted = count_file(lab_all.access_log)
    assert counted["format"] == "combined"
    routes = counted["routes"]
    assert routes["/api/orders/{}"]["count"] >= truth_all.route(ORDERS).requests
    assert routes["/api/quote"]["by_class"].get("5xx", 0) >= truth_all.route(QUOTE).status_5xx
    assert routes["/api/report"]["latency_avg_ms"] >= 15, "request time read as seconds, shown in ms"


def test_cpu_report_pins_the_event_loop_at_one_core(truth_cpu: Truth) -> None:
    """The cpu instance's ground truth: the backend's process near one core, the report's own time
    (100 ms a request) a floor under its latency, and nothing wrong in the database."""
    assert truth_cpu.backend_cpu_pct is not None
    # of the whole measured time, k6's start and graceful stop included
    assert truth_cpu.backend_cpu_pct >= 70, render(truth_cpu)
    report = truth_cpu.route(REPORT)
    p10 = report.percentile_ms(10)
    assert p10 is not None
    assert p10 >= 90, render(truth_cpu)
    assert truth_cpu.samples_with_waiters == 0, render(truth_cpu)


# ------------------------------------------------------------------------------------- the catalogue

CATALOGUE_SCRIPT = Path(__file__).resolve().parent / "loadtests" / "k6" / "lab-catalogue.js"
DATABASE_COUNTERS = "SELECT deadlocks, temp_files, temp_bytes, sessions FROM pg_stat_database " \
                    "WHERE datname = current_database()"


def _catalogue_truth(lab: LabInstance, tmp: Path) -> tuple[Truth, dict[str, int], float, float]:
    """The catalogue's load measured without perfdash: pg_stat_database before and after, the
    backend's resident memory before and after, and the access log (through `measure`)."""
    with psycopg.connect(lab.database_url.reveal(), autocommit=True) as conn:
        before = conn.execute(DATABASE_COUNTERS).fetchone()
        rss_before = psutil.Process(lab.process.pid).memory_info().rss / 1e6
        truth = measure(lab.database_url.reveal(), lab.access_log, lab.base_url, DURATION,
                        script=CATALOGUE_SCRIPT, pid=lab.process.pid, settle_s=1.0,
                        k6_log=tmp / f"k6-catalogue-{lab.pathologies}.log")
        after = conn.execute(DATABASE_COUNTERS).fetchone()
        rss_after = psutil.Process(lab.process.pid).memory_info().rss / 1e6
    assert before is not None
    assert after is not None
    counters = {k: int(a) - int(b) for k, a, b in
                zip(("deadlocks", "temp_files", "temp_bytes", "sessions"), after, before, strict=True)}
    print(f"\n[lab truth: catalogue on {lab.pathologies}] {counters}, RSS {rss_before:.0f} -> "
          f"{rss_after:.0f} MB\n{render(truth)}", file=sys.stderr)
    return truth, counters, rss_before, rss_after


def test_catalogue_problems_show_in_the_database_and_the_process(
        lab_catalogue: LabInstance, lab_clean: LabInstance, tmp_path: Path) -> None:
    sick, counts, rss0, rss1 = _catalogue_truth(lab_catalogue, tmp_path)
    assert counts["deadlocks"] >= 1, counts
    assert counts["temp_files"] >= 1, counts
    pings = sick.route("GET /api/ping-db").requests
    assert pings > 50
    assert abs(counts["sessions"] - pings) <= 0.3 * pings, (counts, pings)
    assert rss1 - rss0 >= 50, (rss0, rss1)
    suggest = sick.route("GET /api/suggest")
    assert suggest.statuses.get("429", 0) >= 0.3 * suggest.requests, suggest.statuses
    rates_p10 = sick.route("GET /api/rates").percentile_ms(10)
    assert rates_p10 is not None
    assert rates_p10 >= 290, rates_p10
    assert sick.backend_cpu_pct is not None
    assert sick.backend_cpu_pct < 80, render(sick)
    clean, clean_counts, c0, c1 = _catalogue_truth(lab_clean, tmp_path)
    assert clean_counts["deadlocks"] == 0, clean_counts
    assert clean_counts["temp_files"] == 0, clean_counts
    assert clean_counts["sessions"] < 0.3 * clean.route("GET /api/ping-db").requests, clean_counts
    assert c1 - c0 < 30, (c0, c1)
    assert clean.route("GET /api/suggest").statuses.get("429", 0) == 0
    clean_rates = clean.route("GET /api/rates").percentile_ms(50)
    assert clean_rates is not None
    assert clean_rates < 50, clean_rates


# ------------------------------------------------------------------------------------- reverse proxy

ACCOUNT = "GET /api/accounts/{id}"


@pytest.fixture(scope="module")
def truth_proxy(lab_proxy: ProxyInstance, tmp_path_factory: pytest.TempPathFactory) -> Truth:
    """The mix through nginx in front of the clean lab: read from nginx's own log."""
    tmp = tmp_path_factory.mktemp("truth-proxy")
    truth = measure(lab_proxy.backend.database_url.reveal(), lab_proxy.access_log, lab_proxy.base_url,
                    DURATION, pid=lab_proxy.backend.process.pid, settle_s=1.0,
                    k6_log=tmp / "k6-proxy.log")
    print(f"\n[lab truth: proxy]\n{render(truth)}", file=sys.stderr)
    return truth


def _mean_ms(values: list[float]) -> float:
    return 1000 * sum(values) / len(values) if values else 0.0


def test_proxy_rate_limit_queues_account_reads_the_backend_answers_fast(truth_proxy: Truth) -> None:
    """limit_req without nodelay: the account reads wait in nginx, the healthy backend does not."""
    account = truth_proxy.route(ACCOUNT)
    assert account.requests >= 20
    assert len(account.upstream_seconds) == account.requests
    print(f"[proxy truth] accounts: {account.requests} requests, in nginx "
          f"{_mean_ms(account.proxy_seconds):.0f} ms, upstream {_mean_ms(account.upstream_seconds):.1f} ms",
          file=sys.stderr)
    assert _mean_ms(account.proxy_seconds) >= 50, "the limit_req queue should hold account reads"
    assert _mean_ms(account.upstream_seconds) < 20, "the clean backend answers account reads fast"
    orders = truth_proxy.route(ORDERS)
    assert orders.upstream_seconds, "orders went through the proxy"
    assert _mean_ms(orders.proxy_seconds) < 10, "other routes pass straight"


def test_proxy_refuses_quotes_itself(truth_proxy: Truth) -> None:
    """limit_req with nodelay on the quote: nginx's own 503s (no upstream time); the backend's quote
    never fails (clean), so every 5xx is the proxy's."""
    quote = truth_proxy.route(QUOTE)
    refused = quote.proxy_answered.get("503", 0)
    assert refused >= 5, quote.statuses
    assert refused == quote.status_5xx, quote.statuses
    assert quote.upstream_seconds, "some quotes went through"
