"""The edits behind `zonetool mx|srv|record add|set|remove`, on a round-trip `Document`.

Each edit changes the zone's YAML tree as a person would (in the `mail:` or `services:` block
that defines a record when there is one, else under `records:`), in the style of its
neighbours; `yaml_doc.Document.dump` then writes only the lines that changed. A numeric serial
is bumped when anything changed (`apply_edit`).

This module knows the zone format's shape; it never compiles records (the loader does that
when the result is validated).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString

from zonetool.names import Name, NameError_
from zonetool.rrtypes import RdataError, parse_rdata, spec_named
from zonetool.schema import CLIENT_SERVICES
from zonetool.source.yaml_doc import Document, EditError, flow_map, flow_seq, is_flow, scalar


# ---------------------------------------------------------------------------
# small node helpers
# ---------------------------------------------------------------------------
def _new_like(siblings: list[Any], items: list[tuple[str, Any]]) -> CommentedMap:
    """A mapping in the style of its siblings: flow if they are flow (or there are none)."""
    node = CommentedMap(items)
    if not siblings or any(is_flow(s) for s in siblings):
        node.fa.set_flow_style()
    return node


def _first_string(values: Iterable[Any]) -> Any:
    return next((v for v in values if isinstance(v, str)), None)


def _key_of(mapping: CommentedMap, wanted: str, origin: Name) -> Any:
    """The key in `mapping` naming the same owner as `wanted` (mx1 == mx1.example.com.)."""
    target = _name(wanted, origin)
    for key in mapping:
        if isinstance(key, str | int) and _name(str(key), origin) == target:
            return key
    return None


def _name(text: str, origin: Name) -> Name | None:
    try:
        return Name.from_text(text, origin)
    except NameError_:
        return None


def delete_key(mapping: CommentedMap, key: Any) -> None:
    """Delete `key`; comments attached to it are kept by `Document.dump`."""
    del mapping[key]


# ---------------------------------------------------------------------------
# zone-level helpers
# ---------------------------------------------------------------------------
def zone_origin(doc: Document) -> Name:
    text = doc.data.get("origin")
    if not isinstance(text, str) or not text:
        raise EditError("the zone has no `origin:`")
    try:
        return Name.from_text(text if text.endswith(".") else text + ".")
    except NameError_ as exc:
        raise EditError(f"origin {text!r}: {exc}") from None


def _date_serial(serial: int) -> date | None:
    text = str(serial)
    if len(text) != 10:
        return None
    try:
        day = date(int(text[:4]), int(text[4:6]), int(text[6:8]))
    except ValueError:
        return None
    return day if 1990 <= day.year <= 2200 else None


def next_serial(serial: int, today: date) -> int:
    """The serial after `serial`: YYYYMMDDnn stays date-based, anything else counts up.

    Serial arithmetic wraps at 2**32 (RFC 1982 3.1).
    """
    if _date_serial(serial) is not None:
        first_today = int(today.strftime("%Y%m%d")) * 100
        if serial < first_today:
            return first_today
    return (serial + 1) % 2**32


def bump_serial(doc: Document, today: date | None = None) -> tuple[int, int] | None:
    """Bump a numeric `soa.serial`; `auto` (or none) is left alone. Returns (old, new)."""
    soa = doc.data.get("soa")
    if not isinstance(soa, CommentedMap) or "serial" not in soa:
        return None
    old = soa["serial"]
    if isinstance(old, bool):
        return None
    if isinstance(old, str) and old.strip().isdigit():
        old = int(old.strip())
    if not isinstance(old, int):
        return None
    new = next_serial(int(old), today or date.today())
    soa["serial"] = new
    return int(old), new


# ---------------------------------------------------------------------------
# record items: what one value under `records: OWNER: TYPE` means
# ---------------------------------------------------------------------------
def _item_text(rtype: str, item: Any) -> str | None:
    if isinstance(item, CommentedMap | dict):
        spec = spec_named(rtype)
        text = spec.mapping_text(item) if spec is not None and spec.mapping_fields else None
        if text is not None:
            return text  # the type's own mapping form (zonetool.rrtypes)
        value = item.get("value")
        return None if value is None else str(value)
    return None if isinstance(item, list) else str(item)


def item_key(rtype: str, item: Any, origin: Name) -> object:
    """A comparable identity for one record value (parsed rdata when it parses)."""
    rtype = rtype.upper()
    if rtype == "TXT":
        if isinstance(item, list):
            return ("TXT", tuple(str(s) for s in item))
        text = _item_text(rtype, item)
        return ("TXT", (text,))
    text = _item_text(rtype, item)
    if text is None:
        return ("?", repr(item))
    try:
        return parse_rdata(rtype, text, origin)
    except (RdataError, NameError_, ValueError):
        return (rtype, " ".join(text.split()).lower())


def _items(value: Any) -> tuple[str, list[Any]]:
    """(shape, items) of a type's value: scalar, list, values-mapping or item-mapping."""
    if isinstance(value, CommentedSeq | list):
        return "list", list(value)
    if isinstance(value, CommentedMap | dict) and "values" in value:
        inner = value["values"]
        return "values", list(inner) if isinstance(inner, list) else [inner]
    if isinstance(value, CommentedMap | dict):
        return "item", [value]
    return "scalar", [value]


