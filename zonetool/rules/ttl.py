"""Zone-wide record hygiene: RRset TTLs, duplicates, out-of-zone owners, SOA timers, CAA."""

from __future__ import annotations

import re
from collections.abc import Iterator

from zonetool.findings import Severity, Where
from zonetool.rrtypes import CAA, MAX_RDATA, SOA, RRType, rdata_length, type_name
from zonetool.rules.base import CAA_CODE, Context, Hit, field_where, hit, rule, text_of
from zonetool.zone import RRset

ERROR, WARNING = Severity.ERROR, Severity.WARNING
MAX_TTL = 2147483647  # RFC 2181 8
DAY, WEEK = 86400, 604800
RRSIG_CODE = int(RRType.RRSIG)
MAX_MESSAGE = MAX_RDATA  # the same 16 bits: a TCP message's length prefix (RFC 1035 4.2.2)


def _fmt(seconds: int) -> str:
    for unit, size in (("w", WEEK), ("d", DAY), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# RFC 2181 8: a TTL is 0..2^31-1; the compilers refuse more, this guards any other source.
@rule("ttl-range", ERROR, "TTLs are 0..2147483647 seconds", "RFC 2181 8")
def ttl_range(ctx: Context) -> Iterator[Hit]:
    for rrset in ctx.all_rrsets():
        for r in rrset.records:
            if not 0 <= r.ttl <= MAX_TTL:
                yield hit(r, f"TTL {r.ttl} of {r.rtype} at {text_of(r.owner, ctx.origin)} is outside 0..{MAX_TTL}")


# RFC 2181 5.2: all records of one RRset must have the same TTL.
@rule("rrset-ttl-mismatch", WARNING, "all records of one RRset share one TTL", "RFC 2181 5.2")
def rrset_ttl_mismatch(ctx: Context) -> Iterator[Hit]:
    for rrset in ctx.all_rrsets():
        if rrset.code == RRSIG_CODE:
            continue  # RFC 4034 3: each RRSIG carries the TTL of the RRset it covers, so they differ
        first = rrset.records[0].ttl
        for r in rrset.records[1:]:
            if r.ttl != first:
                yield hit(
                    r,
                    f"{r.rtype} at {text_of(r.owner, ctx.origin)} has TTL {r.ttl} but the same RRset has {first}",
                    hint="give every record of this name and type the same ttl (servers use the lowest)",
                )
    # A repeated record with its own TTL is a TTL conflict too, whichever copy came first.
    for r in ctx.zone.duplicates:
        rrset = ctx.zone.rrset(r.owner, r.code)
        if rrset is not None and r.code != RRSIG_CODE and r.ttl != rrset.records[0].ttl:
            yield hit(
                r,
                f"{r.rtype} at {text_of(r.owner, ctx.origin)} is repeated with TTL {r.ttl}; "
                f"the RRset has {rrset.records[0].ttl}",
                hint="give every record of this name and type the same ttl (servers use the lowest)",
            )


# RFC 2181 5: an RRset is a set, so a repeated record is dropped by every server.
@rule("duplicate-record", WARNING, "each record is written once", "RFC 2181 5")
def duplicate_record(ctx: Context) -> Iterator[Hit]:
    for r in ctx.zone.duplicates:
        yield hit(
            r,
            f"duplicate {r.rtype} {r.rdata.to_text(ctx.origin)} at {text_of(r.owner, ctx.origin)}",
            hint="remove the repeat; only one copy is published",
        )


# RFC 1034 4.2 / RFC 1035 5.2: a zone holds only names at or below its origin.
@rule("owner-outside-origin", ERROR, "owner names are at or below the origin", "RFC 1034 4.2", unservable=True)
def owner_outside_origin(ctx: Context) -> Iterator[Hit]:
    for name in ctx.names:
        if not ctx.in_zone(name):
            for rrset in ctx.zone.nodes[name].values():
                r = rrset.records[0]
                yield hit(
                    r,
                    f"{name.to_text()} is outside the zone {ctx.origin.to_text()}",
                    hint="names without a trailing dot are relative to the origin; drop the dot or fix the name",
                )


# RFC 1035 5.2: a zone file starts its authority with exactly one SOA at the apex.
@rule("soa-missing", ERROR, "the apex has an SOA record", "RFC 1035 5.2", unservable=True)
def soa_missing(ctx: Context) -> Iterator[Hit]:
    if ctx.zone.soa_record() is None:
        yield Hit(Where(ctx.zone.file), f"zone {ctx.origin.to_text()} has no SOA record")


def _soa(ctx: Context) -> tuple[Where, SOA] | None:
    record = ctx.zone.soa_record()
    if record is None or not isinstance(record.rdata, SOA):
        return None
    return record.where, record.rdata


# RFC 1912 2.2: refresh 20 minutes to 12 hours.
@rule("soa-refresh", WARNING, "SOA refresh is between 20 minutes and 12 hours", "RFC 1912 2.2")
def soa_refresh(ctx: Context) -> Iterator[Hit]:
    got = _soa(ctx)
    if got and not 1200 <= got[1].refresh <= 43200:
        yield Hit(
            field_where(got[0], "refresh"),
            f"SOA refresh {_fmt(got[1].refresh)} is outside 20m..12h",
            "refresh: 1h to 2h suits most zones",
        )


# RFC 1912 2.2: retry is shorter than refresh.
@rule("soa-retry", WARNING, "SOA retry is shorter than refresh", "RFC 1912 2.2")
def soa_retry(ctx: Context) -> Iterator[Hit]:
    got = _soa(ctx)
    if got and got[1].retry >= got[1].refresh:
        where, soa = got
        yield Hit(
            field_where(where, "retry"),
            f"SOA retry {_fmt(soa.retry)} is not shorter than refresh {_fmt(soa.refresh)}",
            "retry is how soon a secondary tries again after a failed refresh: make it a fraction of refresh",
        )


# RFC 1912 2.2: expire is longer than refresh + retry, and 1-4 weeks so secondaries survive an outage.
@rule("soa-expire", WARNING, "SOA expire is at least a week and longer than refresh + retry", "RFC 1912 2.2")
def soa_expire(ctx: Context) -> Iterator[Hit]:
    got = _soa(ctx)
    if not got:
        return
    where, soa = got
    where = field_where(where, "expire")
    if soa.expire <= soa.refresh + soa.retry:
        yield Hit(
            where,
            f"SOA expire {_fmt(soa.expire)} is not longer than refresh + retry ({_fmt(soa.refresh + soa.retry)})",
            "expire: 1w to 4w",
        )
    elif soa.expire < WEEK:
        yield Hit(
            where,
            f"SOA expire {_fmt(soa.expire)} is shorter than a week; secondaries drop the zone "
            "after a short primary outage",
            "expire: 1w to 4w",
        )


# RFC 2308 5: the negative-caching TTL (SOA MINIMUM) is 1-3 hours typically, at most a day.
@rule("soa-minimum", WARNING, "SOA negative-caching TTL (MINIMUM) is at most a day", "RFC 2308 5")
def soa_minimum(ctx: Context) -> Iterator[Hit]:
    got = _soa(ctx)
    if got and got[1].minimum > DAY:
        yield Hit(
            field_where(got[0], "negative"),
            f"SOA negative-caching TTL {_fmt(got[1].minimum)} is longer than a day; "
            "a name added later stays unknown to resolvers that long",
            "negative: 5m to 3h",
        )


CAA_KNOWN = frozenset({"issue", "issuewild", "iodef", "contactemail", "contactphone", "issuemail", "issuevmc"})
# RFC 8659 4.2: issuer-domain-name *(";" parameter); parameter = tag "=" value.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_CAA_ISSUE = re.compile(
    rf"^[ \t]*(?:{_LABEL}(?:\.{_LABEL})*)?[ \t]*"
    r"(?:;(?:[ \t]*[A-Za-z0-9]+[ \t]*=[ \t]*[\x21-\x3a\x3c-\x7e]*[ \t]*)?)*$"
)
_IODEF = re.compile(r"^(?:mailto:[^@\s]+@[^@\s]+|https?://[^\s/]+\S*)$", re.I)


