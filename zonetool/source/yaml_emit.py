"""A Zone written back as a YAML zone (format.md) that compiles to the very same records.

Used by `zonetool import`: every record is kept, exact octets included. Values are
written in the presentation text the compiler parses; whatever a YAML string cannot
carry exactly (TXT that is not UTF-8, types the core does not model) goes out in
RFC 3597 form, which the compiler passes through unchanged.
"""

from __future__ import annotations

import io
import re
from typing import Any

from zonetool.durations import format_duration
from zonetool.names import Name
from zonetool.rdtypes import common_ttl, native_from_text, rdata_text, rrset_order, type_mnemonic
from zonetool.records import MX, NS, SOA, SRV, TXT, Generic, Rdata, RdataError, tokenize, type_code
from zonetool.zone import Record, Zone

# Words YAML 1.1 or 1.2 readers turn into booleans, nulls or numbers: always quoted.
_KEYWORDS = re.compile(
    r"^(?:y|n|yes|no|on|off|true|false|null|~|[-+]?(?:\d[\d_]*(?:\.\d*)?(?:e[-+]?\d+)?|\.inf|\.nan|0x[0-9a-f_]+"
    r"|0o[0-7_]+|0b[01_]+|[0-9][0-9_]*(?::[0-5]?\d)+(?:\.\d*)?))$",
    re.I,
)
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_TYPE_KEY = re.compile(r"^(?:[A-Z][A-Z0-9]*|TYPE[0-9]+)$")


def _text(value: str) -> Any:
    """A string scalar quoted exactly when YAML would otherwise read something else."""
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

    if not value.isprintable():
        return DoubleQuotedScalarString(value)
    if _KEYWORDS.match(value) or value.startswith("\\") or value != value.strip():
        return SingleQuotedScalarString(value)
    return value  # ruamel.yaml quotes whatever its own resolver would misread (@, *, :, #, ...)


_FLOW_SAFE = re.compile(r"^[A-Za-z0-9_./=+@\\-][A-Za-z0-9_./=+@\\ -]*$")


def _in_flow(value: Any) -> Any:
    """Inside [..] and {..} ':' ',' and brackets end a plain scalar: quote anything beyond the safe set."""
    from ruamel.yaml.scalarstring import SingleQuotedScalarString

    if isinstance(value, str) and type(value) is str and not _FLOW_SAFE.match(value):
        return SingleQuotedScalarString(value)
    return value


def _flow(items: list[Any]) -> Any:
    from ruamel.yaml.comments import CommentedSeq

    if all(isinstance(i, str) for i in items) and sum(len(i) + 4 for i in items) < 90:
        seq = CommentedSeq([_in_flow(i) for i in items])
        seq.fa.set_flow_style()
        return seq
    return CommentedSeq(items)


def _map(flow: bool = False) -> Any:
    from ruamel.yaml.comments import CommentedMap

    m = CommentedMap()
    if flow:
        m.fa.set_flow_style()
    return m


def _rel(name: Name, origin: Name) -> str:
    return name.relativize(origin)


def _contact(rname: Name, origin: Name) -> str:
    """RNAME as the e-mail address the compiler turns back into the same labels."""
    if len(rname.labels) >= 2:
        local = rname.labels[0]
        try:
            text = local.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        if text and _EMAIL_LOCAL.match(text):
            domain = Name(rname.labels[1:]).to_text()
            if "@" not in domain:
                return f"{text}@{domain}"
    return rname.to_text()


def _txt_item(rdata: TXT) -> Any:
    """One TXT record: a string when the compiler's 255-octet split gives it back, else a list, else RFC 3597."""
    joined = rdata.joined()
    try:
        whole = joined.decode("utf-8")
        parts = [s.decode("utf-8") for s in rdata.strings]
    except UnicodeDecodeError:
        return _text(Generic(16, rdata.to_wire()).to_text())
    if TXT.from_value(joined).strings == rdata.strings and not whole.startswith("\\#"):
        return _text(whole)
    return _flow([_text(p) for p in parts])


def _type_key(rdata: Rdata) -> str:
    if isinstance(rdata, Generic):
        mnemonic = type_mnemonic(rdata.number)
        try:
            if _TYPE_KEY.match(mnemonic) and type_code(mnemonic) == rdata.number:
                return mnemonic
        except RdataError:
            pass
        return f"TYPE{rdata.number}"
    return rdata.rtype