def _type_key(owner_map: CommentedMap, rtype: str) -> str | None:
    return next((k for k in owner_map if isinstance(k, str) and k.upper() == rtype.upper()), None)


def _add_item(owner_map: CommentedMap, rtype: str, value: str, origin: Name, ttl: Any) -> None:
    key = _type_key(owner_map, rtype)
    if key is None:
        node = scalar(value, _first_string(owner_map.values()))
        owner_map[rtype] = node if ttl is None else flow_map([("ttl", ttl), ("values", flow_seq([node]))])
        return
    current = owner_map[key]
    shape, items = _items(current)
    wanted = item_key(rtype, value, origin)
    if any(item_key(rtype, i, origin) == wanted for i in items):
        raise EditError(f"{rtype} {value!r} is already there")
    if ttl is not None and shape != "values":
        raise EditError(
            f"{rtype} already has records; an RRset has one TTL (RFC 2181 5.2): use `record set` to change it"
        )
    match shape:
        case "list":
            current.append(scalar(value, _first_string(current)))
        case "values":
            inner = current["values"]
            if ttl is not None and str(current.get("ttl")) != str(ttl):
                raise EditError(f"{rtype} has ttl {current.get('ttl')}; an RRset has one TTL (RFC 2181 5.2)")
            if isinstance(inner, CommentedSeq):
                inner.append(scalar(value, _first_string(inner)))
            else:
                current["values"] = flow_seq([inner, scalar(value, inner)])
        case _:
            owner_map[key] = flow_seq([current, scalar(value, current)])


def _remove_item(owner_map: CommentedMap, rtype: str, value: str | None, origin: Name) -> None:
    key = _type_key(owner_map, rtype)
    if key is None:
        raise EditError(f"there is no {rtype} record to remove")
    if value is None:
        delete_key(owner_map, key)
        return
    current = owner_map[key]
    shape, items = _items(current)
    wanted = item_key(rtype, value, origin)
    index = next((n for n, i in enumerate(items) if item_key(rtype, i, origin) == wanted), None)
    if index is None:
        raise EditError(f"{rtype} {value!r} is not there")
    if len(items) == 1:
        delete_key(owner_map, key)
        return
    seq = current if shape == "list" else current["values"]
    del seq[index]
    if shape == "list" and len(seq) == 1 and is_flow(seq) and not isinstance(seq[0], list | dict):
        # a flow list left with one value goes back to the scalar it was before an add
        owner_map[key] = seq[0]


# ---------------------------------------------------------------------------
# record add|set|remove
# ---------------------------------------------------------------------------
def _records(doc: Document, create: bool) -> CommentedMap | None:
    node = doc.data.get("records")
    if node is None and create:
        node = CommentedMap()
        doc.data["records"] = node
    if node is not None and not isinstance(node, CommentedMap):
        raise EditError("`records:` is not a mapping")
    return node


