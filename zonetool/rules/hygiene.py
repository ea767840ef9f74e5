"""Mail hygiene (warnings): SPF and DMARC that match what the MX records say about the domain."""

from __future__ import annotations

import re
from collections.abc import Iterator

from zonetool.findings import Severity
from zonetool.names import Name
from zonetool.rrtypes import MX, TXT
from zonetool.rules.base import MX_CODE, TXT_CODE, Context, Hit, hit, rule, text_of
from zonetool.zone import Record

WARNING = Severity.WARNING
_SPF = re.compile(rb"^v=spf1(?:\s|$)", re.I)  # RFC 7208 4.5: version section, then space or end
_DMARC = re.compile(rb"^v\s*=\s*DMARC1\s*(?:;|$)", re.I)  # RFC 7489 6.4: v=DMARC1 comes first
_DMARC_P = re.compile(rb";\s*p\s*=\s*(none|quarantine|reject)\s*(?:;|$)", re.I)


def spf_ending(text: bytes) -> str | None:
    """How an SPF record treats everyone else: its last mechanism ('-all', '~all', '?all', '+all'),
    'redirect' when it hands over to another record, None when it says nothing (RFC 7208 4.6-6.1).

    Modifiers (name=value, e.g. exp=) may follow the last mechanism and are skipped.
    """
    terms = text.decode("ascii", "replace").split()[1:]
    mechanisms = [t.lower() for t in terms if "=" not in t]
    if mechanisms and mechanisms[-1] in ("all", "+all", "-all", "~all", "?all"):
        return "+all" if mechanisms[-1] == "all" else mechanisms[-1]
    if any(t.lower().startswith("redirect=") for t in terms):
        return "redirect"
    return None


def _text(r: Record) -> bytes:
    return r.rdata.joined() if isinstance(r.rdata, TXT) else b""


def spf_records(ctx: Context, owner: Name) -> list[Record]:
    rrset = ctx.zone.rrset(owner, TXT_CODE)
    return [r for r in rrset.records if _SPF.match(_text(r))] if rrset else []


def dmarc_records(ctx: Context, owner: Name) -> list[Record]:
    rrset = ctx.zone.rrset(owner.child(b"_dmarc"), TXT_CODE)
    return [r for r in rrset.records if _DMARC.match(_text(r))] if rrset else []


def _apex_mx(ctx: Context) -> tuple[list[Record], list[Record]]:
    """(real MX records, null MX records) at the apex."""
    rrset = ctx.zone.rrset(ctx.origin, MX_CODE)
    records = rrset.records if rrset else []
    null = [r for r in records if isinstance(r.rdata, MX) and r.rdata.is_null()]
    return [r for r in records if r not in null], null


# RFC 7208 (SPF) via RFC 7489 4: a domain that receives mail should say which hosts send for it.
@rule("spf-missing", WARNING, "a domain with MX records has an SPF TXT at its apex", "RFC 7208 3")
def spf_missing(ctx: Context) -> Iterator[Hit]:
    real, _ = _apex_mx(ctx)
    if real and not spf_records(ctx, ctx.origin):
        yield hit(
            real[0],
            f"{ctx.origin.to_text()} receives mail but publishes no SPF record",
            hint='add at the apex: TXT "v=spf1 mx -all" (list every host that sends for the domain)',
        )


# RFC 7208 5.1 / 6.1: an SPF policy ends with -all or ~all (or redirects); otherwise forgeries pass as neutral.
@rule("spf-all", WARNING, "the apex SPF ends in `-all` or `~all` (or `redirect=`)", "RFC 7208 5.1")
def spf_all(ctx: Context) -> Iterator[Hit]:
    _, null = _apex_mx(ctx)
    if null:
        return  # spf-null-mx speaks for send-only domains
    for r in spf_records(ctx, ctx.origin):
        ending = spf_ending(_text(r))
        if ending not in ("-all", "~all", "redirect"):
            said = f"ends in {ending}" if ending else "has no final 'all'"
            yield hit(
                r,
                f"SPF record {_text(r).decode('utf-8', 'replace')!r} {said}, so forged senders are not refused",
                hint="end it with -all (reject others) or ~all (mark others)",
            )


