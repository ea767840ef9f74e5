"""DMARC records (RFC 7489 6.3-6.4, plus the DMARCbis tags np, psd, t) as tags with offsets."""

from __future__ import annotations

import re
from dataclasses import dataclass

from zonetool.mailpolicy.tags import Tag, TagList, parse_tags, uri_list

# RFC 7489 6.3 and DMARCbis (np, psd, t): what each tag may say; p is judged by the dmarc-policy rule
TAGS = frozenset(("v", "p", "sp", "np", "psd", "t", "rua", "ruf", "adkim", "aspf", "fo", "pct", "ri", "rf"))
POLICIES = ("none", "quarantine", "reject")
_VERSION = re.compile(r"\s*v\s*=\s*DMARC1\s*(?:;|\Z)")  # RFC 7489 6.4: exactly, first
_SIZE = re.compile(r"[0-9]+[kmgt]?\Z", re.I)  # RFC 7489 6.2: an optional "!" size limit


@dataclass(frozen=True, slots=True)
class Dmarc:
    text: str
    tags: TagList

    def tag(self, key: str) -> Tag | None:
        return self.tags.get(key)


def is_dmarc(text: str) -> bool:
    return _VERSION.match(text) is not None


def looks_like_dmarc(text: str) -> bool:
    """Meant as DMARC (it says DMARC1 or sets p=) but not `v=DMARC1` first, so receivers ignore it."""
    low = text.lower()
    return not is_dmarc(text) and ("dmarc" in low or re.search(r"(^|;)\s*p\s*=", low) is not None)


def parse(text: str) -> Dmarc:
    return Dmarc(text, parse_tags(text))


def value_problem(tag: Tag) -> str | None:
    """Why a tag's value is not one RFC 7489 6.3 (or DMARCbis) allows; None when it is fine."""
    key, value = tag.key, tag.value
    low = value.lower()
    if key in ("sp", "np") and low not in POLICIES:
        return f"{key}={value}: must be none, quarantine or reject"
    if key in ("adkim", "aspf") and low not in ("r", "s"):
        return f"{key}={value}: must be r (relaxed) or s (strict)"
    if key == "pct" and not (value.isdigit() and 0 <= int(value) <= 100):
        return f"pct={value}: must be a whole number 0..100"
    if key == "ri" and not value.isdigit():
        return f"ri={value}: must be a number of seconds"
    if key == "fo" and (not value or any(o.strip() not in ("0", "1", "d", "s") for o in low.split(":"))):
        return f"fo={value}: must be 0, 1, d or s, joined by ':'"
    if key == "rf" and any(f.strip() != "afrf" for f in low.split(":")):
        return f"rf={value}: the only report format is afrf"
    if key == "psd" and low not in ("y", "n", "u"):
        return f"psd={value}: must be y, n or u"
    if key == "t" and low not in ("y", "n"):
        return f"t={value}: must be y or n"
    return None


@dataclass(frozen=True, slots=True)
class ReportUri:
    start: int
    uri: str
    problem: str | None

    @property
    def mailbox_domain(self) -> str | None:
        """The domain of a mailto: URI (lower case, no trailing dot), else None."""
        if not self.uri.lower().startswith("mailto:"):
            return None
        address = self.uri[7:].split("!", 1)[0]
        return address.rpartition("@")[2].rstrip(".").lower() or None


def report_uris(tag: Tag) -> list[ReportUri]:
    """Each URI of rua=/ruf= with why it is not a DMARC report URI (RFC 7489 6.2, 6.3)."""
    out: list[ReportUri] = []
    for start, uri in uri_list(tag):
        problem = None
        scheme, colon, rest = uri.partition(":")
        if not colon or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
            problem = f"`{uri}` is not a URI: write mailto:{uri if '@' in uri else 'dmarc@example.com'}"
        elif scheme.lower() != "mailto":
            problem = f"`{uri}`: reports are sent by mail only, so the URI must be mailto:"
        else:
            address, bang, size = rest.partition("!")
            local, at, domain = address.partition("@")
            if not at or not local or "." not in domain:
                problem = f"`{uri}` is not a mail address"
            elif bang and not _SIZE.match(size):
                problem = f"`!{size}` is not a size limit (e.g. !10m)"
        out.append(ReportUri(start, uri, problem))
    return out