def _owner_map(records: CommentedMap, owner: str, origin: Name, create: bool) -> tuple[Any, CommentedMap | None]:
    key = _key_of(records, owner, origin)
    if key is None:
        if not create:
            return None, None
        key = scalar(owner)
        records[key] = CommentedMap()
        node = records[key]
        others = [v for k, v in records.items() if k != key]
        if not others or any(is_flow(v) for v in others):
            node.fa.set_flow_style()
        return key, node
    node = records[key]
    if node is None:
        node = records[key] = CommentedMap()
    if not isinstance(node, CommentedMap):
        raise EditError(f"records: {key}: is not a mapping of types")
    return key, node


def _prune(doc: Document, records: CommentedMap, key: Any) -> None:
    """Drop an owner left with no types, and `records:` left with no owners."""
    owner = records[key]
    if not [k for k in owner if k != "ttl"]:
        delete_key(records, key)
    if not records:
        delete_key(doc.data, "records")


def record_add(doc: Document, owner: str, rtype: str, value: str, ttl: Any = None) -> None:
    origin = zone_origin(doc)
    rtype = rtype.upper()
    if rtype == "SOA":
        raise EditError("SOA is not allowed under records (edit `soa:`)")
    records = _records(doc, create=True)
    assert records is not None
    _, node = _owner_map(records, owner, origin, create=True)
    assert node is not None
    _add_item(node, rtype, value, origin, ttl)


def record_remove(doc: Document, owner: str, rtype: str, value: str | None) -> None:
    origin = zone_origin(doc)
    records = _records(doc, create=False)
    key, node = _owner_map(records, owner, origin, create=False) if records is not None else (None, None)
    if node is None or records is None:
        raise EditError(f"records has no owner {owner!r}")
    _remove_item(node, rtype.upper(), value, origin)
    _prune(doc, records, key)


def record_set(doc: Document, owner: str, rtype: str, value: str, ttl: Any = None) -> None:
    """Replace the whole RRset OWNER TYPE by the one VALUE (keeping the old TTL form)."""
    origin = zone_origin(doc)
    rtype = rtype.upper()
    records = _records(doc, create=True)
    assert records is not None
    _, node = _owner_map(records, owner, origin, create=True)
    assert node is not None
    key = _type_key(node, rtype)
    if key is None:
        _add_item(node, rtype, value, origin, ttl)
        return
    current = node[key]
    shape, items = _items(current)
    like = _first_string(items)
    if shape == "values":
        inner = current["values"]
        current["values"] = flow_seq([scalar(value, like)]) if isinstance(inner, list) else scalar(value, like)
        if ttl is not None:
            current["ttl"] = ttl
    elif ttl is not None:
        node[key] = flow_map([("ttl", ttl), ("values", flow_seq([scalar(value, like)]))])
    else:
        node[key] = scalar(value, like)


# ---------------------------------------------------------------------------
# mx add|set|remove
# ---------------------------------------------------------------------------
def _exchangers(doc: Document, create: bool = False) -> CommentedSeq | None:
    mail = doc.data.get("mail")
    if mail is None:
        return None
    if not isinstance(mail, CommentedMap):
        raise EditError("`mail:` is not a mapping")
    if mail.get("null") or mail.get(None):  # YAML 1.2 reads the key `null` as None
        raise EditError("this zone publishes a null MX (`mail: {null: true}`); remove it before adding exchangers")
    node = mail.get("exchangers")
    if node is None:
        node = CommentedSeq()
        if create:
            mail["exchangers"] = node
    if not isinstance(node, CommentedSeq):
        raise EditError("`mail: exchangers:` is not a list")
    return node


def _find_host(seq: CommentedSeq, host: str, origin: Name, port: int | None = None) -> list[int]:
    target = _name(host, origin)
    found = []
    for n, item in enumerate(seq):
        if isinstance(item, CommentedMap) and _name(str(item.get("host", "")), origin) == target:
            if port is None or item.get("port") == port:
                found.append(n)
        elif isinstance(item, str) and _name(item, origin) == target:
            found.append(n)
    return found


