"""The `tag=value; tag=value` lists that DMARC, DKIM, MTA-STS and TLS-RPT share (RFC 6376 3.2)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")  # RFC 6376 3.2 tag-name


@dataclass(frozen=True, slots=True)
class Tag:
    """One `name=value` of a tag list; `start` is the offset of the name in the record text."""

    name: str  # as written (compare with .key)
    value: str  # whitespace around it stripped
    start: int
    text: str  # the whole term as written, for messages

    @property
    def key(self) -> str:
        return self.name.lower()


@dataclass(frozen=True, slots=True)
class TagList:
    tags: tuple[Tag, ...]
    errors: tuple[tuple[int, str], ...]  # (offset, why) of terms that are no tag at all, and duplicates

    def get(self, key: str) -> Tag | None:
        for t in self.tags:
            if t.key == key:
                return t
        return None


def parse_tags(text: str) -> TagList:
    """Split on `;`; each non-empty part must be `name=value` with a valid name, each name once.

    A trailing `;` is allowed (RFC 6376 3.2: tag-list ends in an optional ";").
    """
    tags: list[Tag] = []
    errors: list[tuple[int, str]] = []
    seen: set[str] = set()
    pos = 0
    for part in text.split(";"):
        start = pos + (len(part) - len(part.lstrip()))
        pos += len(part) + 1
        term = part.strip()
        if not term:
            continue
        name, eq, value = term.partition("=")
        name = name.strip()
        if not eq or not _NAME.match(name):
            errors.append((start, f"`{term}` is not a tag=value pair"))
            continue
        if name.lower() in seen:
            errors.append((start, f"tag `{name}` appears twice"))
            continue
        seen.add(name.lower())
        tags.append(Tag(name, value.strip(), start, term))
    return TagList(tuple(tags), tuple(errors))


def uri_list(tag: Tag) -> list[tuple[int, str]]:
    """(offset, uri) of each comma-separated URI in a tag's value (rua=, ruf=)."""
    out: list[tuple[int, str]] = []
    base = tag.start + tag.text.index("=") + 1
    raw = tag.text[tag.text.index("=") + 1 :]
    pos = 0
    for piece in raw.split(","):
        lead = len(piece) - len(piece.lstrip())
        if piece.strip():
            out.append((base + pos + lead, piece.strip()))
        pos += len(piece) + 1
    return out
