"""A value that must never be printed: passwords, tokens, connection strings with credentials.

Settings, the demo cluster and the tool launchers hand secrets around in this wrapper so that no
f-string, log line, repr or JSON dump can leak one by accident; only `reveal()` gives the value, and
every call of it is a place a reviewer can find with grep.

Free text (log lines, tool output, error messages, events) is cleaned by `scrub`/`Redactor`: every
known secret goes in all the forms text can carry it in (`forms_of`), and any URL's userinfo and any
`password=` value go by pattern.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Final
from urllib.parse import quote, quote_plus, unquote

REDACTED: Final = "***"

# A secret form shorter than this is not replaced by value: a 3-character password would blank out
# every word holding those letters. Inside a URL it still goes (by pattern), and preflight warns that
# it cannot be kept out of other text (`unredactable`).
MIN_SECRET_CHARS: Final = 4

# Greedy: everything between `scheme://user:` and the LAST `@` of the run of non-space characters is
# the password, so `perf:Xq@ss:w0rd/#x@host` loses all of `Xq@ss:w0rd/#x`, not just `Xq`.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)(?P<pw>\S*)(?P<tail>@)", re.I)
_URL_START = re.compile(r"[a-z][a-z0-9+.-]*://[^:/@\s]*:", re.I)
# What every match of _URL_PASSWORD holds, found from its literal `://` (fast): text full of plain
# URLs and e-mail addresses (an access log) is spared the full pattern, which tries every word.
_URL_USERINFO = re.compile(r"://[^:/@\s]*:\S*@")
# pg_stat_statements keeps utility statements verbatim: `CREATE ROLE x PASSWORD 'hunter2'`.
_SQL_PASSWORD = re.compile(r"(?P<head>\bPASSWORD\s+)(?:E?'(?:[^']|'')*'|\$\$.*?\$\$)", re.I | re.S)
_KV_PASSWORD = re.compile(r"(?P<head>\bpassword\s*=\s*)(?P<pw>'[^']*'|\S+)", re.I)
# What every match of _KV_PASSWORD holds, searched in lower-cased text from its literal start (fast):
# a log full of `/password_reset` routes is spared a case-insensitive pattern tried at every word.
_PASSWORD_ASSIGN = re.compile(r"password\s*=")
# In a shell command (`start_command`, ...): `NAME=value` or `--name value` where the name says
# it holds a secret. The value may be quoted.
_SECRET_NAME = (r"[A-Za-z0-9_-]*(?:PASS(?:WORD|WD)?|PWD|SECRET|TOKEN|API[_-]?KEY|AUTH|CREDENTIALS?)"
                r"[A-Za-z0-9_]*")
_CMD_SECRET = re.compile(
    rf"(?P<head>(?:\b{_SECRET_NAME}=|--{_SECRET_NAME}[= ]))(?P<value>'[^']*'|\"(?:[^\"\\]|\\.)*\"|[^\s;&|]+)",
    re.I)


class Secret:
    """Holds a string; `str`, `repr` and `format` show only a redaction marker."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __str__(self) -> str:
        return REDACTED

    def __repr__(self) -> str:
        return f"Secret({REDACTED!r})"

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


def redact_url(url: str) -> str:
    """Show a connection string with its password replaced, so the rest can still be displayed.

    Every recorded event passes through here: the substring tests spare the two patterns a text
    they cannot match (about 200 µs down to 5 µs for a batch of log lines).
    """
    if "://" in url and _URL_USERINFO.search(url):
        url = _URL_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}{m['tail']}", url)
    if "password" in (low := url.lower()) and _PASSWORD_ASSIGN.search(low):
        url = _KV_PASSWORD.sub(lambda m: f"{m['head']}{REDACTED}", url)
    return url


def url_passwords(url: str) -> list[str]:
    """The password of a connection string as written in it: everything between `user:` and an `@`.

    A password with an unencoded `@` makes the URL ambiguous (libpq ends the userinfo at the first
    `@`, the redaction pattern at the last), so every candidate is returned."""
    m = _URL_START.match(url.strip())
    if m is None:
        return []
    rest = url.strip()[m.end():]
    return [rest[:i] for i, ch in enumerate(rest) if ch == "@" and i > 0]


