"""Recognise an Artillery scenario file and note its shape, reading YAML by indentation only.

perfdash has no YAML parser among its dependencies and `init` should not add one for a peek: an
Artillery file is a mapping with `config:` and `scenarios:` at column 0, and the few facts the
generated profile mentions (phases, ensure, environment and plugin names, target) sit at predictable
depths under `config:`. Flow-style or anchored YAML may hide some of them; the result is then a
less detailed comment in profiles.toml, never a wrong script.
"""

from __future__ import annotations

import re

_KEY = re.compile(r"^(?P<indent> *)(?P<key>[A-Za-z_$][\w$.-]*|\"[^\"]+\"|'[^']+')\s*:(?:\s+(?P<value>.*))?$")

ArtilleryInfo = tuple[bool, bool, tuple[str, ...], tuple[str, ...], str | None]


def _meaningful(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#") and stripped not in ("---", "...")


def children(lines: list[str]) -> dict[str, tuple[str | None, list[str]]]:
    """The keys of a block mapping at its first indentation: key -> (inline value, nested lines)."""
    result: dict[str, tuple[str | None, list[str]]] = {}
    indent: int | None = None
    current: list[str] | None = None
    for line in lines:
        if not _meaningful(line):
            continue
        width = len(line) - len(line.lstrip(" "))
        if indent is None:
            indent = width
        if width == indent:
            m = _KEY.match(line.rstrip())
            if m is None:  # a list item or something this reader does not follow
                current = None
                continue
            key = m["key"].strip("\"'")
            value = (m["value"] or "").split(" #")[0].strip() or None
            current = []
            result[key] = (value, current)
        elif width > indent and current is not None:
            current.append(line)
        elif width < indent:
            break
    return result


def artillery_info(text: str) -> ArtilleryInfo | None:
    """(phases, ensure, environment names, plugin names, target) of an Artillery file, or None."""
    top = children(text.splitlines())
    if "config" not in top or "scenarios" not in top:
        return None
    _, config_lines = top["config"]
    config = children(config_lines)
    plugins = tuple(children(config["plugins"][1])) if "plugins" in config else ()
    environments = tuple(children(config["environments"][1])) if "environments" in config else ()
    target = config["target"][0] if "target" in config else None
    return ("phases" in config, "ensure" in config or "ensure" in plugins, environments, plugins,
            target.strip("\"'") if target else None)
