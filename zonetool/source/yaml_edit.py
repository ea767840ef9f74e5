"""Comment-preserving edits of YAML zone files (ruamel.yaml round-trip).

A zone lives in git and is edited by hand and by script, so an edit must change only
what was asked: every comment, blank line, key order, quoting style and indentation of
the rest of the file is kept. ruamel.yaml's round-trip mode keeps most of that, but it
has one indentation setting per document and attaches comments to neighbouring nodes
(deleting a node can take a comment line with it). `Document.dump` therefore computes
the change as a line diff between a dump of the unedited document and a dump of the
edited one, applies that diff to the ORIGINAL text, and keeps every comment line a
deletion would have dropped.

This module knows YAML and the zone format's shape; it never compiles records (the
loader does that when the result is validated).
"""

from __future__ import annotations

import difflib
import io
import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from zonetool.names import Name, NameError_
from zonetool.records import RdataError, parse_rdata
from zonetool.source.yaml import check_limits


class EditError(ValueError):
    """An edit that cannot be made as asked (missing host, duplicate, wrong shape)."""


# ---------------------------------------------------------------------------
# loading and dumping
# ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Indent:
    """ruamel.yaml's three indentation knobs, as found in a file."""

    mapping: int = 2
    sequence: int = 4
    offset: int = 2


_KEY_ONLY = re.compile(r"^(\s*)(?:- )?[^\s#][^#]*:\s*(?:#.*)?$")
_DASH = re.compile(r"^(\s*)-(\s+)\S")
_KEY = re.compile(r"^(\s*)[^\s#-][^#]*?:(\s|$)")


def detect_indent(text: str) -> Indent:
    """The most common mapping indent, sequence indent and dash offset in `text`."""
    maps: Counter[int] = Counter()
    seqs: Counter[tuple[int, int]] = Counter()
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    for prev, line in itertools.pairwise(lines):
        head = _KEY_ONLY.match(prev)
        if head is None or prev.rstrip().endswith(("|", ">", "|-", ">-")):
            continue
        parent = len(head.group(1))
        if prev.lstrip().startswith("- "):
            parent += 2  # key of a mapping that is itself a sequence item
        dash = _DASH.match(line)
        if dash:
            col = len(dash.group(1))
            seqs[(col - parent + 1 + len(dash.group(2)), col - parent)] += 1
            continue
        key = _KEY.match(line)
        if key and len(key.group(1)) > parent:
            maps[len(key.group(1)) - parent] += 1
    mapping = maps.most_common(1)[0][0] if maps else 2
    sequence, offset = seqs.most_common(1)[0][0] if seqs else (mapping + 2, mapping)
    if offset < 0 or sequence < offset + 2:
        sequence, offset = mapping + 2, mapping
    return Indent(mapping, sequence, offset)


def make_yaml(indent: Indent = Indent()) -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line the user wrote on one line
    yaml.indent(mapping=indent.mapping, sequence=indent.sequence, offset=indent.offset)
    return yaml


def _is_comment(line: str) -> bool:
    return line.lstrip().startswith("#")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _split_comment(line: str) -> tuple[str, str, str] | None:
    """(code, gap, comment) of a line with an end-of-line comment outside quotes."""
    quote = ""
    for n, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'" and (n == 0 or not line[n - 1].isalnum()):
            quote = ch
        elif ch == "#" and n > 0 and line[n - 1] in " \t":
            code = line[:n].rstrip()
            if not code.strip():
                return None
            return code, line[len(code) : n], line[n:]
    return None


def _keep_comment_gaps(old: list[str], new: list[str]) -> list[str]:
    """Keep the spaces between a value and its end-of-line comment as they were.

    ruamel keeps a comment's column, which drifts when a value grows and shrinks again;
    keeping the gap instead makes an edit and its inverse give back the same bytes.
    """
    gaps = {}
    for line in old:
        parts = _split_comment(line)
        if parts:
            gaps.setdefault(parts[2], parts[1])
    result = []
    for line in new:
        parts = _split_comment(line)
        if parts and parts[2] in gaps:
            line = parts[0] + gaps[parts[2]] + parts[2]
        result.append(line)
    return result


def _insert_before_outer_comments(out: list[str], inserted: list[str]) -> None:
    """Append `inserted` to `out`, but above the comment lines that introduce an outer key.

    ruamel attaches a comment that precedes the next top-level key to the end of the
    previous block, so an item appended to that block would land below the comment.
    """
    depth = min((_indent(ln) for ln in inserted if ln.strip()), default=0)
    cut = len(out)
    while cut > 0 and (not out[cut - 1].strip() or (_is_comment(out[cut - 1]) and _indent(out[cut - 1]) < depth)):
        cut -= 1
    if not any(_is_comment(ln) for ln in out[cut:]):
        cut = len(out)  # only blank lines: leave them where they are
    out[cut:cut] = inserted


