"""`zonetool fmt`: one canonical layout of a zone file, by two paths that give the same bytes.

`format_text` lays a file out through the round-trip engine (`yaml_doc`): keys reordered,
short items in flow style, one quoting style, every comment kept. Below it, the fast path
for a big `records:` block (issue 16: 50 MB zones) lays that block out line by line without
ruamel.yaml; `format_text` uses it when the block is in the simple shape and formats the rest
of the file through ruamel.yaml.

Why the fast path: ruamel.yaml's round-trip load and dump cost ~0.5 ms and ~5 KB per record, so `fmt` of a
50 MB zone ran for over 300 s at 5 GB, where `validate` takes a fraction of that. Yet big zones
are written by programs (`zonetool import`, generators): one owner per line in flow style, or
owner / TYPE: value lines in block style, no comments. For that shape the canonical layout is
a per-line rewrite: keys and values keep their text except that a single-quoted value (and a
quoted key that needs no quotes) is respelled exactly as `format_text` does.

The grammar accepted there is deliberately small (printable ASCII, plain scalars without
`:` in flow context, decimal integers, no comments, anchors, tags or block lists, canonical
indentation); any other line makes `split` return None and the whole file goes through
ruamel.yaml as before. tests/test_fmt_fast.py holds both paths to the same bytes.
"""

from __future__ import annotations

import io
import re
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString
from ruamel.yaml.tokens import CommentToken

from zonetool.source.yaml_doc import NOT_PLAIN, PLAIN_SAFE, Document, EditError, Indent, comments_of, make_yaml, scalar

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


def _plain_data(node: Any) -> Any:
    """Data without ruamel types, to measure a flow line's width."""
    if isinstance(node, dict):
        return {str(k): _plain_data(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain_data(v) for v in node]
    return node


def _flow_if_short(node: Any) -> None:
    if not isinstance(node, CommentedMap | CommentedSeq) or _has_comments(node):
        return
    children = [c for c in (node.values() if isinstance(node, CommentedMap) else node)]
    if len(str(_plain_data(node))) <= FLOW_WIDTH:
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
    if fast:  # a big machine-written records: block is laid out line by line (split)
        parts = split(text)
        if parts is not None:
            try:
                result = splice(format_text(parts[0], file, fast=False), parts[1])
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


# ---------------------------------------------------------------------------
# the fast path: a big records: block, line by line
# ---------------------------------------------------------------------------
_KEY = r"""(?:[A-Za-z0-9_][A-Za-z0-9_.-]*|"[ !#-\[\]-~]*"|'[ -&(-\[\]-~]*')"""
_OWNER_LINE = re.compile(rf"  ({_KEY}):(?: (.+))?")
_TYPE_LINE = re.compile(rf"    ({_KEY}): (.+)")
_BLOCK_PLAIN = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.:/@=+ -]*")
_FLOW_TOKEN = re.compile(r"""\s*("[ !#-\[\]-~]*"|'[ -&(-\[\]-~]*'|[A-Za-z0-9_][A-Za-z0-9_./@=+ -]*|[\[\]{},]|:\s)""")
_DECIMAL = re.compile(r"(?:0|[1-9][0-9]*)\Z")
_TYPED = re.compile(r"\d{4}-\d\d?-\d\d?|[-+]?0[xob]|[-+]?\d+(?::\d+)+\Z")
MAX_LINE = 4000  # ruamel.yaml re-wraps lines past its width (4096)


class _NotSimple(Exception):
    """A line outside the grammar: the caller formats the whole file with ruamel.yaml."""


def _key(text: str) -> str:
    if text[0] in "\"'":
        inner = text[1:-1]
        plain = PLAIN_SAFE.match(inner) and not NOT_PLAIN.match(inner) and not inner.endswith(" ")
        return inner if plain else f'"{inner}"'  # format_text's _rekey(scalar(key))
    if NOT_PLAIN.match(text) or _TYPED.match(text):
        raise _NotSimple  # a number, boolean or date used as a key: ruamel's own business
    return text


def _plain(text: str) -> str:
    if text != text.strip() or "  " in text or " #" in text or ": " in text or text.endswith(":"):
        raise _NotSimple
    if (NOT_PLAIN.match(text) and not _DECIMAL.match(text)) or _TYPED.match(text):
        raise _NotSimple  # floats, booleans, nulls, dates, 0x.., 1:20: typed by ruamel, maybe respelt
    return text


def _quoted(text: str) -> str:
    if text[0] == "'":
        inner = text[1:-1]
        if "\\" not in inner and '"' not in inner:
            return f'"{inner}"'  # format_text's _requote
    return text


def _scalar_block(text: str) -> str:
    if text[0] in "\"'":
        if len(text) < 2 or text[-1] != text[0] or text[0] in text[1:-1]:
            raise _NotSimple
        return _quoted(text)
    if not _BLOCK_PLAIN.fullmatch(text):
        raise _NotSimple
    return _plain(text)


