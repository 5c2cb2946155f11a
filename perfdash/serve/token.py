"""Where `run --serve` listens and the token its clients must present."""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from perfdash.secret import Secret

TOKEN_ENV = "PERFDASH_SERVE_TOKEN"
DEFAULT_HOST = "127.0.0.1"
MIN_TOKEN_CHARS = 16


class ServeError(Exception):
    """`--serve` cannot be honoured; the message is one sentence with the fix."""


@dataclass(frozen=True)
class Bind:
    host: str
    port: int

    @property
    def loopback(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:
            return False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def parse_bind(spec: str) -> Bind:
    """`HOST:PORT`, `[v6]:PORT`, `:PORT` or `PORT`; the host defaults to loopback."""
    text = spec.strip()
    host, _, port = text.rpartition(":") if ":" in text else ("", "", text)
    host = host.strip("[]") or DEFAULT_HOST
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ServeError(f"--serve {spec!r}: write HOST:PORT, e.g. --serve 127.0.0.1:8765 "
                         "(loopback) or --serve 0.0.0.0:8765 (every interface, token required)")
    return Bind(host, int(port))


@dataclass(frozen=True)
class Token:
    secret: Secret
    generated: bool  # printed once by the caller; otherwise it came from the environment


def serve_token(env_file: Path | None) -> Token:
    """PERFDASH_SERVE_TOKEN from the shell or .env.performance, else a new random one."""
    value = os.environ.get(TOKEN_ENV)
    if not value and env_file is not None and env_file.is_file():
        from perfdash.settings import SettingsError, read_env_file

        try:
            value = read_env_file(env_file).get(TOKEN_ENV) or None
        except SettingsError as exc:
            raise ServeError(str(exc)) from None
    if value:
        if len(value) < MIN_TOKEN_CHARS:
            raise ServeError(f"{TOKEN_ENV} is shorter than {MIN_TOKEN_CHARS} characters; use a "
                             "longer random value, or unset it to have one generated")
        return Token(Secret(value), generated=False)
    return Token(Secret(secrets.token_urlsafe(32)), generated=True)


def client_token(env_file: Path | None) -> Secret | None:
    """The token an attacher presents: PERFDASH_SERVE_TOKEN from the shell or .env.performance."""
    value = os.environ.get(TOKEN_ENV)
    if not value and env_file is not None and env_file.is_file():
        from perfdash.settings import SettingsError, read_env_file

        try:
            value = read_env_file(env_file).get(TOKEN_ENV) or None
        except SettingsError:
            value = None
    return Secret(value) if value else None
