"""The diagnosis rules on hand-made facts: each planted problem is named with its evidence and
fix, linked where one explains another, and a healthy run yields no finding."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from perfdash.diagnose import diagnose, run_rules
from perfdash.diagnose.facts import AppConnections, EndpointLoad, Facts, LockWaits, Statement
from perfdash.diagnose.render import diagnosis_lines, diagnosis_markdown

FOR_UPDATE = "SELECT id, balance FROM accounts WHERE id = $1 FOR UPDATE"
LIST = "SELECT item_id FROM order_items WHERE order_id = $1"
LOOKUP = "SELECT id, sku, price FROM items WHERE id = $1"


def _stmt(query: str, calls: int, total_ms: float, rows: int, share: float, **rank: int) -> Statement:
    return Statement(query, "statement", calls, total_ms, total_ms / calls, rows, share, rank)


def _endpoint(name: str, requests: int, server_p50: float, five: int = 0) -> EndpointLoad:
    return EndpointLoad(name, requests, "log", server_p50 * 1.2, server_p50 * 2, "k6", server_p50,
                        server_p50 * 1.8, requests, five, five)


def sick_facts() -> Facts:
    return Facts(
        statements=[
            _stmt(FOR_UPDATE, 1_000, 50_000.0, 1_000, 0.6, total=1, mean=1),
            _stmt(LIST, 732, 300.0, 36_600, 0.01, total=4),
            Statement(LOOKUP, "statement", 36_600, 1_500.0, 1_500 / 36_600, 36_600, 0.05,
                      {"calls": 1}, "2 queryids, parameters typed differently"),
            Statement("COMMIT", "utility", 5_000, 20.0, 0.004, 0, 0.0, {"calls": 2}),
        ],
        endpoints=[_endpoint("/api/orders/{}", 732, 150.0), _endpoint("/api/transfers", 1_000, 300.0),
                   _endpoint("/api/quote", 500, 2.0, five=100), _endpoint("/api/accounts/{}", 900, 120.0)],
        locks=LockWaits(samples=40, samples_with_waiters=30, max_waiters=3,
                        top_query="SELECT id, balance FROM accounts WHERE id = $1 FOR UPDATE",
                        top_query_share=1.0, relation="accounts",
                        blocker_states=Counter({"idle in transaction": 50, "active": 5}),
                        apps=Counter({"lab-api": 55}), lock_share=0.45, from_s=3.0, to_s=38.0),
        apps=[AppConnections("lab-api|lab|127.0.0.1", "lab-api", 40, 4, 0.95, 0.5, 1.2, 1.0, 39.0,
                             busy=0.87)],
        max_connections=100,
        index_advice=[{"queryid": "9", "statement": "SELECT * FROM transfers WHERE lower(memo) = lower($1)",
                       "table": "transfers", "create_index": "CREATE INDEX ON transfers (lower(memo))",
                       "kind": "expression", "verified": True, "cost_before": 9870.0,
                       "cost_after": 8.4, "not_verified": None}],
    )


def _by_id(result: dict[str, object]) -> dict[str, dict[str, object]]:
    return {f["id"]: f for f in result["findings"]}  # type: ignore[attr-defined,index]


def test_every_planted_problem_is_named() -> None:
    found = _by_id(run_rules(sick_facts()))
    assert set(found) == {"lock-contention", "pool-saturation", "n-plus-one", "missing-index",
                          "endpoint-errors"}
    lock = found["lock-contention"]
    assert "idle in transaction" in str(lock["title"])
    assert lock["statement"] == FOR_UPDATE
    assert "commit before the slow work" in str(lock["fix"])
    nplus = found["n-plus-one"]
    assert nplus["endpoint"] == "/api/orders/{}"
    assert "50×" in str(nplus["title"])
    assert any("2 queryids" in str(e["text"]) for e in nplus["evidence"])  # type: ignore[attr-defined]
    assert "ANY($1)" in str(nplus["fix"])
    assert "4 connections" in str(found["pool-saturation"]["title"])
    assert "87% busy on average" in str(found["pool-saturation"]["title"])
    assert "cost 9,870 → 8.4" in str(found["missing-index"]["title"])
    assert found["endpoint-errors"]["endpoint"] == "/api/quote"


def test_the_lock_and_the_pool_are_one_story_ranked_first() -> None:
    result = run_rules(sick_facts())
    found = _by_id(result)
    assert found["pool-saturation"]["links"] == ["lock-contention"]
    assert found["lock-contention"]["links"] == ["pool-saturation"]
    assert result["findings"][0]["id"] == "lock-contention"  # type: ignore[index]
    impacts = [f["impact"] for f in result["findings"]]  # type: ignore[attr-defined]
    assert impacts == sorted(impacts, reverse=True)


def test_a_healthy_run_has_no_finding() -> None:
    facts = Facts(
        statements=[_stmt(LOOKUP.replace("= $1", "= ANY($1)"), 732, 30.0, 36_600, 0.5, total=1)],
        endpoints=[_endpoint("/api/orders/{}", 732, 3.0)],
        apps=[AppConnections("lab-api|lab|127.0.0.1", "lab-api", 40, 20, 0.9, 0.0, 0.0, 1.0, 39.0)],
        max_connections=100)
    assert run_rules(facts)["findings"] == []


def test_a_pool_with_idle_connections_is_not_saturated() -> None:
    facts = sick_facts()
    facts.apps = [AppConnections("lab-api|lab|127.0.0.1", "lab-api", 40, 4, 0.95, 0.1, 0.0, 1.0, 39.0,
                                 busy=0.4)]
    assert "pool-saturation" not in _by_id(run_rules(facts))


def test_without_samples_each_rule_says_what_it_needs(tmp_path: Path) -> None:
    result = diagnose(tmp_path, None)
    assert result["findings"] == []
    needs = {g["rule"]: g["needs"] for g in result["not_measured"]}
    assert "db-activity.ndjson" in needs["lock-contention"]
    assert "n-plus-one" in needs
    assert "Not looked at (lock-contention)" in "\n".join(diagnosis_markdown(result))


def test_facts_come_from_the_run_directory(tmp_path: Path) -> None:
    samples = [{"at": 100.0 + i, "apps": {"api|u|127.0.0.1": {"active": 3, "idle in transaction": 1}},
                "waits": {"Lock:transactionid": 2, "CPU": 1},
                "lock_waits": [{"pid": 7, "app": "api", "event": "transactionid", "relation": "accounts",
                                "query": "SELECT * FROM accounts WHERE id = $1 FOR UPDATE",
                                "blockers": [{"pid": 8, "state": "idle in transaction"}]}] * 2}
               for i in range(10)]
    (tmp_path / "db-activity.ndjson").write_text("".join(json.dumps(s) + "\n" for s in samples)
                                                 + '{"at": 1')  # a torn last line
    (tmp_path / "query-analysis.json").write_text(json.dumps({
        "database": {"max_connections": 100},
        "workload": {"statements": [{"query": "SELECT * FROM accounts WHERE id = $1 FOR UPDATE",
                                     "kind": "statement", "calls": 500, "total_ms": 25_000.0,
                                     "rows": 500, "share_of_time": 0.7, "rank": {"total": 1}}]}}))
    result = diagnose(tmp_path, {"rows": []})
    found = _by_id(result)
    assert set(found) == {"lock-contention", "pool-saturation"}
    assert found["lock-contention"]["confidence"] == "high"
    assert found["pool-saturation"]["links"] == ["lock-contention"]
    lines = diagnosis_lines(result)
    assert lines[1].lstrip().startswith("1. Lock contention on accounts")


def test_deadlocks_spills_and_churn_from_the_database_counters() -> None:
    facts = Facts(
        statements=[Statement("SELECT * FROM events ORDER BY payload", "statement", 40, 8_000.0, 200.0,
                              40_000, 0.8, {"total": 1}, temp_blks_written=12_800)],
        endpoints=[_endpoint("/api/report", 400, 30.0)],
        counters={"deadlocks": 3, "xact_rollback": 5, "temp_files": 40, "sessions": 390})
    found = _by_id(run_rules(facts))
    assert "3 deadlocks" in str(found["deadlocks"]["title"])
    assert "40P01" in str(found["deadlocks"]["fix"])
    assert "104.9 MB" in str(found["disk-spill"]["title"])
    assert "work_mem" in str(found["disk-spill"]["fix"])
    assert "390 database sessions for 400 requests of /api/report" in str(
        found["connection-churn"]["title"])


def test_quiet_counters_say_nothing() -> None:
    facts = Facts(endpoints=[_endpoint("/api/report", 400, 30.0)],
                  counters={"deadlocks": 0, "temp_files": 0, "sessions": 4})
    assert run_rules(facts)["findings"] == []


def test_a_backend_pinned_at_one_core_is_cpu_bound() -> None:
    facts = Facts(endpoints=[_endpoint("/api/report", 300, 28.0), _endpoint("/api/ping", 900, 2.0)],
                  backend_cpu_pct=[0.0, 0.0] + [97.0] * 20 + [60.0])
    found = _by_id(run_rules(facts))
    cpu = found["cpu-bound-app"]
    assert cpu["endpoint"] == "/api/report"
    assert "median 97% of one core" in str(cpu["title"])
    # a route slower on the server, but waiting (its floor time is more than the CPU used), is
    # not the one computing; the one whose floor time fits in the CPU time is
    facts.endpoints.append(_endpoint("/api/transfers", 300, 200.0))
    facts.route_floor_ms = {"/api/transfers": (300, 130.0), "/api/report": (150, 95.0),
                            "/api/ping": (900, 1.0)}
    cpu = _by_id(run_rules(facts))["cpu-bound-app"]
    assert cpu["endpoint"] == "/api/report"
    assert any("95 ms (p10) × 150 requests = 14.2 s" in str(e["text"])
               for e in cpu["evidence"])  # type: ignore[attr-defined]
    idle = Facts(endpoints=facts.endpoints, backend_cpu_pct=[12.0] * 20)
    assert "cpu-bound-app" not in _by_id(run_rules(idle))


def test_the_connections_check_warns_on_a_full_pool_far_below_max_connections(tmp_path: Path) -> None:
    from perfdash.analyze.dbreport import analyse_connections

    (tmp_path / "db-connections.csv").write_text(
        "timestamp,total,active,idle,idle_in_transaction,other,max_connections,waiting_locks\n"
        + "".join(f"2026-12-04T10:00:{i:02d}.000+00:00,5,3,1,1,0,100,2\n" for i in range(10)))
    samples = [{"at": 100.0 + i, "apps": {"api|u|127.0.0.1": {"active": 3, "idle in transaction": 1}},
                "waits": {}, "lock_waits": []} for i in range(10)]
    (tmp_path / "db-activity.ndjson").write_text("".join(json.dumps(s) + "\n" for s in samples))
    check = analyse_connections(tmp_path / "db-connections.csv")
    assert check.status == "warn"
    assert "api held 4 connections in 100% of the samples, 100% of them busy on average" in check.detail
    (tmp_path / "db-activity.ndjson").write_text("".join(
        json.dumps({**s, "apps": {"api|u|127.0.0.1": {"active": 1, "idle": 3}}}) + "\n" for s in samples))
    assert analyse_connections(tmp_path / "db-connections.csv").status == "pass"


def test_an_access_log_read_in_the_wrong_unit_is_named() -> None:
    wrong = EndpointLoad("/api/transfers", 900, "log", 31.0, 60.0, "k6", 31_000.0, 60_000.0, 900, 0, 0)
    facts = Facts(endpoints=[wrong], log_time_unit="s")
    found = _by_id(run_rules(facts))
    assert 'set access_log_time_unit = "ms"' in str(found["log-time-unit"]["title"])
    assert "log-time-unit" not in _by_id(run_rules(Facts(endpoints=[_endpoint("/a", 10, 30.0)])))


def test_the_app_logs_own_pool_lines_are_evidence() -> None:
    lines = {"by_library": {"psycopg_pool": 6}, "lines": 6, "max_waiting": 9,
             "example": "WARNING app.pool: {'pool_max': 4, 'requests_waiting': 9}"}
    facts = sick_facts()
    facts.pool_lines = lines
    pool = _by_id(run_rules(facts))["pool-saturation"]
    assert any("up to 9 requests waiting" in str(e["text"]) for e in pool["evidence"])  # type: ignore[attr-defined]
    alone = Facts(pool_lines=lines, apps=[])
    only = _by_id(run_rules(alone))["pool-saturation"]
    assert "ran out (6 lines)" in str(only["title"])
    assert only["confidence"] == "medium"


def test_each_endpoint_says_where_its_time_goes() -> None:
    facts = sick_facts()
    facts.endpoints.append(EndpointLoad("/api/far", 100, "k6", 80.0, 90.0, "k6", 5.0, 8.0, 100, 0, 0))
    rows = {r["endpoint"]: r for r in run_rules(facts)["time_by_endpoint"]}
    orders = rows["/api/orders/{}"]
    assert orders["db_ms_per_request"] == round(1_500 / 732, 3)
    assert orders["stage"] == "application, outside the database (the pool was full)"
    assert rows["/api/far"]["stage"].startswith("client or network")
    assert "| endpoint | requests | client |" in "\n".join(diagnosis_markdown(run_rules(facts)))


def test_a_slow_statement_no_other_rule_explains_keeps_its_plan_hint() -> None:
    sleepy = "WITH pause AS MATERIALIZED (SELECT pg_sleep($1)) SELECT count(*) FROM orders"
    facts = Facts(statements=[_stmt(sleepy, 6, 1_500.0, 6, 0.55, total=1)],
                  slow_queries=[{"query": sleepy, "mean_ms": 250.0, "calls": 6,
                                 "hint": "the plan reads no table: the time goes to pg_sleep"}])
    slow = _by_id(run_rules(facts))["slow-statement"]
    assert "250 ms per call, 55% of all statement time" in str(slow["title"])
    assert "pg_sleep" in str(slow["cause"])
    facts.index_advice = [{"statement": sleepy, "create_index": "CREATE INDEX ON orders (x)",
                           "verified": True, "cost_before": 100.0, "cost_after": 5.0, "table": "orders"}]
    assert "slow-statement" not in _by_id(run_rules(facts))  # the index finding tells it


def test_a_dominant_io_wait_is_named_and_cpu_or_locks_are_not() -> None:
    facts = Facts(waits=Counter({"IO:DataFileRead": 60, "CPU": 30, "Lock:transactionid": 10}),
                  activity_samples=20)
    found = _by_id(run_rules(facts))
    assert "60% of their time waiting on IO" in str(found["database-waits"]["title"])
    assert "shared_buffers" in str(found["database-waits"]["fix"])
    busy_cpu = Facts(waits=Counter({"CPU": 90, "IO:DataFileRead": 10}), activity_samples=20)
    assert "database-waits" not in _by_id(run_rules(busy_cpu))
    a_lone_query = Facts(waits=Counter({"IO:DataFileRead": 6}), activity_samples=20)
    assert "database-waits" not in _by_id(run_rules(a_lone_query))


def test_429s_are_a_rate_limit_not_a_failure() -> None:
    facts = Facts(endpoints=[_endpoint("/api/search", 1_000, 5.0)],
                  throttled={"/api/search": (300, 1_000), "/api/other": (1, 1_000)})
    found = run_rules(facts)["findings"]
    assert [f["id"] for f in found] == ["throttled"]
    assert "429 Too Many Requests to 30% of its requests" in found[0]["title"]
    assert "expectedStatuses" in found[0]["fix"]


def test_memory_that_grows_and_stays_is_a_leak_and_a_sawtooth_is_not() -> None:
    leak = Facts(backend_rss_mb=[100.0 + 3 * i for i in range(60)])
    found = _by_id(run_rules(leak))["memory-growth"]
    assert "grew from 108 MB to 270 MB" in str(found["title"])
    assert found["confidence"] == "high"
    sawtooth = Facts(backend_rss_mb=[100.0 + (i % 10) * 20 for i in range(60)])
    assert "memory-growth" not in _by_id(run_rules(sawtooth))
    short = run_rules(Facts(backend_rss_mb=[100.0, 400.0]))
    assert any(g["rule"] == "memory-growth" for g in short["not_measured"])


def test_artifacts_of_the_wrong_shape_never_cost_the_summary(tmp_path: Path) -> None:
    """Wrong types where numbers and tables belong: the diagnosis reads what it can and never raises."""
    bad_values: list[object] = ["x", None, [], {}, -1, 1e308, True, 2, float("nan")]
    for bad in bad_values:
        sample = {"at": 1.0, "apps": {"a|b|c": {"active": bad}}, "waits": {"CPU": bad},
                  "lock_waits": [{"query": bad, "blockers": bad, "relation": bad, "app": bad}]}
        (tmp_path / "db-activity.ndjson").write_text(json.dumps(sample) + "\n")
        (tmp_path / "query-analysis.json").write_text(json.dumps({
            "database": {"max_connections": bad}, "database_counters": {"deadlocks": bad},
            "workload": {"statements": [{"query": bad, "calls": bad, "total_ms": bad, "rank": bad,
                                         "rows": bad, "kind": bad}]},
            "index_advice": [{"create_index": bad, "cost_before": bad, "cost_after": bad}],
            "slow_queries": [{"query": bad}], "sequential_scans": [{"table": bad, "hint": bad}]}))
        (tmp_path / "applog-endpoints.json").write_text(json.dumps(
            {"time_unit": bad, "routes": {"/x": {"buckets": bad, "latency_n": bad, "status_429": bad,
                                                 "count": bad}}}))
        (tmp_path / "metrics.csv").write_text(f"backend_cpu_pct,backend_rss_mb\n{bad},{bad}\n")
        endpoints = {"rows": [{"endpoint": bad, "sources": {"log": {"requests": bad, "p50_ms": bad}}}]}
        result = diagnose(tmp_path, endpoints, {"pool_lines": bad})
        assert not any(g["rule"] == "diagnosis" for g in result["not_measured"]), (bad, result)


def test_under_a_saturated_loop_the_route_with_the_highest_affordable_floor_is_named() -> None:
    """Every route waits for the loop, so a busy cheap route's floor times its count can rival the
    CPU: the route doing the work has the highest floor among those the CPU could pay for."""
    facts = Facts(endpoints=[_endpoint("/api/report", 150, 110.0), _endpoint("/api/accounts/{}", 900, 25.0)],
                  backend_cpu_pct=[99.0] * 16,
                  route_floor_ms={"/api/report": (150, 100.0), "/api/accounts/{}": (900, 15.0),
                                  "/api/orders/{}": (4, 3_600.0)})  # 4 requests stuck behind the loop
    assert _by_id(run_rules(facts))["cpu-bound-app"]["endpoint"] == "/api/report"


def test_a_backend_starved_on_a_saturated_machine_is_cpu_bound_when_a_route_accounts_for_it() -> None:
    facts = Facts(endpoints=[_endpoint("/api/report", 80, 110.0)],
                  backend_cpu_pct=[50.0] * 16, host_cpu_pct=[100.0] * 16,
                  route_floor_ms={"/api/report": (80, 100.0), "/api/ping": (900, 1.0)})
    found = _by_id(run_rules(facts))["cpu-bound-app"]
    assert found["endpoint"] == "/api/report"
    assert "on a saturated machine" in str(found["title"])
    assert "it got what was left" in str(found["evidence"][0]["text"])  # type: ignore[index]
    no_route = Facts(backend_cpu_pct=[50.0] * 16, host_cpu_pct=[100.0] * 16)
    assert "cpu-bound-app" not in _by_id(run_rules(no_route))


def test_a_route_that_always_waits_on_something_else_is_a_slow_dependency() -> None:
    facts = Facts(route_floor_ms={"/api/rates": (200, 300.0), "/api/ping": (900, 1.0)},
                  route_p50_ms={"/api/rates": 310.0, "/api/ping": 2.0},
                  backend_cpu_pct=[12.0] * 20, activity_samples=20)
    found = _by_id(run_rules(facts))["slow-dependency"]
    assert found["endpoint"] == "/api/rates"
    assert "waits on something outside the application and the database" in str(found["title"])
    queued = Facts(route_floor_ms={"/api/rates": (200, 120.0)}, route_p50_ms={"/api/rates": 400.0},
                   backend_cpu_pct=[12.0] * 20)
    assert "slow-dependency" not in _by_id(run_rules(queued))  # a queue, not the same wait each time
    busy = Facts(route_floor_ms=facts.route_floor_ms, route_p50_ms=facts.route_p50_ms,
                 backend_cpu_pct=[95.0] * 20)
    assert "slow-dependency" not in _by_id(run_rules(busy))


def test_deadlocks_that_are_a_routes_server_errors_are_one_story() -> None:
    facts = Facts(endpoints=[_endpoint("/api/swap", 755, 40.0, five=408), _endpoint("/api/ping", 900, 2.0)],
                  counters={"deadlocks": 396, "xact_rollback": 400, "sessions": 3})
    found = _by_id(run_rules(facts))
    assert found["deadlocks"]["links"] == ["endpoint-errors"]
    assert found["deadlocks"]["endpoint"] == "/api/swap"
    assert str(found["endpoint-errors"]["title"]).endswith(": the 396 deadlocks")


def test_a_route_whose_errors_are_deadlocks_is_not_a_slow_dependency() -> None:
    facts = Facts(endpoints=[_endpoint("/api/swap", 755, 124.0, five=408),
                             _endpoint("/api/rates", 120, 307.0)],
                  counters={"deadlocks": 396, "sessions": 3},
                  route_floor_ms={"/api/swap": (755, 110.0), "/api/rates": (120, 300.0)},
                  route_p50_ms={"/api/swap": 124.0, "/api/rates": 307.0}, backend_cpu_pct=[20.0] * 20)
    slow = [f["endpoint"] for f in run_rules(facts)["findings"] if f["id"] == "slow-dependency"]
    assert slow == ["/api/rates"]


def test_a_pinned_pool_with_nothing_waiting_for_it_is_no_finding() -> None:
    facts = Facts(apps=[AppConnections("api|u|h", "api", 40, 4, 0.95, 0.5, 0.0, 1.0, 39.0, busy=0.9)],
                  endpoints=[_endpoint("/api/fast", 900, 3.0)], max_connections=100)
    assert "pool-saturation" not in _by_id(run_rules(facts))
