"""SPF (RFC 7208): grammar, the 10-lookup limit across the zones validated together, void lookups.

hygiene.py asks whether a mail domain has SPF at all; these rules judge every SPF record,
wherever it was written. Include and redirect targets in a zone validated together are
followed, so their lookups count too; targets elsewhere count as one term each.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

from zonetool.findings import Severity
from zonetool.mailpolicy import spf
from zonetool.names import Name
from zonetool.rules.base import MX_CODE, TXT_CODE, Context, Hit, hit, rule, text_of
from zonetool.rules.mailtext import ADDRESS, at, domain_name, resolves, txt_at, txt_records
from zonetool.zone import Record, Zone

ERROR, WARNING = Severity.ERROR, Severity.WARNING
MAX_LOOKUPS, MAX_VOID = 10, 2  # RFC 7208 4.6.4


# Parsed records are frozen (spf.Spf, spf.Term) and a pure function of the text, and a provider's
# 10,000 customers publish a handful of texts (and each one's include target is read by all of them):
# each text is parsed once per process, not once per zone that has or follows it (issue 11).
_parse = functools.lru_cache(maxsize=4096)(spf.parse)
_domain = functools.lru_cache(maxsize=4096)(domain_name)


def _spf(ctx: Context) -> list[tuple[Record, spf.Spf]]:
    """Every SPF record of the zone, parsed once per run."""

    def build(ctx: Context) -> list[tuple[Record, spf.Spf]]:
        return [(r, parsed) for r, text in txt_records(ctx) if (parsed := _parse(text)) is not None]

    return ctx.memo("spf", build)


def _term_problems(ctx: Context, kind: str) -> Iterator[Hit]:
    for r, record in _spf(ctx):
        for t in record.terms:
            if t.problem is not None and t.problem[0] == kind:
                yield hit(r, f"SPF term `{t.text}` {at(t.start)}: {t.problem[1]}", hint=_HINTS[kind])


_HINTS = {
    spf.SYNTAX: "receivers treat the whole record as a permanent error (permerror): fix or drop the term",
    spf.UNKNOWN: "mechanisms are all, include, a, mx, ptr, ip4, ip6, exists; modifiers are written name=value",
    spf.IP: "write ip4:192.0.2.0/24 or ip6:2001:db8::/32 (prefix 0..32 for IPv4, 0..128 for IPv6)",
}


# RFC 7208 4.6 / 5: a term that breaks the grammar makes the record a permerror.
@rule("spf-syntax", ERROR, "every SPF term follows the grammar (a permerror otherwise)", "RFC 7208 4.6")
def spf_syntax(ctx: Context) -> Iterator[Hit]:
    yield from _term_problems(ctx, spf.SYNTAX)


# RFC 7208 5: an unknown mechanism is a permerror (unknown modifiers are ignored).
@rule("spf-unknown-mechanism", ERROR, "SPF mechanisms are ones RFC 7208 defines", "RFC 7208 5")
def spf_unknown_mechanism(ctx: Context) -> Iterator[Hit]:
    yield from _term_problems(ctx, spf.UNKNOWN)


# RFC 7208 5.6: ip4/ip6 take an address of their family and a prefix length within it.
@rule("spf-bad-ip", ERROR, "ip4:/ip6: hold an address of their family and a valid prefix length", "RFC 7208 5.6")
def spf_bad_ip(ctx: Context) -> Iterator[Hit]:
    yield from _term_problems(ctx, spf.IP)


# RFC 7208 4.5: only a record starting with exactly `v=spf1` is SPF; a near miss is ignored.
@rule("spf-version", WARNING, "a TXT meant as SPF starts with exactly `v=spf1`", "RFC 7208 4.5")
def spf_version(ctx: Context) -> Iterator[Hit]:
    for r, text in txt_records(ctx):
        if spf.looks_like_spf(text):
            yield hit(r, f"TXT {text[:40]!r} looks like SPF but does not start with `v=spf1 `, so receivers ignore it",
                      hint="start the record with v=spf1 followed by a space")


# RFC 7208 5.5: ptr is slow and unreliable; it SHOULD NOT be used.
@rule("spf-ptr", WARNING, "SPF does not use the `ptr` mechanism", "RFC 7208 5.5")
def spf_ptr(ctx: Context) -> Iterator[Hit]:
    for r, record in _spf(ctx):
        for t in record.mechanisms:
            if t.name == "ptr" and t.problem is None:
                yield hit(r, f"SPF term `{t.text}` {at(t.start)}: ptr SHOULD NOT be used (slow, and many receivers "
                          "skip it)", hint="list the sending hosts with ip4:/ip6: or a: instead")


# RFC 7208 6.1: redirect= is ignored when the record has an `all` mechanism.
@rule("spf-redirect-with-all", WARNING, "an SPF record has `redirect=` or `all`, not both", "RFC 7208 6.1")
def spf_redirect_with_all(ctx: Context) -> Iterator[Hit]:
    for r, record in _spf(ctx):
        redirect = record.modifier("redirect")
        if redirect is not None and any(t.name == "all" for t in record.mechanisms):
            yield hit(r, f"SPF `{redirect.text}` {at(redirect.start)} is never used: the record also has `all`",
                      hint="drop the all mechanism to hand over to the redirect, or drop the redirect")


# RFC 7208 3.4: the SPF answer should fit a 512-octet UDP reply (no truncation, no TCP retry).
@rule("spf-too-long", WARNING, "the TXT answer that holds SPF fits in 512 octets", "RFC 7208 3.4")
def spf_too_long(ctx: Context) -> Iterator[Hit]:
    seen: set[Name] = set()
    for r, _record in _spf(ctx):
        if r.owner in seen:
            continue
        seen.add(r.owner)
        rrset = ctx.zone.rrset(r.owner, TXT_CODE)
        records = rrset.records if rrset else [r]
        # header, question (name + type + class), then each answer: pointer, type/class/ttl/length, data
        size = 12 + r.owner.wire_length() + 4 + sum(2 + 10 + len(x.rdata.to_wire()) for x in records)
        if size > 512:
            yield hit(r, f"the TXT answer at {text_of(r.owner, ctx.origin)} is {size} octets, over 512: some "
                      "receivers never get the SPF record", hint="shorten it: ip4:/ip6: ranges, fewer includes, or "
                      "move other TXT records off this name")


def _spf_at(zone: Zone, name: Name) -> list[spf.Spf]:
    return [p for _, text in txt_at(zone, name) if (p := _parse(text)) is not None]


class _Walk:
    """The lookups an SPF record costs, following include/redirect into the zones validated together."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.done: dict[Name, int] = {}
        self.outside: list[str] = []  # targets counted as one term (not in a zone validated here)
        self.loops: list[str] = []
        self.missing: list[str] = []

    def count(self, record: spf.Spf, stack: tuple[Name, ...]) -> int:
        total = 0
        has_all = any(t.name == "all" for t in record.mechanisms)
        for t in record.lookups:
            if t.name == "redirect" and has_all:
                continue
            total += 1
            if t.name in ("include", "redirect") and t.target is not None:
                total += self.follow(t.target, stack)
        return total

    def follow(self, target: str, stack: tuple[Name, ...]) -> int:
        name = _domain(target)
        zone = self.ctx.zone_of(name) if name is not None else None
        if name is None or zone is None:
            self.outside.append(target)
            return 0
        if name in stack:
            self.loops.append(" -> ".join(n.to_text() for n in (*stack, name)))
            return 0
        if name not in self.done:
            found = _spf_at(zone, name)
            if len(found) != 1:
                self.missing.append(target)
                self.done[name] = 0
            else:
                self.done[name] = self.count(found[0], (*stack, name))
        return self.done[name]


