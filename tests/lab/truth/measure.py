"""The ground truth of the lab's planted problems, measured without perfdash.

Given a running lab (its URL, its database and its access log), this runs the lab's k6 mix once and
measures what each pathology does, from PostgreSQL and the access log alone:

- pg_stat_statements before and after (this database only, never reset): calls, total time, rows;
- pg_stat_activity once a second: the app's connections (application_name = lab-api) by state,
  lock waiters and, through pg_blocking_pids, what their blockers were doing;
- pg_stat_user_tables before and after: sequential and index scans per table;
- the access log lines the run appended, parsed here with a regex of its own: requests, statuses and
  server time per route;
- the backend process's CPU time (the process listening on the lab's port, or --pid).

It starts nothing but k6 and resets nothing, so it can be pointed at a lab someone else started:

    python tests/lab/truth/measure.py --url http://127.0.0.1:8300 \\
        --access-log var/log/access.log --duration 30s      # LAB_DB_URL holds the database URL
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import psycopg

LAB = Path(__file__).resolve().parents[1]
DEFAULT_SCRIPT = LAB / "loadtests" / "k6" / "lab-mix.js"
APPLICATION_NAME = "lab-api"
ITEMS_PER_ORDER = 50
# A backend that goes idle less than a second after it last reported its table counters
# (pg_stat_user_tables) reports the rest up to 10 s later (PGSTAT_IDLE_INTERVAL); pg_stat_statements
# is exact at once. The CLI waits this long so the seq/idx scan counts are whole.
SETTLE_S = 11.0

# The access log's line: nginx "combined" followed by $request_time in seconds; behind the lab's
# nginx (tests/lab/proxy), also $upstream_response_time: seconds, or `-` when nginx answered itself.
_LINE = re.compile(r'^(\S+) \S+ \S+ \[([^\]]+)\] "([A-Z]+) (\S+) [^"]*" (\d{3}) (\d+|-) "[^"]*" "[^"]*" '
                   r"(\d+(?:\.\d+)?)(?: (\d+\.\d+|-))?$")
# The lab's routes, as templates; the first match names a request.
ROUTES: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (method, template, re.compile(pattern)) for method, template, pattern in (
        ("POST", "/api/transfers", r"^/api/transfers$"),
        ("GET", "/api/transfers/search", r"^/api/transfers/search$"),
        ("GET", "/api/orders/{id}", r"^/api/orders/\d+$"),
        ("GET", "/api/accounts/{id}/events", r"^/api/accounts/\d+/events$"),
        ("GET", "/api/accounts/{id}", r"^/api/accounts/\d+$"),
        ("GET", "/api/quote", r"^/api/quote$"),
        ("GET", "/api/report", r"^/api/report$"),
        ("GET", "/health", r"^/health$"),
        ("POST", "/api/swap", r"^/api/swap$"),
        ("GET", "/api/leaderboard", r"^/api/leaderboard$"),
        ("GET", "/api/ping-db", r"^/api/ping-db$"),
        ("GET", "/api/profile", r"^/api/profile$"),
        ("GET", "/api/suggest", r"^/api/suggest$"),
        ("GET", "/api/rates", r"^/api/rates$"),
    ))
# What each pathology's statement looks like in pg_stat_statements.
STATEMENT_MARKS = {
    "lock": "FOR UPDATE",
    "nplus1": "FROM order_items WHERE id = $1",
    "expr": "lower(memo) = lower($1)",
    "composite": "FROM events WHERE account_id = $1",
}

_STATEMENTS_SQL = """
SELECT queryid, min(query), sum(calls)::bigint, sum(total_exec_time), sum(rows)::bigint
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND query NOT ILIKE '%pg\\_stat%' AND query NOT ILIKE '%pg_blocking_pids%'
GROUP BY queryid
"""
_TABLES_SQL = """
SELECT relname, coalesce(seq_scan, 0), coalesce(seq_tup_read, 0), coalesce(idx_scan, 0)
FROM pg_stat_user_tables WHERE schemaname = 'public'
"""
_ACTIVITY_SQL = """
SELECT pid, coalesce(state, ''), coalesce(wait_event_type, ''), coalesce(wait_event, ''),
       pg_blocking_pids(pid), left(query, 200)