# RFC 7505 4 / RFC 7208 5.1: a domain with a null MX tells receivers to refuse forged senders: SPF ending -all.
@rule("spf-null-mx", WARNING, "a null-MX domain publishes SPF ending in `-all`", "RFC 7505 4")
def spf_null_mx(ctx: Context) -> Iterator[Hit]:
    real, null = _apex_mx(ctx)
    if not null or real:
        return
    spf = spf_records(ctx, ctx.origin)
    if not any(spf_ending(_text(r)) == "-all" for r in spf):
        said = "its SPF does not end in -all" if spf else "it publishes no SPF record"
        yield hit(
            spf[0] if spf else null[0],
            f"{ctx.origin.to_text()} accepts no mail (null MX) but {said}",
            hint='a domain that sends nothing publishes TXT "v=spf1 -all"; one that sends lists its hosts, then -all',
        )


# RFC 7208 3.2: more than one SPF record at a name is a permanent error for every receiver.
@rule("spf-multiple", WARNING, "a name has at most one SPF record", "RFC 7208 3.2")
def spf_multiple(ctx: Context) -> Iterator[Hit]:
    for rrset in ctx.rrsets(TXT_CODE):
        spf = [r for r in rrset.records if _SPF.match(_text(r))]
        for r in spf[1:]:
            yield hit(
                r,
                f"{text_of(r.owner, ctx.origin)} has {len(spf)} SPF records; receivers treat that as a permanent error",
                hint="merge them into one v=spf1 record",
            )


# RFC 7489 6.1 / 7.1: a domain that receives mail publishes a DMARC policy at _dmarc.
@rule("dmarc-missing", WARNING, "a domain with MX records has a `_dmarc` TXT with `p=`", "RFC 7489 6.1")
def dmarc_missing(ctx: Context) -> Iterator[Hit]:
    real, _ = _apex_mx(ctx)
    if real and not dmarc_records(ctx, ctx.origin):
        yield hit(
            real[0],
            f"{ctx.origin.to_text()} receives mail but publishes no DMARC record at _dmarc",
            hint=f'publish at _dmarc.{ctx.origin.to_text()} a TXT record like "v=DMARC1; p=none; '
            f'rua=mailto:dmarc@{ctx.origin.to_text().rstrip(".")}" (p=none only reports); a subdomain zone '
            "inherits its parent domain's policy (RFC 7489 6.6.3): silence this code if that one exists",
        )


# RFC 7489 6.3: p= is required and comes right after v=DMARC1.
@rule("dmarc-policy", WARNING, "a DMARC record has a `p=` policy (none, quarantine, reject)", "RFC 7489 6.3")
def dmarc_policy(ctx: Context) -> Iterator[Hit]:
    for rrset in ctx.rrsets(TXT_CODE):
        if not rrset.owner.key or rrset.owner.key[0] != b"_dmarc":
            continue
        for r in rrset.records:
            text = _text(r)
            if _DMARC.match(text) and not _DMARC_P.search(text):
                yield hit(
                    r,
                    f"DMARC record {text.decode('utf-8', 'replace')!r} has no valid p= policy",
                    hint="write v=DMARC1; p=none (monitor), p=quarantine or p=reject",
                )


# RFC 7489 6.6.3: several DMARC records at one name mean none is used.
@rule("dmarc-multiple", WARNING, "`_dmarc` has at most one DMARC record", "RFC 7489 6.6.3")
def dmarc_multiple(ctx: Context) -> Iterator[Hit]:
    for rrset in ctx.rrsets(TXT_CODE):
        if not rrset.owner.key or rrset.owner.key[0] != b"_dmarc":
            continue
        dmarc = [r for r in rrset.records if _DMARC.match(_text(r))]
        for r in dmarc[1:]:
            yield hit(
                r,
                f"{text_of(r.owner, ctx.origin)} has {len(dmarc)} DMARC records; receivers then apply none",
                hint="keep one v=DMARC1 record",
            )