class Document:
    """A zone file loaded for round-trip editing."""

    def __init__(self, text: str, file: str | None = None) -> None:
        check_limits(text, file)  # raises YamlSyntax: ruamel must never see an alias bomb or 10,000 levels
        self.as_read = text
        self.crlf = _is_crlf(text)
        # All the work is on LF text (ruamel writes LF); `dump` gives a CRLF file back in CRLF.
        self.original = text.replace("\r\n", "\n") if self.crlf else text
        text = self.original
        self.indent = detect_indent(text)
        self._yaml = make_yaml(self.indent)
        data = self._yaml.load(text)
        if not isinstance(data, CommentedMap):
            raise EditError("the file is not a YAML mapping (a zone needs at least `origin:`)")
        self.data: CommentedMap = data
        self._baseline: str | None = None  # ruamel's dump of the unedited file

    def _dump(self, data: Any) -> str:
        out = io.StringIO()
        self._yaml.dump(data, out)
        return out.getvalue()

    def roundtrip(self) -> str:
        """ruamel.yaml's own dump, without the splice `dump` does (to test fidelity)."""
        return self._dump(self.data)

    def dump(self) -> str:
        """The edited text: the original with only the changed lines replaced."""
        new = self._dump(self.data)
        if self._baseline is None:
            self._baseline = self._dump(self._yaml.load(self.original))
        baseline = self._baseline
        if new == baseline:
            return self.as_read
        base_lines = baseline.splitlines(keepends=True)
        orig_lines = self.original.splitlines(keepends=True)
        if orig_lines and not orig_lines[-1].endswith("\n"):
            orig_lines[-1] += "\n"
        # Lines ruamel would re-spell (odd spacing) stay as written when they are untouched.
        source = orig_lines if len(orig_lines) == len(base_lines) else base_lines
        new_lines = new.splitlines(keepends=True)
        want = Counter(ln.strip() for ln in source if _is_comment(ln))
        have = Counter(ln.strip() for ln in new_lines if _is_comment(ln))
        out: list[str] = []
        matcher = difflib.SequenceMatcher(None, base_lines, new_lines, autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                out.extend(source[i1:i2])
                continue
            inserted = new_lines[j1:j2]
            if tag == "insert":
                _insert_before_outer_comments(out, inserted)
                continue
            kept: list[str] = []
            for n in range(i1, i2):
                line = source[n]
                if _is_comment(line) and have[line.strip()] < want[line.strip()]:
                    have[line.strip()] += 1
                    if n > i1 and not source[n - 1].strip() and (kept or (out and out[-1].strip())):
                        kept.append(source[n - 1])  # the blank line that set this comment apart
                    kept.append(line)
            # a blank line that closed a deleted block still separates what follows
            if tag == "delete" and not source[i2 - 1].strip() and (kept or (out and out[-1].strip())):
                kept.append(source[i2 - 1])
            out.extend(kept)
            out.extend(_keep_comment_gaps(source[i1:i2], inserted))
        out_text = "".join(out)
        return out_text.replace("\n", "\r\n") if self.crlf else out_text


# ---------------------------------------------------------------------------
# small node helpers
# ---------------------------------------------------------------------------
_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_\\][A-Za-z0-9_.*\\ =;/+-]*$")
_NOT_PLAIN = re.compile(
    r"^(?:[-+]?(?:[0-9_]+\.?[0-9_]*|\.[0-9_]+)(?:e[-+]?\d+)?|true|false|yes|no|on|off|null|~|y|n)$", re.I
)