def _set_fields(item: CommentedMap, fields: list[tuple[str, Any]]) -> None:
    """Set the given fields; None means leave as is."""
    for key, value in fields:
        if value is not None:
            item[key] = value  # an existing key keeps its place; a new one goes last


def _addresses(addresses: list[str] | None, like: Any = None) -> CommentedSeq | None:
    if not addresses:
        return None
    return flow_seq([scalar(a, like) if ":" not in a else DoubleQuotedScalarString(a) for a in addresses])


def mx_add(
    doc: Document,
    host: str,
    priority: int | None,
    weight: int | None = None,
    port: int | None = None,
    addresses: list[str] | None = None,
) -> None:
    if priority is None:
        raise EditError("--priority is required to add an exchanger (it is the MX preference)")
    origin = zone_origin(doc)
    exchangers = _exchangers(doc, create=True)
    if exchangers is None:
        if weight is not None or port is not None or addresses:
            raise EditError("--weight, --port and --address need a `mail:` block (this zone has only records)")
        records = _records(doc, create=True)
        assert records is not None
        _, node = _owner_map(records, "@", origin, create=True)
        assert node is not None
        mx_key = _type_key(node, "MX")
        existing = _items(node[mx_key])[1] if mx_key else []
        if any(_mx_host(i, origin) == _name(host, origin) for i in existing):
            raise EditError(f"{host} is already an exchanger; use `mx set`")
        _add_item(node, "MX", f"{priority} {host}", origin, None)
        return
    if _find_host(exchangers, host, origin):
        raise EditError(f"{host} is already an exchanger; use `mx set`")
    fields: list[tuple[str, Any]] = [("host", scalar(host)), ("priority", priority)]
    if weight is not None:
        fields.append(("weight", weight))
    if port is not None:
        fields.append(("port", port))
    if addresses:
        fields.append(("addresses", _addresses(addresses)))
    exchangers.append(_new_like(list(exchangers), fields))


def _mx_host(item: Any, origin: Name) -> Name | None:
    if isinstance(item, CommentedMap | dict):
        return _name(str(item.get("host", "")), origin)
    parts = str(item).split()
    return _name(parts[1], origin) if len(parts) == 2 else None


def mx_set(
    doc: Document,
    host: str,
    priority: int | None = None,
    weight: int | None = None,
    port: int | None = None,
    addresses: list[str] | None = None,
) -> None:
    origin = zone_origin(doc)
    exchangers = _exchangers(doc)
    if exchangers is None:
        if weight is not None or port is not None or addresses:
            raise EditError("--weight, --port and --address need a `mail:` block (this zone has only records)")
        if priority is None:
            raise EditError("nothing to set: give --priority")
        records = _records(doc, create=False)
        _, node = _owner_map(records, "@", origin, create=False) if records is not None else (None, None)
        mx_key = _type_key(node, "MX") if node is not None else None
        if node is None or mx_key is None:
            raise EditError(f"{host} is not an exchanger of this zone")
        _set_mx_priority(node, mx_key, host, priority, origin)
        return
    found = _find_host(exchangers, host, origin)
    if not found:
        raise EditError(f"{host} is not an exchanger of this zone; use `mx add`")
    item = exchangers[found[0]]
    if all(v is None for v in (priority, weight, port)) and not addresses:
        raise EditError("nothing to set: give --priority, --weight, --port or --address")
    _set_fields(
        item,
        [("priority", priority), ("weight", weight), ("port", port), ("addresses", _addresses(addresses))],
    )


