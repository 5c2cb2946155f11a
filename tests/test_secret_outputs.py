"""Secrets of unusual shapes, in every form, stay out of everything a run shows or writes.

End to end: a real headless run (the CLI entry point, a subprocess) against the session's demo
backend as an external environment, with PERF_DATABASE_URL holding a role whose password has the
shape, PERF_API_TOKEN shaped too, and an app log this test writes lines into during the run, each
holding a secret in one of its forms. Every form of every secret is then counted in the console
output and in every file of the run directory: zero each.

The dashboard: the live screen fed through a redacting bus (a Textual Pilot test), its log pane
text and its SVG screenshot.
"""

from __future__ import annotations

import html
import json
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql

from perfdash.demo.pgcluster import ThrowawayPostgres
from perfdash.events import Bus, LogLinesRead

from .conftest import ROOT, DemoService
from .test_secret_forms import every_form, leaky_lines

PERFDASH = str(Path(sys.executable).parent / "perfdash")
K6_SCRIPT = ROOT / "perfdash" / "demo" / "project" / "k6" / "demo-api.js"

# Three representative shapes: URL delimiters, quoting characters with a space and a literal
# percent escape, and non-ASCII with the characters base64 and form encoding use.
E2E_SHAPES = {
    "url-delimiters": "Xq@ss:w0rd/#x?y&z",
    "quotes-space-percent": 'qu"o te\\b%40ck',
    "unicode-plus-slash": "pässwörd-日本+/=",
}


def _role(pg: ThrowawayPostgres, database: str, pw: str) -> str:
    role = f"perf_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg.url("postgres").reveal(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
            sql.Identifier(role), sql.Literal(pw)))
        conn.execute(sql.SQL("GRANT pg_read_all_stats TO {}").format(sql.Identifier(role)))
    with psycopg.connect(pg.url(database).reveal(), autocommit=True) as conn:
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(
            sql.Identifier(role)))
    return role


def _count(text: str, forms: dict[str, str]) -> dict[str, int]:
    return {name: text.count(form) for name, form in forms.items() if form in text}


