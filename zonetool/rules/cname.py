"""CNAME: an alias is alone at its name, never at the apex, and its chain ends somewhere."""

from __future__ import annotations

from collections.abc import Iterator

from zonetool.findings import Severity
from zonetool.names import Name
from zonetool.rrtypes import CNAME, type_name
from zonetool.rules.base import CNAME_CODE, Context, Hit, hit, rule, text_of
from zonetool.zone import Record

ERROR, WARNING = Severity.ERROR, Severity.WARNING
MAX_CHAIN = 8
# RFC 4035 2.5 / RFC 2181 10.1: DNSSEC records are the only data allowed beside a CNAME.
_ALLOWED_BESIDE = frozenset({CNAME_CODE, 46, 47})  # RRSIG, NSEC


def _cnames(ctx: Context) -> Iterator[tuple[Record, Name]]:
    """Each alias and its target; of several CNAMEs (cname-multiple) the lowest target, so the
    verdict does not depend on the order the records were written in."""
    for rrset in ctx.rrsets(CNAME_CODE):
        aliases = [(r.rdata.target, r) for r in rrset.records if isinstance(r.rdata, CNAME)]
        if aliases:
            target, r = min(aliases, key=lambda pair: pair[0])
            yield r, target


# RFC 1034 3.6.2 / RFC 2181 10.1: if a CNAME is present at a name, no other data is.
@rule(
    "cname-and-other-data", ERROR, "a CNAME is the only record at its name", "RFC 2181 10.1",
    unservable=True,
)
def cname_and_other_data(ctx: Context) -> Iterator[Hit]:
    for rrset in ctx.rrsets(CNAME_CODE):
        if rrset.owner == ctx.origin:
            continue  # cname-at-apex says it better
        others = sorted(code for code in ctx.zone.nodes[rrset.owner] if code not in _ALLOWED_BESIDE)
        if others:
            name = text_of(rrset.owner, ctx.origin)
            yield hit(
                rrset.records[0],
                f"{name} has a CNAME and also {', '.join(type_name(c) for c in others)} records",
                hint=f"a CNAME makes {name} an alias for all types: move the other records to the target",
            )


# RFC 1034 3.6.2 / RFC 2181 10.1: one name has at most one CNAME.
@rule("cname-multiple", ERROR, "a name has at most one CNAME", "RFC 2181 10.1", unservable=True)
def cname_multiple(ctx: Context) -> Iterator[Hit]:
    for rrset in ctx.rrsets(CNAME_CODE):
        for r in rrset.records[1:]:
            yield hit(r, f"{text_of(r.owner, ctx.origin)} has more than one CNAME", hint="keep one alias target")


# RFC 1912 2.4 / RFC 1034 3.6.2: the apex holds SOA and NS, so it can never be an alias.
@rule("cname-at-apex", ERROR, "the zone's apex is not a CNAME", "RFC 1912 2.4", unservable=True)
def cname_at_apex(ctx: Context) -> Iterator[Hit]:
    rrset = ctx.zone.rrset(ctx.origin, CNAME_CODE)
    if rrset is not None:
        yield hit(
            rrset.records[0],
            "the zone apex cannot be a CNAME: it must carry the SOA and NS records",
            hint="give the apex A/AAAA records (or use the provider's ALIAS/flattening outside DNS)",
        )


def _chains(ctx: Context) -> tuple[dict[Name, int], list[list[Name]]]:
    """Chain length from each in-zone alias (-1 if it runs into a loop) and the loops found.

    One pass with memoisation: each alias is walked once, so this stays linear.
    """
    target_of = {r.owner: t for r, t in _cnames(ctx)}
    length: dict[Name, int] = {}
    loops: list[list[Name]] = []
    for start in target_of:
        if start in length:
            continue
        path: list[Name] = []
        position: dict[Name, int] = {}
        n = start
        while n in target_of and n not in length:
            if n in position:
                cycle = path[position[n] :]
                loops.append(cycle)
                for m in cycle:
                    length[m] = -1
                break
            position[n] = len(path)
            path.append(n)
            n = target_of[n]
        tail = length.get(n, 0)
        for m in reversed(path):
            if m in length:
                tail = length[m]
                continue
            tail = -1 if tail == -1 else tail + 1
            length[m] = tail
    return length, loops


# RFC 1034 3.6.2 / RFC 2181 10.1: an alias chain that returns to itself never resolves.
@rule("cname-loop", ERROR, "CNAMEs do not point at each other in a loop", "RFC 1034 3.6.2")
def cname_loop(ctx: Context) -> Iterator[Hit]:
    _, loops = ctx.memo("cname-chains", _chains)
    for cycle in loops:
        first = min(cycle)
        start = cycle.index(first)
        cycle = cycle[start:] + cycle[:start]  # the same words whichever alias the walk met first
        rrset = ctx.zone.rrset(first, CNAME_CODE)
        assert rrset is not None
        ring = " -> ".join(text_of(n, ctx.origin) for n in [*cycle, cycle[0]])
        yield hit(rrset.records[0], f"CNAME loop: {ring}", hint="one of these names must hold real records")


# RFC 1034 5.3.3 / RFC 1912 2.4: resolvers give up on long alias chains (BIND follows at most ~16, some 8).
@rule("cname-chain", WARNING, f"a CNAME chain is at most {MAX_CHAIN} aliases long", "RFC 1912 2.4")
def cname_chain(ctx: Context) -> Iterator[Hit]:
    length, _ = ctx.memo("cname-chains", _chains)
    pointed_at = {t for _, t in _cnames(ctx) if t in length}
    for r, _t in _cnames(ctx):
        n = length.get(r.owner, 0)
        if n > MAX_CHAIN and r.owner not in pointed_at:
            yield hit(
                r,
                f"{text_of(r.owner, ctx.origin)} starts a chain of {n} CNAMEs (more than {MAX_CHAIN})",
                hint="point the first alias straight at the final name",
            )