def _set_mx_priority(node: CommentedMap, key: str, host: str, priority: int, origin: Name) -> None:
    current = node[key]
    shape, items = _items(current)
    target = _name(host, origin)
    for n, item in enumerate(items):
        if _mx_host(item, origin) != target:
            continue
        if isinstance(item, CommentedMap):
            item["priority"] = priority
            return
        text = f"{priority} {str(item).split()[1]}"
        if shape == "scalar":
            node[key] = scalar(text, item)
        else:
            seq = current if shape == "list" else current["values"]
            if isinstance(seq, CommentedSeq):
                seq[n] = scalar(text, item)
            else:
                current["values"] = scalar(text, item)
        return
    raise EditError(f"{host} is not an exchanger of this zone")


def mx_remove(doc: Document, host: str) -> None:
    origin = zone_origin(doc)
    exchangers = _exchangers(doc)
    if exchangers is None:
        records = _records(doc, create=False)
        key, node = _owner_map(records, "@", origin, create=False) if records is not None else (None, None)
        mx_key = _type_key(node, "MX") if node is not None else None
        if node is None or mx_key is None or records is None:
            raise EditError(f"{host} is not an exchanger of this zone")
        match = next((i for i in _items(node[mx_key])[1] if _mx_host(i, origin) == _name(host, origin)), None)
        if match is None:
            raise EditError(f"{host} is not an exchanger of this zone")
        _remove_item(node, "MX", _item_text("MX", match) or str(match), origin)
        _prune(doc, records, key)
        return
    found = _find_host(exchangers, host, origin)
    if not found:
        raise EditError(f"{host} is not an exchanger of this zone")
    del exchangers[found[0]]


# ---------------------------------------------------------------------------
# srv add|set|remove
# ---------------------------------------------------------------------------
def _services(doc: Document) -> CommentedSeq | None:
    node = doc.data.get("services")
    if node is not None and not isinstance(node, CommentedSeq):
        raise EditError("`services:` is not a list")
    return node


def _service_index(services: CommentedSeq, name: str, origin: Name) -> int | None:
    target = _name(name, origin)
    for n, entry in enumerate(services):
        if isinstance(entry, CommentedMap) and _name(str(entry.get("name", "")), origin) == target:
            return n
    return None


def _srv_text(priority: int, weight: int, port: int, host: str) -> str:
    return f"{priority} {weight} {port} {host}"


def _srv_parts(item: Any) -> tuple[int, int, int, str] | None:
    if isinstance(item, CommentedMap | dict):
        return (item.get("priority", 0), item.get("weight", 0), item.get("port"), str(item.get("host")))
    parts = str(item).split()
    if len(parts) != 4 or not all(p.isdigit() for p in parts[:3]):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2]), parts[3]


def _mail_block(doc: Document, name: str, origin: Name) -> tuple[CommentedMap, str, int] | None:
    """(mail:, its key, the default port) when `mail:` defines the SRV set `name` (issue 11: edit it there).

    `_submission._tcp` and the other client services are `mail.<service>`; `_smtp._tcp` with
    `srv: true` is made from the exchangers, so it is edited with `mx`, never as an SRV set.
    """
    mail = doc.data.get("mail")
    if not isinstance(mail, CommentedMap):
        return None
    wanted = _name(name, origin)
    if mail.get("srv") and wanted == _name("_smtp._tcp", origin):
        raise EditError("_smtp._tcp is made from mail: exchangers (srv: true); use `zonetool mx add|set|remove`")
    for key, (label, port) in CLIENT_SERVICES.items():
        if key in mail and wanted == _name(f"{label}._tcp", origin):
            return mail, key, port
    return None


def _client_hosts(mail: CommentedMap, key: str, create: bool) -> CommentedSeq:
    block = mail[key]
    if block is False and create:  # "not offered" becomes offered
        block = mail[key] = CommentedMap([("hosts", flow_seq([]))])
    if not isinstance(block, CommentedMap):
        raise EditError(f"mail: {key}: is not a mapping with hosts:")
    hosts = block.get("hosts")
    if isinstance(hosts, str):
        hosts = block["hosts"] = flow_seq([hosts])
    if not isinstance(hosts, CommentedSeq):
        raise EditError(f"mail: {key}: hosts is not a list")
    return hosts


