"""A Zone written back as a YAML zone (format.md) that compiles to the very same records.

Used by `zonetool import`: every record is kept, exact octets included. Values are
written in the presentation text the compiler parses; whatever a YAML string cannot
carry exactly (TXT that is not UTF-8, types without a native form) goes out in
RFC 3597 form, which the compiler passes through unchanged.

The text is written directly rather than through ruamel.yaml's dumper: the dumper
took over a minute for a 100k-record zone. The one hard part, quoting, is `scalar()`:
conservative rules (quote anything a YAML 1.1 or 1.2 reader could take for something
else), checked against ruamel.yaml's and the project's loader by the tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from zonetool.durations import format_duration
from zonetool.names import Name, is_address_text
from zonetool.rrtypes import MX, NS, SOA, SRV, Rdata, RRType, rrset_order
from zonetool.rrtypes.registry import yaml_type_key
from zonetool.zone import Record, Zone, common_ttl

# Plain scalars YAML 1.1 or 1.2 readers turn into booleans, nulls, numbers or dates: always quoted.
_KEYWORDS = re.compile(
    r"^(?:y|n|yes|no|on|off|true|false|null|~|=|<<|[-+]?[0-9_]*\.?[0-9_]*(?:e[-+]?[0-9_]+)?"
    r"|[-+]?\.(?:inf|nan)|[-+]?0x[0-9a-f_]+|[-+]?0o?[0-7_]+|[-+]?0b[01_]+|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"
    r"|[0-9]{4}-[0-9][0-9]?-[0-9][0-9]?.*)$",
    re.I,
)
# What may stand unquoted (for printable text, where the only white space is " "): no indicator
# first, no space last; in block context no ': ' or ' #' and no ':' last, in flow context none of
# , [ ] { } : #. Written as string tests, not one regex: ~4x faster, and import emits 250k scalars.
_INDICATORS = frozenset(" -?:,[]{}#&*!|>'\"%@`\\")
_KEYWORD_START = frozenset("ynotfeYNOTFE~=<-+._0123456789")  # every first character _KEYWORDS can match
_FLOW_STOP = re.compile(r"[,\[\]{}:#]")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$")
_FLOW_WIDTH = 90


class Flow(list):  # type: ignore[type-arg]
    """A sequence written [a, b] when it is short."""


class FlowMap(dict):  # type: ignore[type-arg]
    """A mapping written {k: v} on one line."""


def scalar(value: str | int | bool, flow: bool = False) -> str:
    """A YAML scalar that every reader loads back as exactly `value` (a string stays a string)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not value.isprintable():
        return _double(value)
    if (
        value
        and value[0] not in _INDICATORS
        and value[-1] != " "
        and (value[0] not in _KEYWORD_START or not _KEYWORDS.match(value))
        and (
            _FLOW_STOP.search(value) is None
            if flow
            else value[-1] != ":" and ": " not in value and " #" not in value
        )
    ):
        return value
    if "\\" not in value and '"' not in value:
        return '"' + value + '"'  # the quoting `fmt` chooses, so imported files pass `fmt --check`
    return "'" + value.replace("'", "''") + "'"


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def _double(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable() and ch != "\ufeff":
            out.append(ch)
        elif ord(ch) <= 0xFF:
            out.append(f"\\x{ord(ch):02x}")
        elif ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


def _flow_text(value: Any) -> str | None:
    """One-line flow form of a value, or None if it does not fit on a line."""
    if isinstance(value, dict):
        parts = []
        for k, v in value.items():
            inner = _flow_text(v)
            if inner is None:
                return None
            parts.append(f"{scalar(k, True)}: {inner}")
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, list):
        items = [_flow_text(v) for v in value]
        if any(i is None for i in items):
            return None
        return "[" + ", ".join(items) + "]"  # type: ignore[arg-type]
    return scalar(value, True)


def _emit(value: Any, indent: int, out: list[str], prefix: str) -> None:
    """Append `prefix` + value, as block YAML indented by `indent` spaces below the prefix's line."""
    pad = " " * indent
    if isinstance(value, FlowMap) or (isinstance(value, Flow) and value):
        text = _flow_text(value)
        if text is not None and (isinstance(value, FlowMap) or len(text) <= _FLOW_WIDTH):
            out.append(f"{prefix} {text}" if prefix else text)
            return
    if isinstance(value, dict) and value:
        if prefix:
            out.append(prefix)
        inner = indent + (2 if prefix else 0)
        lead = " " * inner
        for k, v in value.items():
            if v.__class__ is str:  # most of a zone: `A: 192.0.2.1` under an owner, no recursion
                out.append(f"{lead}{scalar(k)}: {scalar(v)}")
            else:
                _emit(v, inner, out, f"{lead}{scalar(k)}:")
        return
    if isinstance(value, list) and value:
        if prefix:
            out.append(prefix)
        for item in value:
            inner = pad + "  " if prefix else pad
            if isinstance(item, list) and not isinstance(item, Flow):
                _emit_nested(item, len(inner) + 4, out, f"{inner}-   ")
            elif isinstance(item, dict) and not isinstance(item, FlowMap):
                first = True
                for k, v in item.items():
                    lead = f"{inner}- " if first else f"{inner}  "
                    _emit(v, len(inner) + 2, out, f"{lead}{scalar(k)}:")
                    first = False
            else:
                text = _flow_text(item) if isinstance(item, dict | list) else scalar(item)
                if text is None or (isinstance(item, list) and len(text) > _FLOW_WIDTH):
                    _emit_nested(list(item), len(inner) + 4, out, f"{inner}-   ")
                else:
                    out.append(f"{inner}- {text}")
        return
    text = _flow_text(value) if isinstance(value, dict | list) else scalar(value)
    out.append(f"{prefix} {text}" if prefix else str(text))