@pytest.mark.e2e
@pytest.mark.parametrize("shape", E2E_SHAPES)
def test_no_form_of_a_secret_reaches_any_output(shape: str, demo_service: DemoService,
                                                pg_cluster: ThrowawayPostgres,
                                                tmp_path: Path) -> None:
    pw = E2E_SHAPES[shape]
    database = demo_service.database_url.reveal().rsplit("/", 1)[1]
    role = _role(pg_cluster, database, pw)
    url = f"postgresql://{role}:{quote(pw, safe='')}@127.0.0.1:{pg_cluster.port}/{database}"
    with psycopg.connect(url):  # the shaped URL really connects
        pass
    token = "tok-" + pw
    app_log = tmp_path / "app.log"
    app_log.write_text("INFO start\n")
    (tmp_path / "profiles.toml").write_text(f"""
[defaults]
results_dir = "results"

[profiles.leak]
description = "k6 only, 3 s"
[profiles.leak.k6]
script = {json.dumps(str(K6_SCRIPT))}
stages = [{{ duration = "3s", target = 1 }}]

[environments.ext]
description = "the session's demo backend as an external environment"
kind = "external"
app_log = {json.dumps(str(app_log))}
health_path = "/health"
protected = false
""")
    env_file = tmp_path / ".env.performance"
    env_file.write_text(f"PERF_BASE_URL={demo_service.base_url}\n"
                        f"PERF_DATABASE_URL='{url}'\nPERF_API_TOKEN={json.dumps(token)}\n")
    lines = [f"ERROR {line}" for line in leaky_lines(pw, url)]
    done = threading.Event()

    def write_log() -> None:  # the backend logging secrets all through the run
        while not done.wait(0.2):
            with app_log.open("a", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")

    writer = threading.Thread(target=write_log, daemon=True)
    writer.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERF_")}
    try:
        out = subprocess.run([PERFDASH, "run", "--profile", "leak", "--env", "ext", "--headless",
                              "--verbose", "--config", str(tmp_path / "profiles.toml"),
                              "--env-file", str(env_file),
                              "--results-dir", str(tmp_path / "results")],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                             check=False)
    finally:
        done.set()
        writer.join()
    assert out.returncode in (0, 1), out.stdout[-3000:] + out.stderr
    run_dir = next((tmp_path / "results").iterdir())
    records = [json.loads(x) for x in (run_dir / "events.ndjson").read_text().splitlines()]
    shown = [ln for r in records if r["type"] == "LogLinesRead" for ln in r["lines"]]
    assert sum("ERROR" in ln for ln in shown) >= len(lines), "the app log lines were not read"
    assert any("***" in ln for ln in shown)
    assert f"postgresql://{role}:***@127.0.0.1" in (run_dir / "summary.json").read_text()

    forms = every_form(pw, url)
    places = {"stdout": out.stdout, "stderr": out.stderr}
    places |= {str(p.relative_to(run_dir)): p.read_text(errors="replace")
               for p in sorted(run_dir.rglob("*")) if p.is_file()}
    assert {"summary.json", "preflight.json", "junit.xml", "summary.md", "events.ndjson",
            "perfdash.log"} <= set(places)
    counts = {place: _count(text, forms) for place, text in places.items()}
    print(f"\n{shape}: {len(forms)} forms x {len(places)} outputs: "
          + ", ".join(f"{p}={sum(c.values())}" for p, c in counts.items()))
    assert {p: c for p, c in counts.items() if c} == {}


async def test_the_dashboard_log_pane_and_screenshot_show_no_secret() -> None:
    from perfdash.secret import Secret
    from perfdash.ui.live.log_pane import LogPane
    from tests.ui.conftest import MID_RUN_S, PASS_RUN, live_rig, recorded

    rig = live_rig()
    secrets: list[Secret] = []
    rig.bus.redact_with(secrets)
    forms: dict[str, str] = {}
    lines: list[str] = []
    for shape, pw in E2E_SHAPES.items():
        url = f"postgresql://perf:{quote(pw, safe='')}@127.0.0.1:5432/perfdb"
        secrets += [Secret(url), Secret("tok-" + pw)]  # added as they become known, like the demo's
        forms |= {f"{shape} {k}": v for k, v in every_form(pw, url).items()}
        lines += [f"ERROR {line}" for line in leaky_lines(pw, url)]
    # the log pane shows the newest lines: the URL-and-token line goes last so it is on screen
    lines.sort(key=lambda line: "Bearer" in line)
    async with rig.app.run_test(size=(240, 60)) as pilot:
        rig.feed(recorded(PASS_RUN, MID_RUN_S))
        for start in range(0, len(lines), 20):
            rig.bus.publish(LogLinesRead(tuple(lines[start:start + 20]), errors=20, warnings=0))
        rig.app.drain()
        rig.app.show_now()
        await pilot.pause()
        pane = rig.app.screen.query_one(LogPane)
        text = pane.view.text().plain
        assert "ERROR ERROR url=*** Bearer ***" in text
        svg = rig.app.export_screenshot()
    assert "***" in svg
    assert _count(text, forms) == {}
    assert _count(svg, forms) == {}
    assert _count(html.unescape(svg).replace("\xa0", " "), forms) == {}


def test_without_the_redacting_bus_the_dashboard_test_would_see_secrets() -> None:
    """The control: the same lines published on a bare bus reach a subscriber verbatim."""
    bus = Bus()
    sub = bus.subscribe()
    pw = E2E_SHAPES["url-delimiters"]
    url = f"postgresql://perf:{quote(pw, safe='')}@127.0.0.1:5432/perfdb"
    bus.publish(LogLinesRead(tuple(leaky_lines(pw, url)), errors=0, warnings=0))
    (event,) = sub.drain()
    assert isinstance(event, LogLinesRead)
    assert _count("\n".join(event.lines), every_form(pw, url))