def _walks(ctx: Context) -> list[tuple[Record, int, _Walk]]:
    def build(ctx: Context) -> list[tuple[Record, int, _Walk]]:
        out = []
        for r, record in _spf(ctx):
            walk = _Walk(ctx)
            out.append((r, walk.count(record, (r.owner,)), walk))
        return out

    return ctx.memo("spf-walks", build)


# RFC 7208 4.6.4: at most 10 terms that query DNS, includes and redirects followed.
@rule("spf-too-many-lookups", ERROR, "SPF needs at most 10 DNS lookups, includes followed", "RFC 7208 4.6.4",
      cross_zone=True)
def spf_too_many_lookups(ctx: Context) -> Iterator[Hit]:
    for r, total, walk in _walks(ctx):
        if total > MAX_LOOKUPS:
            note = ""
            if walk.outside:
                note = f" ({len(walk.outside)} include(s) outside the zones validated here counted as one each; " \
                       "they may cost more)"
            yield hit(r, f"SPF record at {text_of(r.owner, ctx.origin)} needs {total} DNS lookups, at most "
                      f"{MAX_LOOKUPS}: a permanent error for every receiver{note}",
                      hint="replace a:/mx:/include: terms by ip4:/ip6: ranges, or drop includes nobody sends through")


# RFC 7208 5.2: an include that leads back to itself never ends (receivers stop with permerror).
@rule("spf-include-loop", ERROR, "SPF includes and redirects do not loop", "RFC 7208 5.2", cross_zone=True)
def spf_include_loop(ctx: Context) -> Iterator[Hit]:
    for r, _total, walk in _walks(ctx):
        for loop in walk.loops[:1]:
            yield hit(r, f"SPF include/redirect loop: {loop}",
                      hint="break the loop: one of them must not include the other")