def _emit_nested(items: list[Any], indent: int, out: list[str], lead: str) -> None:
    """A list inside a list: `-   - a` then `    - b`, the layout `fmt` writes."""
    pad = " " * indent
    for i, item in enumerate(items):
        out.append(f"{lead if i == 0 else pad}- {scalar(item)}")


def _rel(name: Name, origin: Name) -> str:
    # The compiler strips names it reads, so an escaped space is written as \032 (same octet).
    return name.relativize(origin).replace("\\ ", "\\032")


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


def _item(rdata: Rdata, origin: Name) -> Any:
    item = rdata.yaml_item(origin)  # each type's own YAML text (TXT: a list of strings when it must)
    return Flow(item) if isinstance(item, list) else item


def _mapping_item(record: Record, origin: Name) -> Any:
    """The mapping form of one item, used only when an RRset's records have different TTLs."""
    rdata = record.rdata
    m = FlowMap()
    fields = rdata.to_mapping(origin) if rdata.__class__.mapping_fields else None
    if fields is None:
        m["value"] = _item(rdata, origin)
    else:
        for key, value in fields.items():
            m[key] = _rel(value, origin) if isinstance(value, Name) else value
    m["ttl"] = format_duration(record.ttl)
    return m


def _order(records: list[Record]) -> list[Record]:
    return sorted(records, key=rrset_order(records[0].code)) if len(records) > 1 else records


def _rrset_value(records: list[Record], origin: Name, default_ttl: int) -> Any:
    records = _order(records)
    ttls = {r.ttl for r in records}
    if len(ttls) > 1 and not isinstance(records[0].rdata, SOA):
        return [_mapping_item(r, origin) for r in records]
    items = [_item(r.rdata, origin) for r in records]
    value: Any = items[0] if len(items) == 1 and not isinstance(items[0], list) else Flow(items)
    ttl = records[0].ttl
    if ttl == default_ttl:
        return value
    values = {"ttl": format_duration(ttl), "values": value}
    if isinstance(value, str) or (_flow_text(value) or "x" * 999).__len__() <= _FLOW_WIDTH:
        return FlowMap(values)
    return values


def zone_spec(zone: Zone) -> dict[str, Any]:
    """The YAML document for `zone` as plain data (Flow / FlowMap mark one-line collections)."""
    doc, layout = _head_spec(zone)
    records = _records_of(zone, list(zone.names()), layout)
    if records:
        doc["records"] = records
    return doc


@dataclass(frozen=True)
class Layout:
    """What the head took from the zone, which the records part must leave out."""

    origin: Name
    default_ttl: int
    ns_in_block: bool
    consumed: frozenset[tuple[Name, int]]


def _head_spec(zone: Zone) -> tuple[dict[str, Any], Layout]:
    """The document without `records:`."""
    origin = zone.origin
    default_ttl = common_ttl(zone)
    doc: dict[str, Any] = {"origin": origin.to_text().rstrip(".") or ".", "ttl": format_duration(default_ttl)}

    soa_record = zone.soa_record()
    if soa_record is not None:
        soa = soa_record.rdata
        assert isinstance(soa, SOA)
        block: dict[str, Any] = {
            "primary": _rel(soa.mname, origin),
            "contact": _contact(soa.rname, origin),
            "serial": soa.serial,
            "refresh": format_duration(soa.refresh),
            "retry": format_duration(soa.retry),
            "expire": format_duration(soa.expire),
            "negative": format_duration(soa.minimum),
        }
        if soa_record.ttl != default_ttl:
            block["ttl"] = format_duration(soa_record.ttl)
        doc["soa"] = block

    apex_ns = zone.rrset(origin, RRType.NS)
    ns_in_block = False
    if (
        apex_ns is not None
        and apex_ns.owner.labels == origin.labels
        and all(r.ttl == default_ttl for r in apex_ns.records)
    ):
        texts = [_rel(r.rdata.target, origin) for r in _order(apex_ns.records) if isinstance(r.rdata, NS)]
        if all(not is_address_text(t) for t in texts):
            doc["nameservers"] = Flow(texts)
            ns_in_block = True

    mail, consumed = _mail_block(zone, default_ttl)
    if mail:
        doc["mail"] = mail

    return doc, Layout(origin, default_ttl, ns_in_block, frozenset(consumed))


