"""SVCB and HTTPS (RFC 9460): priority, target and SvcParams, kept as RFC 3597 octets."""

from __future__ import annotations

import base64
import binascii
import ipaddress

from zonetool.names import Name
from zonetool.rrtypes.base import NameOf, name_wire, read_name
from zonetool.rrtypes.complex import ip_octets
from zonetool.rrtypes.octets import OctetType
from zonetool.rrtypes.registry import register
from zonetool.rrtypes.text import RdataError, name_text, uint, unescape

SVCB_CODES = {64: "SVCB", 65: "HTTPS"}  # RFC 9460 2.1
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


def _svcb_from_text(code: int, tokens: list[str], origin: Name | None, name_of: NameOf) -> bytes:
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
    out += name_wire(name_of(tokens[1], f"{mnemonic} target"))
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
            params[key] = b"".join(ip_octets(cls, a) for a in value.decode("ascii", "replace").split(","))
        elif key == 5:
            try:
                params[key] = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise RdataError("ech must be base64") from None
        else:
            params[key] = value
    for key in sorted(params):
        out += key.to_bytes(2, "big") + len(params[key]).to_bytes(2, "big") + params[key]
    return bytes(out)


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
    target, i = read_name(data, 2, pointers=False)
    out = [str(priority), name_text(target, origin)]
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



for _code, _mnemonic in SVCB_CODES.items():
    register(OctetType(
        _code,
        _mnemonic,
        lambda tokens, origin, name_of, code=_code: _svcb_from_text(code, tokens, origin, name_of),
        lambda data, origin, code=_code: _svcb_to_text(code, data, origin),
    ))
