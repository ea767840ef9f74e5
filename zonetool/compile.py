"""The zone spec (plain mappings, lists, strings, ints) compiled into a Zone of records.

The compiler is part of the core: it knows no YAML, only the loaded data and the path of
keys/indices to each node, which it puts into every Finding and every Record's `Where`.
It never stops at the first problem: a bad item is reported and skipped, and the rest of
the zone is still compiled, so one run shows every finding. Its work is linear in the
size of the spec (one pass, no lookups across records: zone-wide checks are the rules').
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Mapping
from datetime import date
from typing import Any

from zonetool.durations import parse_duration
from zonetool.findings import Finding, Where, error
from zonetool.names import MAX_LABEL, MAX_NAME, Name, NameError_, is_address_text, to_ascii
from zonetool.records import (
    AAAA,
    CAA,
    LONG_RDATA,
    MX,
    RDATA_TYPES,
    SOA,
    SRV,
    TXT,
    A,
    Rdata,
    RdataError,
    check_length,
    parse_rdata,
    tokenize,
    type_name,
)
from zonetool.schema import BLOCKS, MAX_TTL, MAX_U32, RECORD_TYPES, TYPE_KEY, Block, item_block
from zonetool.serial import date_serial
from zonetool.zone import Record, Zone

Path = tuple[str | int, ...]

DEFAULT_TTL = 3600
# SOA defaults when the spec leaves a timer out (RFC 1912 2.2 ranges).
SOA_DEFAULTS = {"refresh": 3600, "retry": 900, "expire": 604800, "negative": 300}
# Positions of domain names among the presentation tokens of each type (for IDNA conversion).
_NAME_TOKENS = {"MX": (1,), "SRV": (3,), "NS": (0,), "CNAME": (0,), "PTR": (0,)}
_ADDRESS_TYPES = {"A": A, "AAAA": AAAA}


def describe(value: object) -> str:
    """A value's YAML kind, for 'expected X, got Y' messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"text ({value!r})" if len(value) < 40 else "text"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def key_text(key: object) -> str:
    """Mapping keys as the format means them: YAML's `null:` is the key 'null', `1:` the owner '1'."""
    if isinstance(key, str):
        return key
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


