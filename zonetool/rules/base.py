"""The rule registry and the per-run index every rule shares.

A rule is a function `check(ctx) -> Iterable[Hit]` registered with `@rule(code, ...)`.
The registry owns each code's severity, summary and RFC, so a rule cannot report under
a code it does not own and the README table is generated from one place.

Rules must stay linear in zone size (1M records): they read the indexes that
`Context` builds once (RRsets grouped by type, names in canonical order) instead of
scanning the whole zone per record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, NamedTuple, TypeVar

from zonetool.findings import Finding, Severity, Where
from zonetool.names import Name, looks_like_address
from zonetool.zone import Record, RRset, RRType, Zone

A_CODE, NS_CODE, CNAME_CODE, SOA_CODE, MX_CODE, TXT_CODE, AAAA_CODE, SRV_CODE, CAA_CODE = map(
    int,
    (RRType.A, RRType.NS, RRType.CNAME, RRType.SOA, RRType.MX, RRType.TXT, RRType.AAAA, RRType.SRV, RRType.CAA),
)


class Hit(NamedTuple):
    """One problem a rule found; the registry turns it into a Finding with the rule's code."""

    where: Where
    message: str
    hint: str | None = None


def hit(record: Record, message: str, hint: str | None = None) -> Hit:
    """A hit at a record's own place (passed through untouched for the edges to resolve)."""
    return Hit(record.where, message, hint)


T = TypeVar("T")


def field_where(where: Where, key: str) -> Where:
    """The place of one field of a record: a spec path grows by `key`; a placed (file:line) Where stays.

    The YAML edge resolves a path the text lacks (a defaulted field) to its parent, so this
    never loses the record's own position.
    """
    return where.child(key) if where.line is None and where.path else where


Check = Callable[["Context"], Iterable[Hit]]


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    severity: Severity
    family: str
    summary: str
    rfc: str
    check: Check
    # NSD refuses to load a zone with this finding, so `serve` does not serve it either (issue 10);
    # tests/test_serve_policy.py holds each such rule against nsd-checkzone.
    unservable: bool = False
    # The rule reads the other zones validated together (`Context.peers`): a load of many zones
    # leaves it to crosszone.refine, which runs it once per zone when every zone is loaded.
    cross_zone: bool = False

    def run(self, ctx: Context) -> Iterator[Finding]:
        for h in self.check(ctx):
            yield Finding(self.code, self.severity, h.message, h.where, h.hint)


RULES: dict[str, Rule] = {}


def family_of(check: Check) -> str:
    """The family of a rule: the last part of its module's name."""
    return check.__module__.rpartition(".")[2]


def rule(
    code: str, severity: Severity, summary: str, rfc: str, *, unservable: bool = False, cross_zone: bool = False
) -> Callable[[Check], Check]:
    """Register `check` under a stable code (codes are what zones silence: never rename one).

    The rule's family is the module it is written in (`zonetool/rules/mx.py` -> "mx"), so a
    rule cannot sit in one family's file and be listed under another.
    `unservable`: a real authoritative server (NSD) refuses the whole zone for this finding.
    `cross_zone`: the rule also reads `ctx.peers` (SPF include targets, DMARC report domains).
    """

    def register(check: Check) -> Check:
        if code in RULES:
            raise ValueError(f"rule code {code!r} registered twice")
        RULES[code] = Rule(code, severity, family_of(check), summary, rfc, check, unservable, cross_zone)
        return check

    return register


class Peers(dict[Name, Zone]):
    """The zones validated together, by origin (the judged zone may be among them), with indexes
    over all of them built once per run rather than once per zone (10,000 zones stay linear)."""

    def __init__(self, zones: Iterable[Zone] = ()) -> None:
        super().__init__((z.origin, z) for z in zones)
        self._memo: dict[str, Any] = {}

    def memo(self, key: str, build: Callable[[Peers], T]) -> T:
        if key not in self._memo:
            self._memo[key] = build(self)
        return self._memo[key]  # type: ignore[no-any-return]


