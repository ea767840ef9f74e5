"""The `soa:` block: the SOA record, every field with a default (RFC 1035 3.3.13, RFC 1912 2.2).

It runs after `records:`: with no `nameservers:` block, an NS at the apex written under
`records:` gives the default primary.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from zonetool.blocks.context import Compiler, Path
from zonetool.blocks.registry import block
from zonetool.findings import Where
from zonetool.names import Name, NameError_, to_ascii
from zonetool.rrtypes import SOA
from zonetool.schema import MAX_U32
from zonetool.serial import date_serial
from zonetool.zone import Record

# SOA defaults when the spec leaves a timer out (RFC 1912 2.2 ranges).
SOA_DEFAULTS = {"refresh": 3600, "retry": 900, "expire": 604800, "negative": 300}
KEYS = {"soa": ("soa", "SOA timers and names; every key has a default")}


@block("soa", keys=KEYS, order=50, position=10)
def compile_soa(c: Compiler, spec: Mapping[str, Any]) -> None:
    nameservers = c.nameservers
    if not nameservers:  # NS at "@" under records: count as nameservers for the SOA default
        nameservers = [r.rdata.target for r in c.records if r.owner == c.origin and r.code == 2]  # type: ignore[attr-defined]
    c.soa = _soa(c, spec.get("soa"), nameservers, c.today)
    c.auto_serial = _is_auto(spec.get("soa"))


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


