"""BIND master files (RFC 1035 5) in and out: the edge that speaks named's text.

The reader is one pass over the lines: common lines are split with `str.split`,
only lines with quotes, parentheses, comments or escapes go through the lexer.
Types the core does not model are kept as wire octets (`records.Generic`) and
converted from and to their native text by a small table of field kinds below,
so an imported TLSA or DNSKEY comes back out exactly as it went in.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import ipaddress
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from zonetool.durations import MAX_TTL
from zonetool.findings import Finding, Where, warning
from zonetool.names import Name, NameError_
from zonetool.records import (
    AAAA,
    CNAME,
    MX,
    NS,
    PTR,
    RDATA_TYPES,
    SOA,
    SRV,
    TXT,
    A,
    Generic,
    Rdata,
    RdataError,
    from_wire,
    quote,
    unescape,
)
from zonetool.zone import Record, Zone

__all__ = ["BindSyntaxError", "rdata_text", "read_zone", "read_zone_with_warnings", "type_mnemonic", "write_zone"]

DIGEST_PREFIX = "; zonetool content-digest: "
MAX_INCLUDE_DEPTH = 16


class BindSyntaxError(ValueError):
    """A master file that named would refuse: the message carries file:line:column."""

    def __init__(self, message: str, where: Where) -> None:
        super().__init__(f"{where}: {message}")
        self.message = message
        self.where = where


# ===========================================================================
# types beyond the modeled ones: native text <-> wire octets
# ===========================================================================
# DNSSEC algorithm mnemonics (RFC 4034 A.1, RFC 8624) and CERT types (RFC 4398 2.1): BIND accepts both.
_ALGORITHMS = {
    "RSAMD5": 1, "DH": 2, "DSA": 3, "RSASHA1": 5, "DSA-NSEC3-SHA1": 6, "NSEC3DSA": 6,
    "RSASHA1-NSEC3-SHA1": 7, "NSEC3RSASHA1": 7, "RSASHA256": 8, "RSASHA512": 10, "ECC-GOST": 12,
    "ECCGOST": 12, "ECDSAP256SHA256": 13, "ECDSAP384SHA384": 14, "ED25519": 15, "ED448": 16,
    "INDIRECT": 252, "PRIVATEDNS": 253, "PRIVATEOID": 254,
}  # fmt: skip
_CERT_TYPES = {"PKIX": 1, "SPKI": 2, "PGP": 3, "IPKIX": 4, "ISPKI": 5, "IPGP": 6, "ACPKIX": 7, "IACPKIX": 8,
               "URI": 253, "OID": 254}  # fmt: skip

# code -> (mnemonic, field kinds). Kinds: u8 u16 u32 name str strs hex b64 qstr alg cert time type
# bitmap salt b32 ip4 ip6 eui48 eui64 l64. "strs", "hex", "b64", "bitmap" take the rest of the line.
EXTRA_TYPES: dict[int, tuple[str, tuple[str, ...]]] = {
    7: ("MB", ("name",)),
    8: ("MG", ("name",)),
    9: ("MR", ("name",)),
    13: ("HINFO", ("str", "str")),
    14: ("MINFO", ("name", "name")),
    17: ("RP", ("name", "name")),
    18: ("AFSDB", ("u16", "name")),
    21: ("RT", ("u16", "name")),
    24: ("SIG", ("type", "alg", "u8", "u32", "time", "time", "u16", "name", "b64")),
    25: ("KEY", ("u16", "u8", "alg", "b64")),
    35: ("NAPTR", ("u16", "u16", "str", "str", "str", "name")),
    36: ("KX", ("u16", "name")),
    37: ("CERT", ("cert", "u16", "alg", "b64")),
    39: ("DNAME", ("name",)),
    43: ("DS", ("u16", "alg", "u8", "hex")),
    44: ("SSHFP", ("u8", "u8", "hex")),
    46: ("RRSIG", ("type", "alg", "u8", "u32", "time", "time", "u16", "name", "b64")),
    47: ("NSEC", ("name", "bitmap")),
    48: ("DNSKEY", ("u16", "u8", "alg", "b64")),
    49: ("DHCID", ("b64",)),
    50: ("NSEC3", ("u8", "u8", "u16", "salt", "b32", "bitmap")),
    51: ("NSEC3PARAM", ("u8", "u8", "u16", "salt")),
    52: ("TLSA", ("u8", "u8", "u8", "hex")),
    53: ("SMIMEA", ("u8", "u8", "u8", "hex")),
    59: ("CDS", ("u16", "alg", "u8", "hex")),
    60: ("CDNSKEY", ("u16", "u8", "alg", "b64")),
    61: ("OPENPGPKEY", ("b64",)),
    62: ("CSYNC", ("u32", "u16", "bitmap")),
    63: ("ZONEMD", ("u32", "u8", "u8", "hex")),
    99: ("SPF", ("strs",)),
    104: ("NID", ("u16", "l64")),
    105: ("L32", ("u16", "ip4")),
    106: ("L64", ("u16", "l64")),
    107: ("LP", ("u16", "name")),
    108: ("EUI48", ("eui48",)),
    109: ("EUI64", ("eui64",)),
    256: ("URI", ("u16", "u16", "qstr")),
    32768: ("TA", ("u16", "alg", "u8", "hex")),
    32769: ("DLV", ("u16", "alg", "u8", "hex")),
}
_REST_KINDS = frozenset({"strs", "hex", "b64", "bitmap"})
_SVCB_CODES = {64: "SVCB", 65: "HTTPS"}  # RFC 9460 2.1

_MNEMONIC_TO_CODE: dict[str, int] = {cls.rtype: cls.code for cls in RDATA_TYPES.values()}
_MNEMONIC_TO_CODE.update({name: code for code, (name, _) in EXTRA_TYPES.items()})
_MNEMONIC_TO_CODE.update({name: code for code, name in _SVCB_CODES.items()})
_CODE_TO_MNEMONIC: dict[int, str] = {code: name for name, code in _MNEMONIC_TO_CODE.items()}
_OTHER_TYPES: dict[str, int] = {"LOC": 29, "WKS": 11, "APL": 42, "IPSECKEY": 45, "HIP": 55, "A6": 38, "NULL": 10,
                                "X25": 19, "ISDN": 20, "NSAP": 22, "PX": 26, "GPOS": 27, "NXT": 30, "ATMA": 34,
                                "SINK": 40, "NINFO": 56, "RKEY": 57, "TALINK": 58, "AMTRELAY": 260, "AVC": 258,
                                "DOA": 259, "RESINFO": 261, "WALLET": 262, "UINFO": 100, "UID": 101, "GID": 102,
                                "UNSPEC": 103}  # fmt: skip


def type_mnemonic(code: int) -> str:
    """The name BIND prints for a type, or TYPEnnn (RFC 3597 5) when BIND-style text is not ours to print."""
    return _CODE_TO_MNEMONIC.get(code) or f"TYPE{code}"


def _type_from_text(token: str) -> int | None:
    upper = token.upper()
    code = _MNEMONIC_TO_CODE.get(upper)
    if code is not None:
        return code
    if upper.startswith("TYPE") and upper[4:].isdigit():
        value = int(upper[4:])
        return value if value <= 0xFFFF else None
    return _OTHER_TYPES.get(upper)  # named knows it; we read it only in RFC 3597 form


def _uint(token: str, bits: int, what: str) -> int:
    if not token.isdigit():
        raise RdataError(f"{what} must be a number, got {token!r}")
    value = int(token)
    if value >= 1 << bits:
        raise RdataError(f"{what} must be 0..{(1 << bits) - 1}, got {value}")
    return value


def _name_wire(name: Name) -> bytes:
    return b"".join(bytes((len(label),)) + label for label in name.labels) + b"\x00"


def _time_from_text(token: str) -> int:
    # RFC 4034 3.2: YYYYMMDDHHmmSS in UTC, or seconds since the epoch
    if len(token) == 14 and token.isdigit():
        try:
            stamp = time.strptime(token, "%Y%m%d%H%M%S")
        except ValueError:
            raise RdataError(f"signature time {token!r} is not a valid YYYYMMDDHHmmSS") from None
        return calendar.timegm(stamp) & 0xFFFFFFFF
    return _uint(token, 32, "signature time")


def _bitmap_from_types(tokens: list[str]) -> bytes:
    # RFC 4034 4.1.2: windows of up to 32 octets
    codes = set()
    for token in tokens:
        code = _type_from_text(token)
        if code is None:
            raise RdataError(f"unknown type {token!r} in type bitmap")
        codes.add(code)
    out = bytearray()
    for window in sorted({c >> 8 for c in codes}):
        bits = bytearray(32)
        for c in codes:
            if c >> 8 == window:
                bits[(c & 0xFF) >> 3] |= 0x80 >> (c & 7)
        length = max(i for i, b in enumerate(bits) if b) + 1
        out += bytes((window, length)) + bits[:length]
    return bytes(out)


def _bitmap_to_types(data: bytes) -> list[str]:
    out, i, last = [], 0, -1
    while i < len(data):
        if i + 2 > len(data):
            raise RdataError("truncated type bitmap")
        window, length = data[i], data[i + 1]
        if window <= last or not 1 <= length <= 32 or i + 2 + length > len(data):
            raise RdataError("malformed type bitmap")
        last = window
        for j, octet in enumerate(data[i + 2 : i + 2 + length]):
            for bit in range(8):
                if octet & (0x80 >> bit):
                    out.append(type_mnemonic((window << 8) | (j << 3) | bit))
        i += 2 + length
    return out


def _b32hex_decode(token: str) -> bytes:
    text = token.upper()
    text += "=" * (-len(text) % 8)
    try:
        return base64.b32hexdecode(text)
    except (binascii.Error, ValueError):
        raise RdataError(f"{token!r} is not base32hex (RFC 5155 3.3)") from None


def _unhex(text: str, what: str) -> bytes:
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise RdataError(f"{what} is not hexadecimal: {text!r}") from None


def extra_from_text(code: int, tokens: list[str], origin: Name | None, name_of: Callable[[str], Name]) -> Generic:
    """Native text of a type in EXTRA_TYPES to wire octets held by a Generic."""
    if code in _SVCB_CODES:
        return _svcb_from_text(code, tokens, origin, name_of)
    mnemonic, kinds = EXTRA_TYPES[code]
    out = bytearray()
    i = 0
    for kind in kinds:
        if kind in _REST_KINDS:
            rest, i = tokens[i:], len(tokens)
        else:
            if i >= len(tokens):
                raise RdataError(f"{mnemonic} takes {len(kinds)} fields ({' '.join(kinds)}), got {len(tokens)}")
            token = tokens[i]
            i += 1
        match kind:
            case "u8":
                out.append(_uint(token, 8, f"{mnemonic} field"))
            case "u16":
                out += _uint(token, 16, f"{mnemonic} field").to_bytes(2, "big")
            case "u32":
                out += _uint(token, 32, f"{mnemonic} field").to_bytes(4, "big")
            case "alg":
                value = _ALGORITHMS.get(token.upper())
                out.append(value if value is not None else _uint(token, 8, f"{mnemonic} algorithm"))
            case "cert":
                value = _CERT_TYPES.get(token.upper())
                out += (value if value is not None else _uint(token, 16, "CERT type")).to_bytes(2, "big")
            case "type":
                covered = _type_from_text(token)
                if covered is None:
                    raise RdataError(f"unknown type covered {token!r}")
                out += covered.to_bytes(2, "big")
            case "time":
                out += _time_from_text(token).to_bytes(4, "big")
            case "name":
                out += _name_wire(name_of(token))
            case "str":
                data = unescape(token)
                if len(data) > 255:
                    raise RdataError(f"{mnemonic} character-string is {len(data)} octets, at most 255")
                out.append(len(data))
                out += data
            case "strs":
                if not rest:
                    raise RdataError(f"{mnemonic} needs at least one string")
                for t in rest:
                    data = unescape(t)
                    if len(data) > 255:
                        raise RdataError(f"{mnemonic} character-string is {len(data)} octets, at most 255")
                    out.append(len(data))
                    out += data
            case "qstr":
                if not token.startswith('"'):
                    raise RdataError(f"{mnemonic} target must be a quoted string (RFC 7553 4.4)")
                out += unescape(token)
            case "hex":
                if not rest:
                    raise RdataError(f"{mnemonic} needs hexadecimal data")
                out += _unhex("".join(rest), f"{mnemonic} data")
            case "b64":
                if not rest:
                    raise RdataError(f"{mnemonic} needs base64 data")
                try:
                    out += base64.b64decode("".join(rest), validate=True)
                except (binascii.Error, ValueError):
                    raise RdataError(f"{mnemonic} data is not base64") from None
            case "bitmap":
                out += _bitmap_from_types(rest)
            case "salt":
                salt = b"" if token == "-" else _unhex(token, "NSEC3 salt")
                out.append(len(salt))
                out += salt
            case "b32":
                hashed = _b32hex_decode(token)
                out.append(len(hashed))
                out += hashed
            case "ip4":
                out += _ip(ipaddress.IPv4Address, token)
            case "ip6":
                out += _ip(ipaddress.IPv6Address, token)
            case "eui48" | "eui64":
                size = 6 if kind == "eui48" else 8
                parts = token.split("-")
                if len(parts) != size or any(len(p) != 2 for p in parts):
                    raise RdataError(f"{mnemonic} must be {size} hex pairs joined by '-', got {token!r}")
                out += _unhex("".join(parts), mnemonic)
            case "l64":
                parts = token.split(":")
                if len(parts) != 4 or any(not 1 <= len(p) <= 4 for p in parts):
                    raise RdataError(f"{mnemonic} locator must be four groups of hex, got {token!r}")
                out += _unhex("".join(p.zfill(4) for p in parts), mnemonic)
    if i < len(tokens):
        raise RdataError(f"{mnemonic} has extra data: {' '.join(tokens[i:])!r}")
    if len(out) > 0xFFFF:
        raise RdataError(f"{mnemonic} data is {len(out)} octets, at most 65535")
    return Generic(code, bytes(out))


def _ip(cls: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address], token: str) -> bytes:
    try:
        return cls(token).packed
    except ValueError:
        raise RdataError(f"{token!r} is not an {cls.__name__[:4]} address") from None


def _read_name(data: bytes, i: int) -> tuple[Name, int]:
    labels = []
    while True:
        if i >= len(data):
            raise RdataError("truncated name")
        n = data[i]
        if n == 0:
            return Name(tuple(labels)), i + 1
        if n > 63 or i + 1 + n > len(data):
            raise RdataError("malformed name (compression is not allowed here)")
        labels.append(data[i + 1 : i + 1 + n])
        i += 1 + n


def extra_to_text(code: int, data: bytes, origin: Name | None) -> str:
    """Wire octets of an EXTRA_TYPES type as BIND's native text; RdataError if malformed."""
    if code in _SVCB_CODES:
        return _svcb_to_text(code, data, origin)
    mnemonic, kinds = EXTRA_TYPES[code]
    out: list[str] = []
    i, n = 0, len(data)

    def take(size: int) -> bytes:
        nonlocal i
        if i + size > n:
            raise RdataError(f"{mnemonic} wire data is truncated")
        chunk = data[i : i + size]
        i += size
        return chunk

    for kind in kinds:
        match kind:
            case "u8" | "alg":
                out.append(str(take(1)[0]))
            case "u16" | "cert":
                out.append(str(int.from_bytes(take(2), "big")))
            case "u32":
                out.append(str(int.from_bytes(take(4), "big")))
            case "type":
                out.append(type_mnemonic(int.from_bytes(take(2), "big")))
            case "time":
                out.append(time.strftime("%Y%m%d%H%M%S", time.gmtime(int.from_bytes(take(4), "big"))))
            case "name":
                name, i = _read_name(data, i)
                out.append(name.relativize(origin) if origin else name.to_text())
            case "str":
                length = take(1)[0]
                out.append(quote(take(length)))
            case "strs":
                if i >= n:
                    raise RdataError(f"{mnemonic} needs at least one string")
                while i < n:
                    length = take(1)[0]
                    out.append(quote(take(length)))
            case "qstr":
                out.append(quote(take(n - i)))
            case "hex":
                if i >= n:
                    raise RdataError(f"{mnemonic} has no data")
                out.append(take(n - i).hex().upper())
            case "b64":
                if i >= n:
                    raise RdataError(f"{mnemonic} has no data")
                out.append(base64.b64encode(take(n - i)).decode("ascii"))
            case "bitmap":
                out.extend(_bitmap_to_types(take(n - i)))
            case "salt":
                salt = take(take(1)[0])
                out.append(salt.hex().upper() if salt else "-")
            case "b32":
                hashed = take(take(1)[0])
                out.append(base64.b32hexencode(hashed).decode("ascii").rstrip("="))
            case "ip4":
                out.append(str(ipaddress.IPv4Address(take(4))))
            case "ip6":
                out.append(str(ipaddress.IPv6Address(take(16))))
            case "eui48" | "eui64":
                out.append("-".join(f"{b:02x}" for b in take(6 if kind == "eui48" else 8)))
            case "l64":
                raw = take(8).hex()
                out.append(":".join(raw[k : k + 4] for k in range(0, 16, 4)))
    if i != n:
        raise RdataError(f"{mnemonic} wire data has {n - i} octets too many")
    return " ".join(out)