# RFC 8659 4.2-4.4 and the IANA CAA registry: unknown tags are ignored by CAs (refused if critical).
@rule("caa-unknown-tag", WARNING, "CAA tag is one CAs know (issue, issuewild, iodef, ...)", "RFC 8659 4")
def caa_unknown_tag(ctx: Context) -> Iterator[Hit]:
    for r in ctx.records(CAA_CODE):
        rd = r.rdata
        if isinstance(rd, CAA) and rd.tag.lower() not in CAA_KNOWN:
            critical = " and is marked critical, so CAs refuse to issue" if rd.flags & 128 else ""
            yield hit(
                r,
                f"CAA tag {rd.tag!r} is not a registered tag{critical}",
                f"known tags: {', '.join(sorted(CAA_KNOWN))}",
            )


# RFC 8659 4.4: iodef value is a mailto: or http(s): URL.
@rule("caa-iodef", ERROR, "CAA iodef is a mailto: or http(s): URL", "RFC 8659 4.4")
def caa_iodef(ctx: Context) -> Iterator[Hit]:
    for r in ctx.records(CAA_CODE):
        rd = r.rdata
        if isinstance(rd, CAA) and rd.tag.lower() == "iodef":
            value = rd.value.decode("utf-8", "replace")
            if not _IODEF.match(value):
                yield hit(
                    r,
                    f"CAA iodef {value!r} is not a mailto:, http: or https: URL",
                    'e.g. 0 iodef "mailto:security@example.com"',
                )