def _flow(text: str) -> str:
    """A flow mapping or list on one line, respelt with ruamel's spacing."""
    tokens: list[str] = []
    pos, end = 0, len(text)
    while pos < end:
        m = _FLOW_TOKEN.match(text, pos)
        if m is None:
            raise _NotSimple
        tokens.append(m.group(1))
        pos = m.end()
    out, i = _flow_node(tokens, 0)
    if i != len(tokens):
        raise _NotSimple
    return out


def _flow_node(tokens: list[str], i: int) -> tuple[str, int]:
    if i >= len(tokens):
        raise _NotSimple
    token = tokens[i]
    if token == "[" or token == "{":
        close = "]" if token == "[" else "}"
        items: list[str] = []
        keys: set[str] = set()
        i += 1
        if i < len(tokens) and tokens[i] == close:
            return token + close, i + 1
        while True:
            if token == "{":
                if i >= len(tokens) or tokens[i] in "[]{},":
                    raise _NotSimple
                key = _key(tokens[i].rstrip())
                if key in keys:
                    raise _NotSimple  # a duplicate: ruamel reports it
                keys.add(key)
                if i + 1 >= len(tokens) or not tokens[i + 1].startswith(":"):
                    raise _NotSimple
                value, i = _flow_node(tokens, i + 2)
                items.append(f"{key}: {value}")
            else:
                value, i = _flow_node(tokens, i)
                items.append(value)
            if i >= len(tokens):
                raise _NotSimple
            if tokens[i] == close:
                return token + ", ".join(items) + close, i + 1
            if tokens[i] != ",":
                raise _NotSimple
            i += 1
    if token in "]},":
        raise _NotSimple
    if token[0] in "\"'":
        return _quoted(token), i + 1
    if token.startswith(":"):
        raise _NotSimple
    return _plain(token.rstrip()), i + 1


def _value(text: str) -> str:
    return _flow(text) if text[0] in "[{" else _scalar_block(text)


def split(text: str) -> tuple[str, list[str]] | None:
    """(the file with `records: {}` in place of its records block, that block's lines in the
    canonical layout), or None when the block is not in the simple shape (or absent)."""
    if "\r" in text or "\t" in text:
        return None
    start = text.find("\nrecords:\n")
    if start < 0 or not text.isascii():
        return None
    body_at = start + len("\nrecords:\n")
    end = len(text)
    pos = body_at
    while pos < len(text):  # the block ends at the next line that starts in column 1
        if text[pos] != " " and text[pos] != "\n":
            end = pos
            break
        nl = text.find("\n", pos)
        pos = len(text) if nl < 0 else nl + 1
    while end > body_at + 1 and text[end - 2] == "\n":
        end -= 1  # blank lines after the block stay with what follows it
    lines = text[body_at:end].split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        return None
    out: list[str] = []
    owners: set[str] = set()
    types: set[str] = set()
    owner_open = False  # a block-style owner waiting for its TYPE lines
    try:
        for line in lines:
            if not line or len(line) > MAX_LINE or line != line.rstrip() or not line.isprintable():
                raise _NotSimple
            if "#" in line or "\\" in line:  # comments and escapes: ruamel.yaml's business
                raise _NotSimple
            if line.startswith("    "):
                m = _TYPE_LINE.fullmatch(line)
                if m is None or (not owner_open and not types):
                    raise _NotSimple
                key = _key(m.group(1))
                if key in types:
                    raise _NotSimple  # a duplicate: ruamel reports it
                types.add(key)
                new = f"    {key}: {_value(m.group(2))}"
                out.append(line if new == line else new)  # an unchanged line is kept, not copied
                owner_open = False
                continue
            if owner_open:
                raise _NotSimple  # `owner:` with nothing under it
            m = _OWNER_LINE.fullmatch(line)
            if m is None:
                raise _NotSimple
            key = _key(m.group(1))
            if key in owners:
                raise _NotSimple
            owners.add(key)
            types = set()
            if m.group(2) is None:
                owner_open = True
                out.append(line if line == f"  {key}:" else f"  {key}:")
            else:
                if m.group(2)[0] != "{":
                    raise _NotSimple
                new = f"  {key}: {_flow(m.group(2))}"
                out.append(line if new == line else new)
        if owner_open:
            raise _NotSimple
    except _NotSimple:
        return None
    return text[: start + 1] + "records: {}\n" + text[end:], out


def splice(formatted_rest: str, records: list[str]) -> str | None:
    """Put the records block back where ruamel.yaml left `records: {}` (None if it is not there once)."""
    marker = "\nrecords: {}\n"
    at = ("\n" + formatted_rest).find(marker)
    if at < 0 or ("\n" + formatted_rest).find(marker, at + 1) >= 0:
        return None
    head, tail = formatted_rest[:at], formatted_rest[at + len(marker) - 1 :]
    return head + "records:\n" + "\n".join(records) + "\n" + tail
