"""Types kept as RFC 3597 octets (`Generic`) whose native text is converted by a table of field kinds.

TLSA, DS, DNSKEY, RRSIG, NSEC3, NAPTR, ...: each row names the type and its fields in order;
`extra_from_text` and `extra_to_text` walk the row. Each row is registered as an `OctetType`,
so every reader and writer finds it in the registry like any modeled type.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import ipaddress
import time

from zonetool.names import Name
from zonetool.rrtypes.base import NameOf, name_wire, read_name
from zonetool.rrtypes.complex import (
    apl_from_text,
    apl_to_text,
    ip_octets,
    ipseckey_from_text,
    ipseckey_to_text,
    loc_from_text,
    loc_to_text,
)
from zonetool.rrtypes.octets import OctetType
from zonetool.rrtypes.registry import register, type_from_text, type_mnemonic
from zonetool.rrtypes.text import RdataError, name_text, quote, uint, unescape

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
    56: ("NINFO", ("strs",)),
    57: ("RKEY", ("u16", "u8", "alg", "b64")),
    58: ("TALINK", ("name", "name")),
    59: ("CDS", ("u16", "alg", "u8", "hex")),
    60: ("CDNSKEY", ("u16", "u8", "alg", "b64")),
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
    codes = set()
    for token in tokens:
        code = type_from_text(token)
        if code is None:
            raise RdataError(f"unknown type {token!r} in type bitmap")
        codes.add(code)
    return type_bitmap(codes)


def type_bitmap(codes: set[int] | frozenset[int]) -> bytes:
    """The type bit maps field of NSEC, NSEC3 and CSYNC (RFC 4034 4.1.2): windows of up to 32 octets."""
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


def extra_from_text(code: int, tokens: list[str], origin: Name | None, name_of: NameOf) -> bytes:
    """Native text of a type in EXTRA_TYPES to wire octets held by a Generic."""
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
                out += name_wire(name_of(token, f"{mnemonic} name"))
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
                out += loc_from_text(rest)
            case "apl":
                out += apl_from_text(rest)
            case "ipseckey":
                out += ipseckey_from_text(rest, name_of)
            case "salt":
                salt = b"" if token == "-" else _unhex(token, "NSEC3 salt")
                out.append(len(salt))
                out += salt
            case "b32":
                hashed = _b32hex_decode(token)
                out.append(len(hashed))
                out += hashed
            case "ip4":
                out += ip_octets(ipaddress.IPv4Address, token)
            case "ip6":
                out += ip_octets(ipaddress.IPv6Address, token)
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
    return bytes(out)


def extra_to_text(code: int, data: bytes, origin: Name | None) -> str:
    """Wire octets of an EXTRA_TYPES type as BIND's native text; RdataError if malformed."""
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
                name, i = read_name(data, i, pointers=False)
                out.append(name_text(name, origin))
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
                out.append(loc_to_text(take(n - i)))
            case "apl":
                out.append(apl_to_text(take(n - i)))
            case "ipseckey":
                out.append(ipseckey_to_text(take(n - i), origin))
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




for _code, (_mnemonic, _kinds) in EXTRA_TYPES.items():
    register(OctetType(
        _code,
        _mnemonic,
        lambda tokens, origin, name_of, code=_code: extra_from_text(code, tokens, origin, name_of),
        lambda data, origin, code=_code: extra_to_text(code, data, origin),
    ))