# RFC 7208 5.2 / 6.1: an include or redirect target without exactly one SPF record is a permerror.
@rule("spf-include-no-spf", ERROR, "an include/redirect target in these zones has one SPF record", "RFC 7208 5.2",
      cross_zone=True)
def spf_include_no_spf(ctx: Context) -> Iterator[Hit]:
    for r, record in _spf(ctx):
        for t in record.terms:
            if t.name not in ("include", "redirect") or t.target is None or t.problem is not None:
                continue
            name = _domain(t.target)
            zone = ctx.zone_of(name) if name is not None else None
            if name is not None and zone is not None and len(_spf_at(zone, name)) != 1:
                yield hit(r, f"SPF `{t.text}` {at(t.start)}: {t.target} publishes "
                          f"{len(_spf_at(zone, name)) or 'no'} SPF record(s), so receivers stop with a permanent error",
                          hint=f"publish one v=spf1 record at {t.target}, or drop the term")


def _voids(ctx: Context, owner: Name, record: spf.Spf) -> list[spf.Term]:
    """The a/mx/exists terms whose name is in a zone validated here and answers nothing (4.6.4)."""
    out = []
    for t in record.mechanisms:
        if t.name not in ("a", "mx", "exists") or t.problem is not None:
            continue
        name = _domain(t.target) if t.target else owner
        if name is None or "%" in (t.target or ""):
            continue
        zone = ctx.zone_of(name)
        codes = (MX_CODE,) if t.name == "mx" else ADDRESS
        if zone is not None and not resolves(zone, name, codes):
            out.append(t)
    return out


# RFC 7208 4.6.4: a lookup that finds nothing counts against the limit of 2 void lookups.
@rule("spf-void-lookup", WARNING, "SPF a/mx/exists terms name hosts that exist", "RFC 7208 4.6.4", cross_zone=True)
def spf_void_lookup(ctx: Context) -> Iterator[Hit]:
    for r, record in _spf(ctx):
        for t in _voids(ctx, r.owner, record):
            name = t.target or text_of(r.owner, ctx.origin)
            what = "MX records" if t.name == "mx" else "A or AAAA records"
            yield hit(r, f"SPF `{t.text}` {at(t.start)}: {name} has no {what}, a void lookup",
                      hint="add the records, or drop the term (more than 2 void lookups is a permanent error)")


# RFC 7208 4.6.4: more than 2 void lookups is a permerror.
@rule("spf-too-many-void-lookups", ERROR, "SPF has at most 2 void lookups", "RFC 7208 4.6.4", cross_zone=True)
def spf_too_many_void_lookups(ctx: Context) -> Iterator[Hit]:
    for r, record in _spf(ctx):
        voids = _voids(ctx, r.owner, record)
        if len(voids) > MAX_VOID:
            yield hit(r, f"SPF record at {text_of(r.owner, ctx.origin)} has {len(voids)} void lookups "
                      f"({', '.join(t.text for t in voids)}), at most {MAX_VOID}: a permanent error",
                      hint="drop the terms that name hosts without records")
