"""The `origin:` and `ttl:` keys: the zone's apex and default TTL; without a usable origin no zone is built."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zonetool.blocks.context import DEFAULT_TTL, Compiler
from zonetool.blocks.registry import block
from zonetool.names import Name, NameError_, to_ascii

KEYS = {
    "origin": ("name", "the zone's apex, absolute (a trailing dot is optional)"),
    "ttl": ("ttl", "default TTL of every record (default 1h)"),
}


@block("origin", keys=KEYS, required=("origin",), order=0, position=0)
def compile_origin(c: Compiler, spec: Mapping[str, Any]) -> None:
    """Sets the origin and default TTL first: every name and TTL of the other blocks depends on them."""
    if "origin" not in spec:  # `missing-key` already reported by the zone's key check
        c.stop()
        return
    origin = _origin(c, spec["origin"])
    if origin is None:
        c.stop()
        return
    c.set_origin(origin)
    c.ttl = c.ttl_of(spec, (), DEFAULT_TTL)


def _origin(c: Compiler, value: object) -> Name | None:
    if not isinstance(value, str) or not value.strip():
        c.wrong_type("an absolute domain name like example.com", value, ("origin",))
        return None
    text = value.strip()
    if text == "@":
        c.error("bad-name", "origin must be a domain name, not '@'", ("origin",))
        return None
    try:
        return Name.from_text(to_ascii(text if text.endswith(".") else text + "."))
    except NameError_ as exc:
        c.error("bad-name", f"origin {text!r}: {exc}", ("origin",))
        return None


