"""What every record type provides: the `Rdata` base and the hooks its readers and writers call.

A type module subclasses `Rdata` (a frozen dataclass) and is registered by `registry.register`;
the BIND reader and writer, the YAML compiler and emitter, the schema, the wire packer and
parser and the RRset order all call these hooks, so a type lives in its one module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol

import dnslib

from zonetool.names import Name
from zonetool.rrtypes.text import RdataError, name_from_text

NameOf = Callable[[str, str], Name]  # (token, field for the message) -> Name
Path = tuple[str | int, ...]


class WireError(RdataError):
    """A DNS message that cannot be parsed; the message says what is wrong."""


class Packer(Protocol):
    """What `Rdata.pack` writes into: the message buffer and name compression (wire.Packer)."""

    buf: bytearray

    def name(self, name: Name, compress: bool = True) -> None: ...


class MappingContext(Protocol):
    """What a type's `from_mapping` reports through (the YAML compiler): findings with spec paths."""

    origin: Name | None

    def integer(self, value: object, path: Path, what: str, limit: int) -> int | None: ...

    def host(self, value: object, path: Path, what: str) -> Name | None: ...

    def wrong_type(self, expected: str, value: object, path: Path, hint: str | None = None) -> None: ...

    def error(self, code: str, message: str, path: Path, hint: str | None = None) -> None: ...



def read_name(data: bytes, pos: int, pointers: bool = True) -> tuple[Name, int]:
    """A name at `pos` (RFC 1035 4.1.4) and the offset after it; loop-safe.

    `pointers=False` inside RDATA of types whose names must not be compressed (RFC 3597 4)."""
    labels: list[bytes] = []
    end = -1
    hops = 0
    total = 1
    n = len(data)
    while True:
        if pos >= n:
            raise WireError("name runs past the end of the message")
        length = data[pos]
        if length & 0xC0 == 0xC0:
            if not pointers:
                raise WireError("malformed name (compression is not allowed here)")
            if pos + 1 >= n:
                raise WireError("truncated compression pointer")
            if end < 0:
                end = pos + 2
            target = ((length & 0x3F) << 8) | data[pos + 1]
            hops += 1
            if hops > 127 or target >= pos:
                raise WireError("compression pointer loops or points forward")
            pos = target
            continue
        if length > 63:
            raise WireError("unknown label type")
        if length == 0:
            return Name(tuple(labels)), (end if end >= 0 else pos + 1)
        total += length + 1
        if total > 255 or pos + 1 + length > n:
            raise WireError("name too long or cut short")
        labels.append(data[pos + 1 : pos + 1 + length])
        pos += 1 + length


def name_wire(name: Name) -> bytes:
    return b"".join(bytes((len(label),)) + label for label in name.labels) + b"\x00"


class Rdata:
    """Base of every record type; subclasses are frozen dataclasses registered in `registry`."""

    rtype: ClassVar[str]
    code: ClassVar[int]
    # YAML: text token positions holding names (the compiler IDNA-encodes them and refuses addresses
    # where a host is due), the mapping form (None: only {value: TEXT}) and the hint shown on errors.
    name_fields: ClassVar[tuple[int, ...]] = ()
    host_fields: ClassVar[bool] = False
    mapping_doc: ClassVar[str | None] = None
    mapping_fields: ClassVar[dict[str, tuple[str, str]]] = {}
    mapping_required: ClassVar[tuple[str, ...]] = ()
    hint: ClassVar[str | None] = None
    long: ClassVar[bool] = False  # may exceed 65,535 octets (checked where the record is born)
    # YAML text: what a wrong value is said to need, the finding code of bad data, the number of
    # tokens of the plain form whose last token is the one name (`from_target`), that name's label
    yaml_shapes: ClassVar[str] = "presentation text or a mapping"
    bad_code: ClassVar[str] = "bad-rdata"
    text_fields: ClassVar[int] = 1
    target_what: ClassVar[str | None] = None
    yaml_list: ClassVar[bool] = False  # a YAML list may be one item (`from_yaml_list`)

    # -- presentation text --------------------------------------------------------------
    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None, name_of: NameOf | None = None) -> Rdata:
        raise NotImplementedError

    def to_text(self, origin: Name | None = None) -> str:
        raise NotImplementedError

    # -- wire ------------------------------------------------------------------------------
    @classmethod
    def from_wire(cls, data: bytes) -> Rdata:
        """Uncompressed RDATA (RFC 3597 input of a known type); dnslib decodes where it can."""
        buf = dnslib.DNSBuffer(data)
        try:
            rd = dnslib.RDMAP.get(cls.rtype, dnslib.RD).parse(buf, len(data))
        except Exception as exc:  # dnslib raises several types for malformed data
            raise RdataError(f"{cls.rtype} wire data is malformed: {exc}") from None
        return cls.from_dnslib(rd)

    @classmethod
    def from_dnslib(cls, rd: dnslib.RD) -> Rdata:
        raise NotImplementedError

    @classmethod
    def read(cls, data: bytes, start: int, end: int) -> tuple[Rdata, int]:
        """RDATA inside a message (names may point earlier); returns the offset after it."""
        return cls.from_wire(data[start:end]), end

    def pack(self, packer: Packer) -> None:
        """Into a message; only RFC 1035 types compress their names (RFC 3597 4)."""
        packer.buf += self.to_wire()

    def to_dnslib(self) -> dnslib.RD:
        raise NotImplementedError

    def to_wire(self) -> bytes:
        buf = dnslib.DNSBuffer()
        self.to_dnslib().pack(buf)
        return bytes(buf.data)

    def wire_length(self) -> int:
        """Octets of RDATA, names uncompressed (an upper bound when packed)."""
        return len(self.to_wire())

    # -- the zone ----------------------------------------------------------------------------
    @property
    def type_code(self) -> int:
        return self.code

    def targets(self) -> tuple[Name, ...]:
        """Names this record points at (for additional-section processing and checks)."""
        return ()

    def order_key(self) -> Any:
        """Sort key within an RRset (output order of BIND and YAML writers)."""
        return self.to_wire()

    # -- YAML mapping form -------------------------------------------------------------------
    @classmethod
    def from_mapping(cls, c: MappingContext, spec: Mapping[str, Any], path: Path) -> Rdata | None:
        """Only called when `mapping_fields` is set; None after reporting through `c`."""
        return None

    def to_mapping(self, origin: Name) -> dict[str, Any] | None:
        """The mapping form's fields (ttl aside) for import and edits; None: {value: text}."""
        return None

    @classmethod
    def mapping_text(cls, spec: Mapping[str, Any]) -> str | None:
        """The presentation text a mapping item stands for (edits compare items by it); None: no mapping form."""
        return None

    @classmethod
    def from_yaml_text(cls, text: str) -> Rdata | None:
        """A fast path for one YAML text item (TXT: one logical string; A: an address); None: tokenize it."""
        return None

    @classmethod
    def from_yaml_list(cls, c: MappingContext, value: list[Any], path: Path) -> Rdata | None:
        """A YAML list as one item (TXT: one record of several strings); only called when `yaml_list` is set."""
        return None

    @classmethod
    def from_target(cls, tokens: list[str], target: Name) -> Rdata:
        """The plain text form of a type whose last token is its one name, that name already read."""
        raise NotImplementedError

    def yaml_item(self, origin: Name) -> str | list[str]:
        """One item as YAML text (a list: several character-strings) that compiles back to this rdata."""
        return self.to_text(origin)


def default_name_of(origin: Name | None) -> NameOf:
    return lambda token, field: name_from_text(token, origin, field)

