"""The `__ENV` names a k6 script reads its request base from, so the environment's base URL reaches it
under each of them and the URL lives in one place (.env.performance), never copied into a profile.

Authors name the base as they like (`BASE_URL`, `API_URL`, `TARGET`, `HOST`, a shared config module's
`SUT`). A variable counts when its name looks like a URL or host and not another service's (a
database, a metrics push, a webhook), when its fallback is an http(s)/ws(s) URL, or when the constant
it is assigned to starts a request URL (`${BASE}/x`, `BASE + '/x'`, `http.get(BASE)`). A number or
a word as fallback, or a read through parseInt/Number, is a load knob (`TARGET` VUs), never a URL.
The script's local imports are read as well, because a shared config module often holds the base.

Only scheme, host and port come from the environment: a fallback with a path
(`http://localhost:5000/api/v1`) keeps its path, a ws:// fallback or a WS/SOCKET name gets ws(s)://,
and a host-only variable (`HOST || 'localhost:5000'`, or used after `://`) gets host:port.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

MAX_FILES = 20
READ_LIMIT = 256 * 1024

_ENV = re.compile(r"""(?P<wrap>\b(?:parseInt|parseFloat|Number)\(\s*)?"""
                  r"""__ENV(?:\.(?P<a>[A-Za-z_]\w*)|\[\s*['"](?P<b>[A-Za-z_]\w*)['"]\s*\])"""
                  r"""(?:\s*(?:\|\||\?\?)\s*(?:(?P<q>['"`])(?P<fb>[^'"`\n]*)(?P=q)|(?P<num>\d[\d.]*)))?""")
_ASSIGN = re.compile(r"""\b(?:const|let|var)\s+(?P<var>[A-Za-z_$][\w$]*)\s*=\s*"""
                     r"""__ENV(?:\.(?P<a>[A-Za-z_]\w*)|\[\s*['"](?P<b>[A-Za-z_]\w*)['"]\s*\])""")
_IMPORT = re.compile(r"""(?:\bfrom\s*|\bimport\s*|\brequire\(\s*|\bopen\(\s*)['"](\.{1,2}/[^'"]+)['"]""")
_URL_TOKENS = {"URL", "URI", "URLS", "TARGET", "ENDPOINT", "ORIGIN", "SERVER", "BASEURL", "APIURL",
               "SUT", "HOST", "HOSTNAME", "ADDR", "ADDRESS"}
_HOST_TOKENS = {"HOST", "HOSTNAME", "ADDR", "ADDRESS"}
_WS_TOKENS = {"WS", "WSS", "SOCKET", "SOCKETIO", "WEBSOCKET", "IO"}
_BARE_NAMES = {"BASE", "API", "SUT", "APP"}
# Another service's address, or not an address at all.
_OTHER = {"DB", "DATABASE", "POSTGRES", "PG", "PGHOST", "MYSQL", "REDIS", "MONGO", "MONGODB", "AMQP",
          "RABBIT", "RABBITMQ", "KAFKA", "NATS", "PROMETHEUS", "PROM", "INFLUX", "INFLUXDB", "GRAFANA",
          "OTEL", "OTLP", "JAEGER", "WEBHOOK", "SLACK", "SMTP", "MAIL", "S3", "BUCKET", "PROXY", "KEY",
          "TOKEN", "SECRET", "PASSWORD", "PASS", "USER", "USERNAME", "PORT", "DIR", "PATH", "FILE",
          "VUS", "RATE", "DURATION", "COUNT", "ITERATIONS", "STAGES", "RPS", "MS", "TIMEOUT"}


@dataclass(frozen=True)
class UrlVariable:
    """One `__ENV` name the script builds request URLs from, and the fallback the script gives it."""

    name: str
    fallback: str | None
    host_only: bool  # the script puts a scheme in front itself


def script_texts(script: Path) -> list[str]:
    """The script and the local modules it imports (breadth first, at most MAX_FILES files)."""
    seen: set[Path] = set()
    queue = [script.resolve()]
    texts: list[str] = []
    while queue and len(seen) < MAX_FILES:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        try:
            with path.open("rb") as fh:
                text = fh.read(READ_LIMIT).decode("utf-8", errors="replace")
        except OSError:
            continue
        texts.append(text)
        for m in _IMPORT.finditer(text):
            target = (path.parent / m[1]).resolve()
            for candidate in (target, target.with_name(target.name + ".js")):
                if candidate.suffix in (".js", ".mjs", ".cjs", ".ts") and candidate.is_file():
                    queue.append(candidate)
                    break
    return texts


def _tokens(name: str) -> set[str]:
    return set(name.upper().split("_"))


def _looks_like_host(value: str) -> bool:
    """`localhost`, `api.test`, `10.0.0.5:8080`: a single word (`checkout`) or a number is not."""
    if not re.fullmatch(r"[A-Za-z0-9.-]+(?::\d{1,5})?", value) or value.replace(".", "").isdigit():
        return False
    host = value.split(":", maxsplit=1)[0]
    return ":" in value or "." in host or host == "localhost"


def _starts_a_url(var: str, text: str) -> bool:
    v = re.escape(var)
    return bool(re.search(rf"\$\{{\s*{v}\s*\}}\s*/|\b{v}\s*\+\s*['\"`]/|http\.\w+\(\s*{v}\b"
                          rf"|://\$\{{\s*{v}\s*\}}|['\"]\w+://['\"]\s*\+\s*{v}\b", text))


def url_variables(texts: Iterable[str]) -> list[UrlVariable]:
    """Every name read as a request base, in order of first appearance."""
    texts = list(texts)
    fallbacks: dict[str, str | None] = {}
    numeric: set[str] = set()
    for text in texts:
        for m in _ENV.finditer(text):
            name = m["a"] or m["b"]
            if m["wrap"] or m["num"]:
                numeric.add(name)
            if fallbacks.get(name) is None:
                fallbacks[name] = m["fb"]
    used_as_base: set[str] = set()
    host_after_scheme: set[str] = set()
    for text in texts:
        for m in _ASSIGN.finditer(text):
            name = m["a"] or m["b"]
            if _starts_a_url(m["var"], text):
                used_as_base.add(name)
            if re.search(rf"://\$\{{\s*{re.escape(m['var'])}\s*\}}", text):
                host_after_scheme.add(name)
        for name in fallbacks:
            if re.search(rf"://\$\{{\s*__ENV(?:\.{name}\b|\[\s*['\"]{name}['\"]\s*\])", text):
                host_after_scheme.add(name)
    found: list[UrlVariable] = []
    for name, fallback in fallbacks.items():
        tokens = _tokens(name)
        if name in numeric or tokens & _OTHER:
            continue
        if fallback is not None:
            if "://" in fallback:
                if not fallback.lower().startswith(("http://", "https://", "ws://", "wss://")):
                    continue
            elif not _looks_like_host(fallback):
                continue  # a word, a number, a path: a knob, not an address
        by_name = bool(tokens & _URL_TOKENS) or name.upper() in _BARE_NAMES
        by_fallback = fallback is not None and "://" in fallback
        if not (by_name or by_fallback or name in used_as_base):
            continue
        host_only = (name in host_after_scheme
                     or (fallback is not None and "://" not in fallback)
                     or (fallback is None and bool(tokens & _HOST_TOKENS) and not tokens & _URL_TOKENS
                         - _HOST_TOKENS))
        found.append(UrlVariable(name, fallback, host_only))
    return found


def value_for(var: UrlVariable, base_url: str) -> str:
    """The environment's base URL in the shape this variable holds (see the module docstring)."""
    base = urlsplit(base_url)
    if var.host_only:
        return base.netloc
    scheme = base.scheme or "http"
    fallback = urlsplit(var.fallback) if var.fallback and "://" in var.fallback else None
    wants_ws = (fallback is not None and fallback.scheme.lower() in ("ws", "wss")) or bool(
        _tokens(var.name) & _WS_TOKENS)
    if wants_ws:
        scheme = "wss" if scheme == "https" else "ws"
    path = base.path.rstrip("/") + (fallback.path.rstrip("/") if fallback else "")
    return f"{scheme}://{base.netloc}{path}"


def base_url_env(script: Path | None, base_url: str) -> dict[str, str]:
    """`BASE_URL` plus every other name the script reads its base from, each with its value."""
    values = {"BASE_URL": base_url}
    if script is not None:
        for var in url_variables(script_texts(script)):
            if var.name != "BASE_URL":
                values[var.name] = value_for(var, base_url)
    return values