# RFC 8659 4.2-4.3: issue/issuewild value is a CA domain name (or empty) plus ;key=value parameters.
@rule("caa-issue-value", ERROR, "CAA issue/issuewild value is a CA domain and parameters", "RFC 8659 4.2")
def caa_issue_value(ctx: Context) -> Iterator[Hit]:
    for r in ctx.records(CAA_CODE):
        rd = r.rdata
        if isinstance(rd, CAA) and rd.tag.lower() in ("issue", "issuewild"):
            try:
                value = rd.value.decode("ascii")
            except UnicodeDecodeError:
                value = None
            if value is None or not _CAA_ISSUE.match(value):
                yield hit(
                    r,
                    f"CAA {rd.tag} value {rd.value.decode('utf-8', 'replace')!r} is not 'ca-domain; key=value'",
                    'e.g. 0 issue "letsencrypt.org" or 0 issue ";" to forbid issuance',
                )


# Wire octets of one record after the owner, which a packer compresses to a 2-octet pointer:
# TYPE, CLASS, TTL, RDLENGTH (RFC 1035 4.1.3).
_RR_FIXED = 2 + 10
# Without TXT, CAA or RFC 3597 data, a record is at most this long (two 255-octet names + SOA timers).
_SHORT_RR = _RR_FIXED + 255 + 255 + 20


def message_size(rrset: RRset) -> int:
    """Octets of the smallest message that carries the whole RRset: header, question, records."""
    return 12 + rrset.owner.wire_length() + 4 + sum(_RR_FIXED + rdata_length(r.rdata) for r in rrset.records)


# RFC 1035 3.2.1, 4.2.2: a message over TCP is at most 65,535 octets; RFC 2181 5.1: an RRset is sent whole.
@rule("rrset-too-big", ERROR, "every RRset fits one DNS message (65,535 octets, even over TCP)",
      "RFC 1035 4.2.2")
def rrset_too_big(ctx: Context) -> Iterator[Hit]:
    room = MAX_MESSAGE - 12 - 255 - 4
    for rrset in ctx.all_rrsets():
        records = rrset.records
        if len(records) * _SHORT_RR <= room and all(not r.rdata.long for r in records):
            continue  # cannot be too big: most RRsets of a big zone stop here
        size = message_size(rrset)
        if size > MAX_MESSAGE:
            yield hit(records[0], f"{text_of(rrset.owner, ctx.origin)} {type_name(rrset.code)}: its "
                      f"{len(records)} records need a {size:,}-octet message, more than {MAX_MESSAGE:,}; "
                      "no server can send them", hint="split the data over fewer, smaller records or several names")