FROM pg_stat_activity
WHERE datname = current_database() AND application_name = %s
"""


class MeasureError(RuntimeError):
    """The measurement could not be taken; the message says what to fix."""


# ---------------------------------------------------------------------------------------- records

@dataclass
class Statement:
    query: str
    calls: int
    total_ms: float
    rows: int

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.calls if self.calls else 0.0


@dataclass
class Blocker:
    state: str
    query: str


@dataclass
class Sample:
    t_s: float
    connections: int
    states: dict[str, int]
    lock_waiters: int
    blockers: list[Blocker]


@dataclass
class TableScans:
    seq_scan: int = 0
    seq_tup_read: int = 0
    idx_scan: int = 0


@dataclass
class RouteStats:
    requests: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    seconds: list[float] = field(default_factory=list)
    upstream_seconds: list[float] = field(default_factory=list)  # behind the proxy: the backend's
    proxy_seconds: list[float] = field(default_factory=list)  # request minus upstream time
    proxy_answered: dict[str, int] = field(default_factory=dict)  # status: lines with upstream `-`

    @property
    def status_5xx(self) -> int:
        return sum(n for s, n in self.statuses.items() if s.startswith("5"))

    def percentile_ms(self, q: float) -> float | None:
        if not self.seconds:
            return None
        ordered = sorted(self.seconds)
        return 1000 * ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


@dataclass
class Truth:
    url: str
    duration_s: float
    k6_exit: int
    statements: list[Statement]
    samples: list[Sample]
    tables: dict[str, TableScans]
    routes: dict[str, RouteStats]
    other_lines: int
    backend_pid: int | None
    backend_cpu_s: float | None

    # ------------------------------------------------------------------ questions the tests ask
    def statement(self, mark: str) -> Statement | None:
        """The statement containing `mark` with the most calls."""
        found = [s for s in self.statements if mark in s.query]
        return max(found, key=lambda s: s.calls) if found else None

    def route(self, key: str) -> RouteStats:
        return self.routes.get(key, RouteStats())

    @property
    def lock_waiters_max(self) -> int:
        return max((s.lock_waiters for s in self.samples), default=0)

    @property
    def samples_with_waiters(self) -> int:
        return sum(1 for s in self.samples if s.lock_waiters)

    @property
    def blocker_states(self) -> dict[str, int]:
        return dict(Counter(b.state for s in self.samples for b in s.blockers))

    @property
    def connections_max(self) -> int:
        return max((s.connections for s in self.samples), default=0)

    @property
    def connections_plateau(self) -> tuple[int, float]:
        """The most frequent connection count and the share of samples at it."""
        if not self.samples:
            return 0, 0.0
        value, n = Counter(s.connections for s in self.samples).most_common(1)[0]
        return value, n / len(self.samples)

    @property
    def backend_cpu_pct(self) -> float | None:
        if self.backend_cpu_s is None or not self.duration_s:
            return None
        return 100 * self.backend_cpu_s / self.duration_s

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------------- collection

def _statements(conn: psycopg.Connection[Any]) -> dict[int, Statement]:
    try:
        rows = conn.execute(_STATEMENTS_SQL).fetchall()
    except psycopg.errors.UndefinedTable:
        raise MeasureError("pg_stat_statements is not installed in this database; run "
                           "CREATE EXTENSION pg_stat_statements (it must be in shared_preload_libraries)."
                           ) from None
    return {int(r[0]): Statement(str(r[1]), int(r[2]), float(r[3]), int(r[4])) for r in rows}


def _tables(conn: psycopg.Connection[Any]) -> dict[str, TableScans]:
    return {str(r[0]): TableScans(int(r[1]), int(r[2]), int(r[3]))
            for r in conn.execute(_TABLES_SQL).fetchall()}


def statement_delta(before: dict[int, Statement], after: dict[int, Statement]) -> list[Statement]:
    out = []
    for qid, a in after.items():
        b = before.get(qid)
        calls = a.calls - (b.calls if b else 0)
        if calls > 0:
            out.append(Statement(a.query, calls, a.total_ms - (b.total_ms if b else 0.0),
                                 a.rows - (b.rows if b else 0)))
    return sorted(out, key=lambda s: s.total_ms, reverse=True)


def table_delta(before: dict[str, TableScans], after: dict[str, TableScans]) -> dict[str, TableScans]:
    return {name: TableScans(a.seq_scan - before.get(name, TableScans()).seq_scan,
                             a.seq_tup_read - before.get(name, TableScans()).seq_tup_read,
                             a.idx_scan - before.get(name, TableScans()).idx_scan)
            for name, a in sorted(after.items())}


class ActivitySampler(threading.Thread):
    """pg_stat_activity every `interval` seconds on a connection of its own."""

    def __init__(self, db_url: str, interval: float = 1.0) -> None:
        super().__init__(name="activity-sampler", daemon=True)
        self._db_url = db_url
        self._interval = interval
        self._halt = threading.Event()
        self.samples: list[Sample] = []
        self.error: str | None = None

    def run(self) -> None:
        start = time.monotonic()
        try:
            with psycopg.connect(self._db_url, autocommit=True,
                                 application_name="lab-truth") as conn:
                while not self._halt.is_set():
                    rows = conn.execute(_ACTIVITY_SQL, (APPLICATION_NAME,)).fetchall()
                    self.samples.append(_sample(time.monotonic() - start, rows))
                    self._halt.wait(self._interval)
        except psycopg.Error as exc:
            self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"

    def stop(self) -> list[Sample]:
        self._halt.set()
        self.join(timeout=10)
        return self.samples


def _sample(t_s: float, rows: list[tuple[Any, ...]]) -> Sample:
    by_pid = {int(r[0]): r for r in rows}
    waiters = [r for r in rows if r[2] == "Lock" or r[4]]
    blocker_pids = {int(p) for r in waiters for p in (r[4] or [])}
    blockers = [Blocker(str(by_pid[p][1]) if p in by_pid else "(not the app)",
                        str(by_pid[p][5]) if p in by_pid else "") for p in sorted(blocker_pids)]
    return Sample(round(t_s, 2), len(rows), dict(Counter(str(r[1]) for r in rows)), len(waiters), blockers)


def route_key(method: str, path: str) -> str | None:
    path = path.split("?", 1)[0]
    for m, template, pattern in ROUTES:
        if m == method and pattern.match(path):
            return f"{method} {template}"
    return None


def read_access_log(data: bytes) -> tuple[dict[str, RouteStats], int]:
    """Requests per route from combined-format lines; also how many lines did not parse."""
    routes: dict[str, RouteStats] = {}
    other = 0
    for raw in data.decode("utf-8", "replace").splitlines():
        m = _LINE.match(raw.strip())
        key = route_key(m.group(3), m.group(4)) if m else None
        if m is None or key is None:
            other += 1 if raw.strip() else 0
            continue
        rs = routes.setdefault(key, RouteStats())
        rs.requests += 1
        rs.statuses[m.group(5)] = rs.statuses.get(m.group(5), 0) + 1
        rs.seconds.append(float(m.group(7)))
        if m.group(8) == "-":
            rs.proxy_answered[m.group(5)] = rs.proxy_answered.get(m.group(5), 0) + 1
        elif m.group(8):
            rs.upstream_seconds.append(float(m.group(8)))
            rs.proxy_seconds.append(float(m.group(7)) - float(m.group(8)))
    return dict(sorted(routes.items())), other


def listening_pid(url: str) -> int | None:
    """The process listening on the URL's port on this machine, if it can be seen."""
    port = urlsplit(url).port
    if port is None:
        return None
    try:
        conns = psutil.net_connections(kind="tcp")
    except psutil.AccessDenied:
        return None
    pids = {c.pid for c in conns if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port
            and c.pid}
    return pids.pop() if len(pids) == 1 else None


