"""Names: MX/SRV/NS targets are host names, never addresses; owners and wildcards are well formed."""

from __future__ import annotations

from collections.abc import Iterator

from zonetool.findings import Severity
from zonetool.names import Name, looks_like_address, repeats_origin
from zonetool.rrtypes import MX, NS, SRV, RRType
from zonetool.rules.base import CNAME_CODE, MX_CODE, NS_CODE, SRV_CODE, Context, Hit, hit, rule
from zonetool.zone import Record

ERROR, WARNING = Severity.ERROR, Severity.WARNING
# Owner labels: LDH, "_" (RFC 8552 service labels), "/" (RFC 2317 classless reverse), "*" (wildcard-label).
_OWNER_OK = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/*"


def _target(record: Record) -> Name | None:
    """The host name an MX, SRV or NS record points at (None for the root: null MX, SRV '.')."""
    rd = record.rdata
    if isinstance(rd, MX):
        return None if rd.exchange.is_root() else rd.exchange
    if isinstance(rd, SRV):
        return None if rd.target.is_root() else rd.target
    if isinstance(rd, NS):
        return rd.target
    return None


def _targets(ctx: Context) -> Iterator[tuple[Record, Name]]:
    for code in (MX_CODE, SRV_CODE, NS_CODE):
        for r in ctx.records(code):
            target = _target(r)
            if target is not None:
                yield r, target


# RFC 1035 3.3.9 / 3.3.11, RFC 2782: MX, NS and SRV targets are domain names; an address there is a mistake.
@rule("target-is-address", ERROR, "MX, SRV and NS targets are host names, not IP addresses", "RFC 1035 3.3.9")
def target_is_address(ctx: Context) -> Iterator[Hit]:
    for r, target in _targets(ctx):
        address = looks_like_address(target, ctx.origin)
        if address is not None:
            yield hit(
                r,
                f"{r.rtype} target {target.to_text()} is the address {address}, not a host name",
                hint="point at a host name (e.g. mx1) and give that host the address (A/AAAA, or addresses:)",
            )


# RFC 1123 2.1 / RFC 952: MX, SRV and NS targets are host names (letters, digits, hyphen; no '_').
@rule("target-not-hostname", ERROR, "MX, SRV and NS targets are LDH host names (no `_`)", "RFC 1123 2.1")
def target_not_hostname(ctx: Context) -> Iterator[Hit]:
    for r, target in _targets(ctx):
        if not target.is_hostname() and looks_like_address(target, ctx.origin) is None:
            yield hit(
                r,
                f"{r.rtype} target {target.to_text()} is not a host name (letters, digits and inner hyphens only)",
                hint="underscores and other characters are fine in owner names but not in mail or server hosts",
            )


# RFC 2181 11 allows any octet, but RFC 1123 2.1 / RFC 1912 2.1: owners that resolvers meet should be LDH (+ '_').
@rule("owner-chars", WARNING, "owner names use letters, digits, `-`, `_`, `/` only", "RFC 1912 2.1")
def owner_chars(ctx: Context) -> Iterator[Hit]:
    for name in ctx.names:
        if b"".join(name.labels).translate(None, _OWNER_OK):  # leftover octets are the bad ones
            first = next(iter(ctx.zone.nodes[name].values())).records[0]
            yield hit(
                first,
                f"owner {name.to_text()} has a label with characters other than letters, digits, '-', '_', '/'",
                hint="many resolvers, mail servers and web tools refuse such names",
            )


# RFC 4592 2.1.1: only a whole leftmost '*' label makes a wildcard; '*' anywhere else is a literal star.
@rule("wildcard-label", WARNING, "`*` appears only as a whole leftmost label (a wildcard)", "RFC 4592 2.1.1")
def wildcard_label(ctx: Context) -> Iterator[Hit]:
    for name in ctx.names:
        labels = name.labels
        if b"*" not in b"".join(labels):
            continue
        if any(b"*" in label for label in labels[1:]) or (b"*" in labels[0] and labels[0] != b"*"):
            first = next(iter(ctx.zone.nodes[name].values())).records[0]
            yield hit(
                first,
                f"{name.to_text()} is not a wildcard: '*' matches only as the whole leftmost label",
                hint="write *.dev for every name under dev; dev.* or a*b are literal names",
            )


PTR_CODE = int(RRType.PTR)


def _absolute_hint(name: Name, origin: Name) -> str:
    meant = Name(name.labels[: len(name.labels) - len(origin.labels)])
    return f"add a trailing dot: write {meant.to_text()} (without it, the origin is appended once more)"


# RFC 1035 5.1: a name without a trailing dot is relative, so "mx2.example.com" in example.com. gains the origin again.
@rule(
    "name-repeats-origin", WARNING, "no name ends in the origin twice (an absolute name missing its dot)",
    "RFC 1035 5.1",
)
def name_repeats_origin(ctx: Context) -> Iterator[Hit]:
    origin = ctx.origin
    for name in ctx.names:
        if repeats_origin(name, origin):
            first = next(iter(ctx.zone.nodes[name].values())).records[0]
            yield hit(first, f"owner {name.to_text()} ends in the origin twice", hint=_absolute_hint(name, origin))
    for code in (MX_CODE, SRV_CODE, NS_CODE, CNAME_CODE, PTR_CODE):
        for r in ctx.records(code):
            rd = r.rdata
            target = rd.exchange if isinstance(rd, MX) else getattr(rd, "target", None)
            if target is not None and repeats_origin(target, origin):
                yield hit(r, f"{r.rtype} target {target.to_text()} ends in the origin twice",
                          hint=_absolute_hint(target, origin))