class Compiler:
    """State of one compilation: the zone's origin, default TTL, records and findings."""

    def __init__(self, file: str | None) -> None:
        self.file = file
        self.findings: list[Finding] = []
        self.records: list[Record] = []
        self.origin: Name = Name(())
        self.ttl = DEFAULT_TTL
        self._names: dict[str, Name] = {}  # text -> Name: targets repeat across a big zone
        self._origin_wire = 1

    def set_origin(self, origin: Name) -> None:
        self.origin = origin
        self._origin_wire = origin.wire_length()

    # -- reporting -----------------------------------------------------------
    def where(self, path: Path) -> Where:
        return Where(self.file, path=path)

    def error(self, code: str, message: str, path: Path, hint: str | None = None) -> None:
        self.findings.append(error(code, message, self.where(path), hint))

    def wrong_type(self, expected: str, value: object, path: Path, hint: str | None = None) -> None:
        self.error("wrong-type", f"{_dotted(path) or 'the zone'} must be {expected}, got {describe(value)}", path, hint)

    # -- structure -------------------------------------------------------------
    def mapping(self, value: object, block: Block | str, path: Path) -> dict[str, Any] | None:
        """The mapping at `path` with its keys checked against the format table.

        Unknown keys are reported (with the closest known key as a hint) and dropped;
        missing required keys are reported. Returns None if `value` is not a mapping.
        """
        b = BLOCKS[block] if isinstance(block, str) else block
        if not isinstance(value, Mapping):
            self.wrong_type("a mapping", value, path, hint=_shape_hint(b))
            return None
        out: dict[str, Any] = {}
        for raw_key, item in value.items():
            key = key_text(raw_key)
            if key in b.keys:
                out[key] = item
            else:
                self.unknown_key(key, list(b.keys), path)
        for key in b.required:
            if key not in out:
                self.error("missing-key", f"{_dotted(path) or 'the zone'} needs `{key}`", path,
                           hint=f"{key}: {b.keys[key][1]}")
        return out

    def unknown_key(self, key: str, known: list[str], path: Path) -> None:
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        if not close:
            close = [k for k in known if k.lower() == key.lower()]
        hint = f"did you mean `{close[0]}`?" if close else f"known keys: {', '.join(known)}"
        self.error("unknown-key", f"unknown key `{key}` in {_dotted(path) or 'the zone'}", (*path, key), hint)

    # -- values --------------------------------------------------------------------
    def seconds(self, value: object, path: Path, limit: int = MAX_TTL, what: str = "TTL") -> int | None:
        code = "bad-ttl" if what == "TTL" else "bad-duration"
        if isinstance(value, bool) or not isinstance(value, int | str):
            self.wrong_type(f"a {what} (seconds or units like 1h30m)", value, path)
            return None
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.error(code, f"{what} {exc}", path, hint="units: s, m, h, d, w; e.g. 300, 5m, 1h30m, 2d")
            return None
        if seconds > limit:
            rfc = " (RFC 2181 8)" if what == "TTL" else " (a 32-bit field)"
            self.error(code, f"{what} {seconds} is above the largest allowed value {limit}{rfc}", path)
            return None
        return seconds

    def ttl_of(self, spec: Mapping[str, Any], path: Path, default: int) -> int:
        """The `ttl` key of a mapping, or `default`; a bad TTL is reported and `default` used."""
        if "ttl" not in spec:
            return default
        value = self.seconds(spec["ttl"], (*path, "ttl"))
        return default if value is None else value

    def name(self, value: object, path: Path, what: str = "name") -> Name | None:
        """A domain name relative to the origin ('@' = origin; trailing dot = absolute)."""
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.wrong_type(f"a {what}", value, path)
            return None
        text = str(value).strip()
        cached = self._names.get(text)
        if cached is not None:
            return cached
        try:
            name = self.parse_name(text)
        except NameError_ as exc:
            self.error("bad-name", f"{what} {text!r}: {exc}", path)
            return None
        self._names[text] = name
        return name

    def parse_name(self, text: str) -> Name:
        """Name.from_text with a fast path for plain ASCII names (most of a big zone)."""
        if text.isascii() and "\\" not in text and text not in ("@", ".", ""):
            absolute = text[-1] == "."
            raw = (text[:-1] if absolute else text).encode("ascii")
            labels = tuple(raw.split(b"."))
            wire = len(raw) + (2 if absolute else 1 + self._origin_wire)  # RFC 1035 2.3.4 limits, cheaply
            if wire <= MAX_NAME and b"" not in labels and max(map(len, labels)) <= MAX_LABEL:
                return Name(labels if absolute else labels + self.origin.labels)
        return Name.from_text(to_ascii(text), self.origin)  # slow path, and the precise error

    def host(self, value: object, path: Path, what: str) -> Name | None:
        """A target host name: never an IP address (RFC 1035 3.3.9, RFC 2782, RFC 2181 10.3)."""
        if isinstance(value, str) and is_address_text(value.strip()):
            self.error("host-is-address", f"{what} {value!r} is an IP address; it must be a host name", path,
                       hint="name a host and give it the address, e.g. {host: mx1, addresses: [" + value + "]}")
            return None
        return self.name(value, path, what)

    def integer(self, value: object, path: Path, what: str, limit: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.wrong_type(f"a number 0..{limit}", value, path)
            return None
        if not 0 <= value <= limit:
            self.error("out-of-range", f"{_dotted(path) or what} must be 0..{limit}, got {value}", path)
            return None
        return value

    def fits(self, rdata: Rdata, path: Path) -> bool:
        """False (with a `bad-rdata` finding) for RDATA over 65,535 octets; call it for LONG_RDATA only."""
        try:
            check_length(rdata)
        except RdataError as exc:
            self.error("bad-rdata", f"{type_name(rdata.type_code)}: {exc}", path,
                       hint="a record must fit one DNS message: split it into several records")
            return False
        return True

    def add(self, owner: Name, ttl: int, rdata: Rdata, path: Path, origin: str | None = None) -> None:
        if rdata.__class__ in LONG_RDATA and not self.fits(rdata, path):
            return
        self.records.append(Record(owner, ttl, rdata, Where(self.file, path=path), origin))

    def addresses(self, host: Name, value: object, ttl: int, path: Path, origin: str | None) -> bool:
        """`addresses:` of an in-zone host -> its A/AAAA records; False if any was refused.

        The caller then drops the item's MX/SRV too: one mistake gives one finding, not a
        second "exchange has no address" from the rules.
        """
        if not host.is_subdomain_of(self.origin):
            self.error("addresses-not-in-zone",
                       f"{host} is outside {self.origin}; addresses can only be given for hosts in this zone",
                       path, hint="the zone that holds the host publishes its addresses")
            return False
        ok = True
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            p = (*path, i) if isinstance(value, list) else path
            if not isinstance(item, str):
                self.wrong_type("an IPv4 or IPv6 address", item, p)
                ok = False
                continue
            try:
                ip = ipaddress.ip_address(item.strip())
            except ValueError:
                self.error("bad-address", f"{item!r} is not an IPv4 or IPv6 address", p)
                ok = False
                continue
            self.add(host, ttl, A(str(ip)) if ip.version == 4 else AAAA(str(ip)), p, origin)
        return ok


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _shape_hint(b: Block) -> str | None:
    keys = list(b.keys)
    return f"keys: {', '.join(keys)}" if keys else None


# ---------------------------------------------------------------------------
# top level
# ---------------------------------------------------------------------------
def compile_zone(data: object, file: str | None = None, today: date | None = None) -> tuple[Zone | None, list[Finding]]:
    """Compile a loaded spec; the Zone is None only when there is no usable origin."""
    c = Compiler(file)
    spec = c.mapping(data, "zone", ())
    if spec is None or "origin" not in spec:
        return None, c.findings
    origin = _origin(c, spec["origin"])
    if origin is None:
        return None, c.findings
    c.set_origin(origin)
    c.ttl = c.ttl_of(spec, (), DEFAULT_TTL)

    nameservers = _nameservers(c, spec.get("nameservers"))
    if "mail" in spec:
        from zonetool.mail import compile_mail

        compile_mail(c, spec["mail"], ("mail",))
    if "services" in spec:
        from zonetool.mail import compile_services

        compile_services(c, spec["services"], ("services",))
    if "records" in spec:
        _records(c, spec["records"], ("records",))
    if not nameservers:  # NS at "@" under records: count as nameservers for the SOA default
        nameservers = [r.rdata.target for r in c.records if r.owner == origin and r.code == 2]  # type: ignore[attr-defined]
    soa = _soa(c, spec.get("soa"), nameservers, today)

    zone = Zone(origin, file)
    if soa is not None:
        zone.add(soa)
        zone.auto_serial = _is_auto(spec.get("soa"))
    zone.extend(c.records)
    zone.silence = _silence(c, spec.get("silence"))
    zone.faults_spec = _faults(c, spec.get("faults"))
    return zone, c.findings


def _origin(c: Compiler, value: object) -> Name | None:
    if not isinstance(value, str) or not value.strip():
        c.wrong_type("an absolute domain name like example.com", value, ("origin",))
        return None
    text = value.strip()
    if text == "@":
        c.error("bad-name", "origin must be a domain name, not '@'", ("origin",))
        return None
    try:
        return Name.from_text(to_ascii(text if text.endswith(".") else text + "."))
    except NameError_ as exc:
        c.error("bad-name", f"origin {text!r}: {exc}", ("origin",))
        return None


def _nameservers(c: Compiler, value: object) -> list[Name]:
    if value is None:
        return []
    items, paths = _listed(value, ("nameservers",))
    out: list[Name] = []
    for item, path in zip(items, paths, strict=True):
        target = c.host(item, path, "nameserver")
        if target is not None:
            from zonetool.records import NS

            c.add(c.origin, c.ttl, NS(target), path)
            out.append(target)
    return out


def _listed(value: object, path: Path) -> tuple[list[Any], list[Path]]:
    """A scalar-or-list value as (items, item paths)."""
    if isinstance(value, list):
        return value, [(*path, i) for i in range(len(value))]
    return [value], [path]


def _is_auto(soa: object) -> bool:
    if not isinstance(soa, Mapping):
        return True
    serial = soa.get("serial", "auto")
    return isinstance(serial, str) and serial.strip().lower() == "auto"


def _soa(c: Compiler, value: object, nameservers: list[Name], today: date | None) -> Record | None:
    path: Path = ("soa",)
    spec = {} if value is None else c.mapping(value, "soa", path)
    if spec is None:
        return None
    ok = True
    if "primary" in spec:
        mname = c.host(spec["primary"], (*path, "primary"), "SOA primary")
    elif nameservers:
        mname = nameservers[0]
    else:
        c.error("missing-key", "the zone has no nameservers, so soa needs `primary`", path,
                hint="add `nameservers: [ns1, ns2]` or `soa: {primary: ns1}`")
        mname = None
    rname = _contact(c, spec.get("contact"), (*path, "contact"))
    ok = mname is not None and rname is not None
    serial = _serial(c, spec.get("serial", "auto"), (*path, "serial"), today)
    ok = ok and serial is not None
    timers: dict[str, int] = {}
    for key, default in SOA_DEFAULTS.items():
        if key in spec:
            seconds = c.seconds(spec[key], (*path, key), MAX_U32, what=f"SOA {key}")
            ok = ok and seconds is not None
            timers[key] = seconds if seconds is not None else default
        else:
            timers[key] = default
    ttl = c.ttl_of(spec, path, c.ttl)
    if not ok:
        return None
    assert mname is not None and rname is not None and serial is not None
    rdata = SOA(mname, rname, serial, timers["refresh"], timers["retry"], timers["expire"], timers["negative"])
    return Record(c.origin, ttl, rdata, Where(c.file, path=path))


def _contact(c: Compiler, value: object, path: Path) -> Name | None:
    """RNAME from an e-mail address: local part dots escaped (RFC 1035 8, RFC 1912 2.2)."""
    if value is None:
        return Name((b"hostmaster", *c.origin.labels))
    if not isinstance(value, str) or not value.strip():
        c.wrong_type("an e-mail address like hostmaster@example.com", value, path)
        return None
    text = value.strip()
    if "@" not in text:  # already written as a DNS name (hostmaster.example.com.)
        return c.name(text, path, "SOA contact")
    local, _, domain = text.rpartition("@")
    if not local or not domain or "@" in local:
        c.error("bad-name", f"SOA contact {text!r} is not an e-mail address", path)
        return None
    try:
        dom = Name.from_text(to_ascii(domain if domain.endswith(".") else domain + "."))
        name = Name((local.encode("utf-8"), *dom.labels))
        name.check()
    except NameError_ as exc:
        c.error("bad-name", f"SOA contact {text!r}: {exc}", path)
        return None
    return name


def _serial(c: Compiler, value: object, path: Path, today: date | None) -> int | None:
    if isinstance(value, str) and value.strip().lower() == "auto":
        return date_serial(today)  # until zonetool.serial.stamp() sets the content-based one
    if isinstance(value, bool) or not isinstance(value, int):
        c.wrong_type("'auto' or a number 0..4294967295", value, path)
        return None
    if not 0 <= value <= MAX_U32:
        c.error("bad-serial", f"SOA serial must be 0..{MAX_U32} (RFC 1982), got {value}", path)
        return None
    return value


def _silence(c: Compiler, value: object) -> dict[str, str]:
    if value is None:
        return {}
    path: Path = ("silence",)
    if not isinstance(value, Mapping):
        c.wrong_type("a mapping of finding code -> reason", value, path, hint="silence: {spf-missing: lab zone}")
        return {}
    out: dict[str, str] = {}
    for raw_key, reason in value.items():
        code = key_text(raw_key)
        if not isinstance(reason, str) or not reason.strip():
            c.wrong_type("a reason (text) for accepting the finding", reason, (*path, code),
                         hint="the reason is printed next to every silenced finding")
            continue
        out[code] = reason.strip()
    return out


def _faults(c: Compiler, value: object) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        c.wrong_type("a list", value, ("faults",))
        return []
    return value


# ---------------------------------------------------------------------------
# records:
# ---------------------------------------------------------------------------
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
