"""MX: exchanges that resolve to addresses, never aliases; null MX exactly as RFC 7505 writes it."""

from __future__ import annotations

from collections.abc import Iterator

from zonetool.findings import Severity
from zonetool.names import Name
from zonetool.rrtypes import MX
from zonetool.rules.base import (
    MX_CODE,
    Context,
    Hit,
    hit,
    rule,
    targets_that_are_cnames,
    targets_without_address,
    text_of,
)
from zonetool.zone import Record

ERROR, WARNING = Severity.ERROR, Severity.WARNING


def _mx(ctx: Context) -> Iterator[list[tuple[Record, MX]]]:
    """Each MX RRset as [(record, rdata)]."""
    for rrset in ctx.rrsets(MX_CODE):
        yield [(r, r.rdata) for r in rrset.records if isinstance(r.rdata, MX)]


# RFC 7505 3: a domain that accepts no mail publishes a single null MX and no other MX.
@rule("null-mx-not-alone", ERROR, "a null MX (`0 .`) is the only MX of its name", "RFC 7505 3")
def null_mx_not_alone(ctx: Context) -> Iterator[Hit]:
    for rrset in ctx.rrsets(MX_CODE):
        if len(rrset.records) > 1:
            for r in rrset.records:
                if isinstance(r.rdata, MX) and r.rdata.is_null():
                    yield hit(
                        r,
                        f"null MX at {text_of(r.owner, ctx.origin)} says 'no mail' but "
                        f"{len(rrset.records) - 1} other MX record(s) say otherwise",
                        hint="keep either the null MX (send-only domain) or the real exchangers",
                    )


# RFC 7505 3: the null MX has preference 0.
@rule("null-mx-preference", ERROR, "a null MX has preference 0", "RFC 7505 3")
def null_mx_preference(ctx: Context) -> Iterator[Hit]:
    for r in ctx.records(MX_CODE):
        if isinstance(r.rdata, MX) and r.rdata.is_null() and r.rdata.preference != 0:
            yield hit(r, f"null MX has preference {r.rdata.preference}; RFC 7505 requires 0", hint="write: MX 0 .")


# RFC 2181 10.3 / RFC 5321 5.1: an MX exchange must not be an alias (CNAME).
@rule("mx-target-cname", ERROR, "an MX exchange is not a CNAME", "RFC 2181 10.3")
def mx_target_cname(ctx: Context) -> Iterator[Hit]:
    yield from targets_that_are_cnames(ctx, _exchanges(ctx), "MX exchange")


# RFC 5321 5.1: an exchange must resolve to addresses; in-zone ones are ours to publish.
@rule("mx-target-no-address", ERROR, "an in-zone MX exchange has A or AAAA records", "RFC 5321 5.1")
def mx_target_no_address(ctx: Context) -> Iterator[Hit]:
    yield from targets_without_address(ctx, _exchanges(ctx), "MX exchange")


def _exchanges(ctx: Context) -> Iterator[tuple[Record, Name]]:
    """(record, exchange) of every MX but a null MX."""
    for r in ctx.records(MX_CODE):
        if isinstance(r.rdata, MX) and not r.rdata.is_null():
            yield r, r.rdata.exchange


# RFC 5321 5.1: each exchange is tried once; listing it twice at different preferences is a mistake.
@rule("mx-duplicate-exchange", WARNING, "the same exchange appears twice in one MX set", "RFC 5321 5.1")
def mx_duplicate_exchange(ctx: Context) -> Iterator[Hit]:
    for items in _mx(ctx):
        seen: dict[Name, int] = {}
        for r, rd in items:
            if rd.is_null():
                continue
            if rd.exchange in seen:
                yield hit(
                    r,
                    f"MX exchange {text_of(rd.exchange, ctx.origin)} is listed twice "
                    f"(preferences {seen[rd.exchange]} and {rd.preference})",
                    hint="keep one preference per exchange",
                )
            else:
                seen[rd.exchange] = rd.preference