_SVC_KEYS = {"mandatory": 0, "alpn": 1, "no-default-alpn": 2, "port": 3, "ipv4hint": 4, "ech": 5, "ipv6hint": 6}
_SVC_NAMES = {v: k for k, v in _SVC_KEYS.items()}


def _svc_key(text: str) -> int:
    key = _SVC_KEYS.get(text.lower())
    if key is None:
        if not (text.lower().startswith("key") and text[3:].isdigit()):
            raise RdataError(f"unknown SvcParamKey {text!r} (RFC 9460 14.3)")
        key = _uint(text[3:], 16, "SvcParamKey")
    return key


def _split_commas(data: bytes) -> list[bytes]:
    """RFC 9460 A.1: a comma-separated list where '\\,' is a literal comma (escapes already resolved once)."""
    items, cur, i = [], bytearray(), 0
    while i < len(data):
        c = data[i]
        if c == 0x5C and i + 1 < len(data):
            cur.append(data[i + 1])
            i += 2
            continue
        if c == 0x2C:
            items.append(bytes(cur))
            cur = bytearray()
        else:
            cur.append(c)
        i += 1
    items.append(bytes(cur))
    return items


def _svcb_from_text(code: int, tokens: list[str], origin: Name | None, name_of: Callable[[str], Name]) -> Generic:
    """RFC 9460 2.1 presentation format to wire: priority, target, then key=value pairs sorted by key."""
    mnemonic = _SVCB_CODES[code]
    if len(tokens) < 2:
        raise RdataError(f"{mnemonic} takes a priority, a target name and parameters")
    out = bytearray(_uint(tokens[0], 16, f"{mnemonic} priority").to_bytes(2, "big"))
    out += _name_wire(name_of(tokens[1]))
    params: dict[int, bytes] = {}
    for token in tokens[2:]:
        key_text, eq, raw = token.partition("=")
        key = _svc_key(key_text)
        if key in params:
            raise RdataError(f"{mnemonic} parameter {key_text} appears twice (RFC 9460 2.2)")
        # A quoted value has its own escapes; the tokenizer kept them, unescape resolves \DDD and \X.
        value = unescape(raw) if eq else b""
        if key == 0:
            keys = sorted(_svc_key(k.decode("ascii", "replace")) for k in value.split(b","))
            params[key] = b"".join(k.to_bytes(2, "big") for k in keys)
        elif key == 1:
            ids = _split_commas(value) if eq else []
            if not ids or any(not i for i in ids):
                raise RdataError(f"{mnemonic} alpn needs one or more protocol ids")
            params[key] = b"".join(bytes((len(i),)) + i for i in ids)
        elif key == 2:
            if eq and value:
                raise RdataError("no-default-alpn takes no value")
            params[key] = b""
        elif key == 3:
            params[key] = _uint(value.decode("ascii", "replace"), 16, "port").to_bytes(2, "big")
        elif key in (4, 6):
            cls = ipaddress.IPv4Address if key == 4 else ipaddress.IPv6Address
            params[key] = b"".join(_ip(cls, a) for a in value.decode("ascii", "replace").split(","))
        elif key == 5:
            try:
                params[key] = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise RdataError("ech must be base64") from None
        else:
            params[key] = value
    for key in sorted(params):
        out += key.to_bytes(2, "big") + len(params[key]).to_bytes(2, "big") + params[key]
    return Generic(code, bytes(out))


