"""SMTP TLS reporting records at `_smtp._tls` (RFC 8460 3): `v=TLSRPTv1; rua=mailto:...,https://...`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from zonetool.mailpolicy.tags import TagList, parse_tags, uri_list

_VERSION = re.compile(r"\s*v\s*=\s*TLSRPTv1\s*(?:;|\Z)")


@dataclass(frozen=True, slots=True)
class TlsRpt:
    text: str
    tags: TagList


def is_tlsrpt(text: str) -> bool:
    return _VERSION.match(text) is not None


def parse(text: str) -> TlsRpt:
    return TlsRpt(text, parse_tags(text))


def problems(record: TlsRpt) -> list[tuple[int, str]]:
    """(offset, why) of the record's faults: version first, rua present, each URI mailto: or https:."""
    out = list(record.tags.errors)
    if not is_tlsrpt(record.text):
        out.append((0, "the record must start with v=TLSRPTv1"))
    rua = record.tags.get("rua")
    if rua is None:
        out.append((len(record.text), "rua= is missing: where should reports go?"))
        return sorted(out)
    uris = uri_list(rua)
    if not uris:
        out.append((rua.start, "rua= names no URI"))
    for start, uri in uris:
        low = uri.lower()
        if low.startswith("mailto:"):
            if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", uri[7:]):
                out.append((start, f"`{uri}` is not a mail address"))
        elif low.startswith("https://"):
            if len(uri) <= 8 or "/" in uri[8:9]:
                out.append((start, f"`{uri}` names no host"))
        else:
            out.append((start, f"`{uri}`: a TLS-RPT URI is mailto: or https: (RFC 8460 3)"))
    return sorted(out)
