"""DMARC (RFC 7489, DMARCbis np/psd/t accepted): the record's tags and report URIs, and the
external report authorization (7.1) when the report domain is a zone validated together.

hygiene.py asks whether a mail domain has DMARC with a `p=`; these rules judge the rest.
"""

from __future__ import annotations

from collections.abc import Iterator

from zonetool.findings import Severity
from zonetool.mailpolicy import dmarc
from zonetool.names import Name
from zonetool.rules.base import Context, Hit, hit, rule, text_of
from zonetool.rules.mailtext import at, domain_name, txt_answer, txt_records
from zonetool.zone import Record

ERROR, WARNING = Severity.ERROR, Severity.WARNING
MAX_URIS = 2  # RFC 7489 6.2: receivers need only send to two


def _dmarc(ctx: Context) -> list[tuple[Record, dmarc.Dmarc]]:
    def build(ctx: Context) -> list[tuple[Record, dmarc.Dmarc]]:
        return [(r, dmarc.parse(text)) for r, text in txt_records(ctx, b"_dmarc") if dmarc.is_dmarc(text)]

    return ctx.memo("dmarc", build)


# RFC 7489 6.4: v=DMARC1 is the first tag, exactly; a record that does not start so is ignored.
@rule("dmarc-version", ERROR, "a `_dmarc` TXT starts with `v=DMARC1`", "RFC 7489 6.4")
def dmarc_version(ctx: Context) -> Iterator[Hit]:
    for r, text in txt_records(ctx, b"_dmarc"):
        if dmarc.looks_like_dmarc(text):
            yield hit(r, f"DMARC record {text[:50]!r} does not start with v=DMARC1, so receivers ignore it",
                      hint="write v=DMARC1; p=... with v=DMARC1 first")


# RFC 7489 6.4: the record is a list of tag=value pairs, each tag once.
@rule("dmarc-syntax", ERROR, "a DMARC record is `tag=value` pairs separated by `;`, each tag once", "RFC 7489 6.4")
def dmarc_syntax(ctx: Context) -> Iterator[Hit]:
    for r, record in _dmarc(ctx):
        for offset, why in record.tags.errors:
            yield hit(r, f"DMARC {at(offset)}: {why}", hint="separate tags with ';', e.g. v=DMARC1; p=reject; rua=...")


# RFC 7489 6.3: unknown tags are ignored by receivers (often a misspelling).
@rule("dmarc-unknown-tag", WARNING, "DMARC tags are ones RFC 7489 or DMARCbis define", "RFC 7489 6.3")
def dmarc_unknown_tag(ctx: Context) -> Iterator[Hit]:
    for r, record in _dmarc(ctx):
        for t in record.tags.tags:
            if t.key not in dmarc.TAGS:
                yield hit(r, f"DMARC tag `{t.name}` {at(t.start)} is unknown; receivers ignore it",
                          hint="tags are v, p, sp, np, psd, t, rua, ruf, adkim, aspf, fo, pct, ri, rf")


REMOVED = {"pct": "sampling is gone: use t=y to test", "rf": "there is one report format", "ri": "reports are daily"}


# RFC 9989 (DMARCbis) drops pct, rf and ri; receivers that follow it ignore them.
@rule("dmarc-removed-tag", WARNING, "DMARC uses no tag DMARCbis removed (pct, rf, ri)", "RFC 9989")
def dmarc_removed_tag(ctx: Context) -> Iterator[Hit]:
    for r, record in _dmarc(ctx):
        for t in record.tags.tags:
            if t.key in REMOVED:
                yield hit(r, f"DMARC tag `{t.name}` {at(t.start)} was removed by DMARCbis (RFC 9989); receivers "
                          f"that follow it ignore it", hint=f"drop {t.name}= ({REMOVED[t.key]})")


# RFC 7489 6.3: sp/np, adkim/aspf, fo, pct, ri, rf (and DMARCbis psd, t) take fixed values.
@rule("dmarc-tag-value", ERROR, "DMARC tag values are ones RFC 7489 allows (pct 0..100, adkim r|s, ...)",
      "RFC 7489 6.3")
