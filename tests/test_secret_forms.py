"""Secrets in every form text can carry them (raw, percent-encoded, percent-decoded, JSON-escaped,
inside a malformed URL) are taken out by `scrub`/`redact_url` and, through the bus, out of every
event any consumer sees. The end-to-end table over a run's outputs is in test_secret_outputs.py.
"""

from __future__ import annotations

import json
from urllib.parse import quote, unquote

import pytest

from perfdash.events import (
    Bus,
    Event,
    LogLinesRead,
    ProblemDetected,
    SystemSampled,
    ToolExited,
    ToolProgressed,
    redact_event,
    to_record,
)
from perfdash.secret import (
    MIN_SECRET_CHARS,
    REDACTED,
    Redactor,
    Secret,
    forms_of,
    redact_url,
    scrub,
    unredactable,
)

# name -> a password (and, derived from it, a token) of that shape
SHAPES: dict[str, str] = {
    "url-special": "Xq@ss:w0rd/#x?y&z",
    "spaces": "pass word with spaces",
    "percent": "Xq%zzw0rdS3CR",
    "percent-escape": "Xq%40ss-9f2",
    "at-hash": "p@ss#w0rd#tag",
    "plus-slash-eq": "a+b/c=d==e9",
    "quote-backslash": 'qu"ote\\back-3',
    "unicode": "pässwörd-日本-ß",
    "plain": "Pw-SECRET-7c1a9e",
}


def forms(value: str) -> dict[str, str]:
    """The forms the brief names, each as text would carry it."""
    out = {"raw": value, "percent-encoded": quote(value, safe=""),
           "percent-decoded": unquote(value), "json": json.dumps(value)[1:-1],
           "json-unicode": json.dumps(value, ensure_ascii=False)[1:-1]}
    return {k: v for k, v in out.items() if len(v) >= MIN_SECRET_CHARS}


def secrets_for(pw: str, *, encoded: bool = True) -> tuple[Secret, Secret, str]:
    shown = quote(pw, safe="") if encoded else pw
    url = f"postgresql://perf:{shown}@127.0.0.1:5432/perfdb"
    return Secret(url), Secret("tok-" + pw), url


def hits(text: str, values: dict[str, str]) -> list[str]:
    return [f"{name}: {form!r}" for name, form in values.items() if form in text]


def every_form(pw: str, url: str) -> dict[str, str]:
    out = {}
    for who, value in (("password", pw), ("token", "tok-" + pw), ("url", url)):
        out |= {f"{who} {k}": v for k, v in forms(value).items()}
    return out


def leaky_lines(pw: str, url: str) -> list[str]:
    token = "tok-" + pw
    lines = [f"ERROR url={url} Bearer {token}", f"raw password is {pw}",
             json.dumps({"password": pw, "token": token}),
             json.dumps({"password": pw}, ensure_ascii=False),
             f"encoded {quote(pw, safe='')} and {quote(token, safe='')}",
             f"decoded {unquote(pw)}", f'invalid percent-encoded token: "{pw}"']
    return lines + [f"{name} -> {form}" for name, form in every_form(pw, url).items()]


@pytest.mark.parametrize("encoded", [True, False], ids=["url-encoded", "url-raw"])
@pytest.mark.parametrize("shape", SHAPES)
def test_scrub_takes_every_form_of_every_secret(shape: str, encoded: bool) -> None:
    pw = SHAPES[shape]
    url_secret, token, url = secrets_for(pw, encoded=encoded)
    for line in leaky_lines(pw, url):
        out = scrub(line, [url_secret, token])
        assert hits(out, every_form(pw, url)) == [], (line, out)
        assert REDACTED in out


@pytest.mark.parametrize("shape", SHAPES)
def test_redact_url_hides_the_whole_userinfo_password(shape: str) -> None:
    pw = SHAPES[shape]
    # An unencoded space ends a URL in free text, so a raw password with one is not a URL's
    # userinfo here; scrub's known forms take it out (the test above).
    shown_forms = (quote(pw, safe=""),) if " " in pw else (quote(pw, safe=""), pw)
    for shown in shown_forms:
        out = redact_url(f"could not connect to postgresql://perf:{shown}@db.local:5432/app now")
        assert out == "could not connect to postgresql://perf:***@db.local:5432/app now"


