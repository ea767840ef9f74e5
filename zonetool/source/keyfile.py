"""TSIG key files in BIND's syntax, as `tsig-keygen` writes them (named.conf's `key` statement).

    key "xfr.example." {
        algorithm hmac-sha256;
        secret "base64...";
    };

Comments (`//`, `#`, `/* */`) are allowed, several keys per file too. An error names the file,
line and column; the secret itself is never in a message.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import stat
from pathlib import Path

from zonetool.names import Name, NameError_
from zonetool.tsig import ALGORITHMS, Key

_TOKEN = re.compile(r'\s+|//[^\n]*|#[^\n]*|/\*.*?\*/|"(?:[^"\\]|\\.)*"|[{};]|[^\s{};"]+', re.S)


class KeyFileError(ValueError):
    """A key file that cannot be read: the message starts with FILE:LINE:COLUMN."""


def _tokens(text: str, file: str) -> list[tuple[str, int, int]]:
    out: list[tuple[str, int, int]] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:  # an unterminated string or comment
            raise KeyFileError(f"{file}:{line}:{pos - line_start + 1}: unterminated string or comment")
        token = m.group()
        if not token[0].isspace() and not token.startswith(("//", "#", "/*")):
            out.append((token, line, pos - line_start + 1))
        newlines = token.count("\n")
        if newlines:
            line += newlines
            line_start = m.start() + token.rindex("\n") + 1
        pos = m.end()
    return out


def parse_keys(text: str, file: str = "<key file>") -> list[Key]:
    """Every `key` statement of a file; other statements are an error (this is a key file)."""
    tokens = _tokens(text, file)
    keys: list[Key] = []
    i = 0

    def where(j: int) -> str:
        if j < len(tokens):
            return f"{file}:{tokens[j][1]}:{tokens[j][2]}"
        last = tokens[-1] if tokens else ("", 1, 0)
        return f"{file}:{last[1]}:{last[2] + len(last[0])}"

    def expect(j: int, what: str) -> str:
        if j >= len(tokens) or tokens[j][0] != what:
            found = "the end of the file" if j >= len(tokens) else repr(tokens[j][0])
            raise KeyFileError(f"{where(j)}: expected {what!r}, found {found}")
        return what

    while i < len(tokens):
        if tokens[i][0] != "key":
            raise KeyFileError(f"{where(i)}: expected a key statement ('key \"NAME\" {{ ... }};'), "
                               f"found {tokens[i][0]!r}")
        if i + 1 >= len(tokens):
            raise KeyFileError(f"{where(i + 1)}: the key has no name")
        raw_name, name_at = tokens[i + 1][0].strip('"'), i + 1
        try:
            name = Name.from_text(raw_name if raw_name.endswith(".") else raw_name + ".")
        except NameError_ as exc:
            raise KeyFileError(f"{where(name_at)}: key name {raw_name!r}: {exc}") from None
        expect(i + 2, "{")
        i += 3
        fields: dict[str, tuple[str, int]] = {}
        while i < len(tokens) and tokens[i][0] != "}":
            field = tokens[i][0]
            if field not in ("algorithm", "secret"):
                raise KeyFileError(f"{where(i)}: unknown key field {field!r} (algorithm, secret)")
            if i + 1 >= len(tokens) or tokens[i + 1][0] in "{};":
                raise KeyFileError(f"{where(i + 1)}: {field} has no value")
            fields[field] = (tokens[i + 1][0].strip('"'), i + 1)
            expect(i + 2, ";")
            i += 3
        expect(i, "}")
        expect(i + 1, ";")
        for field in ("algorithm", "secret"):
            if field not in fields:
                raise KeyFileError(f"{where(name_at)}: key {raw_name!r} has no {field}")
        algorithm, at = fields["algorithm"]
        algorithm = algorithm.lower().removesuffix(".")
        if algorithm not in ALGORITHMS:
            raise KeyFileError(f"{where(at)}: algorithm {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
        secret_text, at = fields["secret"]
        try:
            secret = base64.b64decode(secret_text, validate=True)
        except (binascii.Error, ValueError):
            raise KeyFileError(f"{where(at)}: the secret of {raw_name!r} is not base64") from None
        if not secret:
            raise KeyFileError(f"{where(at)}: the secret of {raw_name!r} is empty")
        if any(k.name == name for k in keys):
            raise KeyFileError(f"{where(name_at)}: key {raw_name!r} is defined twice")
        keys.append(Key(name, algorithm, secret))
        i += 2
    if not keys:
        raise KeyFileError(f"{file}:1:1: no key statement in the file")
    return keys


def read_key_file(path: Path) -> tuple[list[Key], list[str]]:
    """The keys of a file and the warnings about it (a secret that others can read)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no such file or folder") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: cannot be read: {exc}") from None
    warnings = []
    mode = os.stat(path).st_mode
    if mode & stat.S_IROTH:
        warnings.append(f"{path}: the key file can be read by other users (mode {stat.S_IMODE(mode):04o}); "
                        f"chmod 600 it")
    return parse_keys(text, str(path)), warnings
