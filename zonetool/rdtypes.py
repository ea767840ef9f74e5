"""Record types beyond the modeled ones: native presentation text <-> wire octets.

The core models A, AAAA, NS, CNAME, PTR, MX, SRV, TXT, CAA and SOA as classes. Every
other type named reads natively (TLSA, DS, DNSKEY, RRSIG, NSEC3, SVCB/HTTPS, ...) is kept
as `records.Generic` wire octets, and converted from and to its text by a table of field
kinds, so it passes through the YAML compiler and the BIND edge unchanged.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import ipaddress
import struct
import time
from collections import Counter
from collections.abc import Callable

from zonetool.names import Name
from zonetool.records import RDATA_TYPES, Generic, Rdata, RdataError, quote, unescape
from zonetool.zone import Record, Zone

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
    19: ("X25", ("str",)),
    21: ("RT", ("u16", "name")),
    29: ("LOC", ("loc",)),
    24: ("SIG", ("type", "alg", "u8", "u32", "time", "time", "u16", "name", "b64")),
    25: ("KEY", ("u16", "u8", "alg", "b64")),
    26: ("PX", ("u16", "name", "name")),
    27: ("GPOS", ("str", "str", "str")),
    35: ("NAPTR", ("u16", "u16", "str", "str", "str", "name")),
    36: ("KX", ("u16", "name")),
    37: ("CERT", ("cert", "u16", "alg", "b64")),
    39: ("DNAME", ("name",)),
    42: ("APL", ("apl",)),
    43: ("DS", ("u16", "alg", "u8", "hex")),
    44: ("SSHFP", ("u8", "u8", "hex")),
    45: ("IPSECKEY", ("ipseckey",)),
    46: ("RRSIG", ("type", "alg", "u8", "u32", "time", "time", "u16", "name", "b64")),
    47: ("NSEC", ("name", "bitmap")),
    48: ("DNSKEY", ("u16", "u8", "alg", "b64")),
    49: ("DHCID", ("b64",)),
    50: ("NSEC3", ("u8", "u8", "u16", "salt", "b32", "bitmap")),
    51: ("NSEC3PARAM", ("u8", "u8", "u16", "salt")),
    52: ("TLSA", ("u8", "u8", "u8", "hex")),
    53: ("SMIMEA", ("u8", "u8", "u8", "hex")),
    56: ("NINFO", ("strs",)),
    57: ("RKEY", ("u16", "u8", "alg", "b64")),
    58: ("TALINK", ("name", "name")),
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
    258: ("AVC", ("strs",)),
    261: ("RESINFO", ("strs",)),
    262: ("WALLET", ("strs",)),
    32768: ("TA", ("u16", "alg", "u8", "hex")),
    32769: ("DLV", ("u16", "alg", "u8", "hex")),
}
_REST_KINDS = frozenset({"strs", "hex", "b64", "bitmap", "loc", "apl", "ipseckey"})
SVCB_CODES = {64: "SVCB", 65: "HTTPS"}  # RFC 9460 2.1

_MNEMONIC_TO_CODE: dict[str, int] = {cls.rtype: cls.code for cls in RDATA_TYPES.values()}
_MNEMONIC_TO_CODE.update({name: code for code, (name, _) in EXTRA_TYPES.items()})
_MNEMONIC_TO_CODE.update({name: code for code, name in SVCB_CODES.items()})
_CODE_TO_MNEMONIC: dict[int, str] = {code: name for name, code in _MNEMONIC_TO_CODE.items()}
_OTHER_TYPES: dict[str, int] = {"WKS": 11, "HIP": 55, "A6": 38, "NULL": 10,
                                "ISDN": 20, "NSAP": 22, "NXT": 30, "ATMA": 34, "SINK": 40, "AMTRELAY": 260,
                                "DOA": 259, "UINFO": 100, "UID": 101, "GID": 102, "UNSPEC": 103}  # fmt: skip


def type_mnemonic(code: int) -> str:
    """The name BIND prints for a type, or TYPEnnn (RFC 3597 5) when BIND-style text is not ours to print."""
    return _CODE_TO_MNEMONIC.get(code) or f"TYPE{code}"


def type_from_text(token: str) -> int | None:
    upper = token.upper()
    code = _MNEMONIC_TO_CODE.get(upper)
    if code is not None:
        return code
    if upper.startswith("TYPE") and upper[4:].isdigit():
        value = int(upper[4:])
        return value if value <= 0xFFFF else None
    return _OTHER_TYPES.get(upper)  # named knows it; we read it only in RFC 3597 form


def uint(token: str, bits: int, what: str) -> int:
    if not token.isdigit():
        raise RdataError(f"{what} must be a number, got {token!r}")
    value = int(token)
    if value >= 1 << bits:
        raise RdataError(f"{what} must be 0..{(1 << bits) - 1}, got {value}")
    return value


def name_wire(name: Name) -> bytes:
    return b"".join(bytes((len(label),)) + label for label in name.labels) + b"\x00"


def _time_from_text(token: str) -> int:
    # RFC 4034 3.2: YYYYMMDDHHmmSS in UTC, or seconds since the epoch
    if len(token) == 14 and token.isdigit():
        try:
            stamp = time.strptime(token, "%Y%m%d%H%M%S")
        except ValueError:
            raise RdataError(f"signature time {token!r} is not a valid YYYYMMDDHHmmSS") from None
        return calendar.timegm(stamp) & 0xFFFFFFFF
    return uint(token, 32, "signature time")


def _bitmap_from_types(tokens: list[str]) -> bytes:
    # RFC 4034 4.1.2: windows of up to 32 octets
    codes = set()
    for token in tokens:
        code = type_from_text(token)
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
    if code in SVCB_CODES:
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
                out.append(uint(token, 8, f"{mnemonic} field"))
            case "u16":
                out += uint(token, 16, f"{mnemonic} field").to_bytes(2, "big")
            case "u32":
                out += uint(token, 32, f"{mnemonic} field").to_bytes(4, "big")
            case "alg":
                value = _ALGORITHMS.get(token.upper())
                out.append(value if value is not None else uint(token, 8, f"{mnemonic} algorithm"))
            case "cert":
                value = _CERT_TYPES.get(token.upper())
                out += (value if value is not None else uint(token, 16, "CERT type")).to_bytes(2, "big")
            case "type":
                covered = type_from_text(token)
                if covered is None:
                    raise RdataError(f"unknown type covered {token!r}")
                out += covered.to_bytes(2, "big")
            case "time":
                out += _time_from_text(token).to_bytes(4, "big")
            case "name":
                out += name_wire(name_of(token))
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
            case "loc":
                out += _loc_from_text(rest)
            case "apl":
                out += _apl_from_text(rest)
            case "ipseckey":
                out += _ipseckey_from_text(rest, name_of)
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


def read_name(data: bytes, i: int) -> tuple[Name, int]:
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


# ---------------------------------------------------------------------------
# LOC (RFC 1876): degrees/minutes/seconds, metres, and sizes as mantissa-exponent centimetres
# ---------------------------------------------------------------------------
_LOC_DEFAULTS = (100, 1_000_000, 1_000)  # size 1m, horizontal 10000m, vertical 10m (RFC 1876 3)


def _centimetres(token: str, what: str, signed: bool = False) -> int:
    text = token[:-1] if token[-1:] in "mM" else token
    negative = signed and text.startswith("-")
    if negative:
        text = text[1:]
    whole, _, frac = text.partition(".")
    if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 2)):
        raise RdataError(f"LOC {what} {token!r} is not metres with at most two decimals")
    cm = int(whole) * 100 + int(frac.ljust(2, "0") or 0)
    return -cm if negative else cm


def _precision(cm: int, what: str) -> int:
    if cm > 9 * 10**9:
        raise RdataError(f"LOC {what} is above 90000000m")
    exponent = 0
    while cm >= 10 ** (exponent + 1):
        exponent += 1
    return (cm // 10**exponent) << 4 | exponent  # named truncates to one significant digit


def _angle(tokens: list[str], i: int, hemispheres: str, limit: int) -> tuple[int, int]:
    """Degrees [minutes [seconds]] hemisphere -> (thousandths of an arc-second from the equator/meridian, next)."""
    parts: list[str] = []
    while i < len(tokens) and tokens[i].upper() not in hemispheres and len(parts) < 3:
        parts.append(tokens[i])
        i += 1
    if i >= len(tokens) or tokens[i].upper() not in hemispheres or not parts:
        raise RdataError(f"LOC needs degrees [minutes [seconds]] then one of {'/'.join(hemispheres)}")
    degrees = uint(parts[0], 8, "LOC degrees")
    minutes = uint(parts[1], 8, "LOC minutes") if len(parts) > 1 else 0
    whole, _, frac = parts[2].partition(".") if len(parts) > 2 else ("0", "", "")
    if not whole.isdigit() or (frac and (not frac.isdigit() or len(frac) > 3)):
        raise RdataError(f"LOC seconds {parts[2]!r} must be a number with at most three decimals")
    millis = int(whole) * 1000 + int(frac.ljust(3, "0") or 0)
    if degrees > limit or minutes > 59 or millis >= 60_000:
        raise RdataError("LOC angle out of range")
    value = ((degrees * 60 + minutes) * 60) * 1000 + millis
    if value > limit * 3_600_000:
        raise RdataError("LOC angle out of range")
    sign = -1 if tokens[i].upper() in "SW" else 1
    return sign * value, i + 1


def _loc_from_text(tokens: list[str]) -> bytes:
    latitude, i = _angle(tokens, 0, "NS", 90)
    longitude, i = _angle(tokens, i, "EW", 180)
    if i >= len(tokens):
        raise RdataError("LOC needs an altitude")
    altitude = _centimetres(tokens[i], "altitude", signed=True) + 10_000_000
    if not 0 <= altitude <= 0xFFFFFFFF:
        raise RdataError("LOC altitude out of range (-100000m .. 42849672.95m)")
    sizes = list(_LOC_DEFAULTS)
    extra = tokens[i + 1 :]
    if len(extra) > 3:
        raise RdataError(f"LOC has extra data: {' '.join(extra[3:])!r}")
    for k, token in enumerate(extra):
        sizes[k] = _centimetres(token, ("size", "horizontal precision", "vertical precision")[k])
    out = bytes([0, *(_precision(cm, "size") for cm in sizes)])
    return out + struct.pack("!III", (1 << 31) + latitude, (1 << 31) + longitude, altitude)


def _loc_metres(cm: int) -> str:
    sign = "-" if cm < 0 else ""
    cm = abs(cm)
    return f"{sign}{cm // 100}.{cm % 100:02d}m"


def _loc_to_text(data: bytes) -> str:
    if len(data) != 16 or data[0] != 0:
        raise RdataError("LOC wire data is not version 0 with 16 octets")
    sizes = []
    for octet in data[1:4]:
        mantissa, exponent = octet >> 4, octet & 0x0F
        if mantissa > 9 or exponent > 9:
            raise RdataError("LOC precision out of range")
        sizes.append(_loc_metres(mantissa * 10**exponent))
    latitude, longitude, altitude = struct.unpack("!III", data[4:])
    parts = []
    for value, hemispheres in ((latitude - (1 << 31), "NS"), (longitude - (1 << 31), "EW")):
        hemisphere = hemispheres[0] if value >= 0 else hemispheres[1]
        value = abs(value)
        degrees, rest = divmod(value, 3_600_000)
        minutes, millis = divmod(rest, 60_000)
        parts.append(f"{degrees} {minutes} {millis // 1000}.{millis % 1000:03d} {hemisphere}")
    return " ".join([*parts, _loc_metres(altitude - 10_000_000), *sizes])


# ---------------------------------------------------------------------------
# APL (RFC 3123 4) and IPSECKEY (RFC 4025 3)
# ---------------------------------------------------------------------------
def _apl_from_text(tokens: list[str]) -> bytes:
    out = bytearray()
    for token in tokens:
        negate = token.startswith("!")
        family, _, rest = token.lstrip("!").partition(":")
        address, slash, prefix = rest.partition("/")
        if family not in ("1", "2") or not slash:
            raise RdataError(f"APL item {token!r} is not [!]1:IPv4/prefix or [!]2:IPv6/prefix")
        raw = _ip(ipaddress.IPv4Address if family == "1" else ipaddress.IPv6Address, address)
        bits = uint(prefix, 8, "APL prefix")
        if bits > len(raw) * 8:
            raise RdataError(f"APL prefix /{bits} is longer than the address")
        raw = raw.rstrip(b"\x00")  # RFC 3123 4.1: trailing zero octets are not sent
        out += int(family).to_bytes(2, "big") + bytes((bits, (0x80 if negate else 0) | len(raw))) + raw
    return bytes(out)


def _apl_to_text(data: bytes) -> str:
    items, i = [], 0
    while i < len(data):
        if i + 4 > len(data):
            raise RdataError("APL item is truncated")
        family = int.from_bytes(data[i : i + 2], "big")
        bits, flags = data[i + 2], data[i + 3]
        length = flags & 0x7F
        size = {1: 4, 2: 16}.get(family)
        if size is None or length > size or bits > size * 8 or i + 4 + length > len(data):
            raise RdataError("APL item is malformed")
        raw = data[i + 4 : i + 4 + length].ljust(size, b"\x00")
        address = ipaddress.IPv4Address(raw) if family == 1 else ipaddress.IPv6Address(raw)
        items.append(f"{'!' if flags & 0x80 else ''}{family}:{address}/{bits}")
        i += 4 + length
    return " ".join(items)


def _ipseckey_from_text(tokens: list[str], name_of: Callable[[str], Name]) -> bytes:
    if len(tokens) < 4:
        raise RdataError("IPSECKEY takes precedence, gateway type, algorithm, gateway [, public key]")
    precedence = uint(tokens[0], 8, "IPSECKEY precedence")
    kind = uint(tokens[1], 8, "IPSECKEY gateway type")
    algorithm = uint(tokens[2], 8, "IPSECKEY algorithm")
    gateway = tokens[3]
    if kind == 0:
        if gateway != ".":
            raise RdataError("IPSECKEY gateway type 0 needs '.' as gateway")
        raw = b""
    elif kind == 1:
        raw = _ip(ipaddress.IPv4Address, gateway)
    elif kind == 2:
        raw = _ip(ipaddress.IPv6Address, gateway)
    elif kind == 3:
        raw = name_wire(name_of(gateway))
    else:
        raise RdataError(f"IPSECKEY gateway type {kind} is not 0..3")
    key = b""
    if tokens[4:]:
        try:
            key = base64.b64decode("".join(tokens[4:]), validate=True)
        except (binascii.Error, ValueError):
            raise RdataError("IPSECKEY public key is not base64") from None
    return bytes((precedence, kind, algorithm)) + raw + key


def _ipseckey_to_text(data: bytes, origin: Name | None) -> str:
    if len(data) < 3:
        raise RdataError("IPSECKEY wire data is truncated")
    precedence, kind, algorithm = data[0], data[1], data[2]
    rest = data[3:]
    if kind == 0:
        gateway = "."
    elif kind == 1 and len(rest) >= 4:
        gateway, rest = str(ipaddress.IPv4Address(rest[:4])), rest[4:]
    elif kind == 2 and len(rest) >= 16:
        gateway, rest = str(ipaddress.IPv6Address(rest[:16])), rest[16:]
    elif kind == 3:
        name, end = read_name(rest, 0)
        gateway, rest = (name.relativize(origin) if origin else name.to_text()), rest[end:]
    else:
        raise RdataError("IPSECKEY gateway is malformed")
    parts = [str(precedence), str(kind), str(algorithm), gateway]
    if rest:
        parts.append(base64.b64encode(rest).decode("ascii"))
    return " ".join(parts)


def extra_to_text(code: int, data: bytes, origin: Name | None) -> str:
    """Wire octets of an EXTRA_TYPES type as BIND's native text; RdataError if malformed."""
    if code in SVCB_CODES:
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
                name, i = read_name(data, i)
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
            case "loc":
                out.append(_loc_to_text(take(n - i)))
            case "apl":
                out.append(_apl_to_text(take(n - i)))
            case "ipseckey":
                out.append(_ipseckey_to_text(take(n - i), origin))
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
        key = uint(text[3:], 16, "SvcParamKey")
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
    mnemonic = SVCB_CODES[code]
    merged: list[str] = []
    for token in tokens:  # `key="value"` may arrive as two tokens from a simpler tokenizer
        if merged and merged[-1].endswith("=") and token.startswith('"') and len(merged) > 2:
            merged[-1] += token
        else:
            merged.append(token)
    tokens = merged
    if len(tokens) < 2:
        raise RdataError(f"{mnemonic} takes a priority, a target name and parameters")
    out = bytearray(uint(tokens[0], 16, f"{mnemonic} priority").to_bytes(2, "big"))
    out += name_wire(name_of(tokens[1]))
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
            params[key] = uint(value.decode("ascii", "replace"), 16, "port").to_bytes(2, "big")
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
    mnemonic = SVCB_CODES[code]
    if len(data) < 3:
        raise RdataError(f"{mnemonic} wire data is truncated")
    priority = int.from_bytes(data[:2], "big")
    target, i = read_name(data, 2)
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
        if code in EXTRA_TYPES or code in SVCB_CODES:
            try:
                return type_mnemonic(code), extra_to_text(code, rdata.data, origin)
            except (RdataError, ValueError, IndexError):
                pass
        return f"TYPE{code}", rdata.to_text(origin)
    return rdata.rtype, rdata.to_text(origin)


def native_from_text(code: int, tokens: list[str], origin: Name | None) -> Generic | None:
    """Native text of a type in the table as Generic octets; None if the type is not in the table."""
    if code not in EXTRA_TYPES and code not in SVCB_CODES:
        return None
    return extra_from_text(code, tokens, origin, lambda t: Name.from_text(t, origin))


def rrset_order(code: int) -> Callable[[Record], object]:
    """Sort key within an RRset: MX by preference then exchange, SRV by priority, weight, port, target."""
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


def common_ttl(zone: Zone) -> int:
    """The most common TTL (the lowest on a tie): the zone's default in both output formats."""
    # nodes walked unsorted (the choice depends only on the counts): zone.records() sorts every name
    counts = Counter(r.ttl for node in zone.nodes.values() for rrset in node.values() for r in rrset.records)
    if not counts:
        return 3600
    return min(counts, key=lambda ttl: (-counts[ttl], ttl))
