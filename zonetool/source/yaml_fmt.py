"""`fmt`'s layout of a big `records:` block without ruamel.yaml (issue 16: 50 MB zones).

Why: ruamel.yaml's round-trip load and dump cost ~0.5 ms and ~5 KB per record, so `fmt` of a
50 MB zone ran for over 300 s at 5 GB, where `validate` takes a fraction of that. Yet big zones
are written by programs (`zonetool import`, generators): one owner per line in flow style, or
owner / TYPE: value lines in block style, no comments. For that shape the canonical layout is
a per-line rewrite: keys and values keep their text except that a single-quoted value (and a
quoted key that needs no quotes) is respelled exactly as `format_text` does.

The grammar accepted here is deliberately small (printable ASCII, plain scalars without
`:` in flow context, decimal integers, no comments, anchors, tags or block lists, canonical
indentation); any other line makes `split` return None and the whole file goes through
ruamel.yaml as before. tests/test_fmt_fast.py holds both paths to the same bytes.
"""

from __future__ import annotations

import re

from zonetool.source.yaml_edit import _NOT_PLAIN, _PLAIN_SAFE

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
        plain = _PLAIN_SAFE.match(inner) and not _NOT_PLAIN.match(inner) and not inner.endswith(" ")
        return inner if plain else f'"{inner}"'  # format_text's _rekey(scalar(key))
    if _NOT_PLAIN.match(text) or _TYPED.match(text):
        raise _NotSimple  # a number, boolean or date used as a key: ruamel's own business
    return text


def _plain(text: str) -> str:
    if text != text.strip() or "  " in text or " #" in text or ": " in text or text.endswith(":"):
        raise _NotSimple
    if (_NOT_PLAIN.match(text) and not _DECIMAL.match(text)) or _TYPED.match(text):
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
