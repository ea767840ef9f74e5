"""MX (RFC 1035 3.3.9; null MX RFC 7505): preference and exchange, the exchange compressed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import dnslib

from zonetool.names import Name
from zonetool.rrtypes.base import MappingContext, NameOf, Packer, Path, Rdata, default_name_of, read_name
from zonetool.rrtypes.registry import register
from zonetool.rrtypes.text import arity, check_uint, name_text, uint

_HOST = ("name", "host name, relative to the origin unless it ends in '.'")


@register
@dataclass(frozen=True, slots=True)
class MX(Rdata):
    preference: int
    exchange: Name
    rtype: ClassVar[str] = "MX"
    code: ClassVar[int] = 15
    name_fields: ClassVar[tuple[int, ...]] = (1,)
    host_fields: ClassVar[bool] = True
    mapping_doc: ClassVar[str | None] = "MX item."
    mapping_fields: ClassVar[dict[str, tuple[str, str]]] = {"priority": ("u16", "preference"), "host": _HOST}
    mapping_required: ClassVar[tuple[str, ...]] = ("priority", "host")
    hint: ClassVar[str | None] = 'MX: "10 mx1" or {priority: 10, host: mx1}'
    text_fields: ClassVar[int] = 2
    target_what: ClassVar[str | None] = "MX exchange"

    def __post_init__(self) -> None:
        check_uint(self.preference, 16, "MX preference")

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None, name_of: NameOf | None = None) -> MX:
        arity(tokens, 2, "MX", "preference exchange")
        return cls(uint(tokens[0], 16, "MX preference"), (name_of or default_name_of(origin))(tokens[1], "MX exchange"))

    @classmethod
    def from_target(cls, tokens: list[str], target: Name) -> Rdata:
        return cls(uint(tokens[0], 16, "MX preference"), target)

    def to_text(self, origin: Name | None = None) -> str:
        return f"{self.preference} {name_text(self.exchange, origin)}"

    def is_null(self) -> bool:
        """RFC 7505 null MX: preference 0 and exchange '.'."""
        return self.exchange.is_root()

    def targets(self) -> tuple[Name, ...]:
        return () if self.exchange.is_root() else (self.exchange,)

    def order_key(self) -> Any:
        return (self.preference, self.exchange.canonical_key())  # preference, then canonical name order

    @classmethod
    def from_dnslib(cls, rd: dnslib.RD) -> MX:
        return cls(rd.preference, Name(tuple(bytes(x) for x in rd.label.label)))

    def to_dnslib(self) -> dnslib.RD:
        return dnslib.MX(dnslib.DNSLabel(list(self.exchange.labels)), self.preference)

    @classmethod
    def read(cls, data: bytes, start: int, end: int) -> tuple[Rdata, int]:
        name, pos = read_name(data, start + 2)
        return cls(int.from_bytes(data[start : start + 2]), name), pos

    def pack(self, packer: Packer) -> None:
        packer.buf += self.preference.to_bytes(2)
        packer.name(self.exchange)

    def wire_length(self) -> int:
        return 2 + self.exchange.wire_length()

    @classmethod
    def from_mapping(cls, c: MappingContext, spec: Mapping[str, Any], path: Path) -> Rdata | None:
        if "priority" not in spec or "host" not in spec:
            return None
        pref = c.integer(spec["priority"], (*path, "priority"), "MX priority", 65535)
        host = c.host(spec["host"], (*path, "host"), "MX host")
        return cls(pref, host) if pref is not None and host is not None else None

    @classmethod
    def mapping_text(cls, spec: Mapping[str, Any]) -> str | None:
        return f"{spec.get('priority')} {spec.get('host')}"

    def to_mapping(self, origin: Name) -> dict[str, Any] | None:
        return {"priority": self.preference, "host": self.exchange}
