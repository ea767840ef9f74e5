"""TTLs and SOA timers: `1h30m`, `2d`, `3600`, as BIND and people write them."""

from __future__ import annotations

import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+)([smhdw])", re.I)
MAX_TTL = 2**31 - 1  # RFC 2181 8


def parse_duration(value: str | int) -> int:
    """Seconds from an int or a BIND-style duration string; ValueError says why not."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration, got {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"duration must not be negative, got {value}")
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    pos, total = 0, 0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += int(match.group(1)) * _UNITS[match.group(2).lower()]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"{value!r} is not a duration (use seconds or units s, m, h, d, w, e.g. 1h30m)")
    return total


def format_duration(seconds: int) -> str:
    """The shortest exact unit form: 3600 -> 1h, 5400 -> 90m, 7 -> 7s."""
    if seconds == 0:
        return "0"
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"
