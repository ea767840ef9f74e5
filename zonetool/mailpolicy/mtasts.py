"""MTA-STS TXT records at `_mta-sts` (RFC 8461 3.1): `v=STSv1; id=...`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from zonetool.mailpolicy.tags import TagList, parse_tags

_VERSION = re.compile(r"\s*v\s*=\s*STSv1\s*(?:;|\Z)")
_ID = re.compile(r"[A-Za-z0-9]{1,32}\Z")  # RFC 8461 3.1: sts-id = 1*32(ALPHA / DIGIT)


@dataclass(frozen=True, slots=True)
class StsRecord:
    text: str
    tags: TagList


def is_sts(text: str) -> bool:
    return _VERSION.match(text) is not None


def looks_like_sts(text: str) -> bool:
    return not is_sts(text) and "sts" in text.lower()


def parse(text: str) -> StsRecord:
    return StsRecord(text, parse_tags(text))


def problems(record: StsRecord) -> list[tuple[int, str]]:
    """(offset, why) of everything receivers would refuse in an MTA-STS TXT record."""
    out = list(record.tags.errors)
    if not is_sts(record.text):
        out.append((0, "the record must start with v=STSv1"))
    ident = record.tags.get("id")
    if ident is None:
        out.append((len(record.text), "id= is missing (it tells senders when the policy changed)"))
    elif not _ID.match(ident.value):
        out.append((ident.start, f"id={ident.value}: 1 to 32 letters and digits"))
    return sorted(out)
