"""An access log's own format string, translated to what the request counter reads: a preset and
the unit of the request time.

Users paste the line that configures their server (nginx `log_format`, gunicorn
`access_log_format`, Apache `LogFormat`) rather than learn perfdash's presets. The counter reads
the request time as the last field of a combined line (behind nginx, the upstream time may follow
it), so a format that writes it elsewhere is refused with the fix, never read as a wrong number.
"""

from __future__ import annotations

import re

PRESETS = ("combined", "common", "nginx", "gunicorn", "apache")

# (server, field, unit): the fields that write a request time, by the server's own syntax
_TIME_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("nginx", "$request_time", "s"),
    ("gunicorn", "%(M)s", "ms"), ("gunicorn", "%(D)s", "us"), ("gunicorn", "%(L)s", "s"),
    ("gunicorn", "%(T)s", "s"),
    ("apache", "%{ms}T", "ms"), ("apache", "%{us}T", "us"), ("apache", "%{s}T", "s"),
    ("apache", "%D", "us"), ("apache", "%T", "s"),
)
_NGINX_VAR = re.compile(r"\$[a-z_]+")
_GUNICORN_VAR = re.compile(r"%\([A-Za-z{}_-]+\)s")
_APACHE_VAR = re.compile(r"%[<>]?(?:\{[^}]*\})?[a-zA-Z]")
_UPSTREAM = "$upstream_response_time"


class FormatError(ValueError):
    """A format string perfdash cannot read the request time from: what is wrong, and the fix."""

    def __init__(self, problem: str, fix: str) -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem, self.fix = problem, fix


def is_format_string(text: str) -> bool:
    return text not in PRESETS and ("$" in text or "%" in text)


def from_format_string(text: str) -> tuple[str, str | None]:
    """(preset, request-time unit or None when the format writes no time) for a server's format."""
    server = ("nginx" if _NGINX_VAR.search(text) else "gunicorn" if _GUNICORN_VAR.search(text)
              else "apache" if _APACHE_VAR.search(text) else None)
    if server is None:
        raise FormatError(f"{text!r} has no field of nginx ($var), gunicorn (%(x)s) or Apache (%x)",
                          "paste the server's own format string, or name a preset: " + ", ".join(PRESETS))
    fields = [(f, unit) for s, f, unit in _TIME_FIELDS if s == server and f in text]
    if not fields:
        return "combined", None  # requests and statuses, no time
    field_name, unit = fields[0]
    tail = text.rstrip().rstrip("'\"").rstrip()
    last = tail.endswith(field_name) or (server == "nginx" and tail.endswith(_UPSTREAM)
                                         and tail.removesuffix(_UPSTREAM).rstrip().endswith(field_name))
    if not last:
        after = " (then $upstream_response_time)" if server == "nginx" else ""
        raise FormatError(f"the request time ({field_name}) is not the last field of {text!r}, "
                          "and perfdash reads it at the end of the line",
                          f"move {field_name} to the end of the server's format{after}")
    return ("nginx" if server == "nginx" else server), unit
