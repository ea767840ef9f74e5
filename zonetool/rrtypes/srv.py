"""SRV (RFC 2782): priority, weight, port, target; the target is never compressed (RFC 2782)."""

from __future__ import annotations

import struct
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
class SRV(Rdata):
    priority: int
    weight: int
    port: int
    target: Name
    rtype: ClassVar[str] = "SRV"
    code: ClassVar[int] = 33
    name_fields: ClassVar[tuple[int, ...]] = (3,)
    host_fields: ClassVar[bool] = True
    mapping_doc: ClassVar[str | None] = "SRV item."
    mapping_fields: ClassVar[dict[str, tuple[str, str]]] = {
        "priority": ("u16", "priority (default 0)"),
        "weight": ("u16", "weight (default 0)"),
        "port": ("u16", "port"),
        "host": _HOST,
    }
    mapping_required: ClassVar[tuple[str, ...]] = ("port", "host")
    hint: ClassVar[str | None] = 'SRV: "0 5 5060 sip" or {priority: 0, weight: 5, port: 5060, host: sip}'
    text_fields: ClassVar[int] = 4

    def __post_init__(self) -> None:
        check_uint(self.priority, 16, "SRV priority")
        check_uint(self.weight, 16, "SRV weight")
        check_uint(self.port, 16, "SRV port")

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None, name_of: NameOf | None = None) -> SRV:
        arity(tokens, 4, "SRV", "priority weight port target")
        return cls(
            uint(tokens[0], 16, "SRV priority"),
            uint(tokens[1], 16, "SRV weight"),
            uint(tokens[2], 16, "SRV port"),
            (name_of or default_name_of(origin))(tokens[3], "SRV target"),
        )

    @classmethod
    def from_target(cls, tokens: list[str], target: Name) -> Rdata:
        nums = [uint(t, 16, f"SRV {f}") for t, f in zip(tokens[:3], ("priority", "weight", "port"), strict=True)]
        return cls(nums[0], nums[1], nums[2], target)

    def to_text(self, origin: Name | None = None) -> str:
        return f"{self.priority} {self.weight} {self.port} {name_text(self.target, origin)}"

    def targets(self) -> tuple[Name, ...]:
        return () if self.target.is_root() else (self.target,)

    def order_key(self) -> Any:
        return (self.priority, self.weight, self.port, self.target.canonical_key())

    @classmethod
    def from_dnslib(cls, rd: dnslib.RD) -> SRV:
        return cls(rd.priority, rd.weight, rd.port, Name(tuple(bytes(x) for x in rd.target.label)))

    def to_dnslib(self) -> dnslib.RD:
        return dnslib.SRV(self.priority, self.weight, self.port, dnslib.DNSLabel(list(self.target.labels)))

    @classmethod
    def read(cls, data: bytes, start: int, end: int) -> tuple[Rdata, int]:
        priority, weight, port = struct.unpack_from("!HHH", data, start)
        target, pos = read_name(data, start + 6)
        return cls(priority, weight, port, target), pos

    def pack(self, packer: Packer) -> None:
        packer.buf += struct.pack("!HHH", self.priority, self.weight, self.port)
        packer.name(self.target, compress=False)

    def wire_length(self) -> int:
        return 6 + self.target.wire_length()

    @classmethod
    def from_mapping(cls, c: MappingContext, spec: Mapping[str, Any], path: Path) -> Rdata | None:
        if "port" not in spec or "host" not in spec:
            return None
        nums = [c.integer(spec.get(k, 0), (*path, k), f"SRV {k}", 65535) for k in ("priority", "weight", "port")]
        host = c.host(spec["host"], (*path, "host"), "SRV host")
        if host is None or None in nums:
            return None
        return cls(nums[0], nums[1], nums[2], host)  # type: ignore[arg-type]

    @classmethod
    def mapping_text(cls, spec: Mapping[str, Any]) -> str | None:
        return f"{spec.get('priority', 0)} {spec.get('weight', 0)} {spec.get('port')} {spec.get('host')}"

    def to_mapping(self, origin: Name) -> dict[str, Any] | None:
        return {"priority": self.priority, "weight": self.weight, "port": self.port, "host": self.target}
