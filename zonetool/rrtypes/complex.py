"""Field kinds of the table-driven types that are a small grammar of their own: LOC, APL, IPSECKEY."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import struct

from zonetool.names import Name
from zonetool.rrtypes.base import NameOf, name_wire, read_name
from zonetool.rrtypes.text import RdataError, name_text, uint


def ip_octets(cls: type[ipaddress.IPv4Address] | type[ipaddress.IPv6Address], token: str) -> bytes:
    try:
        return cls(token).packed
    except ValueError:
        raise RdataError(f"{token!r} is not an {cls.__name__[:4]} address") from None


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


def loc_from_text(tokens: list[str]) -> bytes:
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


def loc_to_text(data: bytes) -> str:
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
def apl_from_text(tokens: list[str]) -> bytes:
    out = bytearray()
    for token in tokens:
        negate = token.startswith("!")
        family, _, rest = token.lstrip("!").partition(":")
        address, slash, prefix = rest.partition("/")
        if family not in ("1", "2") or not slash:
            raise RdataError(f"APL item {token!r} is not [!]1:IPv4/prefix or [!]2:IPv6/prefix")
        raw = ip_octets(ipaddress.IPv4Address if family == "1" else ipaddress.IPv6Address, address)
        bits = uint(prefix, 8, "APL prefix")
        if bits > len(raw) * 8:
            raise RdataError(f"APL prefix /{bits} is longer than the address")
        raw = raw.rstrip(b"\x00")  # RFC 3123 4.1: trailing zero octets are not sent
        out += int(family).to_bytes(2, "big") + bytes((bits, (0x80 if negate else 0) | len(raw))) + raw
    return bytes(out)


def apl_to_text(data: bytes) -> str:
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


def ipseckey_from_text(tokens: list[str], name_of: NameOf) -> bytes:
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
        raw = ip_octets(ipaddress.IPv4Address, gateway)
    elif kind == 2:
        raw = ip_octets(ipaddress.IPv6Address, gateway)
    elif kind == 3:
        raw = name_wire(name_of(gateway, "IPSECKEY gateway"))
    else:
        raise RdataError(f"IPSECKEY gateway type {kind} is not 0..3")
    key = b""
    if tokens[4:]:
        try:
            key = base64.b64decode("".join(tokens[4:]), validate=True)
        except (binascii.Error, ValueError):
            raise RdataError("IPSECKEY public key is not base64") from None
    return bytes((precedence, kind, algorithm)) + raw + key


def ipseckey_to_text(data: bytes, origin: Name | None) -> str:
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
        name, end = read_name(rest, 0, pointers=False)
        gateway, rest = name_text(name, origin), rest[end:]
    else:
        raise RdataError("IPSECKEY gateway is malformed")
    parts = [str(precedence), str(kind), str(algorithm), gateway]
    if rest:
        parts.append(base64.b64encode(rest).decode("ascii"))
    return " ".join(parts)