def _generic_text(rdata: Generic, origin: Name) -> str:
    """Native text (e.g. TLSA '3 1 1 8D02...') when it parses back to the same octets, else RFC 3597."""
    mnemonic, text = rdata_text(rdata, origin)
    if not mnemonic.startswith("TYPE") and _type_key(rdata) == mnemonic:
        try:
            if native_from_text(rdata.number, tokenize(text), origin) == rdata:
                return text
        except (RdataError, ValueError):
            pass
    return rdata.to_text(origin)


def _item(rdata: Rdata, origin: Name) -> Any:
    if isinstance(rdata, TXT):
        return _txt_item(rdata)
    if isinstance(rdata, Generic):
        return _text(_generic_text(rdata, origin))
    return _text(rdata.to_text(origin))


def _mapping_item(record: Record, origin: Name) -> Any:
    """The mapping form of one item, used only when an RRset's records have different TTLs."""
    rdata = record.rdata
    m = _map(flow=True)
    if isinstance(rdata, MX):
        m["priority"] = rdata.preference
        m["host"] = _in_flow(_text(_rel(rdata.exchange, origin)))
    elif isinstance(rdata, SRV):
        m["priority"], m["weight"], m["port"] = rdata.priority, rdata.weight, rdata.port
        m["host"] = _in_flow(_text(_rel(rdata.target, origin)))
    else:
        m["value"] = _in_flow(_item(rdata, origin))
    m["ttl"] = format_duration(record.ttl)
    return m


def _order(records: list[Record]) -> list[Record]:
    return sorted(records, key=rrset_order(records[0].code))


def _rrset_value(records: list[Record], origin: Name, default_ttl: int) -> Any:
    records = _order(records)
    ttls = {r.ttl for r in records}
    if len(ttls) > 1 and not isinstance(records[0].rdata, SOA):
        return [_mapping_item(r, origin) for r in records]
    items = [_item(r.rdata, origin) for r in records]
    value: Any = items[0] if len(items) == 1 and not isinstance(items[0], list) else _flow(items)
    ttl = records[0].ttl
    if ttl == default_ttl:
        return value
    flow = not isinstance(value, list) or value.fa.flow_style()
    m = _map(flow=flow)
    m["ttl"] = format_duration(ttl)
    m["values"] = _in_flow(value) if flow else value
    return m


def zone_spec(zone: Zone) -> Any:
    """The YAML document (ruamel CommentedMap) for `zone`."""
    origin = zone.origin
    default_ttl = common_ttl(zone)
    doc = _map()
    doc["origin"] = _text(origin.to_text().rstrip(".") or ".")
    doc["ttl"] = format_duration(default_ttl)

    soa_record = zone.soa_record()
    if soa_record is not None:
        soa = soa_record.rdata
        assert isinstance(soa, SOA)
        block = _map()
        block["primary"] = _text(_rel(soa.mname, origin))
        block["contact"] = _text(_contact(soa.rname, origin))
        block["serial"] = soa.serial
        block["refresh"] = format_duration(soa.refresh)
        block["retry"] = format_duration(soa.retry)
        block["expire"] = format_duration(soa.expire)
        block["negative"] = format_duration(soa.minimum)
        if soa_record.ttl != default_ttl:
            block["ttl"] = format_duration(soa_record.ttl)
        doc["soa"] = block

    apex_ns = zone.rrset(origin, 2)
    ns_in_block = False
    if apex_ns is not None and all(r.ttl == default_ttl for r in apex_ns.records):
        targets = [r.rdata.target for r in _order(apex_ns.records) if isinstance(r.rdata, NS)]
        texts = [_rel(t, origin) for t in targets]
        if all(not _looks_like_address(t) for t in texts):
            doc["nameservers"] = _flow([_text(t) for t in texts])
            ns_in_block = True

    records = _map()
    for name in zone.names():
        node = zone.nodes[name]
        owner = _map()
        for code in sorted(node, key=lambda c: (c != 2, c)):
            if code == 6 and name == origin:
                continue
            if code == 2 and name == origin and ns_in_block:
                continue
            rrset = node[code]
            key = _type_key(rrset.records[0].rdata)
            owner[key] = _rrset_value(rrset.records, origin, default_ttl)
        if owner:
            records[_text(_rel(name, origin))] = owner
    if records:
        doc["records"] = records
    return doc


def _looks_like_address(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text.rstrip("."))
    except ValueError:
        return False
    return True


def zone_to_yaml(zone: Zone) -> str:
    """YAML text of `zone`, deterministic: same zone, same bytes."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    yaml.width = 4096
    yaml.allow_unicode = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump(zone_spec(zone), out)
    return out.getvalue()
