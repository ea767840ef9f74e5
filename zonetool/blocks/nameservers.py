"""The `nameservers:` block: the apex NS records (and the SOA's default primary)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zonetool.blocks.context import Compiler, Path
from zonetool.blocks.registry import block
from zonetool.names import Name

KEYS = {"nameservers": ("names", "apex NS records")}


@block("nameservers", keys=KEYS, order=10, position=20)
def compile_nameservers(c: Compiler, spec: Mapping[str, Any]) -> None:
    c.nameservers = _nameservers(c, spec.get("nameservers"))


def _nameservers(c: Compiler, value: object) -> list[Name]:
    if value is None:
        return []
    items, paths = _listed(value, ("nameservers",))
    out: list[Name] = []
    for item, path in zip(items, paths, strict=True):
        target = c.host(item, path, "nameserver")
        if target is not None:
            from zonetool.rrtypes import NS

            c.add(c.origin, c.ttl, NS(target), path)
            out.append(target)
    return out


def _listed(value: object, path: Path) -> tuple[list[Any], list[Path]]:
    """A scalar-or-list value as (items, item paths)."""
    if isinstance(value, list):
        return value, [(*path, i) for i in range(len(value))]
    return [value], [path]