def _cpu_seconds(pid: int | None) -> float | None:
    if pid is None:
        return None
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return None
    return float(times.user + times.system)


def default_k6() -> Path:
    beside = Path(sys.executable).parent / "k6"
    return beside if beside.is_file() else Path("k6")


def run_k6(k6: Path, script: Path, url: str, duration: str, log_to: Path | None,
           extra_env: dict[str, str] | None = None) -> int:
    extra = [arg for k, v in (extra_env or {}).items() for arg in ("-e", f"{k}={v}")]
    cmd = [str(k6), "run", "--no-usage-report", "--quiet", "-e", f"LAB_URL={url}",
           "-e", f"DURATION={duration}", *extra, str(script)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=600,
                          env={**os.environ, "K6_NO_USAGE_REPORT": "true"})
    if log_to is not None:
        log_to.write_text(proc.stdout + proc.stderr)
    if proc.returncode not in (0, 99):  # 99: a threshold crossed, which a pathology is meant to do
        raise MeasureError(f"k6 exited with {proc.returncode}: {(proc.stderr or proc.stdout)[-800:]}")
    return proc.returncode


def measure(db_url: str, access_log: Path, url: str, duration: str = "30s", *,
            k6: Path | None = None, script: Path = DEFAULT_SCRIPT, pid: int | None = None,
            sample_interval: float = 1.0, settle_s: float = SETTLE_S, k6_log: Path | None = None,
            k6_env: dict[str, str] | None = None) -> Truth:
    """One k6 run of the lab's mix against `url`, with everything around it measured.

    `settle_s`: how long to wait after k6 before the table counters are read (see SETTLE_S)."""
    if not access_log.is_file():
        raise MeasureError(f"{access_log} does not exist; point --access-log at LAB_LOG_DIR/access.log.")
    pid = pid if pid is not None else listening_pid(url)
    with psycopg.connect(db_url, autocommit=True, application_name="lab-truth") as conn:
        stmts_before, tables_before = _statements(conn), _tables(conn)
        offset = access_log.stat().st_size
        cpu_before = _cpu_seconds(pid)
        sampler = ActivitySampler(db_url, sample_interval)
        sampler.start()
        start = time.monotonic()
        code = run_k6(k6 or default_k6(), script, url, duration, k6_log, k6_env)
        elapsed = time.monotonic() - start
        samples = sampler.stop()
        time.sleep(max(settle_s, 0.3))  # the last access-log lines, the backends' table counters
        cpu_after = _cpu_seconds(pid)
        stmts_after, tables_after = _statements(conn), _tables(conn)
    if sampler.error:
        raise MeasureError(f"sampling pg_stat_activity failed ({sampler.error}); check the database URL.")
    with access_log.open("rb") as f:
        f.seek(offset)
        routes, other = read_access_log(f.read())
    return Truth(url=url, duration_s=round(elapsed, 2), k6_exit=code,
                 statements=statement_delta(stmts_before, stmts_after), samples=samples,
                 tables=table_delta(tables_before, tables_after), routes=routes, other_lines=other,
                 backend_pid=pid,
                 backend_cpu_s=None if cpu_before is None or cpu_after is None
                 else round(cpu_after - cpu_before, 3))


