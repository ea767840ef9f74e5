"""The zone file's blocks: one registered compiler per top-level key group, run in a set order.

`@block(...)` is the only list of blocks: the zone's top-level key table (what the
compiler accepts, reports as unknown, or requires) and the order in which the compilers
run both come from the registrations. The order is separate from the key order because
some blocks read what earlier ones made (the SOA default primary is the first nameserver,
or an NS at the apex written under `records:`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from zonetool.blocks.context import Compiler
from zonetool.schema import Block

BlockCompiler = Callable[[Compiler, Mapping[str, Any]], None]
ZONE_DESCRIPTION = "One DNS zone."


class BlockSpec:
    """One registered block: its top-level keys (kind, description), required keys, run order, compiler."""

    __slots__ = ("compile", "keys", "name", "order", "position", "required")

    def __init__(self, name: str, keys: dict[str, tuple[str, str]], required: tuple[str, ...], order: int,
                 position: int, compile: BlockCompiler) -> None:
        self.name = name
        self.keys = keys
        self.required = required
        self.order = order
        self.position = position
        self.compile = compile


_BLOCKS: dict[str, BlockSpec] = {}
_cache: dict[str, Any] = {}


def block(name: str, *, keys: dict[str, tuple[str, str]], order: int, position: int,
          required: tuple[str, ...] = ()) -> Callable[[BlockCompiler], BlockCompiler]:
    """Register `fn(c, spec)` as the compiler of the top-level `keys`.

    `order` is when it runs (lower first); `position` is where its keys stand in the
    zone's key table (hints list known keys in that order). The compiler gets the whole
    checked top-level mapping and reads only its own keys; it returns nothing: records go
    through `c.add`, zone-wide results into the context, a fatal problem into `c.stop`.
    """

    def register(fn: BlockCompiler) -> BlockCompiler:
        taken = {k for b in _BLOCKS.values() if b.name != name for k in b.keys}
        if taken & set(keys):
            raise ValueError(f"block {name!r}: keys {sorted(taken & set(keys))} belong to another block")
        _BLOCKS[name] = BlockSpec(name, keys, required, order, position, fn)
        _cache.clear()
        return fn

    return register


def unregister(name: str) -> None:
    """Drop a block (tests register toy blocks and remove them again)."""
    _BLOCKS.pop(name, None)
    _cache.clear()


def blocks() -> list[BlockSpec]:
    """The registered blocks in run order."""
    found = _cache.get("run")
    if found is None:
        found = _cache["run"] = sorted(_BLOCKS.values(), key=lambda b: (b.order, b.name))
    return found  # type: ignore[no-any-return]


def zone_block() -> Block:
    """The zone's top-level key table, from the registered blocks in key position order."""
    found = _cache.get("zone")
    if found is None:
        ordered = sorted(_BLOCKS.values(), key=lambda b: (b.position, b.name))
        keys = {k: v for b in ordered for k, v in b.keys.items()}
        required = tuple(k for b in ordered for k in b.required)
        found = _cache["zone"] = Block(ZONE_DESCRIPTION, keys, required)
    return found  # type: ignore[no-any-return]