def scalar(value: str, like: Any = None) -> Any:
    """A new string node, quoted like its neighbour, or plain when plain is unambiguous."""
    if isinstance(like, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(value)
    if isinstance(like, SingleQuotedScalarString) and "'" not in value:
        return SingleQuotedScalarString(value)
    if _PLAIN_SAFE.match(value) and not _NOT_PLAIN.match(value) and not value.endswith(" "):
        return value
    return DoubleQuotedScalarString(value)


def flow_map(items: Iterable[tuple[str, Any]]) -> CommentedMap:
    node = CommentedMap(items)
    node.fa.set_flow_style()
    return node


def flow_seq(items: Iterable[Any]) -> CommentedSeq:
    node = CommentedSeq(items)
    node.fa.set_flow_style()
    return node


def _is_flow(node: Any) -> bool:
    return isinstance(node, CommentedMap | CommentedSeq) and node.fa.flow_style()


def _new_like(siblings: list[Any], items: list[tuple[str, Any]]) -> CommentedMap:
    """A mapping in the style of its siblings: flow if they are flow (or there are none)."""
    node = CommentedMap(items)
    if not siblings or any(_is_flow(s) for s in siblings):
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
        get = item.get
        match rtype:
            case "MX":
                return f"{get('priority')} {get('host')}"
            case "SRV":
                return f"{get('priority', 0)} {get('weight', 0)} {get('port')} {get('host')}"
            case "CAA":
                return f'{get("flags", 0)} {get("tag")} "{get("value")}"'
        value = get("value")
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
    if shape == "list" and len(seq) == 1 and _is_flow(seq) and not isinstance(seq[0], list | dict):
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
        if not others or any(_is_flow(v) for v in others):
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
    from zonetool.schema import CLIENT_SERVICES

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
    if siblings and all(_is_flow(s) for s in siblings):
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


# ---------------------------------------------------------------------------
# fmt: one canonical layout
# ---------------------------------------------------------------------------
CANONICAL = Indent(2, 4, 2)
TOP_ORDER = ("origin", "ttl", "soa", "nameservers", "mail", "services", "records", "silence", "faults")
SOA_ORDER = ("primary", "contact", "serial", "refresh", "retry", "expire", "negative", "ttl")
MAIL_ORDER = ("ttl", "null", "exchangers", "srv")  # client services (submission, imaps...) stay as written
CLIENT_SERVICES = ("submission", "submissions", "imap", "imaps", "pop3", "pop3s")
SERVICE_ORDER = ("name", "ttl", "targets")
EXCHANGER_ORDER = ("host", "priority", "weight", "port", "addresses", "ttl")
TARGET_ORDER = ("host", "port", "priority", "weight", "addresses", "ttl")
CLIENT_ORDER = ("port", "ttl", "hosts")
FLOW_WIDTH = 100  # a flow mapping longer than this on one line stays in block style


def _reorder(node: Any, order: tuple[str, ...]) -> None:
    """Move known keys into `order`; unknown keys keep their relative place at the end."""
    if not isinstance(node, CommentedMap) or not node:
        return
    last = next(reversed(node))
    for key in [k for k in order if k in node] + [k for k in list(node) if k not in order]:
        node.move_to_end(key)
    _move_trailing_comment(node, last, next(reversed(node)))


def _move_trailing_comment(node: CommentedMap, old: Any, new: Any) -> None:
    """The comment lines after a block belong after its new last key, not its old one.

    ruamel stores them with the end-of-line comment of the last key (one token whose
    text starts with that line's comment or a bare newline).
    """
    if old == new or isinstance(node[old], CommentedMap | CommentedSeq):
        return
    entry = node.ca.items.get(old)
    token = entry[2] if entry and len(entry) > 2 else None
    if token is None or "\n" not in token.value:
        return
    eol, rest = token.value.split("\n", 1)
    if not rest:
        return
    if isinstance(node[new], CommentedMap | CommentedSeq):
        return
    token.value = eol + "\n"
    if not eol:
        entry[2] = None
    target = node.ca.items.setdefault(new, [None, None, None, None])
    if target[2] is None:
        target[2] = CommentToken("\n" + rest, token.start_mark)
    else:
        target[2].value = target[2].value.rstrip("\n") + "\n" + rest


def _has_comments(node: Any) -> bool:
    if isinstance(node, CommentedMap | CommentedSeq):
        ca = node.ca
        if ca.comment or any(any(part for part in v if part) for v in ca.items.values()) or getattr(ca, "end", None):
            return True
        values = node.values() if isinstance(node, CommentedMap) else node
        return any(_has_comments(v) for v in values)
    return False


def _plain(node: Any) -> Any:
    """Data without ruamel types, to measure a flow line's width."""
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def _flow_if_short(node: Any) -> None:
    if not isinstance(node, CommentedMap | CommentedSeq) or _has_comments(node):
        return
    children = [c for c in (node.values() if isinstance(node, CommentedMap) else node)]
    if len(str(_plain(node))) <= FLOW_WIDTH:
        node.fa.set_flow_style()
        for child in children:
            if isinstance(child, CommentedMap | CommentedSeq):
                child.fa.set_flow_style()
        return
    for child in children:  # too long for one line: its short parts still can be
        _flow_if_short(child)


def _requote(node: Any) -> Any:
    """Single-quoted strings become double-quoted (one quoting style in the whole file)."""
    if isinstance(node, SingleQuotedScalarString) and "\\" not in node and '"' not in node:
        return DoubleQuotedScalarString(str(node))
    if isinstance(node, CommentedMap):
        for key in list(node):
            if isinstance(key, SingleQuotedScalarString | DoubleQuotedScalarString):
                _rekey(node, key, scalar(str(key)))
        for key in list(node):
            value = node[key]
            new = _requote(value)
            if new is not value:
                node[key] = new
        return node
    if isinstance(node, CommentedSeq):
        for n, value in enumerate(node):
            new = _requote(value)
            if new is not value:
                node[n] = new
        return node
    return node


def _rekey(node: CommentedMap, old: Any, new: Any) -> None:
    """Respell a key in place: same position, same value, same comments."""
    if type(old) is type(new) and old == new:
        return
    position = list(node).index(old)
    comment = node.ca.items.pop(old, None)
    value = node.pop(old)
    node.insert(position, new, value)
    if comment is not None:
        node.ca.items[new] = comment


def _hosts_items(block: Any) -> list[Any]:
    if isinstance(block, CommentedMap):
        hosts = block.get("hosts")
        return list(hosts) if isinstance(hosts, CommentedSeq) else []
    return []


def _is_crlf(text: str) -> bool:
    """Does the file end its lines with CRLF (mostly)? Edits and fmt keep its endings."""
    crlf = text.count("\r\n")
    return bool(crlf) and crlf * 2 >= text.count("\n")


def format_text(text: str, file: str | None = None, *, fast: bool = True) -> str:
    """The canonical layout of a zone file (idempotent; every comment kept).

    Layout: 2-space indentation with list dashes indented under their key; top-level,
    soa:, services entries and exchanger/target items in the order of the format
    description (mail: starts with ttl, null, exchangers, srv; its client services keep
    the order written); exchanger, target and host items, and lists of names or addresses, in
    flow style (one line each) when they carry no comment and fit in 100 columns;
    keys plain unless they need quotes ("@", "*.dev"), then double-quoted; values in
    single quotes turned into double quotes. Record owners keep the order they were
    written in: people group them on purpose.
    """
    if fast:  # a big machine-written records: block is laid out line by line (yaml_fmt)
        from zonetool.source import yaml_fmt

        parts = yaml_fmt.split(text)
        if parts is not None:
            try:
                result = yaml_fmt.splice(format_text(parts[0], file, fast=False), parts[1])
            except Exception:  # the rest has a problem: the whole file reports it at its real place
                result = None
            if result is not None:
                return result
    doc = Document(text, file)
    data = doc.data
    _reorder(data, TOP_ORDER)
    _reorder(data.get("soa"), SOA_ORDER)
    mail = data.get("mail")
    _reorder(mail, MAIL_ORDER)
    if isinstance(mail, CommentedMap):
        for item in mail.get("exchangers") or []:
            _reorder(item, EXCHANGER_ORDER)
            _flow_if_short(item)
        for key in CLIENT_SERVICES:
            _reorder(mail.get(key), CLIENT_ORDER)
            for item in _hosts_items(mail.get(key)):
                _reorder(item, TARGET_ORDER)
                _flow_if_short(item)
            if isinstance(mail.get(key), CommentedMap):
                _flow_if_short(mail[key])
    for entry in data.get("services") or []:
        _reorder(entry, SERVICE_ORDER)
        if isinstance(entry, CommentedMap):
            for item in entry.get("targets") or []:
                _reorder(item, TARGET_ORDER)
                _flow_if_short(item)
    if isinstance(data.get("nameservers"), CommentedSeq):
        _flow_if_short(data["nameservers"])
    _requote(data)
    yaml = make_yaml(CANONICAL)
    out = io.StringIO()
    yaml.dump(data, out)
    result = out.getvalue()
    lost = comments_of(text) - comments_of(result)
    if lost:  # never trade a comment for layout
        raise EditError(f"formatting would drop the comment {next(iter(lost))!r}; leaving the file as it is")
    return result.replace("\n", "\r\n") if doc.crlf else result


def comments_of(text: str) -> Counter[str]:
    """Comment texts in `text` (whole-line and end-of-line), with their counts."""
    found: Counter[str] = Counter()
    for line in text.splitlines():
        if _is_comment(line):
            found[line.strip()] += 1
        elif parts := _split_comment(line):
            found[parts[2].strip()] += 1
    return found
