"""NS, CNAME, PTR (RFC 1035 3.3.11, 3.3.1, 3.3.12): one domain name, compressed on the wire."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import dnslib

from zonetool.names import Name
from zonetool.rrtypes.base import NameOf, Packer, Rdata, default_name_of, read_name
from zonetool.rrtypes.registry import register
from zonetool.rrtypes.text import RdataError, name_text


@dataclass(frozen=True, slots=True)
class _Target(Rdata):
    """Shared shape of NS, CNAME, PTR: one domain name."""

    target: Name
    name_fields: ClassVar[tuple[int, ...]] = (0,)

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None, name_of: NameOf | None = None) -> _Target:
        if len(tokens) != 1:
            raise RdataError(f"{cls.rtype} takes 1 fields (target), got {len(tokens)}: {' '.join(tokens)!r}")
        return cls((name_of or default_name_of(origin))(tokens[0], "target"))

    def to_text(self, origin: Name | None = None) -> str:
        return name_text(self.target, origin)

    @classmethod
    def from_target(cls, tokens: list[str], target: Name) -> Rdata:
        return cls(target)

    def targets(self) -> tuple[Name, ...]:
        return (self.target,)

    @classmethod
    def from_dnslib(cls, rd: dnslib.RD) -> _Target:
        return cls(Name(tuple(bytes(x) for x in rd.label.label)))

    def to_dnslib(self) -> dnslib.RD:
        return getattr(dnslib, self.rtype)(dnslib.DNSLabel(list(self.target.labels)))

    @classmethod
    def read(cls, data: bytes, start: int, end: int) -> tuple[Rdata, int]:
        name, pos = read_name(data, start)
        return cls(name), pos

    def pack(self, packer: Packer) -> None:
        packer.name(self.target)

    def wire_length(self) -> int:
        return self.target.wire_length()

    def order_key(self) -> bytes:
        """The uncompressed wire form, as the base class's, without building a dnslib record (NS
        pairs are sorted in every zone written: that was 15% of an export of small zones)."""
        return b"".join(bytes((len(label),)) + label for label in self.target.labels) + b"\0"


@register
@dataclass(frozen=True, slots=True)
class NS(_Target):
    rtype: ClassVar[str] = "NS"
    code: ClassVar[int] = 2
    host_fields: ClassVar[bool] = True


@register
@dataclass(frozen=True, slots=True)
class CNAME(_Target):
    rtype: ClassVar[str] = "CNAME"
    code: ClassVar[int] = 5


@register
@dataclass(frozen=True, slots=True)
class PTR(_Target):
    rtype: ClassVar[str] = "PTR"
    code: ClassVar[int] = 12