def _spellings(value: str) -> set[str]:
    """One value as text may carry it: raw, percent-encoded, percent-decoded, JSON-escaped (once or
    twice)."""
    bases = [value]
    while len(bases) < 3 and unquote(bases[-1]) != bases[-1]:  # a URL's password decodes to the
        bases.append(unquote(bases[-1]))                          # real one, which may decode too
    out: set[str] = set()
    for base in bases:
        escaped = json.dumps(base)[1:-1]
        # escaped twice: JSON inside a logfmt or JSON log line (k6's `console.log(JSON.stringify(x))`)
        out |= {base, quote(base, safe=""), quote_plus(base, safe=""), escaped,
                json.dumps(base, ensure_ascii=False)[1:-1], json.dumps(escaped)[1:-1]}
    return out


@lru_cache(maxsize=64)
def forms_of(values: tuple[str, ...]) -> tuple[str, ...]:
    """Every form of every value (and of the password inside a URL value) long enough to be
    replaced, longest first so a form containing another goes whole."""
    out: set[str] = set()
    for value in values:
        out |= _spellings(value)
        for pw in url_passwords(value):
            out |= _spellings(pw)
    return tuple(sorted((f for f in out if len(f) >= MIN_SECRET_CHARS and "\n" not in f),
                        key=lambda f: (-len(f), f)))


def unredactable(secret: Secret) -> bool:
    """Whether a secret (a token, or a connection string's password) is too short to be taken out
    of free text by value (see MIN_SECRET_CHARS)."""
    value = secret.reveal()
    pws = url_passwords(value)
    if pws:  # the first candidate is what libpq reads as the password
        return 0 < len(unquote(pws[0])) < MIN_SECRET_CHARS
    return "://" not in value and 0 < len(value) < MIN_SECRET_CHARS


class Redactor:
    """Takes the secrets of a run out of text, in every form (`forms_of`), plus URL userinfo and
    `password=` values by pattern.

    It reads the list it was given at each call, so secrets appended later (the demo stack's token
    and database URL) are redacted from then on. `clean` is the fast path: a few substring scans,
    no pattern, no copy, for text that holds nothing to redact.
    """

    __slots__ = ("_cache", "_secrets")

    def __init__(self, secrets: list[Secret] | None = None) -> None:
        self._secrets: list[Secret] = secrets if secrets is not None else []
        self._cache: tuple[tuple[Secret, ...], tuple[str, ...]] = ((), ())

    def add(self, secret: Secret) -> None:
        self._secrets.append(secret)

    def forms(self) -> tuple[str, ...]:
        current = tuple(self._secrets)
        seen, forms = self._cache
        if current != seen:
            forms = forms_of(tuple(s.reveal() for s in current))
            self._cache = (current, forms)  # one assignment: threads see a consistent pair
        return forms

    def clean(self, text: str) -> bool:
        """True when `text` holds nothing to redact (a URL with userinfo, `password`/`PASSWORD`/
        `Password`, a form of a secret): a few substring scans, no pattern, no copy. Whole forms
        are searched, not a shared prefix: a longer needle skips further (about 0.3 ns a byte)."""
        if ("@" in text and "://" in text) or "assword" in text or "ASSWORD" in text:
            return False
        return not any(form in text for form in self.forms())

    def __call__(self, text: str) -> str:
        for form in self.forms():  # longest first, so a form holding another goes whole
            if form in text:
                text = text.replace(form, REDACTED)
        return redact_url(text)


def scrub(text: str, secrets: list[Secret]) -> str:
    """Remove every known secret, in every form, from free text (tool logs, error messages)."""
    return Redactor(secrets)(text)


def redact_command(command: str, secrets: list[Secret]) -> str:
    """A shell command line as it may be written down (summary.json, a log line): the run's
    secrets in every form, any URL's password, and the value of every variable or option whose
    name says it is a secret (`PERF_API_TOKEN=...`, `--password ...`)."""
    return _CMD_SECRET.sub(lambda m: f"{m['head']}{REDACTED}", scrub(command, secrets))


def redact_sql(query: str) -> str:
    """A statement text with its password literals replaced, as it may be stored or shown."""
    return _SQL_PASSWORD.sub(lambda m: f"{m['head']}'{REDACTED}'", query)