def dmarc_tag_value(ctx: Context) -> Iterator[Hit]:
    for r, record in _dmarc(ctx):
        for t in record.tags.tags:
            why = dmarc.value_problem(t)
            if why is not None:
                yield hit(r, f"DMARC {at(t.start)}: {why}", hint="see RFC 7489 6.3 for each tag's values")


# RFC 7489 6.2 / 6.3: rua and ruf are lists of mailto: URIs.
@rule("dmarc-report-uri", ERROR, "DMARC rua/ruf are `mailto:` URIs", "RFC 7489 6.2")
def dmarc_report_uri(ctx: Context) -> Iterator[Hit]:
    for r, record in _dmarc(ctx):
        for key in ("rua", "ruf"):
            tag = record.tag(key)
            for uri in dmarc.report_uris(tag) if tag else []:
                if uri.problem is not None:
                    yield hit(r, f"DMARC {key} {at(uri.start)}: {uri.problem}; no report is sent there",
                              hint=f"write {key}=mailto:dmarc-reports@example.com")


# RFC 7489 6.2: receivers need send reports to two URIs only; the rest may be dropped.
@rule("dmarc-too-many-uris", WARNING, "DMARC rua/ruf name at most 2 URIs each", "RFC 7489 6.2")
def dmarc_too_many_uris(ctx: Context) -> Iterator[Hit]:
    for r, record in _dmarc(ctx):
        for key in ("rua", "ruf"):
            tag = record.tag(key)
            uris = dmarc.report_uris(tag) if tag else []
            if len(uris) > MAX_URIS:
                yield hit(r, f"DMARC {key} {at(uris[MAX_URIS].start)}: {len(uris)} URIs; receivers may send to "
                          f"the first {MAX_URIS} only", hint="keep two report addresses")


def _same_organisation(a: Name, b: Name) -> bool:
    """A stand-in for organizational domains (no public suffix list): one is at or below the other."""
    return a.is_subdomain_of(b) or b.is_subdomain_of(a)


# RFC 7489 7.1: reports to another domain need its `<domain>._report._dmarc` consent record.
@rule("dmarc-external-report", WARNING, "a report domain in these zones authorizes the reports it is sent",
      "RFC 7489 7.1", cross_zone=True)
def dmarc_external_report(ctx: Context) -> Iterator[Hit]:
    for r, record in _dmarc(ctx):
        domain = r.owner.parent()
        for key in ("rua", "ruf"):
            tag = record.tag(key)
            for uri in dmarc.report_uris(tag) if tag else []:
                host = uri.mailbox_domain
                target = domain_name(host) if uri.problem is None and host else None
                if target is None or _same_organisation(domain, target):
                    continue
                zone = ctx.zone_of(target)
                if zone is None:
                    continue  # not ours to see: receivers check it in live DNS
                consent = Name((*domain.labels, b"_report", b"_dmarc", *target.labels))
                if not any(dmarc.is_dmarc(text) for _, text in txt_answer(zone, consent)):
                    yield hit(r, f"DMARC {key} {at(uri.start)} sends reports to {host}, which does not authorize "
                              f"them: {consent.to_text()} has no v=DMARC1 record, so receivers send nothing",
                              hint=f'add to zone {zone.origin.to_text()}: {consent.to_text()} TXT "v=DMARC1"')



# RFC 7489 7.2: aggregate reports go only to the rua= addresses; without one the domain learns nothing.
@rule("dmarc-no-rua", WARNING, "the `dmarc:` key of the mail block names where aggregate reports go (`rua`)",
      "RFC 7489 7.2")
def dmarc_no_rua(ctx: Context) -> Iterator[Hit]:
    for r, record in _dmarc(ctx):
        if r.origin == "mail" and record.tag("rua") is None:  # records written by hand: their owner's choice
            yield hit(r, f"DMARC at {text_of(r.owner, ctx.origin)} has no rua: no aggregate report will arrive, "
                      "so failing mail and abuse of the domain go unseen",
                      hint=f"rua: [dmarc-reports@{r.owner.parent().to_text().rstrip('.')}]")
