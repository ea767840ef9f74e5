"""Presentation text (RFC 1035 5.1) shared by every reader: the one tokenizer, escapes, numbers.

The BIND reader lexes whole master files with `LEX`/`TOKENS` (parentheses, comments);
the YAML compiler splits one item's text with `tokenize`. Both are built from the same
token grammar below, so a quoted string or an escape means the same thing in both.
"""

from __future__ import annotations

import re

from zonetool.names import Name, NameError_


class RdataError(ValueError):
    """Record data that cannot be built; the message names the bad field."""


# Why unrolled, possessive loops (`"[^"\\]*+(?:\\.[^"\\]*+)*+"`, not `"(?:[^"\\]|\\.)*"`): `re` keeps
# backtracking state for every turn of a repeated group, ~200 octets per character (a 10 MB
# string took 2 GB); a possessive repeat keeps none, and no token here ever needs to give back.
QUOTED = r'"[^"\\]*+(?:\\.[^"\\]*+)*+"'
# A master-file word: ; ( ) end it (RFC 1035 5.1); inside YAML text they are plain characters.
_MASTER_WORD = r'(?:[^\s;()"\\]|\\.)[^\s;()\\]*+(?:\\.[^\s;()\\]*+)*+'
_ITEM_WORD = r'(?:[^\s"\\]|\\.)++'

# master files: one lexer with positions for the lines that need it, and the same tokens without
LEX = re.compile(
    rf'(?P<ws>[ \t\r\f\v]+)|(?P<comment>;.*)|(?P<q>{QUOTED})|(?P<open>\()|(?P<close>\))'
    rf'|(?P<word>{_MASTER_WORD})|(?P<bad>.)',
    re.S,
)
NEEDS_LEXER = re.compile(r'[;()"\\]')
# The same tokens as LEX without positions; a lone quote or backslash sends the line to LEX for its error.
TOKENS = re.compile(rf'{QUOTED}|;.*|{_MASTER_WORD}|["\\]', re.S)

_ITEM_TOKEN = re.compile(rf"{QUOTED}|{_ITEM_WORD}", re.S)


def tokenize(text: str) -> list[str]:
    """Split one item's rdata text into tokens; quoted strings keep their quotes."""
    tokens = _ITEM_TOKEN.findall(text)
    rest = _ITEM_TOKEN.sub("", text).strip()
    if rest:
        raise RdataError(f"unbalanced quote or stray backslash in {text!r}")
    return tokens


_ESCAPE = re.compile(r"\\(?:([0-9]{3})|(.))", re.S)


def unescape(token: str) -> bytes:
    """A character-string token (quoted or not) to its octets, resolving \\X and \\DDD.

    Runs between escapes are encoded in one slice each (a per-character loop took seconds
    and hundreds of MB for a 10 MB string)."""
    if len(token) >= 2 and token[0] == '"' and token[-1] == '"':
        token = token[1:-1]
    if "\\" not in token:
        return token.encode("utf-8")
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(token):
        out += token[pos : m.start()].encode("utf-8")
        digits, char = m.groups()
        if digits is not None:
            value = int(digits)
            if value > 255:
                raise RdataError(f"escape \\{digits} is above 255")
            out.append(value)
        else:
            out += char.encode("utf-8")
        pos = m.end()
    out += token[pos:].encode("utf-8")  # a lone backslash at the end stays as it is
    return bytes(out)


_PLAIN_TEXT = bytes(c for c in range(0x20, 0x7F) if c not in (0x22, 0x5C))  # printable, nothing to escape


def quote(data: bytes) -> str:
    """Octets as a quoted character-string, escaping what must be escaped (RFC 1035 5.1)."""
    if not data.translate(None, _PLAIN_TEXT):  # Why: most TXT is plain; a loop per octet was 17% of export
        return f'"{data.decode("ascii")}"'
    out = ['"']
    for c in data:
        if c in (0x22, 0x5C):
            out.append("\\" + chr(c))
        elif 0x20 <= c <= 0x7E:
            out.append(chr(c))
        else:
            out.append(f"\\{c:03d}")
    out.append('"')
    return "".join(out)


def uint(token: str, bits: int, what: str) -> int:
    """The one unsigned-integer field parser: digits only, at most `bits` wide."""
    if not token.isdigit():
        raise RdataError(f"{what} must be a number, got {token!r}")
    value = int(token)
    if value >= 1 << bits:
        raise RdataError(f"{what} must be 0..{(1 << bits) - 1}, got {value}")
    return value


def check_uint(value: int, bits: int, what: str) -> None:
    """A field given as a number (from a mapping or a wire read) is in range."""
    if not 0 <= value < 1 << bits:
        raise RdataError(f"{what} must be 0..{(1 << bits) - 1}, got {value}")


def arity(tokens: list[str], n: int, rtype: str, shape: str) -> None:
    if len(tokens) != n:
        raise RdataError(f"{rtype} takes {n} fields ({shape}), got {len(tokens)}: {' '.join(tokens)!r}")


def name_from_text(token: str, origin: Name | None, field: str) -> Name:
    """The default name reader of the types (readers with a cache pass their own `name_of`)."""
    try:
        return Name.from_text(token, origin)
    except NameError_ as exc:
        raise RdataError(f"{field}: {exc}") from None


def name_text(name: Name, origin: Name | None) -> str:
    return name.relativize(origin) if origin else name.to_text()