def _client_srv(
    doc: Document, found: tuple[CommentedMap, str, int], verb: str, target: str,
    port: int | None, priority: int | None, weight: int | None,
) -> None:
    """srv add|set|remove on a client service of `mail:` (its hosts: list)."""
    mail, key, default_port = found
    origin = zone_origin(doc)
    hosts = _client_hosts(mail, key, create=verb == "add")
    block = mail[key]
    block_port = block.get("port", default_port)
    at = _find_host(hosts, target, origin)
    if verb == "remove":
        if not at:
            raise EditError(f"{target} is not a host of mail: {key}")
        del hosts[at[0]]
        if not hosts:
            delete_key(mail, key)
        return
    fields = [("port", port if port != block_port else None), ("priority", priority), ("weight", weight)]
    if verb == "add":
        if at:
            raise EditError(f"{target} is already a host of mail: {key}; use `srv set`")
        extra = [(k, v) for k, v in fields if v is not None]
        hosts.append(_new_like(list(hosts), [("host", scalar(target)), *extra]) if extra else scalar(target))
        return
    if not at:
        raise EditError(f"{target} is not a host of mail: {key}; use `srv add`")
    item = hosts[at[0]]
    if not isinstance(item, CommentedMap):
        item = hosts[at[0]] = _new_like([], [("host", item)])
    _set_fields(item, [("port", port), ("priority", priority), ("weight", weight)])


def srv_add(
    doc: Document, name: str, target: str, port: int | None, priority: int | None = None, weight: int | None = None
) -> None:
    origin = zone_origin(doc)
    block = _mail_block(doc, name, origin)
    if block is not None:
        _client_srv(doc, block, "add", target, port, priority, weight)
        return
    if port is None:
        raise EditError("--port is required to add an SRV target")
    services = _services(doc)
    index = _service_index(services, name, origin) if services is not None else None
    records = _records(doc, create=False)
    rec_key = _key_of(records, name, origin) if records is not None else None
    in_records = records is not None and rec_key is not None and _type_key(records[rec_key], "SRV") is not None
    if services is not None and (index is not None or not in_records):
        if index is None:
            fields = [("host", scalar(target)), ("port", port), ("priority", priority or 0), ("weight", weight or 0)]
            entry = [("name", scalar(name)), ("targets", CommentedSeq([_new_like([], fields)]))]
            services.append(_block_entry(services, entry))
            return
        entry = services[index]
        targets = entry.get("targets")
        if not isinstance(targets, CommentedSeq):
            raise EditError(f"services: {name}: targets is not a list")
        if _find_host(targets, target, origin, port):
            raise EditError(f"{target} port {port} is already a target of {name}; use `srv set`")
        fields = [("host", scalar(target)), ("port", port)]
        if priority is not None or any("priority" in t for t in targets if isinstance(t, CommentedMap)):
            fields.append(("priority", priority or 0))
        if weight is not None or any("weight" in t for t in targets if isinstance(t, CommentedMap)):
            fields.append(("weight", weight or 0))
        targets.append(_new_like(list(targets), fields))
        return
    record_add(doc, name, "SRV", _srv_text(priority or 0, weight or 0, port, target))


def _block_entry(siblings: CommentedSeq, items: list[tuple[str, Any]]) -> CommentedMap:
    node = CommentedMap(items)
    if siblings and all(is_flow(s) for s in siblings):
        node.fa.set_flow_style()
    return node


def _srv_record_match(doc: Document, name: str, target: str, port: int | None) -> tuple[CommentedMap, str, Any]:
    origin = zone_origin(doc)
    records = _records(doc, create=False)
    key = _key_of(records, name, origin) if records is not None else None
    if records is None or key is None or _type_key(records[key], "SRV") is None:
        raise EditError(f"{name} has no SRV records in services: or records:")
    node = records[key]
    srv_key = _type_key(node, "SRV")
    want = _name(target, origin)
    matches = [
        i
        for i in _items(node[srv_key])[1]
        if (p := _srv_parts(i)) is not None and _name(p[3], origin) == want and (port is None or p[2] == port)
    ]
    if not matches:
        raise EditError(f"{target} is not an SRV target of {name}")
    if len(matches) > 1:
        raise EditError(f"{target} is a target of {name} more than once; give --port to pick one")
    return node, srv_key, matches[0]


