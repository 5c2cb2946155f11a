"""The port the backend listens on, from every place a project names it, and what to say when they differ.

How the backend is started (a `--bind`, a Makefile `PORT ?=`, a compose `ports:` mapping, `PORT=` in a
script) is trusted first, then .env files, then the code's own default (`process.env.PORT || 4100`,
`os.environ.get("PORT", 5000)`), then the load scripts' default URLs. All agreeing is said in one line;
a disagreement names each claim and which one won, and why. With no claim at all nothing is guessed:
the URL is a placeholder, and the output says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

ROLES = ("start", "env", "code", "script")
ROLE_WORDS = {"start": "how the backend is started", "env": "an .env file", "code": "the code's default",
              "script": "a load script's default URL"}
PLACEHOLDER_PORT = "3000"

CODE_PATTERNS = (
    re.compile(r"process\.env\.PORT\s*(?:\|\||\?\?)\s*['\"]?(\d{2,5})"),
    re.compile(r"""(?:os\.environ\.get|os\.getenv|environ\.get)\(\s*['"]PORT['"]\s*,\s*['"]?(\d{2,5})"""),
    re.compile(r"""\bport\s*=\s*int\(\s*(?:os\.environ\.get|os\.getenv)\([^)]*?['"]?(\d{2,5})['"]?\s*\)"""),
    re.compile(r"""\.run\([^)]*\bport\s*=\s*(\d{2,5})"""),
    re.compile(r"""uvicorn\.run\([^)]*\bport\s*=\s*(\d{2,5})"""),
    re.compile(r"\.listen\(\s*(\d{2,5})\b"),
    re.compile(r"^\s*(?:const|let|var)?\s*PORT\s*=\s*['\"]?(\d{2,5})\b", re.MULTILINE),
)
ENV_FILE_PORT = re.compile(r"^\s*(?:export\s+)?PORT\s*=\s*['\"]?(\d{2,5})\b", re.MULTILINE)


@dataclass(frozen=True)
class PortClaim:
    port: str
    source: str  # where, e.g. "Makefile (PORT ?= 5000)"
    role: str  # one of ROLES
    container: bool = False  # a port inside a container, published under another number


@dataclass(frozen=True)
class PortDecision:
    port: str | None
    source: str | None  # where the chosen port was read
    agree: tuple[str, ...]  # other places naming the same port
    disagree: tuple[str, ...]  # sentences: which place says what, and why it lost
    conflict: bool = False  # a place other than a load script's fallback disagrees

    @property
    def value(self) -> str:
        return self.port or PLACEHOLDER_PORT


def url_port(url: str) -> str | None:
    """The port of an http(s) URL, explicit or implied by the scheme; None for a template."""
    if "{{" in url or "${" in url:
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https", "ws", "wss"):
        return None
    if port is None:
        return "443" if parts.scheme in ("https", "wss") else "80"
    return str(port)


def local_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "127.0.0.1", "0.0.0.0", "::1", "[::1]") or host.endswith(".localhost")


def decide(claims: list[PortClaim], published: dict[str, str] | None = None) -> PortDecision:
    """published: container port -> host port, when compose runs the backend."""
    published = published or {}
    ranked = sorted((c for c in claims if not c.container), key=lambda c: ROLES.index(c.role))
    if not ranked:
        return PortDecision(None, None, (), ())
    best = ranked[0]
    agree: list[str] = []
    disagree: list[str] = []
    conflict = False
    for c in claims:
        if c is best:
            continue
        if c.port == best.port:
            agree.append(c.source)
        elif published.get(c.port) == best.port:
            agree.append(f"{c.source}, inside the container (published as {best.port})")
        elif c.role == "script":
            disagree.append(f"{c.source} defaults to port {c.port}; perfdash passes the base URL to it, "
                            "so that default is not used")
        else:
            conflict = True
            disagree.append(f"{c.source} ({ROLE_WORDS[c.role]}) says port {c.port}, but {best.source} "
                            f"({ROLE_WORDS[best.role]}) says {best.port}, and that is trusted first")
    return PortDecision(best.port, best.source, tuple(dict.fromkeys(agree)), tuple(dict.fromkeys(disagree)),
                        conflict)