def _svc_value(data: bytes, commas: bool = False) -> str:
    out = []
    for c in data:
        if commas and c in (0x2C, 0x5C):
            out.append("\\\\" + chr(c))
        elif c in (0x22, 0x5C):
            out.append("\\" + chr(c))
        elif 0x21 <= c <= 0x7E and c != 0x3B:
            out.append(chr(c))
        else:
            out.append(f"\\{c:03d}")
    return '"' + "".join(out) + '"'


def _svcb_to_text(code: int, data: bytes, origin: Name | None) -> str:
    mnemonic = _SVCB_CODES[code]
    if len(data) < 3:
        raise RdataError(f"{mnemonic} wire data is truncated")
    priority = int.from_bytes(data[:2], "big")
    target, i = _read_name(data, 2)
    out = [str(priority), target.relativize(origin) if origin else target.to_text()]
    last = -1
    while i < len(data):
        if i + 4 > len(data):
            raise RdataError(f"{mnemonic} parameter is truncated")
        key, length = int.from_bytes(data[i : i + 2], "big"), int.from_bytes(data[i + 2 : i + 4], "big")
        value = data[i + 4 : i + 4 + length]
        if key <= last or len(value) != length:
            raise RdataError(f"{mnemonic} parameters are out of order or truncated")
        last = key
        i += 4 + length
        name = _SVC_NAMES.get(key, f"key{key}")
        if key == 0:
            if length % 2:
                raise RdataError("mandatory list has an odd length")
            keys = [int.from_bytes(value[k : k + 2], "big") for k in range(0, length, 2)]
            out.append(f"{name}=" + ",".join(_SVC_NAMES.get(k, f"key{k}") for k in keys))
        elif key == 1:
            ids, j = [], 0
            while j < length:
                n = value[j]
                if n == 0 or j + 1 + n > length:
                    raise RdataError("malformed alpn")
                ids.append(value[j + 1 : j + 1 + n])
                j += 1 + n
            joined = b",".join(
                bytes(x for c in ident for x in ((0x5C, c) if c in (0x2C, 0x5C) else (c,))) for ident in ids
            )
            out.append(f"{name}={_svc_value(joined)}")
        elif key == 2:
            if length:
                raise RdataError("no-default-alpn has a value")
            out.append(name)
        elif key == 3:
            if length != 2:
                raise RdataError("port is not 2 octets")
            out.append(f"{name}={int.from_bytes(value, 'big')}")
        elif key in (4, 6):
            size = 4 if key == 4 else 16
            if not length or length % size:
                raise RdataError(f"{name} has a bad length")
            cls = ipaddress.IPv4Address if key == 4 else ipaddress.IPv6Address
            out.append(f"{name}=" + ",".join(str(cls(value[k : k + size])) for k in range(0, length, size)))
        elif key == 5:
            out.append(f"{name}={base64.b64encode(value).decode('ascii')}")
        else:
            out.append(f"{name}={_svc_value(value)}" if value else name)
    return " ".join(out)