def test_redact_url_is_greedy_to_the_last_at() -> None:
    assert redact_url("postgresql://perf:Xq@ss:w0rd/#x@host/db") == "postgresql://perf:***@host/db"
    assert redact_url("postgresql://app:s3cr%40t@db.local:5432/app") == \
        "postgresql://app:***@db.local:5432/app"
    assert redact_url("postgresql://app@db/app") == "postgresql://app@db/app"
    assert redact_url("host=x PassWord='a b c' dbname=y") == "host=x PassWord=*** dbname=y"


def test_a_libpq_message_quoting_the_password_is_scrubbed() -> None:
    url = Secret("postgresql://perf:Xq%zzw0rdS3CR@127.0.0.1/db")
    message = 'invalid percent-encoded token: "Xq%zzw0rdS3CR"'
    assert scrub(message, [url]) == 'invalid percent-encoded token: "***"'


def test_short_secrets_are_left_to_the_url_pattern_and_flagged() -> None:
    url = Secret("postgresql://perf:ab1@127.0.0.1/db")
    assert unredactable(url)
    assert unredactable(Secret("xyz"))
    assert not unredactable(Secret("postgresql://perf:abcd@127.0.0.1/db"))
    assert not unredactable(Secret("postgresql://perf@127.0.0.1/db"))
    assert not unredactable(Secret("tok-1234"))
    # not replaced by value (it would blank out "ab1" in every word), but gone from the URL
    assert scrub("job ab12 failed: postgresql://perf:ab1@h/db", [url]) == \
        "job ab12 failed: postgresql://perf:***@h/db"


def test_forms_are_longest_first_and_cached() -> None:
    got = forms_of(("postgresql://perf:a%40bcd@h/db",))
    assert got == tuple(sorted(got, key=lambda f: -len(f)))
    assert {"a@bcd", "a%40bcd", "postgresql://perf:a%40bcd@h/db"} <= set(got)
    assert forms_of(("postgresql://perf:a%40bcd@h/db",)) is got


def _events(pw: str, url: str) -> list[Event]:
    token = "tok-" + pw
    lines = tuple(leaky_lines(pw, url))
    return [
        LogLinesRead(("INFO GET /api/products 200",) * 50 + lines, errors=1, warnings=0),
        LogLinesRead((f"ERROR {token}",), errors=1, warnings=0),
        ProblemDetected(f'database unreachable: invalid percent-encoded token: "{pw}"',
                        f"check {url}", severity="error"),
        ToolExited("k6", 1, 2.0, None, lines),
        ToolProgressed("artillery", 1.0, 3.0, (("rps", 1.0),), counts=((f"Error: {token}", 3),)),
    ]


@pytest.mark.parametrize("shape", SHAPES)
def test_the_bus_redacts_for_every_subscriber_and_listener(shape: str) -> None:
    pw = SHAPES[shape]
    url_secret, token, url = secrets_for(pw)
    bus = Bus()
    secrets = [url_secret]
    bus.redact_with(secrets)
    secrets.append(token)  # learned later, like the demo stack's token
    heard: list[Event] = []
    bus.listen(heard.append)
    sub = bus.subscribe()
    for event in _events(pw, url):
        bus.publish(event)
    received = sub.drain()
    assert len(heard) == len(received) == 5
    for event in heard + received:
        text = json.dumps(to_record(event), default=str) + repr(event) + str(to_record(event))
        text += json.dumps(to_record(event), default=str, ensure_ascii=False)
        assert hits(text, every_form(pw, url)) == [], (shape, event)
    assert heard[0].lines[:50] == ("INFO GET /api/products 200",) * 50  # type: ignore[attr-defined]


def test_a_clean_event_is_passed_on_as_is() -> None:
    redactor = Redactor([Secret("postgresql://perf:Pw-SECRET@h/db"), Secret("tok-123456")])
    quiet = LogLinesRead(("INFO GET /api/products 200 3.2ms",) * 100, errors=0, warnings=0)
    sample = SystemSampled(10.0, (10.0,), 20.0, 100.0, 0.0, 0.1, 0.1, 0.1)
    assert redact_event(quiet, redactor) is quiet
    assert redact_event(sample, redactor) is sample
    loud = LogLinesRead(("x",) * 99 + ("Bearer tok-123456",), errors=0, warnings=0)
    out = redact_event(loud, redactor)
    assert out.lines[-1] == "Bearer ***"
    assert out.lines[:99] == loud.lines[:99]
    assert out.at == loud.at


def test_a_bus_without_secrets_passes_events_unchanged() -> None:
    bus = Bus()
    heard: list[Event] = []
    bus.listen(heard.append)
    event = LogLinesRead(("postgresql://u:pw@h/db",), errors=0, warnings=0)
    bus.publish(event)
    assert heard == [event]
