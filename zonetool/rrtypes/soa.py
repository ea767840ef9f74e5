"""SOA (RFC 1035 3.3.13): the zone's primary, contact and five timers; names compressed."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar

import dnslib

from zonetool.durations import parse_duration
from zonetool.names import Name
from zonetool.rrtypes.base import NameOf, Packer, Rdata, default_name_of, read_name
from zonetool.rrtypes.registry import register
from zonetool.rrtypes.text import RdataError, arity, check_uint, name_text, uint

_TIMERS = ("refresh", "retry", "expire", "minimum")


@register
@dataclass(frozen=True, slots=True)
class SOA(Rdata):
    mname: Name
    rname: Name
    serial: int
    refresh: int
    retry: int
    expire: int
    minimum: int
    rtype: ClassVar[str] = "SOA"
    code: ClassVar[int] = 6

    def __post_init__(self) -> None:
        for field in ("serial", *_TIMERS):
            check_uint(getattr(self, field), 32, f"SOA {field}")

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None, name_of: NameOf | None = None) -> SOA:
        arity(tokens, 7, "SOA", "mname rname serial refresh retry expire minimum")
        name = name_of or default_name_of(origin)
        timers = []
        for field, token in zip(_TIMERS, tokens[3:], strict=True):
            try:
                timers.append(parse_duration(token))  # BIND's units (1h, 2w) too
            except ValueError as exc:
                raise RdataError(f"SOA {field}: {exc}") from None
        return cls(name(tokens[0], "SOA mname"), name(tokens[1], "SOA rname"), uint(tokens[2], 32, "SOA serial"),
                   *timers)

    def to_text(self, origin: Name | None = None) -> str:
        m, r = name_text(self.mname, origin), name_text(self.rname, origin)
        return f"{m} {r} {self.serial} {self.refresh} {self.retry} {self.expire} {self.minimum}"

    @classmethod
    def from_dnslib(cls, rd: dnslib.RD) -> SOA:
        def n(label: dnslib.DNSLabel) -> Name:
            return Name(tuple(bytes(x) for x in label.label))

        return cls(n(rd.mname), n(rd.rname), *rd.times)

    def to_dnslib(self) -> dnslib.RD:
        return dnslib.SOA(
            dnslib.DNSLabel(list(self.mname.labels)),
            dnslib.DNSLabel(list(self.rname.labels)),
            (self.serial, self.refresh, self.retry, self.expire, self.minimum),
        )

    @classmethod
    def read(cls, data: bytes, start: int, end: int) -> tuple[Rdata, int]:
        mname, pos = read_name(data, start)
        rname, pos = read_name(data, pos)
        return cls(mname, rname, *struct.unpack_from("!IIIII", data, pos)), pos + 20

    def pack(self, packer: Packer) -> None:
        packer.name(self.mname)
        packer.name(self.rname)
        packer.buf += struct.pack("!IIIII", self.serial, self.refresh, self.retry, self.expire, self.minimum)

    def wire_length(self) -> int:
        return self.mname.wire_length() + self.rname.wire_length() + 20