def rdata_text(rdata: Rdata, origin: Name | None) -> tuple[str, str]:
    """(type mnemonic, rdata text) as BIND reads them back to the same octets."""
    if isinstance(rdata, Generic):
        code = rdata.number
        if code in EXTRA_TYPES or code in _SVCB_CODES:
            try:
                return type_mnemonic(code), extra_to_text(code, rdata.data, origin)
            except (RdataError, ValueError, IndexError):
                pass
        return f"TYPE{code}", rdata.to_text(origin)
    return rdata.rtype, rdata.to_text(origin)


# ===========================================================================
# reader
# ===========================================================================
# One lexer for the lines that need it (RFC 1035 5.1): quoted strings, parentheses, comments, escapes.
_LEX = re.compile(
    r'(?P<ws>[ \t\r\f\v]+)|(?P<comment>;.*)|(?P<q>"(?:[^"\\]|\\.)*")|(?P<open>\()|(?P<close>\))'
    r'|(?P<word>(?:[^\s;()"\\]|\\.)(?:[^\s;()\\]|\\.)*)|(?P<bad>.)',
    re.S,
)
_NEEDS_LEXER = re.compile(r'[;()"\\]')
_CLASSES = frozenset({"IN", "CLASS1"})
_OTHER_CLASSES = frozenset({"CH", "CS", "HS", "NONE", "ANY"})
_TTL_PART = re.compile(r"(\d+)([smhdwSMHDW])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(slots=True)
class _Entry:
    """One logical line: its tokens, where each token starts, and whether the owner was left blank."""

    tokens: list[str]
    lines: list[int] | None  # None for a single physical line (then `line` applies to all)
    columns: list[int] | None  # None when the fast path skipped them; recomputed on error
    line: int
    blank_owner: bool
    raw: str  # the first physical line, to recompute columns


def _lex_line(text: str, line_no: int, where_file: str | None, depth: int) -> tuple[list[tuple[str, int]], int]:
    """Tokens with 1-based columns of one physical line; returns the parenthesis depth after it."""
    out: list[tuple[str, int]] = []
    for m in _LEX.finditer(text):
        kind = m.lastgroup
        if kind == "ws" or kind == "comment":
            continue
        if kind == "open":
            depth += 1
        elif kind == "close":
            depth -= 1
            if depth < 0:
                raise BindSyntaxError("')' without '('", Where(where_file, line_no, m.start() + 1))
        elif kind == "bad":
            what = "unbalanced quote" if m.group() == '"' else f"stray {m.group()!r}"
            raise BindSyntaxError(what, Where(where_file, line_no, m.start() + 1))
        else:
            out.append((m.group(), m.start() + 1))
    return out, depth


def _entries(text: str, file: str | None) -> Iterator[_Entry]:
    """Logical lines of a master file: parentheses joined, comments dropped."""
    lines = text.split("\n")
    needs_lexer = _NEEDS_LEXER.search
    i, count = 0, len(lines)
    while i < count:
        raw = lines[i]
        i += 1
        if not raw or raw.isspace():
            continue
        blank = raw[0] in " \t"
        if needs_lexer(raw) is None:
            tokens = raw.split()
            yield _Entry(tokens, None, None, i, blank, raw)
            continue
        start = i
        pairs, depth = _lex_line(raw, i, file, 0)
        if depth == 0:
            if pairs:
                yield _Entry([t for t, _ in pairs], None, [c for _, c in pairs], i, blank, raw)
            continue
        tokens = [t for t, _ in pairs]
        columns = [c for _, c in pairs]
        line_of = [start] * len(pairs)
        while depth > 0:
            if i >= count:
                raise BindSyntaxError("'(' is never closed", Where(file, start, raw.find("(") + 1))
            more, depth = _lex_line(lines[i], i + 1, file, depth)
            i += 1
            for t, c in more:
                tokens.append(t)
                columns.append(c)
                line_of.append(i)
        if tokens:
            yield _Entry(tokens, line_of, columns, start, blank, raw)


def _token_where(entry: _Entry, index: int, file: str | None) -> Where:
    if not entry.tokens:
        return Where(file, entry.line, 1)
    index = max(0, min(index, len(entry.tokens) - 1))
    columns = entry.columns
    if columns is None:
        columns = [c for _, c in _lex_line(entry.raw, entry.line, file, 0)[0]]
    line = entry.lines[index] if entry.lines is not None else entry.line
    return Where(file, line, columns[index] if index < len(columns) else 1)


def _parse_ttl(token: str) -> int:
    """A TTL as BIND writes it: seconds or units (1h30m, 2W), RFC 2308 / BIND ttl syntax."""
    if token.isdigit():
        return int(token)
    pos, total = 0, 0
    for m in _TTL_PART.finditer(token):
        if m.start() != pos:
            break
        total += int(m.group(1)) * _UNITS[m.group(2).lower()]
        pos = m.end()
    if pos != len(token) or not token:
        raise RdataError(f"{token!r} is not a TTL (seconds, or units s m h d w such as 1h30m)")
    return total


class _Reader:
    """State of one master file being read; included files share it."""

    def __init__(self, origin: Name | None, base_dir: Path | None) -> None:
        self.first_origin = origin
        self.base_dir = base_dir
        self.records: list[Record] = []
        self.warnings: list[Finding] = []
        self.default_ttl: int | None = None  # $TTL (RFC 2308 4)
        self.last_ttl: int | None = None  # RFC 1035 5.1: the last stated TTL when no $TTL
        self._names: dict[tuple[str, Name | None], Name] = {}

    # -- names -------------------------------------------------------------
    def name(self, text: str, origin: Name | None) -> Name:
        key = (text, origin)
        name = self._names.get(key)
        if name is None:
            if "\\" not in text and text not in ("@", "."):
                absolute = text.endswith(".")
                parts = (text[:-1] if absolute else text).split(".")
                if not all(parts):
                    raise NameError_(f"empty label in {text!r}")
                labels = tuple(p.encode("utf-8") for p in parts)
                if not absolute:
                    if origin is None:
                        raise NameError_(f"relative name {text!r} needs an $ORIGIN")
                    labels += origin.labels
                name = Name(labels)
                name.check()
            else:
                name = Name.from_text(text, origin)
            if len(self._names) < 200_000:
                self._names[key] = name
        return name

    # -- reading ---------------------------------------------------------------
    def read(self, text: str, file: str | None, origin: Name | None, owner: Name | None, depth: int) -> None:
        for entry in _entries(text, file):
            tokens = entry.tokens
            first = tokens[0]
            if not entry.blank_owner and first[0] == "$":
                origin, owner = self.directive(entry, file, origin, owner, depth)
                continue
            try:
                owner = self.record(entry, file, origin, owner)
            except BindSyntaxError:
                raise
            except (RdataError, NameError_) as exc:
                index = getattr(exc, "token_index", 0)
                raise BindSyntaxError(str(exc), _token_where(entry, index, file)) from None

    def directive(
        self, entry: _Entry, file: str | None, origin: Name | None, owner: Name | None, depth: int
    ) -> tuple[Name | None, Name | None]:
        tokens = entry.tokens
        word = tokens[0].upper()
        where = _token_where(entry, 0, file)
        if word == "$ORIGIN":
            if len(tokens) != 2:
                raise BindSyntaxError("$ORIGIN takes one domain name", where)
            try:
                new = self.name(tokens[1], origin)
            except NameError_ as exc:
                raise BindSyntaxError(f"$ORIGIN: {exc}", _token_where(entry, 1, file)) from None
            if self.first_origin is None:
                self.first_origin = new
            return new, owner
        if word == "$TTL":
            if len(tokens) != 2:
                raise BindSyntaxError("$TTL takes one TTL", where)
            try:
                self.default_ttl = self.limit_ttl(_parse_ttl(tokens[1]), _token_where(entry, 1, file))
            except RdataError as exc:
                raise BindSyntaxError(f"$TTL: {exc}", _token_where(entry, 1, file)) from None
            self.last_ttl = self.default_ttl
            return origin, owner
        if word == "$INCLUDE":
            if len(tokens) not in (2, 3):
                raise BindSyntaxError("$INCLUDE takes a file name and an optional origin", where)
            self.include(entry, file, origin, owner, depth)
            return origin, owner  # RFC 1035 5.1: origin and owner revert after $INCLUDE
        if word == "$GENERATE":
            self.generate(entry, file, origin)
            return origin, owner
        raise BindSyntaxError(f"unknown directive {tokens[0]} (use $ORIGIN, $TTL, $INCLUDE or $GENERATE)", where)

    def include(self, entry: _Entry, file: str | None, origin: Name | None, owner: Name | None, depth: int) -> None:
        tokens = entry.tokens
        if depth >= MAX_INCLUDE_DEPTH:
            raise BindSyntaxError(
                f"$INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep (a loop?)", _token_where(entry, 0, file)
            )
        target = unescape(tokens[1]).decode("utf-8", "replace")
        base = self.base_dir if self.base_dir is not None else (Path(file).parent if file else Path.cwd())
        path = Path(target) if Path(target).is_absolute() else base / target
        new_origin = origin
        if len(tokens) == 3:
            try:
                new_origin = self.name(tokens[2], origin)
            except NameError_ as exc:
                raise BindSyntaxError(f"$INCLUDE origin: {exc}", _token_where(entry, 2, file)) from None
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise BindSyntaxError(
                f"$INCLUDE cannot read {path}: {exc.strerror}", _token_where(entry, 1, file)
            ) from None
        except UnicodeDecodeError as exc:
            raise BindSyntaxError(f"$INCLUDE {path} is not UTF-8 text: {exc}", _token_where(entry, 1, file)) from None
        self.read(text, str(path), new_origin, new_origin if len(tokens) == 3 else owner, depth + 1)

    def limit_ttl(self, ttl: int, where: Where) -> int:
        if ttl > MAX_TTL:  # RFC 2181 8: values with the top bit set are treated as zero
            self.warnings.append(
                warning("ttl-too-large", f"TTL {ttl} is above {MAX_TTL}; set to 0 (RFC 2181 8)", where)
            )
            return 0
        return ttl

    def record(self, entry: _Entry, file: str | None, origin: Name | None, owner: Name | None) -> Name:
        tokens = entry.tokens
        i = 0
        if entry.blank_owner:
            if owner is None:
                raise BindSyntaxError("no owner name yet (the line starts with blanks)", _token_where(entry, 0, file))
        else:
            try:
                owner = self.name(tokens[0], origin)
            except NameError_ as exc:
                raise BindSyntaxError(f"owner name: {exc}", _token_where(entry, 0, file)) from None
            i = 1
        ttl: int | None = None
        seen_class = False
        code: int | None = None
        while i < len(tokens):
            token = tokens[i]
            first = token[0]
            if first.isdigit() and ttl is None:
                try:
                    ttl = self.limit_ttl(_parse_ttl(token), _token_where(entry, i, file))
                except RdataError as exc:
                    raise BindSyntaxError(str(exc), _token_where(entry, i, file)) from None
                i += 1
                continue
            upper = token.upper()
            if not seen_class and (upper in _CLASSES or upper in _OTHER_CLASSES or upper.startswith("CLASS")):
                if upper not in _CLASSES:
                    raise BindSyntaxError(
                        f"class {token} does not match the zone's class IN", _token_where(entry, i, file)
                    )
                seen_class = True
                i += 1
                continue
            code = _type_from_text(token)
            if code is None:
                raise BindSyntaxError(f"unknown record type {token!r}", _token_where(entry, i, file))
            i += 1
            break
        if code is None:
            raise BindSyntaxError("record has no type", _token_where(entry, len(tokens) - 1, file))
        type_index = i - 1
        rd_tokens = tokens[i:]
        try:
            rdata = self.rdata(code, rd_tokens, origin)
        except (RdataError, NameError_) as exc:
            mnemonic = type_mnemonic(code)
            raise BindSyntaxError(
                f"{mnemonic}: {exc}", _token_where(entry, i if rd_tokens else type_index, file)
            ) from None
        if ttl is None:
            if self.default_ttl is not None:
                ttl = self.default_ttl
            elif self.last_ttl is not None:
                ttl = self.last_ttl
            elif isinstance(rdata, SOA):  # BIND: with no $TTL the SOA MINIMUM stands in
                ttl = rdata.minimum
                self.default_ttl = ttl
                self.warnings.append(
                    warning(
                        "no-default-ttl", "no $TTL; using the SOA MINIMUM as the default", _token_where(entry, 0, file)
                    )
                )
            else:
                raise BindSyntaxError("no TTL: add a $TTL line or a TTL on this record", _token_where(entry, 0, file))
        self.last_ttl = ttl
        line = entry.line
        if not entry.blank_owner:
            column = 1
        elif entry.columns is not None:
            column = entry.columns[0]
        else:
            column = len(entry.raw) - len(entry.raw.lstrip()) + 1
        self.records.append(Record(owner, ttl, rdata, Where(file, line, column)))
        return owner

    def rdata(self, code: int, tokens: list[str], origin: Name | None) -> Rdata:
        if tokens and tokens[0] == "\\#":
            generic = Generic.from_generic(code, tokens)  # RFC 3597 5, also for known types
            if code in _CORE_CODES:
                return from_wire(code, generic.data)
            if code in EXTRA_TYPES or code in _SVCB_CODES:
                extra_to_text(code, generic.data, origin)  # refuse what BIND would refuse
            return generic
        name = self.name
        match code:
            case 1:
                if len(tokens) != 1:
                    raise RdataError(f"A takes one address, got {len(tokens)} fields")
                return A(tokens[0])
            case 28:
                if len(tokens) != 1:
                    raise RdataError(f"AAAA takes one address, got {len(tokens)} fields")
                return AAAA(tokens[0])
            case 2 | 5 | 12:
                if len(tokens) != 1:
                    raise RdataError(f"takes one domain name, got {len(tokens)} fields")
                cls = NS if code == 2 else CNAME if code == 5 else PTR
                return cls(name(tokens[0], origin))
            case 15:
                if len(tokens) != 2:
                    raise RdataError(f"MX takes 2 fields (preference exchange), got {len(tokens)}")
                return MX(_uint(tokens[0], 16, "MX preference"), name(tokens[1], origin))
            case 33:
                if len(tokens) != 4:
                    raise RdataError(f"SRV takes 4 fields (priority weight port target), got {len(tokens)}")
                return SRV(
                    _uint(tokens[0], 16, "SRV priority"),
                    _uint(tokens[1], 16, "SRV weight"),
                    _uint(tokens[2], 16, "SRV port"),
                    name(tokens[3], origin),
                )
            case 16:
                if not tokens:
                    raise RdataError("TXT needs at least one string")
                return TXT(tuple(_string(t) for t in tokens))
            case 6:
                if len(tokens) != 7:
                    raise RdataError(
                        f"SOA takes 7 fields (mname rname serial refresh retry expire minimum), got {len(tokens)}"
                    )
                timers = [_parse_ttl(t) for t in tokens[3:]]
                return SOA(
                    name(tokens[0], origin), name(tokens[1], origin), _uint(tokens[2], 32, "SOA serial"), *timers
                )
            case 257:
                return RDATA_TYPES["CAA"].from_text(tokens, origin)
        if code in EXTRA_TYPES or code in _SVCB_CODES:
            return extra_from_text(code, tokens, origin, lambda t: name(t, origin))
        raise RdataError(f"type {type_mnemonic(code)} can only be read in RFC 3597 form (\\# LENGTH HEX)")

    # -- $GENERATE (a BIND extension) ---------------------------------------------
    def generate(self, entry: _Entry, file: str | None, origin: Name | None) -> None:
        tokens = entry.tokens
        if len(tokens) < 4:
            raise BindSyntaxError("$GENERATE takes: range lhs [ttl] [class] type rhs", _token_where(entry, 0, file))
        m = re.fullmatch(r"(\d+)-(\d+)(?:/(\d+))?", tokens[1])
        if not m:
            raise BindSyntaxError(
                f"$GENERATE range {tokens[1]!r} is not start-stop[/step]", _token_where(entry, 1, file)
            )
        start, stop, step = int(m.group(1)), int(m.group(2)), int(m.group(3) or 1)
        if start > stop or step == 0 or stop - start > 1_000_000:
            raise BindSyntaxError(f"$GENERATE range {tokens[1]!r} is empty or too large", _token_where(entry, 1, file))
        lhs, rest = tokens[2], tokens[3:]
        for value in range(start, stop + 1, step):
            try:
                line_tokens = [_substitute(lhs, value), *(_substitute(t, value) for t in rest)]
            except ValueError as exc:
                raise BindSyntaxError(f"$GENERATE: {exc}", _token_where(entry, 2, file)) from None
            generated = _Entry(line_tokens, None, None, entry.line, False, entry.raw)
            try:
                self.record(generated, file, origin, None)
            except BindSyntaxError as exc:
                raise BindSyntaxError(f"$GENERATE ({value}): {exc.message}", _token_where(entry, 0, file)) from None


_CORE_CODES = frozenset(cls.code for cls in RDATA_TYPES.values())
_GEN_MOD = re.compile(r"\$\{(-?\d+)(?:,(\d+)(?:,([doxXnN]))?)?\}|\$\$|\\\$|\$")


def _substitute(template: str, value: int) -> str:
    """BIND $GENERATE: `$`, `${offset,width,base}`, `\\$` a literal dollar."""

    def repl(m: re.Match[str]) -> str:
        text = m.group()
        if text == "\\$" or text == "$$":
            return "$"
        if text == "$":
            return str(value)
        offset, width, base = int(m.group(1)), int(m.group(2) or 0), m.group(3) or "d"
        v = value + offset
        if base in "nN":
            digits = f"{v:x}" if base == "n" else f"{v:X}"
            digits = digits.zfill(width)[::-1]
            return ".".join(digits)
        return format(v, f"0{width}{base}")

    return _GEN_MOD.sub(repl, template)


def _string(token: str) -> bytes:
    """A character-string token's octets; the common case (no escapes) without a per-character loop."""
    if "\\" not in token:
        if len(token) >= 2 and token[0] == '"' and token[-1] == '"':
            token = token[1:-1]
        return token.encode("utf-8")
    return unescape(token)


def read_zone_with_warnings(
    text: str, origin: Name | str | None, file: str | None = None, *, base_dir: Path | None = None
) -> tuple[Zone, list[Finding]]:
    """Read master text into a Zone plus what named would warn about (records it ignored)."""
    if isinstance(origin, str):
        try:
            origin = Name.from_text(origin if origin.endswith(".") else origin + ".")
        except NameError_ as exc:
            raise BindSyntaxError(f"origin {origin!r}: {exc}", Where(file)) from None
    reader = _Reader(origin, base_dir)
    reader.read(text, file, origin, None, 0)
    records = reader.records
    zone_origin = origin or reader.first_origin
    if zone_origin is None:
        soa = next((r for r in records if isinstance(r.rdata, SOA)), None)
        if soa is None:
            raise BindSyntaxError("no origin: pass one, or start the file with $ORIGIN or an SOA", Where(file, 1, 1))
        zone_origin = soa.owner
    zone = Zone(zone_origin, file)
    warnings = reader.warnings
    for record in records:
        if not record.owner.is_subdomain_of(zone_origin):  # named: "ignoring out-of-zone data"
            warnings.append(
                warning("out-of-zone", f"{record.owner} is outside {zone_origin}; ignored as named does", record.where)
            )
            continue
        if isinstance(record.rdata, SOA):
            if record.owner != zone_origin:
                raise BindSyntaxError(f"SOA at {record.owner} is not at the zone's origin {zone_origin}", record.where)
            if zone.soa is not None and zone.soa != record.rdata:
                raise BindSyntaxError("a zone has exactly one SOA record (RFC 1035 5.2)", record.where)
        zone.add(record)
    if zone.soa is None:
        warnings.append(warning("no-soa", f"no SOA record at {zone_origin}", Where(file, 1, 1)))
    return zone, warnings


def read_zone(text: str, origin: Name | str | None, file: str | None = None, *, base_dir: Path | None = None) -> Zone:
    """Read RFC 1035 master text; BindSyntaxError (file:line:column) on anything named would refuse."""
    return read_zone_with_warnings(text, origin, file, base_dir=base_dir)[0]


def origin_from_text(text: str) -> Name | None:
    """The first absolute $ORIGIN in a file (how `import` guesses the origin)."""
    for line in text.split("\n"):
        parts = line.split()
        if len(parts) >= 2 and parts[0].upper() == "$ORIGIN" and parts[1].endswith("."):
            try:
                return Name.from_text(parts[1])
            except NameError_:
                return None
    return None


# ===========================================================================
# writer
# ===========================================================================
_OWNER_WIDTH_CAP = 32
_TYPE_WIDTH_CAP = 10


def _rrset_order(code: int) -> Callable[[Record], object]:
    if code == 15:  # MX: preference, then exchange (canonical order)
        return lambda r: (r.rdata.preference, r.rdata.exchange.canonical_key())  # type: ignore[attr-defined]
    if code == 33:  # SRV: priority, weight, port, target
        return lambda r: (
            r.rdata.priority,  # type: ignore[attr-defined]
            r.rdata.weight,  # type: ignore[attr-defined]
            r.rdata.port,  # type: ignore[attr-defined]
            r.rdata.target.canonical_key(),  # type: ignore[attr-defined]
        )
    return lambda r: r.rdata.to_wire()


def _common_ttl(zone: Zone) -> int:
    counts = Counter(r.ttl for r in zone.records())
    if not counts:
        return 3600
    return min(counts, key=lambda ttl: (-counts[ttl], ttl))


def write_zone(zone: Zone, *, digest: str | None = None) -> str:
    """RFC 1035 master text for people and named alike: same zone, same bytes.

    `digest` (zonetool.serial.content_digest) goes into a header comment so a
    later export can tell whether the content changed and keep an auto serial.
    """
    origin = zone.origin
    default_ttl = _common_ttl(zone)
    rows: list[tuple[str, str, str, str]] = []
    soa_rows: list[str] = []
    for name in zone.names():
        node = zone.nodes[name]
        owner_text = name.relativize(origin) if name.is_subdomain_of(origin) else name.to_text()
        first = True
        codes = sorted(node, key=lambda c: (c != 6, c != 2, c))
        for code in codes:
            rrset = node[code]
            for record in sorted(rrset.records, key=_rrset_order(code)):
                owner = owner_text if first else ""
                first = False
                ttl = "" if record.ttl == default_ttl else str(record.ttl)
                if code == 6 and isinstance(record.rdata, SOA) and name == origin:
                    soa_rows = _soa_lines(record, origin, default_ttl)
                    rows.append(("\0soa", ttl, "SOA", ""))
                    continue
                mnemonic, text = rdata_text(record.rdata, origin)
                rows.append((owner, ttl, mnemonic, text))
    owner_w = min(max((len(r[0]) for r in rows if r[0] != "\0soa"), default=1), _OWNER_WIDTH_CAP)
    ttl_w = max((len(r[1]) for r in rows), default=0)
    type_w = min(max((len(r[2]) for r in rows), default=1), _TYPE_WIDTH_CAP)
    out: list[str] = []
    if digest is not None:
        out.append(f"{DIGEST_PREFIX}{digest}")
    out.append(f"$ORIGIN {origin.to_text()}")
    out.append(f"$TTL {default_ttl}")
    for owner, ttl, mnemonic, text in rows:
        if owner == "\0soa":
            out.extend(soa_rows)
            continue
        parts = [owner.ljust(owner_w)]
        if ttl_w:
            parts.append(ttl.rjust(ttl_w))
        parts.append("IN")
        parts.append(mnemonic.ljust(type_w))
        parts.append(text)
        out.append(" ".join(parts).rstrip())
    return "\n".join(out) + "\n"


def _soa_lines(record: Record, origin: Name, default_ttl: int) -> list[str]:
    soa = record.rdata
    assert isinstance(soa, SOA)
    ttl = "" if record.ttl == default_ttl else f" {record.ttl}"
    head = f"@{ttl} IN SOA {soa.mname.relativize(origin)} {soa.rname.relativize(origin)} ("
    width = max(len(str(v)) for v in (soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum))
    fields = [
        (soa.serial, "serial"),
        (soa.refresh, "refresh"),
        (soa.retry, "retry"),
        (soa.expire, "expire"),
        (soa.minimum, "minimum (negative-caching TTL, RFC 2308)"),
    ]
    lines = [head]
    for i, (value, label) in enumerate(fields):
        close = " )" if i == len(fields) - 1 else "  "
        lines.append(f"        {str(value).ljust(width)}{close} ; {label}")
    return lines