def srv_remove(doc: Document, name: str, target: str, port: int | None = None) -> None:
    origin = zone_origin(doc)
    block = _mail_block(doc, name, origin)
    if block is not None:
        _client_srv(doc, block, "remove", target, port, None, None)
        return
    services = _services(doc)
    index = _service_index(services, name, origin) if services is not None else None
    if services is not None and index is not None:
        targets = services[index].get("targets")
        found = _find_host(targets, target, origin, port) if isinstance(targets, CommentedSeq) else []
        if not found:
            raise EditError(f"{target} is not a target of {name}")
        if len(found) > 1:
            raise EditError(f"{target} is a target of {name} more than once; give --port to pick one")
        if len(targets) == 1:
            del services[index]
            if not services:
                delete_key(doc.data, "services")
        else:
            del targets[found[0]]
        return
    _, _, item = _srv_record_match(doc, name, target, port)
    record_remove(doc, name, "SRV", _item_text("SRV", item) or str(item))


def srv_set(
    doc: Document,
    name: str,
    target: str,
    port: int | None = None,
    priority: int | None = None,
    weight: int | None = None,
) -> None:
    """Change priority/weight (and port, when the target has only one) of one SRV target."""
    if all(v is None for v in (port, priority, weight)):
        raise EditError("nothing to set: give --port, --priority or --weight")
    origin = zone_origin(doc)
    block = _mail_block(doc, name, origin)
    if block is not None:
        _client_srv(doc, block, "set", target, port, priority, weight)
        return
    services = _services(doc)
    index = _service_index(services, name, origin) if services is not None else None
    if services is not None and index is not None:
        targets = services[index].get("targets")
        found = _find_host(targets, target, origin) if isinstance(targets, CommentedSeq) else []
        if len(found) > 1 and port is not None:
            found = _find_host(targets, target, origin, port)
        if not found:
            raise EditError(f"{target} is not a target of {name}; use `srv add`")
        if len(found) > 1:
            raise EditError(f"{target} is a target of {name} more than once; remove and add instead")
        _set_fields(targets[found[0]], [("port", port), ("priority", priority), ("weight", weight)])
        return
    node, srv_key, item = _srv_record_match(doc, name, target, None)
    old = _srv_parts(item)
    assert old is not None
    new = (
        priority if priority is not None else old[0],
        weight if weight is not None else old[1],
        port if port is not None else old[2],
    )
    if isinstance(item, CommentedMap):
        _set_fields(item, [("priority", priority), ("weight", weight), ("port", port)])
        return
    text = _srv_text(*new, old[3])
    current = node[srv_key]
    shape, items = _items(current)
    position = items.index(item)
    if shape == "scalar":
        node[srv_key] = scalar(text, item)
    else:
        seq = current if shape == "list" else current["values"]
        if isinstance(seq, CommentedSeq):
            seq[position] = scalar(text, item)
        else:
            current["values"] = scalar(text, item)


# ---------------------------------------------------------------------------
# one edit, start to end (the CLI calls this)
# ---------------------------------------------------------------------------
@dataclass(slots=True)
class EditResult:
    old_text: str
    new_text: str
    serial: tuple[int, int] | None

    @property
    def changed(self) -> bool:
        return self.old_text != self.new_text


def apply_edit(
    text: str, edit: Callable[[Document], None], today: date | None = None, file: str | None = None
) -> EditResult:
    """Run `edit` on a round-trip load of `text`; bump a numeric serial if anything changed."""
    doc = Document(text, file)
    edit(doc)
    if doc.dump() == text:
        return EditResult(text, text, None)
    serial = bump_serial(doc, today)
    return EditResult(text, doc.dump(), serial)


def unified_diff(old: str, new: str, name: str) -> str:
    return "".join(
        difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{name}", f"b/{name}")
    )
