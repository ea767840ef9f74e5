"""The `records:` block: every other record, by owner name and type, in text or mapping form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zonetool.blocks.context import Compiler, Path, key_text
from zonetool.blocks.registry import block
from zonetool.findings import Where
from zonetool.names import Name, NameError_, is_address_text, to_ascii
from zonetool.records import (
    AAAA,
    CAA,
    LONG_RDATA,
    MX,
    RDATA_TYPES,
    SRV,
    TXT,
    A,
    Rdata,
    RdataError,
    parse_rdata,
    tokenize,
)
from zonetool.schema import RECORD_TYPES, TYPE_KEY, item_block
from zonetool.zone import Record

# Positions of domain names among the presentation tokens of each type (for IDNA conversion).
_NAME_TOKENS = {"MX": (1,), "SRV": (3,), "NS": (0,), "CNAME": (0,), "PTR": (0,)}
_ADDRESS_TYPES = {"A": A, "AAAA": AAAA}
KEYS = {"records": ("records", "every other record, by owner name")}


@block("records", keys=KEYS, order=40, position=60)
def compile_records(c: Compiler, spec: Mapping[str, Any]) -> None:
    if "records" in spec:
        _records(c, spec["records"], ("records",))


_TYPES_HINT = [*RECORD_TYPES, "ttl"]


def _records(c: Compiler, value: object, path: Path) -> None:
    if not isinstance(value, Mapping):
        c.wrong_type("a mapping of owner name -> records", value, path, hint='records: {"@": {A: 192.0.2.1}}')
        return
    for raw_owner, rrs in value.items():
        key = raw_owner if raw_owner.__class__ is str else key_text(raw_owner)
        opath = (*path, key)
        owner = c.name(key, opath, "owner name")
        if not isinstance(rrs, Mapping):
            c.wrong_type("a mapping of record type -> data", rrs, opath, hint=f"{key}: {{A: 192.0.2.1}}")
            continue
        if owner is None:
            continue
        default_ttl = c.ttl
        if "ttl" in rrs:
            default_ttl = c.ttl_of(rrs, opath, c.ttl)
        for raw_type, data in rrs.items():
            rtype = raw_type if raw_type.__class__ is str else key_text(raw_type)
            if rtype == "ttl":
                continue
            tpath = (*opath, rtype)
            if not _KNOWN_TYPES.get(rtype) and not _check_type(c, rtype, opath):
                continue
            if data.__class__ is str:  # the common case, kept short for big zones
                rdata = _from_text(c, rtype, data, tpath)
                if rdata is not None and (rdata.__class__ not in LONG_RDATA or c.fits(rdata, tpath)):
                    c.records.append(Record(owner, default_ttl, rdata, Where(c.file, path=tpath)))
            else:
                _rrs(c, owner, rtype, data, tpath, default_ttl)


def _check_type(c: Compiler, rtype: str, path: Path) -> bool:
    """Is `rtype` a record type that may be written under records? Reports why not."""
    if rtype == "SOA":
        c.error("soa-in-records", "SOA cannot be written under records", (*path, rtype),
                hint="use the top-level `soa:` block")
        return False
    if not TYPE_KEY.match(rtype) or not _known_type(rtype):
        c.unknown_key(rtype, _TYPES_HINT, path)
        return False
    return True


_KNOWN_TYPES: dict[str, bool] = {}


def _known_type(rtype: str) -> bool:
    known = _KNOWN_TYPES.get(rtype)
    if known is None:
        from zonetool.records import type_code

        try:
            type_code(rtype)
            known = True
        except RdataError:
            known = False
        _KNOWN_TYPES[rtype] = known
    return known


def _rrs(c: Compiler, owner: Name, rtype: str, value: object, path: Path, ttl: int) -> None:
    """Value grammar: scalar = one item; list = items; {values, ttl} = items with a TTL; mapping = one item."""
    if isinstance(value, Mapping) and "values" in value:
        spec = c.mapping(value, "values", path)
        if spec is None:
            return
        ttl = c.ttl_of(spec, path, ttl)
        items = spec["values"]
        path = (*path, "values")
        if not isinstance(items, list):
            _item(c, owner, rtype, items, path, ttl)
            return
        value = items
    if isinstance(value, list):
        for i, item in enumerate(value):
            _item(c, owner, rtype, item, (*path, i), ttl)
    else:
        _item(c, owner, rtype, value, path, ttl)


def _item(c: Compiler, owner: Name, rtype: str, value: object, path: Path, ttl: int) -> None:
    if isinstance(value, str):
        rdata = _from_text(c, rtype, value, path)
    elif isinstance(value, Mapping):
        spec = c.mapping(value, item_block(rtype), path)
        if spec is None:
            return
        ttl = c.ttl_of(spec, path, ttl)
        rdata = _from_mapping(c, rtype, spec, path)
    elif rtype == "TXT" and isinstance(value, list):
        rdata = _txt_strings(c, value, path)
    elif isinstance(value, int) and not isinstance(value, bool):
        rdata = _from_text(c, rtype, str(value), path)
    else:
        expected = "text, a list of strings or a mapping" if rtype == "TXT" else "presentation text or a mapping"
        c.wrong_type(expected, value, path, hint=_item_hint(rtype))
        return
    if rdata is not None:
        c.add(owner, ttl, rdata, path)


_ITEM_HINTS = {
    "MX": 'MX: "10 mx1" or {priority: 10, host: mx1}',
    "SRV": 'SRV: "0 5 5060 sip" or {priority: 0, weight: 5, port: 5060, host: sip}',
    "CAA": "CAA: '0 issue \"ca.example\"' or {tag: issue, value: ca.example}",
    "TXT": 'TXT: "v=spf1 mx -all"',
}


def _item_hint(rtype: str) -> str | None:
    return _ITEM_HINTS.get(rtype)


def _from_text(c: Compiler, rtype: str, text: str, path: Path) -> Rdata | None:
    try:
        if rtype == "TXT" and not text.startswith("\\#"):
            return TXT.from_value(text)  # one logical string, split at 255 octets
        if rtype in _ADDRESS_TYPES:
            return _ADDRESS_TYPES[rtype](text.strip())
        if rtype in _NAME_TOKENS and '"' not in text and "\\" not in text:
            return _name_rdata(c, rtype, text, path)
        tokens = tokenize(text)
        for i in _NAME_TOKENS.get(rtype, ()):
            if i < len(tokens):
                if rtype in ("MX", "SRV", "NS") and is_address_text(tokens[i]):
                    c.error("host-is-address", f"{rtype} target {tokens[i]!r} is an IP address; it must be a host name",
                            path)
                    return None
                tokens[i] = to_ascii(tokens[i])
        return parse_rdata(rtype, tokens, c.origin)
    except NameError_ as exc:
        c.error("bad-name", f"{rtype} {text!r}: {exc}", path)
    except RdataError as exc:
        code = "bad-address" if rtype in _ADDRESS_TYPES else "bad-rdata"
        c.error(code, f"{rtype} {text!r}: {exc}", path, hint=_item_hint(rtype))
    return None


def _name_rdata(c: Compiler, rtype: str, text: str, path: Path) -> Rdata | None:
    """MX, SRV, NS, CNAME, PTR text without quotes or escapes: names through the compiler's cache."""
    tokens = text.split()
    fields = {"MX": 2, "SRV": 4}.get(rtype, 1)
    if len(tokens) != fields:
        return parse_rdata(rtype, tokens, c.origin)  # raises RdataError naming the expected fields
    what = f"{rtype} target" if rtype != "MX" else "MX exchange"
    target = c.name(tokens[-1], path, what) if rtype in ("CNAME", "PTR") else c.host(tokens[-1], path, what)
    if target is None:
        return None
    if rtype == "MX":
        return MX(_int_field(tokens[0], "MX preference"), target)
    if rtype == "SRV":
        nums = [_int_field(t, f"SRV {f}") for t, f in zip(tokens[:3], ("priority", "weight", "port"), strict=True)]
        return SRV(nums[0], nums[1], nums[2], target)
    return RDATA_TYPES[rtype](target)  # type: ignore[call-arg]


