"""One small class per record type: parse presentation text, print it, make wire data.

Each class validates its own fields when built (octoDNS style), so a bad value is
refused where it enters, with a message naming the field. Zone-wide checks live in
`zonetool.rules`.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from typing import ClassVar

import dnslib

from zonetool.names import Name, NameError_


class RdataError(ValueError):
    """Record data that cannot be built; the message names the bad field."""


# ---------------------------------------------------------------------------
# presentation-format tokens (RFC 1035 5.1)
# ---------------------------------------------------------------------------
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|(?:[^\s"\\]|\\.)+', re.S)


def tokenize(text: str) -> list[str]:
    """Split one logical line of rdata into tokens; quoted strings keep their quotes."""
    tokens = _TOKEN.findall(text)
    rest = _TOKEN.sub("", text).strip()
    if rest:
        raise RdataError(f"unbalanced quote or stray backslash in {text!r}")
    return tokens


_ESCAPE = re.compile(r"\\(?:([0-9]{3})|(.))", re.S)


def unescape(token: str) -> bytes:
    """A character-string token (quoted or not) to its octets, resolving \\X and \\DDD.

    Runs between escapes are encoded in one slice each (a per-character loop took seconds
    and hundreds of MB for a 10 MB string)."""
    if len(token) >= 2 and token[0] == '"' and token[-1] == '"':
        token = token[1:-1]
    if "\\" not in token:
        return token.encode("utf-8")
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(token):
        out += token[pos : m.start()].encode("utf-8")
        digits, char = m.groups()
        if digits is not None:
            value = int(digits)
            if value > 255:
                raise RdataError(f"escape \\{digits} is above 255")
            out.append(value)
        else:
            out += char.encode("utf-8")
        pos = m.end()
    out += token[pos:].encode("utf-8")  # a lone backslash at the end stays as it is
    return bytes(out)


def quote(data: bytes) -> str:
    """Octets as a quoted character-string, escaping what must be escaped."""
    out = ['"']
    for c in data:
        if c in (0x22, 0x5C):
            out.append("\\" + chr(c))
        elif 0x20 <= c <= 0x7E:
            out.append(chr(c))
        else:
            out.append(f"\\{c:03d}")
    out.append('"')
    return "".join(out)


def _int(token: str, field: str, bits: int) -> int:
    try:
        value = int(token)
    except ValueError:
        raise RdataError(f"{field} must be a number, got {token!r}") from None
    limit = (1 << bits) - 1
    if not 0 <= value <= limit:
        raise RdataError(f"{field} must be 0..{limit}, got {value}")
    return value


def _name(token: str, origin: Name | None, field: str) -> Name:
    try:
        return Name.from_text(token, origin)
    except NameError_ as exc:
        raise RdataError(f"{field}: {exc}") from None


def _arity(tokens: list[str], n: int, rtype: str, shape: str) -> None:
    if len(tokens) != n:
        raise RdataError(f"{rtype} takes {n} fields ({shape}), got {len(tokens)}: {' '.join(tokens)!r}")


def _label(name: Name, origin: Name | None) -> dnslib.DNSLabel:
    return dnslib.DNSLabel(list(name.labels))


# ---------------------------------------------------------------------------
# record classes
# ---------------------------------------------------------------------------
class Rdata:
    """Base of every record type; subclasses are frozen dataclasses."""

    rtype: ClassVar[str]
    code: ClassVar[int]

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None) -> Rdata:
        raise NotImplementedError

    def to_text(self, origin: Name | None = None) -> str:
        raise NotImplementedError

    def to_dnslib(self) -> dnslib.RD:
        raise NotImplementedError

    @property
    def type_code(self) -> int:
        return self.code

    def targets(self) -> tuple[Name, ...]:
        """Names this record points at (for additional-section processing and checks)."""
        return ()

    def to_wire(self) -> bytes:
        buf = dnslib.DNSBuffer()
        self.to_dnslib().pack(buf)
        return bytes(buf.data)


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_V4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}\Z")  # what str(IPv4Address(x)) gives


@dataclass(frozen=True, slots=True)
class A(Rdata):
    address: str
    rtype: ClassVar[str] = "A"
    code: ClassVar[int] = 1

    def __post_init__(self) -> None:
        if _CANONICAL_V4.match(self.address):  # already canonical: skip ipaddress (big zones)
            return
        try:
            canonical = str(ipaddress.IPv4Address(self.address))
        except ValueError:
            raise RdataError(f"{self.address!r} is not an IPv4 address") from None
        object.__setattr__(self, "address", canonical)

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None) -> A:
        _arity(tokens, 1, "A", "address")
        return cls(tokens[0])

    def to_text(self, origin: Name | None = None) -> str:
        return self.address

    def to_dnslib(self) -> dnslib.RD:
        return dnslib.A(self.address)


def _fast_v6(text: str) -> str | None:
    """The RFC 5952 text of a plain IPv6 address via the C inet_pton/inet_ntop, or None.

    Why: ipaddress.IPv6Address costs ~10 us, a third of compiling a 100k-record zone's AAAA
    records; this is ~13x faster and gives the same text (fuzz-compared). Forms where the two
    may differ (embedded IPv4 in or out, scope ids) and all errors go to ipaddress.
    """
    if "." in text or "%" in text:
        return None
    try:
        out = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, text))
    except (OSError, ValueError):
        return None
    return None if "." in out else out


@dataclass(frozen=True, slots=True)
class AAAA(Rdata):
    address: str
    rtype: ClassVar[str] = "AAAA"
    code: ClassVar[int] = 28

    def __post_init__(self) -> None:
        canonical = _fast_v6(self.address)
        if canonical is None:
            try:
                canonical = str(ipaddress.IPv6Address(self.address))
            except ValueError:
                raise RdataError(f"{self.address!r} is not an IPv6 address") from None
        object.__setattr__(self, "address", canonical)

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None) -> AAAA:
        _arity(tokens, 1, "AAAA", "address")
        return cls(tokens[0])

    def to_text(self, origin: Name | None = None) -> str:
        return self.address

    def to_dnslib(self) -> dnslib.RD:
        return dnslib.AAAA(self.address)


@dataclass(frozen=True, slots=True)
class _Target(Rdata):
    """Shared shape of NS, CNAME, PTR: one domain name."""

    target: Name

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None) -> _Target:
        _arity(tokens, 1, cls.rtype, "target")
        return cls(_name(tokens[0], origin, "target"))

    def to_text(self, origin: Name | None = None) -> str:
        return self.target.relativize(origin) if origin else self.target.to_text()

    def targets(self) -> tuple[Name, ...]:
        return (self.target,)

    def to_dnslib(self) -> dnslib.RD:
        return getattr(dnslib, self.rtype)(_label(self.target, None))


@dataclass(frozen=True, slots=True)
class NS(_Target):
    rtype: ClassVar[str] = "NS"
    code: ClassVar[int] = 2


@dataclass(frozen=True, slots=True)
class CNAME(_Target):
    rtype: ClassVar[str] = "CNAME"
    code: ClassVar[int] = 5


@dataclass(frozen=True, slots=True)
class PTR(_Target):
    rtype: ClassVar[str] = "PTR"
    code: ClassVar[int] = 12


@dataclass(frozen=True, slots=True)
class MX(Rdata):
    preference: int
    exchange: Name
    rtype: ClassVar[str] = "MX"
    code: ClassVar[int] = 15

    def __post_init__(self) -> None:
        _int(str(self.preference), "MX preference", 16)

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None) -> MX:
        _arity(tokens, 2, "MX", "preference exchange")
        return cls(_int(tokens[0], "MX preference", 16), _name(tokens[1], origin, "MX exchange"))

    def to_text(self, origin: Name | None = None) -> str:
        ex = self.exchange.relativize(origin) if origin else self.exchange.to_text()
        return f"{self.preference} {ex}"

    def is_null(self) -> bool:
        """RFC 7505 null MX: preference 0 and exchange '.'."""
        return self.exchange.is_root()

    def targets(self) -> tuple[Name, ...]:
        return () if self.exchange.is_root() else (self.exchange,)

    def to_dnslib(self) -> dnslib.RD:
        return dnslib.MX(_label(self.exchange, None), self.preference)


@dataclass(frozen=True, slots=True)
class SRV(Rdata):
    priority: int
    weight: int
    port: int
    target: Name
    rtype: ClassVar[str] = "SRV"
    code: ClassVar[int] = 33

    def __post_init__(self) -> None:
        for field in ("priority", "weight", "port"):
            _int(str(getattr(self, field)), f"SRV {field}", 16)

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None) -> SRV:
        _arity(tokens, 4, "SRV", "priority weight port target")
        return cls(
            _int(tokens[0], "SRV priority", 16),
            _int(tokens[1], "SRV weight", 16),
            _int(tokens[2], "SRV port", 16),
            _name(tokens[3], origin, "SRV target"),
        )

    def to_text(self, origin: Name | None = None) -> str:
        t = self.target.relativize(origin) if origin else self.target.to_text()
        return f"{self.priority} {self.weight} {self.port} {t}"

    def targets(self) -> tuple[Name, ...]:
        return () if self.target.is_root() else (self.target,)

    def to_dnslib(self) -> dnslib.RD:
        return dnslib.SRV(self.priority, self.weight, self.port, _label(self.target, None))


@dataclass(frozen=True, slots=True)
class TXT(Rdata):
    strings: tuple[bytes, ...]
    rtype: ClassVar[str] = "TXT"
    code: ClassVar[int] = 16

    def __post_init__(self) -> None:
        for s in self.strings:
            if len(s) > 255:
                raise RdataError(f"TXT character-string is {len(s)} octets, at most 255 (RFC 1035 3.3)")

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None) -> TXT:
        if not tokens:
            raise RdataError("TXT needs at least one string")
        return cls(tuple(unescape(t) for t in tokens))

    @classmethod
    def from_value(cls, text: str | bytes) -> TXT:
        """One logical text, split into 255-octet character-strings (RFC 7208 3.3)."""
        data = text.encode("utf-8") if isinstance(text, str) else text
        pieces = tuple(data[i : i + 255] for i in range(0, len(data), 255)) or (b"",)
        return cls(pieces)

    def joined(self) -> bytes:
        return b"".join(self.strings)

    def to_text(self, origin: Name | None = None) -> str:
        return " ".join(quote(s) for s in self.strings)

    def to_dnslib(self) -> dnslib.RD:
        return dnslib.TXT(list(self.strings))


CAA_TAG = re.compile(r"^[A-Za-z0-9]+$")  # RFC 8659 4.1


@dataclass(frozen=True, slots=True)
class CAA(Rdata):
    flags: int
    tag: str
    value: bytes
    rtype: ClassVar[str] = "CAA"
    code: ClassVar[int] = 257

    def __post_init__(self) -> None:
        _int(str(self.flags), "CAA flags", 8)
        if not CAA_TAG.match(self.tag) or len(self.tag) > 15:
            raise RdataError(f"CAA tag {self.tag!r} must be 1-15 letters or digits (RFC 8659 4.1)")

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None) -> CAA:
        _arity(tokens, 3, "CAA", "flags tag value")
        return cls(_int(tokens[0], "CAA flags", 8), tokens[1], unescape(tokens[2]))

    def to_text(self, origin: Name | None = None) -> str:
        return f"{self.flags} {self.tag} {quote(self.value)}"

    def to_dnslib(self) -> dnslib.RD:
        return dnslib.CAA(self.flags, self.tag, self.value.decode("latin-1"))


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
        for field in ("serial", "refresh", "retry", "expire", "minimum"):
            _int(str(getattr(self, field)), f"SOA {field}", 32)

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None) -> SOA:
        from zonetool.durations import parse_duration

        _arity(tokens, 7, "SOA", "mname rname serial refresh retry expire minimum")
        timers = []
        for field, token in zip(("refresh", "retry", "expire", "minimum"), tokens[3:], strict=True):
            try:
                timers.append(parse_duration(token))
            except ValueError as exc:
                raise RdataError(f"SOA {field}: {exc}") from None
        return cls(
            _name(tokens[0], origin, "SOA mname"),
            _name(tokens[1], origin, "SOA rname"),
            _int(tokens[2], "SOA serial", 32),
            *timers,
        )

    def to_text(self, origin: Name | None = None) -> str:
        m = self.mname.relativize(origin) if origin else self.mname.to_text()
        r = self.rname.relativize(origin) if origin else self.rname.to_text()
        return f"{m} {r} {self.serial} {self.refresh} {self.retry} {self.expire} {self.minimum}"

    def targets(self) -> tuple[Name, ...]:
        return ()

    def to_dnslib(self) -> dnslib.RD:
        return dnslib.SOA(
            _label(self.mname, None),
            _label(self.rname, None),
            (self.serial, self.refresh, self.retry, self.expire, self.minimum),
        )


@dataclass(frozen=True, slots=True)
class Generic(Rdata):
    """Any other type, kept as wire octets (RFC 3597 3, 5): passed through unchanged."""

    number: int
    data: bytes
    rtype: ClassVar[str] = "TYPE"
    code: ClassVar[int] = 0

    @property
    def type_code(self) -> int:
        return self.number

    @classmethod
    def from_generic(cls, type_code: int, tokens: list[str]) -> Generic:
        """Parse RFC 3597 `\\# length hex...`."""
        if not tokens or tokens[0] != "\\#":
            raise RdataError("unknown-type data must be written as \\# LENGTH HEX (RFC 3597 5)")
        if len(tokens) < 2:
            raise RdataError("\\# needs a length")
        length = _int(tokens[1], "RFC 3597 length", 16)
        try:
            data = bytes.fromhex("".join(tokens[2:]))
        except ValueError:
            raise RdataError("RFC 3597 data is not hexadecimal") from None
        if len(data) != length:
            raise RdataError(f"RFC 3597 length says {length} octets but the data has {len(data)}")
        return cls(type_code, data)

    def to_text(self, origin: Name | None = None) -> str:
        return f"\\# {len(self.data)} {self.data.hex()}" if self.data else "\\# 0"

    def to_dnslib(self) -> dnslib.RD:
        return dnslib.RD(self.data)


LONG_RDATA = frozenset((TXT, CAA, Generic))
RDATA_TYPES: dict[str, type[Rdata]] = {cls.rtype: cls for cls in (A, AAAA, NS, CNAME, PTR, MX, SRV, TXT, CAA, SOA)}
TYPE_CODES: dict[str, int] = {name: cls.code for name, cls in RDATA_TYPES.items()}


# RFC 1035 3.2.1: RDLENGTH is 16 bits, and 4.2.2: a TCP message is at most 65,535 octets.
MAX_RDATA = 0xFFFF


def rdata_length(rdata: Rdata) -> int:
    """Octets of a record's RDATA on the wire, names uncompressed (an upper bound when packed)."""
    match rdata:
        case A():
            return 4
        case AAAA():
            return 16
        case TXT():
            return sum(map(len, rdata.strings)) + len(rdata.strings)
        case _Target():
            return rdata.target.wire_length()
        case MX():
            return 2 + rdata.exchange.wire_length()
        case SRV():
            return 6 + rdata.target.wire_length()
        case SOA():
            return rdata.mname.wire_length() + rdata.rname.wire_length() + 20
        case CAA():
            return 2 + len(rdata.tag) + len(rdata.value)
        case Generic():
            return len(rdata.data)
    return len(rdata.to_wire())


