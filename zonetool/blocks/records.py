"""The `records:` block: every other record, by owner name and type, in text or mapping form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zonetool.blocks.context import Compiler, Path, key_text
from zonetool.blocks.registry import block
from zonetool.findings import Where
from zonetool.names import Name, NameError_, is_address_text, to_ascii
from zonetool.rrtypes import KNOWN_TYPE_KEYS, Rdata, RdataError, is_type_key, parse_rdata, tokenize, yaml_spec
from zonetool.schema import RECORD_TYPES, TYPE_KEY, item_block
from zonetool.zone import Record

# Every per-type answer (names among the tokens, mapping form, hints, fast paths) comes from the
# type's module through the registry: `yaml_spec(rtype)` (zonetool.rrtypes).
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
            if not KNOWN_TYPE_KEYS.get(rtype) and not _check_type(c, rtype, opath):
                continue
            if data.__class__ is str:  # the common case, kept short for big zones
                rdata = _from_text(c, rtype, data, tpath)
                if rdata is not None and (not rdata.long or c.fits(rdata, tpath)):
                    c.records.append(Record(owner, default_ttl, rdata, Where(c.file, path=tpath)))
            else:
                _rrs(c, owner, rtype, data, tpath, default_ttl)


def _check_type(c: Compiler, rtype: str, path: Path) -> bool:
    """Is `rtype` a record type that may be written under records? Reports why not."""
    if rtype == "SOA":
        c.error("soa-in-records", "SOA cannot be written under records", (*path, rtype),
                hint="use the top-level `soa:` block")
        return False
    if not TYPE_KEY.match(rtype) or not is_type_key(rtype):
        c.unknown_key(rtype, _TYPES_HINT, path)
        return False
    return True


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
    spec = yaml_spec(rtype)
    if isinstance(value, str):
        rdata = _from_text(c, rtype, value, path)
    elif isinstance(value, Mapping):
        mapping = c.mapping(value, item_block(rtype), path)
        if mapping is None:
            return
        ttl = c.ttl_of(mapping, path, ttl)
        rdata = _from_mapping(c, rtype, mapping, path)
    elif spec.yaml_list and isinstance(value, list):
        rdata = spec.from_yaml_list(c, value, path)
    elif isinstance(value, int) and not isinstance(value, bool):
        rdata = _from_text(c, rtype, str(value), path)
    else:
        c.wrong_type(spec.yaml_shapes, value, path, hint=spec.hint)
        return
    if rdata is not None:
        c.add(owner, ttl, rdata, path)


def _from_text(c: Compiler, rtype: str, text: str, path: Path) -> Rdata | None:
    spec = yaml_spec(rtype)
    try:
        rdata = spec.from_yaml_text(text)  # TXT: one logical string; A, AAAA: the address
        if rdata is not None:
            return rdata
        names = spec.name_fields
        if names and '"' not in text and "\\" not in text:
            return _name_rdata(c, spec, rtype, text, path)
        tokens = tokenize(text)
        for i in names:
            if i < len(tokens):
                if spec.host_fields and is_address_text(tokens[i]):
                    c.error("host-is-address", f"{rtype} target {tokens[i]!r} is an IP address; it must be a host name",
                            path)
                    return None
                tokens[i] = to_ascii(tokens[i])
        return parse_rdata(rtype, tokens, c.origin)
    except NameError_ as exc:
        c.error("bad-name", f"{rtype} {text!r}: {exc}", path)
    except RdataError as exc:
        c.error(spec.bad_code, f"{rtype} {text!r}: {exc}", path, hint=spec.hint)
    return None


def _name_rdata(c: Compiler, spec: Any, rtype: str, text: str, path: Path) -> Rdata | None:
    """Plain text of a type whose last token is its one name (MX, SRV, NS, ...): the name through the cache."""
    tokens = text.split()
    if len(tokens) != spec.text_fields:
        return parse_rdata(rtype, tokens, c.origin)  # raises RdataError naming the expected fields
    what = spec.target_what or f"{rtype} target"
    target = c.host(tokens[-1], path, what) if spec.host_fields else c.name(tokens[-1], path, what)
    if target is None:
        return None
    return spec.from_target(tokens, target)


def _from_mapping(c: Compiler, rtype: str, mapping: dict[str, Any], path: Path) -> Rdata | None:
    spec = yaml_spec(rtype)
    if spec.mapping_fields:
        return spec.from_mapping(c, mapping, path)  # the type's own mapping form
    if "value" not in mapping:
        return None
    value = mapping["value"]
    vpath = (*path, "value")
    if spec.yaml_list and isinstance(value, list):
        return spec.from_yaml_list(c, value, vpath)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        c.wrong_type("text", value, vpath, hint=spec.hint)
        return None
    return _from_text(c, rtype, value, vpath)