def _int_field(token: str, what: str) -> int:
    if not token.isdigit():
        raise RdataError(f"{what} must be a number, got {token!r}")
    return int(token)  # range checked by the record class


def _from_mapping(c: Compiler, rtype: str, spec: dict[str, Any], path: Path) -> Rdata | None:
    if rtype == "MX":
        if "priority" not in spec or "host" not in spec:
            return None
        pref = c.integer(spec["priority"], (*path, "priority"), "MX priority", 65535)
        host = c.host(spec["host"], (*path, "host"), "MX host")
        return MX(pref, host) if pref is not None and host is not None else None
    if rtype == "SRV":
        if "port" not in spec or "host" not in spec:
            return None
        nums = [c.integer(spec.get(k, 0), (*path, k), f"SRV {k}", 65535) for k in ("priority", "weight", "port")]
        host = c.host(spec["host"], (*path, "host"), "SRV host")
        if host is None or None in nums:
            return None
        return SRV(nums[0], nums[1], nums[2], host)  # type: ignore[arg-type]
    if rtype == "CAA":
        if "tag" not in spec or "value" not in spec:
            return None
        flags = c.integer(spec.get("flags", 0), (*path, "flags"), "CAA flags", 255)
        tag, value = spec["tag"], spec["value"]
        if not isinstance(tag, str):
            c.wrong_type("a CAA tag like issue", tag, (*path, "tag"))
            return None
        if not isinstance(value, str):
            c.wrong_type("text", value, (*path, "value"))
            return None
        if flags is None:
            return None
        try:
            return CAA(flags, tag, value.encode("utf-8"))
        except RdataError as exc:
            c.error("bad-rdata", str(exc), (*path, "tag"))
            return None
    if "value" not in spec:
        return None
    value = spec["value"]
    vpath = (*path, "value")
    if rtype == "TXT" and isinstance(value, list):
        return _txt_strings(c, value, vpath)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        c.wrong_type("text", value, vpath, hint=_item_hint(rtype))
        return None
    return _from_text(c, rtype, value, vpath)


def _txt_strings(c: Compiler, value: list[Any], path: Path) -> Rdata | None:
    """A list inside TXT: one record of several character-strings (each at most 255 octets)."""
    strings: list[bytes] = []
    for i, s in enumerate(value):
        if isinstance(s, int) and not isinstance(s, bool):
            s = str(s)
        if not isinstance(s, str):
            c.wrong_type("text", s, (*path, i))
            return None
        data = s.encode("utf-8")
        if len(data) > 255:
            c.error("bad-rdata", f"TXT character-string is {len(data)} octets, at most 255 (RFC 1035 3.3)", (*path, i),
                    hint="write the text as one string (not in an inner list) to have it split automatically")
            return None
        strings.append(data)
    if not strings:
        c.error("bad-rdata", "TXT needs at least one string", path)
        return None
    return TXT(tuple(strings))