class Context:
    """Indexes over one zone, built once per run and shared by every rule.

    `peers`: the other zones validated together, by origin (empty when a zone is judged alone; the
    zone itself may be among them); only `cross_zone` rules read them.
    """

    def __init__(self, zone: Zone, peers: Mapping[Name, Zone] | None = None) -> None:
        self.zone = zone
        self.origin = zone.origin
        self.peers: Mapping[Name, Zone] = peers or {}
        self._memo: dict[str, Any] = {}

    def zone_of(self, name: Name) -> Zone | None:
        """The zone (this one or a peer) whose data answers for `name`, or None: the deepest origin
        above it, unless `name` is below a delegation there (then that data is not authoritative)."""
        labels = name.labels
        for i in range(len(labels) + 1):  # deepest origin first: O(depth), not O(peers)
            above = Name(labels[i:])
            found = self.zone if above == self.origin else self.peers.get(above)
            if found is not None:
                return None if found.find_cut(name) is not None else found
        return None

    def across(self, key: str, build: Callable[[Iterable[Zone]], T]) -> T:
        """An index over this zone and every peer: built once for all zones of a run when the
        peers are a `Peers` (which then hold this zone too), else for this context."""
        if isinstance(self.peers, Peers) and self.peers.get(self.origin) is self.zone:
            return self.peers.memo(key, lambda peers: build(peers.values()))
        return self.memo(key, lambda ctx: build([ctx.zone, *(z for z in ctx.peers.values() if z is not ctx.zone)]))

    def memo(self, key: str, build: Callable[[Context], T]) -> T:
        """An index several rules share (e.g. CNAME chains), built by the first that asks."""
        if key not in self._memo:
            self._memo[key] = build(self)
        return self._memo[key]  # type: ignore[no-any-return]

    @cached_property
    def names(self) -> list[Name]:
        """Owner names in canonical order: findings come out in a stable, readable order."""
        return self.zone.names()

    @cached_property
    def by_type(self) -> dict[int, list[RRset]]:
        """RRsets grouped by type code, owners in canonical order."""
        index: dict[int, list[RRset]] = {}
        nodes = self.zone.nodes
        for name in self.names:
            for code, rrset in nodes[name].items():
                index.setdefault(code, []).append(rrset)
        return index

    def rrsets(self, code: int) -> list[RRset]:
        return self.by_type.get(code, [])

    def records(self, code: int) -> Iterator[Record]:
        for rrset in self.rrsets(code):
            yield from rrset.records

    @cached_property
    def rrset_list(self) -> list[RRset]:
        """Every RRset, owners in canonical order (built once; several rules walk it)."""
        nodes = self.zone.nodes
        return [rrset for name in self.names for rrset in nodes[name].values()]

    def all_rrsets(self) -> list[RRset]:
        return self.rrset_list

    # -- name questions (O(depth) each, no zone scans) ---------------------------
    def in_zone(self, name: Name) -> bool:
        return name.is_subdomain_of(self.origin)

    def is_cname(self, name: Name) -> bool:
        node = self.zone.nodes.get(name)
        return node is not None and CNAME_CODE in node

    def cname_target(self, name: Name) -> Name | None:
        node = self.zone.nodes.get(name)
        rrset = node.get(CNAME_CODE) if node else None
        return rrset.records[0].rdata.targets()[0] if rrset else None

    def has_address(self, name: Name, wildcards: bool = True) -> bool:
        """True if `name` owns A/AAAA, directly or through a wildcard that would answer for it (RFC 4592).

        Glue (below a delegation) is never synthesised, so callers checking glue pass wildcards=False.
        """
        nodes = self.zone.nodes
        node = nodes.get(name)
        if node is not None:
            return A_CODE in node or AAAA_CODE in node
        if not wildcards or self.zone.exists(name):  # an empty non-terminal: no synthesis (RFC 4592 2.2.2)
            return False
        # Closest encloser, then its wildcard child.
        depth = len(self.origin.labels)
        labels = name.labels
        for i in range(1, len(labels) - depth + 1):
            encloser = Name(labels[i:])
            if self.zone.exists(encloser):
                wild = nodes.get(encloser.child(b"*"))
                return wild is not None and (A_CODE in wild or AAAA_CODE in wild)
        return False

    def needs_address(self, name: Name) -> bool:
        """An in-zone host we must publish addresses for, and do not (CNAMEs and address-looking
        names are reported by their own rules, so one mistake gives one finding)."""
        return (
            self.authoritative(name)
            and not self.is_cname(name)
            and not self.has_address(name)
            and looks_like_address(name, self.origin) is None
        )

    def authoritative(self, name: Name) -> bool:
        """In the zone and not at or below a delegation point: its data is ours to check."""
        return self.in_zone(name) and self.zone.find_cut(name) is None

    @cached_property
    def apex_where(self) -> Where:
        """Where to point zone-wide findings that have no record of their own: the SOA."""
        soa = self.zone.soa_record()
        return soa.where if soa is not None else Where(self.zone.file)


def text_of(name: Name, origin: Name) -> str:
    """A name as the user most likely wrote it: relative to the origin."""
    return name.relativize(origin)


def targets_that_are_cnames(ctx: Context, pairs: Iterable[tuple[Record, Name]], what: str) -> Iterator[Hit]:
    """Shared body of mx/ns/srv-target-cname: a target that is an alias (RFC 2181 10.3)."""
    for r, target in pairs:
        canonical = ctx.cname_target(target)
        if canonical is not None:
            yield hit(
                r,
                f"{what} {text_of(target, ctx.origin)} is a CNAME",
                hint=f"name the canonical host name {text_of(canonical, ctx.origin)} instead",
            )


def targets_without_address(
    ctx: Context, pairs: Iterable[tuple[Record, Name]], what: str, *, yaml_addresses: bool = True
) -> Iterator[Hit]:
    """Shared body of mx/ns/srv-target-no-address: an in-zone target with no A or AAAA record.

    `yaml_addresses` says whether the YAML block that names such targets takes `addresses:`
    (exchangers and SRV targets do, `nameservers:` does not), so the hint only offers what exists.
    """
    for r, target in pairs:
        if ctx.needs_address(target):
            name = text_of(target, ctx.origin)
            hint = f"add an A/AAAA record for {name}"
            if yaml_addresses:
                hint = f"add addresses: [...] to it in the YAML, or an A/AAAA record for {name}"
            yield hit(r, f"{what} {name} is in this zone but has no A or AAAA record", hint=hint)
