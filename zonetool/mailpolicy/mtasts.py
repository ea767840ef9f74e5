"""MTA-STS (RFC 8461): the `_mta-sts` TXT record (3.1) and the policy file it announces (3.2)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
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


# ---------------------------------------------------------------------------
# The policy file senders fetch from https://mta-sts.<domain>/.well-known/mta-sts.txt (RFC 8461 3.2)
# ---------------------------------------------------------------------------
MODES = ("enforce", "testing", "none")  # RFC 8461 5
MAX_AGE_LIMIT = 31557600  # RFC 8461 3.2: max_age is at most one year
DEFAULT_MAX_AGE = 604800  # one week
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_PATTERN = re.compile(rf"(?:\*\.)?(?:{_LABEL}\.)*{_LABEL}\Z")  # RFC 8461 3.2: ["*."] Domain (RFC 5321)


@dataclass(frozen=True, slots=True)
class Policy:
    """One domain's MTA-STS policy: what the `_mta-sts` id announces and the web server serves."""

    domain: str  # lower case, no trailing dot
    mode: str
    max_age: int
    mx: tuple[str, ...]  # patterns: host names, or `*.` and a parent (RFC 8461 3.2)
    where: object = None  # the zone spec's place of the block that made it (a findings.Where), for rules

    @property
    def text(self) -> str:
        return policy_text(self.mode, self.mx, self.max_age)

    @property
    def id(self) -> str:
        return policy_id(self.text)


def policy_text(mode: str, mx: tuple[str, ...] | list[str], max_age: int) -> str:
    """The policy file's text (RFC 8461 3.2): `key: value` lines ended by CRLF, version first."""
    lines = ["version: STSv1", f"mode: {mode}", *(f"mx: {pattern}" for pattern in mx), f"max_age: {max_age}"]
    return "".join(line + "\r\n" for line in lines)


def policy_id(text: str) -> str:
    """The `id=` for a policy text: 20 hex digits of its SHA-256, so it changes exactly when the text does."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]  # RFC 8461 3.1: 1*32(ALPHA / DIGIT)


def pattern_problem(pattern: str) -> str | None:
    """Why `pattern` is no policy mx pattern (a host name, or `*.` then a name: RFC 8461 3.2), else None."""
    if not _PATTERN.match(pattern.rstrip(".")) or len(pattern) > 253:
        return f"`{pattern}` is not a host name or `*.` followed by one"
    return None


def matches(pattern: str, host: str) -> bool:
    """RFC 8461 4.1: a host matches a pattern exactly, or `*.` stands for one leftmost label."""
    pattern, host = pattern.rstrip(".").lower(), host.rstrip(".").lower()
    if pattern.startswith("*."):
        head, dot, rest = host.partition(".")
        return bool(head and dot) and rest == pattern[2:]
    return host == pattern


def policies(zones: Iterable[object]) -> dict[str, str]:
    """Each domain's policy text, for the zones whose mail block has `mta_sts:` (domain -> text)."""
    out: dict[str, str] = {}
    for zone in zones:
        policy = getattr(zone, "mta_sts", None)
        if isinstance(policy, Policy):
            out[policy.domain] = policy.text
    return out