# ------------------------------------------------------------------------------------- the report

def _short(query: str, width: int = 78) -> str:
    one = " ".join(query.split())
    return one if len(one) <= width else one[:width - 3] + "..."


def _statement_rows(statements: list[Statement], marks: tuple[str, ...]) -> list[str]:
    rows = [f"    {'calls':>7} {'total ms':>10} {'mean ms':>8}  statement"]
    for s in statements:
        if any(m in s.query for m in marks):
            rows.append(f"    {s.calls:>7} {s.total_ms:>10.1f} {s.mean_ms:>8.2f}  {_short(s.query)}")
    return rows


def _route_row(key: str, r: RouteStats) -> str:
    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"
    statuses = " ".join(f"{s}:{n}" for s, n in sorted(r.statuses.items()))
    return (f"    {key:<32} {r.requests:>6} {ms(r.percentile_ms(50)):>7} {ms(r.percentile_ms(95)):>7} "
            f"{ms(max(r.seconds) * 1000 if r.seconds else None):>7}  {statuses}")


def render(t: Truth) -> str:
    out = [f"lab ground truth: {t.url}, k6 {t.duration_s:.1f} s (exit {t.k6_exit}), "
           f"{len(t.samples)} activity samples"]
    out += ["", "statements by total time (top 8, this database):"]
    out += [f"    {'calls':>7} {'total ms':>10} {'mean ms':>8}  statement"]
    out += [f"    {s.calls:>7} {s.total_ms:>10.1f} {s.mean_ms:>8.2f}  {_short(s.query)}"
            for s in t.statements[:8]]

    transfers = t.route("POST /api/transfers")
    out += ["", "lock: POST /api/transfers", *_statement_rows(t.statements, ("FOR UPDATE", "INTO transfers"))]
    out.append(f"    lock waiters: max {t.lock_waiters_max} in one sample, in {t.samples_with_waiters} of "
               f"{len(t.samples)} samples; blockers' states: {t.blocker_states or 'none'}")
    out.append(f"    {transfers.requests} requests, server p95 {transfers.percentile_ms(95) or 0:.1f} ms")

    plateau, share = t.connections_plateau
    states = Counter[str]()
    for s in t.samples:
        states.update(s.states)
    out += ["", f"pool: app connections (application_name={APPLICATION_NAME})",
            f"    max {t.connections_max}, plateau {plateau} in {share:.0%} of samples, "
            f"median {statistics.median([s.connections for s in t.samples]) if t.samples else 0}",
            f"    states summed over samples: {dict(states)}"]

    orders = t.route("GET /api/orders/{id}")
    lookup = t.statement(STATEMENT_MARKS["nplus1"])
    out += ["", "nplus1: GET /api/orders/{id}",
            *_statement_rows(t.statements, ("FROM order_items",))]
    per = (lookup.calls / orders.requests) if lookup and orders.requests else 0.0
    out.append(f"    {orders.requests} requests; item lookup calls {lookup.calls if lookup else 0} "
               f"= {per:.2f} per request")

    for name, table, route in (("expr", "transfers", "GET /api/transfers/search"),
                               ("composite", "events", "GET /api/accounts/{id}/events")):
        scans = t.tables.get(table, TableScans())
        r = t.route(route)
        out += ["", f"{name}: {route}", *_statement_rows(t.statements, (STATEMENT_MARKS[name],)),
                f"    {table}: seq_scan +{scans.seq_scan} ({scans.seq_tup_read} rows read), "
                f"idx_scan +{scans.idx_scan}; {r.requests} requests, server p95 "
                f"{r.percentile_ms(95) or 0:.1f} ms"]

    out += ["", "flaky: 5xx per route"]
    out += [f"    {k:<32} {r.status_5xx:>5} of {r.requests}" for k, r in t.routes.items()]

    report = t.route("GET /api/report")
    cpu = "not measured" if t.backend_cpu_pct is None else (
        f"{t.backend_cpu_s:.2f} s = {t.backend_cpu_pct:.0f}% of a core (pid {t.backend_pid})")
    out += ["", "cpu: GET /api/report", f"    backend process CPU: {cpu}",
            f"    {report.requests} requests, server p50 {report.percentile_ms(50) or 0:.1f} ms"]

    out += ["", "server latency per route (access log, ms):",
            f"    {'route':<32} {'n':>6} {'p50':>7} {'p95':>7} {'max':>7}  statuses"]
    out += [_route_row(k, r) for k, r in t.routes.items()]
    if t.other_lines:
        out.append(f"    ({t.other_lines} lines matched no lab route)")
    out += ["", "tables (seq_scan / idx_scan during the run):"]
    out += [f"    {n:<12} seq +{s.seq_scan:<6} idx +{s.idx_scan}" for n, s in t.tables.items()]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True, help="the lab's base URL, e.g. http://127.0.0.1:8300")
    parser.add_argument("--access-log", required=True, type=Path, help="LAB_LOG_DIR/access.log")
    parser.add_argument("--duration", default="30s", help="k6 DURATION (default 30s)")
    parser.add_argument("--k6", type=Path, default=None, help="the k6 binary (default: beside this python)")
    parser.add_argument("--script", type=Path, default=DEFAULT_SCRIPT)
    parser.add_argument("--pid", type=int, default=None, help="the lab's process (default: the listener)")
    parser.add_argument("--settle", type=float, default=SETTLE_S,
                        help=f"seconds to wait for the table counters after k6 (default {SETTLE_S:g})")
    parser.add_argument("--json", type=Path, default=None, help="also write every figure here")
    parser.add_argument("-e", dest="k6_env", action="append", default=[], metavar="NAME=VALUE",
                        help="more k6 variables for the mix (e.g. -e REPORT_USERS=3)")
    args = parser.parse_args(argv)
    db_url = os.environ.get("LAB_DB_URL", "")
    if not db_url:
        print("measure: LAB_DB_URL is not set; export the lab database's URL first.", file=sys.stderr)
        return 2
    try:
        bad = [pair for pair in args.k6_env if "=" not in pair]
        if bad:
            print(f"measure: -e {bad[0]} is not NAME=VALUE.", file=sys.stderr)
            return 2
        truth = measure(db_url, args.access_log, args.url.rstrip("/"), args.duration, k6=args.k6,
                        script=args.script, pid=args.pid, settle_s=args.settle,
                        k6_env=dict(pair.split("=", 1) for pair in args.k6_env))
    except MeasureError as exc:
        print(f"measure: {exc}", file=sys.stderr)
        return 1
    except psycopg.OperationalError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"measure: cannot reach the lab's database ({first}); check LAB_DB_URL.", file=sys.stderr)
        return 1
    print(render(truth))
    if args.json:
        args.json.write_text(json.dumps(truth.to_json(), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
