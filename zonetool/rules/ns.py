"""NS: enough apex servers, reachable name servers, glue for delegations, nothing hidden below a cut."""

from __future__ import annotations

from collections.abc import Iterator

from zonetool.findings import Severity
from zonetool.names import Name
from zonetool.rrtypes import NS, RRType, type_name
from zonetool.rules.base import (
    A_CODE,
    AAAA_CODE,
    NS_CODE,
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
DS_CODE, RRSIG_CODE, NSEC_CODE = int(RRType.DS), int(RRType.RRSIG), int(RRType.NSEC)
# RFC 4035 2.4 / 2.3: a signed parent keeps the DS, its NSEC and their RRSIGs at the cut, beside the NS.
_AT_CUT = frozenset({NS_CODE, DS_CODE, RRSIG_CODE, NSEC_CODE})


def _ns_records(ctx: Context) -> Iterator[tuple[Record, Name]]:
    for r in ctx.records(NS_CODE):
        if isinstance(r.rdata, NS):
            yield r, r.rdata.target


# RFC 1034 4.2.1: every zone has NS records at its apex naming its servers.
@rule("ns-apex-missing", ERROR, "the apex has NS records", "RFC 1034 4.2.1")
def ns_apex_missing(ctx: Context) -> Iterator[Hit]:
    if ctx.zone.rrset(ctx.origin, NS_CODE) is None:
        yield Hit(
            ctx.apex_where,
            f"zone {ctx.origin.to_text()} has no NS records at its apex",
            hint="add NS records at the apex (in YAML: nameservers: [ns1, ns2.example.net.])",
        )


# RFC 1034 4.1 / RFC 2182 5: a zone is served by at least two name servers, so one outage is survivable.
@rule("ns-apex-count", WARNING, "the apex has at least two NS records", "RFC 2182 5")
def ns_apex_count(ctx: Context) -> Iterator[Hit]:
    rrset = ctx.zone.rrset(ctx.origin, NS_CODE)
    if rrset is not None and len(rrset.records) < 2:
        yield hit(rrset.records[0], "the zone has only one name server", hint="add a second server, ideally elsewhere")


# RFC 2181 10.3: an NS target must not be an alias.
@rule("ns-target-cname", ERROR, "an NS target is not a CNAME", "RFC 2181 10.3")
def ns_target_cname(ctx: Context) -> Iterator[Hit]:
    yield from targets_that_are_cnames(ctx, _ns_records(ctx), "NS target")


# RFC 1034 4.2.1 / RFC 1912 2.3: an in-zone name server needs addresses here, or nobody can reach it.
@rule("ns-target-no-address", ERROR, "an in-zone NS target has A or AAAA records", "RFC 1034 4.2.1")
def ns_target_no_address(ctx: Context) -> Iterator[Hit]:
    yield from targets_without_address(ctx, _ns_records(ctx), "name server", yaml_addresses=False)


# RFC 1034 4.2.1 (glue): a name server at or below a delegation point needs its addresses in the parent.
@rule("glue-missing", ERROR, "a name server inside a delegated subzone has glue addresses", "RFC 1034 4.2.1")
def glue_missing(ctx: Context) -> Iterator[Hit]:
    if not ctx.zone.cuts:
        return
    for r, target in _ns_records(ctx):
        if ctx.in_zone(target) and ctx.zone.find_cut(target) is not None and not ctx.has_address(target, False):
            cut = ctx.zone.find_cut(target)
            assert cut is not None
            yield hit(
                r,
                f"name server {text_of(target, ctx.origin)} lies inside the delegated {text_of(cut, ctx.origin)} "
                "and has no glue A/AAAA here",
                hint=f"add an A/AAAA record for {text_of(target, ctx.origin)} (glue) in this zone",
            )


def _glue_targets(ctx: Context) -> set[Name]:
    return {t for _, t in _ns_records(ctx)}


# RFC 1034 4.2.1 / RFC 2181 6: below a delegation only glue is kept; other data is never served.
@rule("occluded-data", WARNING, "no data other than glue lies at or below a delegation point", "RFC 2181 6")
def occluded_data(ctx: Context) -> Iterator[Hit]:
    zone = ctx.zone
    if not zone.cuts:
        return
    glue = _glue_targets(ctx)
    for name in ctx.names:
        cut = zone.find_cut(name)
        if cut is None:
            continue
        node = zone.nodes[name]
        allowed = {A_CODE, AAAA_CODE} if name in glue else set()
        if name == cut:
            allowed |= _AT_CUT
        hidden = [code for code in sorted(node) if code not in allowed]
        if hidden:
            where = "at" if name == cut else "below"
            yield hit(
                node[hidden[0]].records[0],
                f"{', '.join(type_name(c) for c in hidden)} at {text_of(name, ctx.origin)} is {where} the "
                f"delegation point {text_of(cut, ctx.origin)} and will never be served from this zone",
                hint="publish it in the delegated zone, or remove the delegation",
            )