def check_length(rdata: Rdata) -> None:
    """Refuse RDATA that no DNS message can carry (RdataError), where the record is born.

    Only TXT, CAA and RFC 3597 data can be that long (names stop at 255 octets), so the
    other types, most of a big zone, cost one set look-up."""
    if rdata.__class__ not in LONG_RDATA:
        return
    size = rdata_length(rdata)
    if size > MAX_RDATA:
        raise RdataError(f"the record data is {size:,} octets; RDLENGTH allows at most {MAX_RDATA:,} "
                         "(RFC 1035 3.2.1)")


def type_code(name: str) -> int:
    """Type mnemonic or TYPEnnn (RFC 3597 5) to its number."""
    upper = name.upper()
    if upper in TYPE_CODES:
        return TYPE_CODES[upper]
    if upper.startswith("TYPE") and upper[4:].isdigit():
        return _int(upper[4:], "type number", 16)
    code = dnslib.QTYPE.reverse.get(upper)
    if code is None:
        raise RdataError(f"unknown record type {name!r}")
    return code


def type_name(code: int) -> str:
    for name, c in TYPE_CODES.items():
        if c == code:
            return name
    name = dnslib.QTYPE.forward.get(code)
    return name if isinstance(name, str) else f"TYPE{code}"


def parse_rdata(rtype: str, text: str | list[str], origin: Name | None) -> Rdata:
    """Build rdata of `rtype` from presentation text (or tokens)."""
    tokens = tokenize(text) if isinstance(text, str) else text
    upper = rtype.upper()
    cls = RDATA_TYPES.get(upper)
    if tokens and tokens[0] == "\\#":
        generic = Generic.from_generic(type_code(upper), tokens)
        return from_wire(generic.number, generic.data) if cls else generic
    if cls is None:
        from zonetool.rdtypes import native_from_text  # TLSA, DS, ...: native text kept as octets

        generic = native_from_text(type_code(upper), tokens, origin)
        if generic is not None:
            return generic
        raise RdataError(
            f"type {rtype} is passed through only in RFC 3597 form (\\# LENGTH HEX); "
            f"native {rtype} syntax is not supported"
        )
    return cls.from_text(tokens, origin)