def _records_of(zone: Zone, names: list[Name], layout: Layout) -> dict[str, Any]:
    """The `records:` entries of the nodes `names`, in that order."""
    origin, default_ttl, ns_in_block, consumed = layout.origin, layout.default_ttl, layout.ns_in_block, layout.consumed
    records: dict[str, Any] = {}
    for name in names:
        node = zone.nodes[name]
        for code in sorted(node, key=lambda c: (c != RRType.NS, c)):
            if code == RRType.SOA and name == origin:
                continue
            if (code == RRType.NS and name == origin and ns_in_block) or (name, code) in consumed:
                continue
            rrset = node[code]
            # one key per spelling: each RRset keeps its owner's letter case (RFC 4343), as named does
            owner = records.setdefault(_rel(rrset.owner, origin), {})
            owner[yaml_type_key(rrset.records[0].rdata)] = _rrset_value(rrset.records, origin, default_ttl)
    return records


def _mail_block(zone: Zone, default_ttl: int) -> tuple[dict[str, Any], set[tuple[Name, int]]]:
    """The apex MX set (and a matching `_smtp._tcp` SRV set) as the format's `mail:` block.

    Only when the compiler gives back exactly these records: one TTL, host names spelled
    the same in MX and SRV, one SRV per MX with priority = preference. Otherwise the
    records stay under `records:`.
    """
    origin = zone.origin
    mx_set = zone.rrset(origin, RRType.MX)
    if mx_set is None or len({r.ttl for r in mx_set.records}) != 1 or mx_set.owner.labels != origin.labels:
        return {}, set()
    ttl = mx_set.records[0].ttl
    mxs = [r.rdata for r in _order(mx_set.records) if isinstance(r.rdata, MX)]
    smtp_owner = Name((b"_smtp", b"_tcp", *origin.labels))
    smtp_set = zone.rrset(smtp_owner, RRType.SRV)
    srvs = [r.rdata for r in smtp_set.records if isinstance(r.rdata, SRV)] if smtp_set else []
    srv_ok = (
        smtp_set is not None
        and smtp_set.owner.labels == smtp_owner.labels
        and {r.ttl for r in smtp_set.records} == {ttl}
    )
    block: dict[str, Any] = {}
    consumed = {(origin, int(RRType.MX))}
    if len(mxs) == 1 and mxs[0].exchange.is_root():
        if mxs[0].preference != 0:
            return {}, set()
        block["null"] = True
        if srv_ok and srvs == [SRV(0, 0, 0, Name(()))]:
            block["srv"] = True
            consumed.add((smtp_owner, int(RRType.SRV)))
    else:
        texts = [_rel(mx.exchange, origin) for mx in mxs]
        if any(mx.exchange.is_root() or is_address_text(t) for mx, t in zip(mxs, texts, strict=True)):
            return {}, set()
        remaining = list(srvs)
        matched: list[SRV] = []
        for mx in mxs:
            hit = next(
                (v for v in remaining if v.priority == mx.preference and v.target.labels == mx.exchange.labels), None
            )
            if hit is None:
                break
            remaining.remove(hit)
            matched.append(hit)
        use_srv = srv_ok and not remaining and len(matched) == len(mxs)
        exchangers = []
        for i, (mx, text) in enumerate(zip(mxs, texts, strict=True)):
            item: dict[str, Any] = {"host": text, "priority": mx.preference}
            if use_srv:
                if matched[i].weight:
                    item["weight"] = matched[i].weight
                if matched[i].port != 25:
                    item["port"] = matched[i].port
            exchangers.append(FlowMap(item))
        block["exchangers"] = exchangers
        if use_srv:
            block["srv"] = True
            consumed.add((smtp_owner, int(RRType.SRV)))
    if ttl != default_ttl:
        block = {"ttl": format_duration(ttl), **block}
    return block, consumed


def zone_to_yaml(zone: Zone) -> str:
    """YAML text of `zone`, deterministic: same zone, same bytes."""
    head, layout = yaml_head(zone)
    return head + with_records_key(yaml_records(zone, list(zone.names()), layout))


def yaml_head(zone: Zone) -> tuple[str, Layout]:
    """The text of `zone_to_yaml` before `records:` (a zone of its own), and what it holds."""
    doc, layout = _head_spec(zone)
    out: list[str] = []
    _emit(doc, 0, out, "")
    return "\n".join(out) + "\n", layout


def yaml_records(zone: Zone, names: list[Name], layout: Layout) -> str:
    """The `records:` entries (without the key) for the nodes `names`: for consecutive runs of
    `zone.names()`, the texts concatenate to those of the whole zone."""
    records = _records_of(zone, names, layout)
    if not records:
        return ""
    lines: list[str] = []
    _emit(records, 0, lines, "records:")
    return "\n".join(lines[1:]) + "\n"


def with_records_key(entries: str) -> str:
    return "records:\n" + entries if entries else ""