def from_wire(code: int, data: bytes) -> Rdata:
    """Wire octets of a known type to its class (used for RFC 3597 input of known types)."""
    name = type_name(code)
    cls = RDATA_TYPES.get(name)
    if cls is None:
        return Generic(code, data)
    buf = dnslib.DNSBuffer(data)
    try:
        rd = dnslib.RDMAP.get(name, dnslib.RD).parse(buf, len(data))
    except Exception as exc:  # dnslib raises several types for malformed data
        raise RdataError(f"{name} wire data is malformed: {exc}") from None
    return _from_dnslib(name, rd)


def _from_dnslib(name: str, rd: dnslib.RD) -> Rdata:
    def n(label: dnslib.DNSLabel) -> Name:
        return Name(tuple(bytes(x) for x in label.label))

    match name:
        case "A" | "AAAA":
            raw = bytes(rd.data)
            return A(str(ipaddress.IPv4Address(raw))) if name == "A" else AAAA(str(ipaddress.IPv6Address(raw)))
        case "NS" | "CNAME" | "PTR":
            return RDATA_TYPES[name](n(rd.label))
        case "MX":
            return MX(rd.preference, n(rd.label))
        case "SRV":
            return SRV(rd.priority, rd.weight, rd.port, n(rd.target))
        case "TXT":
            return TXT(tuple(bytes(s) for s in rd.data))
        case "CAA":
            return CAA(rd.flags, rd.tag, rd.value.encode("latin-1") if isinstance(rd.value, str) else bytes(rd.value))
        case "SOA":
            return SOA(n(rd.mname), n(rd.rname), *rd.times)
    raise RdataError(f"no conversion for {name}")  # pragma: no cover
