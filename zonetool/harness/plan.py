"""The reference delivery plan: what a compliant sender does with the DNS it is given.

Pure logic over a `Resolver` (anything with `resolve(name, qtype) -> Result`): the zone-backed
and wire resolvers live in `resolvers.py`, tests may pass their own. No sockets, no terminal.

The rules, with their sources:
- MX: lowest preference first; equal preferences in random order (RFC 5321 5.1).
- No MX at all (NOERROR, no MX data): the domain's own A/AAAA is an implicit MX of preference 0
  (RFC 5321 5.1) -- and ONLY then: NXDOMAIN means no such domain, an error means "try later".
- A lone null MX `0 .` means the domain accepts no mail: fail at once, no fallback (RFC 7505 3, 4.1).
- A DNS error (SERVFAIL, REFUSED, no answer) is a temporary failure: defer, never "no MX" (RFC 5321 5.1,
  RFC 2308 7.1).
- SRV: lowest priority first; within a priority, weighted random order (RFC 2782); ports from the
  records; a single `.` target means the service is not offered (RFC 2782, RFC 6186 3.4).

This module builds the plan and draws the orders a compliant sender may pick (`sample_plans`);
judging what a real sender did against it is `grade.py`'s, which reads plans and never builds one.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from zonetool.faults import event_note
from zonetool.names import Name, NameError_, to_ascii
from zonetool.rrtypes import MX, SRV, Rdata, RRType

A_CODE, AAAA_CODE, MX_CODE, SRV_CODE = int(RRType.A), int(RRType.AAAA), int(RRType.MX), int(RRType.SRV)
MAX_ADDRESSES_PER_HOST = 16

# Error kinds a resolver reports; every one but OUTSIDE is a temporary failure for a sender.
TIMEOUT, SERVFAIL, REFUSED, FORMERR, NETWORK, OUTSIDE, REFERRAL = (
    "timeout",
    "servfail",
    "refused",
    "formerr",
    "network",
    "outside",
    "referral",
)
RCODE_ERRORS = {1: FORMERR, 2: SERVFAIL, 4: "notimp", 5: REFUSED}

# --service names to SRV owner prefixes (RFC 6186 for mail clients, RFC 8314 for implicit TLS).
SERVICES = {
    "smtp": ("_smtp._tcp", 25),
    "submission": ("_submission._tcp", 587),
    "submissions": ("_submissions._tcp", 465),
    "imap": ("_imap._tcp", 143),
    "imaps": ("_imaps._tcp", 993),
    "pop3": ("_pop3._tcp", 110),
    "pop3s": ("_pop3s._tcp", 995),
}


@dataclass(frozen=True, slots=True)
class Result:
    """One answer as a resolver saw it.

    `rcode` is None when no reply came at all. `records` holds the data of the asked type at
    the end of any CNAME chain (`chain` lists the aliases followed). `error` names a failure
    kind (see the constants above); `events` records what happened on the way (a fault that
    fired, a truncated UDP answer retried over TCP, a reply with a wrong ID ignored).
    """

    rcode: int | None = 0
    records: tuple[Rdata, ...] = ()
    chain: tuple[Name, ...] = ()
    error: str | None = None
    events: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """ok | nodata | nxdomain | outside | temporary."""
        if self.error == OUTSIDE or self.error == REFERRAL:
            return "outside"
        if self.error is not None or self.rcode is None:
            return "temporary"
        if self.rcode == 3:
            return "nxdomain"
        if self.rcode != 0:
            return "temporary"
        return "ok" if self.records else "nodata"

    @property
    def failure(self) -> str:
        """The error in words: 'SERVFAIL', 'no answer (timeout)', ..."""
        if self.error == TIMEOUT or (self.rcode is None and self.error is None):
            return "no answer (timeout)"
        if self.error in (SERVFAIL, REFUSED, FORMERR, "notimp"):
            return self.error.upper()
        if self.error:
            return self.error
        return {3: "NXDOMAIN"}.get(self.rcode or 0, f"RCODE {self.rcode}")


class Resolver(Protocol):
    def resolve(self, name: Name, qtype: int) -> Result: ...


@dataclass(frozen=True, slots=True)
class Note:
    """Something a careful operator wants to know, with what a compliant sender must do."""

    code: str
    message: str
    host: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "host": self.host}


@dataclass(slots=True)
class Target:
    """One exchange (MX) or SRV target, with what it resolves to."""

    host: Name
    preference: int  # MX preference or SRV priority
    port: int
    weight: int | None = None  # SRV only
    ipv4: list[str] = field(default_factory=list)
    ipv6: list[str] = field(default_factory=list)
    status: str = "usable"  # usable | no-address | temporary | unresolvable
    cname: Name | None = None  # the name the host's address came from, if it was an alias
    implicit: bool = False

    @property
    def addresses(self) -> list[str]:
        return [*self.ipv6, *self.ipv4]

    @property
    def usable(self) -> bool:
        return self.status == "usable"

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host.to_text(),
            "preference": self.preference,
            "weight": self.weight,
            "port": self.port,
            "ipv4": self.ipv4,
            "ipv6": self.ipv6,
            "status": self.status,
            "cname": self.cname.to_text() if self.cname else None,
            "implicit": self.implicit,
        }


@dataclass(slots=True)
class Group:
    """Targets of one preference (MX) or priority (SRV): their order is chosen at random."""

    preference: int
    targets: list[Target]
    weighted: bool = False  # SRV: RFC 2782 weighted order; MX: uniform shuffle

    @property
    def randomise(self) -> bool:
        return len(self.targets) > 1

    def to_json(self) -> dict[str, Any]:
        return {
            "preference": self.preference,
            "randomise": self.randomise,
            "weighted": self.weighted,
            "targets": [t.to_json() for t in self.targets],
        }


# outcome values
DELIVER = "deliver"  # try the attempts in order
NULL_MX = "null-mx"  # RFC 7505: bounce now, 556 5.1.10 (RFC 7505 4.2)
NOT_OFFERED = "not-offered"  # SRV `.`: the service is decidedly not available (RFC 2782)
DEFER = "defer"  # a temporary DNS failure: keep the message and retry later
NO_DOMAIN = "no-such-domain"  # NXDOMAIN: bounce
NO_ROUTE = "no-route"  # nothing usable and nothing temporary: bounce
NO_SRV = "no-srv"  # SRV mode without SRV records: the client's usual configuration applies
UNRESOLVABLE = "unresolvable"  # every target lies outside the served zones: nothing to try here


@dataclass(slots=True)
class Plan:
    """The reference answer for one domain: ordered groups of attempts and the notes."""

    domain: Name
    mode: str  # "mx" | "srv" | "literal"
    outcome: str
    groups: list[Group] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)
    service: str | None = None
    owner: Name | None = None  # the SRV owner asked for
    implicit: bool = False

    @property
    def targets(self) -> list[Target]:
        return [t for g in self.groups for t in g.targets]

    def usable_groups(self) -> list[list[str]]:
        """Host names (text) a sender may try, group by group: the order groups to compare with a sender."""
        out = []
        for g in self.groups:
            hosts = [t.host.to_text() for t in g.targets if t.usable]
            if hosts:
                out.append(hosts)
        return out

    def draw(self, rng: random.Random) -> list[Target]:
        """One order a compliant sender might pick: groups in order, each shuffled (MX) or weighted (SRV)."""
        order: list[Target] = []
        for g in self.groups:
            order.extend(weighted_order(g.targets, rng) if g.weighted else _shuffled(g.targets, rng))
        return order

    def attempts(self, rng: random.Random | None = None) -> list[Target]:
        """The usable targets in one drawn order (no draw, record order, if rng is None)."""
        if self.outcome != DELIVER:
            return []
        order = self.draw(rng) if rng is not None else self.targets
        return [t for t in order if t.usable]

    def sample(self, n: int, rng: random.Random) -> SampleReport:
        """`sample_plans(self, n, rng)`: N drawn orders, first choices beside the promised shares."""
        return sample_plans(self, n, rng)

    def to_json(self) -> dict[str, Any]:
        return {
            "domain": self.domain.to_text(),
            "mode": self.mode,
            "service": self.service,
            "owner": self.owner.to_text() if self.owner else None,
            "outcome": self.outcome,
            "implicit": self.implicit,
            "groups": [g.to_json() for g in self.groups],
            "notes": [n.to_json() for n in self.notes],
        }


def _shuffled(targets: Sequence[Target], rng: random.Random) -> list[Target]:
    out = list(targets)
    rng.shuffle(out)
    return out


def weighted_order(targets: Sequence[Target], rng: random.Random) -> list[Target]:
    """RFC 2782 weighted selection within one priority, repeated until every target is placed.

    The RFC draws a number in [0, sum] inclusive, which hands the first-listed record one
    extra share; since record order in an answer is arbitrary, we draw in [0, sum) so each
    target's chance is exactly weight/sum ("proportionately higher probability", RFC 2782).
    Zero-weight targets come after the weighted ones, in random order.
    """
    remaining = list(targets)
    order: list[Target] = []
    while remaining:
        total = sum(t.weight or 0 for t in remaining)
        if total == 0:
            rng.shuffle(remaining)
            order.extend(remaining)
            break
        pick = rng.randrange(total)
        running = 0
        for i, t in enumerate(remaining):
            running += t.weight or 0
            if running > pick:
                order.append(remaining.pop(i))
                break
    return order


# ---------------------------------------------------------------------------
# building a plan
# ---------------------------------------------------------------------------
def parse_destination(text: str) -> tuple[Name | None, str | None]:
    """`user@example.com`, `example.com` or `user@[192.0.2.1]` -> (domain, address literal)."""
    domain = text.rsplit("@", 1)[-1].strip()
    if not domain:
        raise ValueError(f"{text!r} has no domain part")
    if domain.startswith("[") and domain.endswith("]"):
        literal = domain[1:-1]
        if literal.lower().startswith("ipv6:"):
            literal = literal[5:]
        import ipaddress

        try:
            return None, str(ipaddress.ip_address(literal))
        except ValueError:
            raise ValueError(f"{domain} is not an address literal (RFC 5321 4.1.3)") from None
    if not domain.endswith("."):
        domain += "."
    try:
        return Name.from_text(to_ascii(domain)), None
    except NameError_ as exc:
        raise ValueError(f"{text!r}: {exc}") from None


def plan_route(destination: str | Name, resolver: Resolver, service: str | None = None) -> Plan:
    """The plan for an address or domain: MX routing, or SRV routing when `service` is given."""
    if isinstance(destination, Name):
        domain, literal = destination, None
    else:
        domain, literal = parse_destination(destination)
    if literal is not None:
        port = SERVICES.get(service or "smtp", ("", 25))[1]
        t = Target(Name(()), 0, port)
        (t.ipv6 if ":" in literal else t.ipv4).append(literal)
        note = Note(
            "address-literal", f"[{literal}] is an address literal: no DNS lookup, connect to it (RFC 5321 4.1.3)"
        )
        return Plan(Name(()), "literal", DELIVER, [Group(0, [t])], [note], service)
    assert domain is not None
    if service is None:
        return mx_plan(domain, resolver)
    return srv_plan(domain, resolver, service)


def _temporary_note(what: str, result: Result, host: str | None = None) -> Note:
    return Note(
        "dns-temporary",
        f"{what}: {result.failure}. A temporary failure: a compliant sender keeps the message queued and "
        "retries later; it must not treat this as 'no MX' or bounce (RFC 5321 5.1, 4.5.4.1)",
        host,
    )


def _event_notes(result: Result, what: str, host: str | None = None) -> list[Note]:
    """The notes for what happened on the way to an answer (`Result.events`): a fault that fired,
    a truncated UDP answer, a reply with a wrong ID, a late answer.

    The one place the plan turns resolver events (and so injected faults) into notes: the
    texts are the `note` of the fault action's row in `zonetool.faults.EFFECTS`.
    """
    notes = []
    for event in result.events:
        kind, _, detail = event.partition(":")
        note = event_note(kind)
        if note is not None:
            notes.append(Note(note[0], note[1].format(what=what, detail=detail), host))
        elif kind == "fault":
            notes.append(Note("fault", f"{what}: injected {detail}", host))
    return notes


def mx_plan(domain: Name, resolver: Resolver) -> Plan:
    """RFC 5321 5.1 for one domain."""
    plan = Plan(domain, "mx", DELIVER)
    res = resolver.resolve(domain, MX_CODE)
    plan.notes.extend(_event_notes(res, f"MX {domain}"))
    if res.chain:
        plan.notes.append(
            Note(
                "domain-cname",
                f"{domain} is an alias ({' -> '.join(n.to_text() for n in (domain, *res.chain))}): the canonical "
                "name is processed as if it were the initial name (RFC 5321 5.1)",
            )
        )
    kind = res.kind
    if kind == "temporary":
        plan.outcome = DEFER
        plan.notes.append(_temporary_note(f"MX lookup for {domain}", res))
        return plan
    if kind == "outside":
        plan.outcome = UNRESOLVABLE
        plan.notes.append(
            Note(
                "outside",
                f"{domain} is outside the served zones: unresolvable here; a sender asking the real DNS would "
                "get some other answer",
            )
        )
        return plan
    if kind == "nxdomain":
        plan.outcome = NO_DOMAIN
        plan.notes.append(
            Note(
                "nxdomain",
                f"{domain} does not exist (NXDOMAIN): a permanent failure; the sender bounces the message "
                "(5.1.2) and must not try anything else",
            )
        )
        return plan
    canonical = res.chain[-1] if res.chain else domain
    mxs = [r for r in res.records if isinstance(r, MX)]
    if kind == "nodata" or not mxs:
        return _implicit_plan(plan, canonical, resolver)

    nulls = [m for m in mxs if m.is_null()]
    if nulls and len(mxs) == 1:
        plan.outcome = NULL_MX
        plan.notes.append(
            Note(
                "null-mx",
                f"{domain} publishes a null MX (0 .): it accepts no mail. A compliant sender fails at once "
                "(556 5.1.10), makes no connection and never falls back to A/AAAA (RFC 7505 3, 4.1)",
            )
        )
        return plan
    if nulls:
        plan.notes.append(
            Note(
                "null-mx-mixed",
                f"{domain} has a null MX beside other MX records, which RFC 7505 3 forbids; the '.' entry "
                "names no host and is skipped, the other exchanges are used",
            )
        )
        mxs = [m for m in mxs if not m.is_null()]

    # A host listed at several preferences counts once, at its best one.
    best: dict[Name, int] = {}
    for m in mxs:
        if m.exchange not in best or m.preference < best[m.exchange]:
            best[m.exchange] = m.preference
    if len(best) < len(mxs):
        plan.notes.append(
            Note(
                "mx-duplicate", "an exchange is listed more than once: a sender tries it once, at its lowest preference"
            )
        )
    by_pref: dict[int, list[Target]] = {}
    for host, pref in sorted(best.items(), key=lambda kv: (kv[1], kv[0])):
        target = Target(host, pref, 25)
        _resolve_target(target, resolver, plan, "MX exchange")
        by_pref.setdefault(pref, []).append(target)
    plan.groups = [Group(p, ts) for p, ts in sorted(by_pref.items())]
    for g in plan.groups:
        if g.randomise:
            hosts = ", ".join(t.host.to_text() for t in g.targets)
            plan.notes.append(
                Note(
                    "mx-equal-preference",
                    f"preference {g.preference}: {hosts} share a preference; a sender picks among them at "
                    "random, a new order for each message (RFC 5321 5.1)",
                )
            )
    if len(plan.groups) > 1:
        plan.notes.append(
            Note(
                "mx-backup",
                "if every exchange of one preference fails (refused, 4xx, timeout), a sender moves on to the "
                "next preference before giving up (RFC 5321 5.1)",
            )
        )
    _finish(plan)
    return plan


def _implicit_plan(plan: Plan, domain: Name, resolver: Resolver) -> Plan:
    plan.implicit = True
    target = Target(domain, 0, 25, implicit=True)
    _resolve_target(target, resolver, plan, "implicit MX")
    plan.groups = [Group(0, [target])]
    if target.status == "usable":
        plan.notes.append(
            Note(
                "implicit-mx",
                f"{domain} has no MX records: its own address records act as an implicit MX of preference 0 "
                "(RFC 5321 5.1); this fallback applies only because the MX answer was an empty NOERROR",
            )
        )
    _finish(plan)
    if plan.outcome == NO_ROUTE:
        plan.notes.append(
            Note(
                "no-mail-route",
                f"{domain} has neither MX nor address records: a permanent failure, the sender bounces (RFC 5321 5.1)",
            )
        )
    return plan


def _resolve_target(target: Target, resolver: Resolver, plan: Plan, role: str) -> None:
    """Fill in a target's addresses and status, noting what a sender must make of each failure."""
    host = target.host.to_text()
    temporary: list[tuple[str, Result]] = []
    outside = False
    for code, bucket, label in ((AAAA_CODE, target.ipv6, "AAAA"), (A_CODE, target.ipv4, "A")):
        res = resolver.resolve(target.host, code)
        plan.notes.extend(_event_notes(res, f"{label} {host}", host))
        if res.chain and target.cname is None:
            target.cname = res.chain[-1]
        kind = res.kind
        if kind == "ok":
            bucket.extend(r.to_text() for r in res.records[:MAX_ADDRESSES_PER_HOST])
        elif kind == "temporary":
            temporary.append((label, res))
        elif kind == "outside":
            outside = True
    if target.cname is not None and not target.implicit:
        plan.notes.append(
            Note(
                "mx-cname",
                f"{role} {host} is an alias for {target.cname}: RFC 2181 10.3 forbids this, yet senders follow "
                "the alias and connect to its addresses",
                host,
            )
        )
    if target.addresses:
        target.status = "usable"
        for label, res in temporary:
            plan.notes.append(
                Note(
                    "address-partial",
                    f"{label} lookup for {host}: {res.failure}; a sender uses the addresses it did get",
                    host,
                )
            )
        return
    if temporary:
        target.status = "temporary"
        label, res = temporary[0]
        why = " (an authoritative server refuses names outside its zones)" if res.error == "refused" else ""
        plan.notes.append(
            Note(
                "address-temporary",
                f"{role} {host}: {label} lookup {res.failure}{why}. A sender skips it for now and tries the "
                "other exchanges; if none is reachable it defers the message (temporary), it never bounces on this",
                host,
            )
        )
        return
    if outside:
        target.status = "unresolvable"
        plan.notes.append(
            Note(
                "outside",
                f"{role} {host} is outside the served zones: unresolvable here (a sender on the Internet "
                "would resolve it there); it is left out of the attempts",
                host,
            )
        )
        return
    target.status = "no-address"
    if not target.implicit:
        plan.notes.append(
            Note(
                "no-address",
                f"{role} {host} has no A or AAAA records: unusable, a sender skips it and tries the next",
                host,
            )
        )


def _finish(plan: Plan) -> None:
    """Outcome from the targets: deliver if any is usable, defer if any failed temporarily, else bounce."""
    statuses = {t.status for t in plan.targets}
    if "usable" in statuses:
        plan.outcome = DELIVER
    elif "temporary" in statuses:
        plan.outcome = DEFER
    elif "unresolvable" in statuses:
        plan.outcome = UNRESOLVABLE
    else:
        plan.outcome = NO_ROUTE
        if plan.mode == "mx" and not plan.implicit:
            plan.notes.append(
                Note(
                    "no-usable-exchange",
                    "no exchange has an address: a permanent failure, the sender bounces; it must NOT fall back "
                    "to the domain's own A/AAAA, because MX records exist (RFC 5321 5.1)",
                )
            )


def srv_owner(domain: Name, service: str) -> tuple[Name, int]:
    """`smtp` -> _smtp._tcp.<domain> (and the protocol's default port); `_x._tcp` is used as given."""
    if service in SERVICES:
        prefix, port = SERVICES[service]
    elif service.startswith("_"):
        prefix, port = service, 0
    else:
        raise ValueError(
            f"unknown service {service!r}: one of {', '.join(SERVICES)} or an owner like _xmpp-server._tcp"
        )
    labels = tuple(p.encode("ascii") for p in prefix.split("."))
    return Name(labels + domain.labels), port


def srv_plan(domain: Name, resolver: Resolver, service: str) -> Plan:
    """RFC 2782 for one service of one domain (RFC 6186 for mail clients)."""
    owner, default_port = srv_owner(domain, service)
    plan = Plan(domain, "srv", DELIVER, service=service, owner=owner)
    res = resolver.resolve(owner, SRV_CODE)
    plan.notes.extend(_event_notes(res, f"SRV {owner}"))
    kind = res.kind
    if kind == "temporary":
        plan.outcome = DEFER
        plan.notes.append(
            Note(
                "dns-temporary",
                f"SRV lookup for {owner}: {res.failure}. A temporary failure: the client retries later; it must "
                "not conclude that there are no SRV records",
            )
        )
        return plan
    if kind == "outside":
        plan.outcome = UNRESOLVABLE
        plan.notes.append(Note("outside", f"{owner} is outside the served zones: unresolvable here"))
        return plan
    srvs = [r for r in res.records if isinstance(r, SRV)]
    if kind in ("nxdomain", "nodata") or not srvs:
        if service == "smtp":
            fallback = mx_plan(domain, resolver)
            fallback.notes.insert(
                0,
                Note(
                    "srv-fallback",
                    f"no SRV records at {owner}: an SRV-aware sender falls back to MX routing (RFC 2782 usage rules)",
                ),
            )
            fallback.service = service
            fallback.owner = owner
            return fallback
        plan.outcome = NO_SRV
        plan.notes.append(
            Note(
                "srv-none",
                f"no SRV records at {owner}: the client falls back to its configured or default host and port "
                f"{default_port or ''} (RFC 2782, RFC 6186 4)".replace("port  (", "port ("),
            )
        )
        return plan
    if len(srvs) == 1 and srvs[0].target.is_root():
        plan.outcome = NOT_OFFERED
        plan.notes.append(
            Note(
                "srv-not-offered",
                f"{owner} has the single target '.': the service is decidedly not offered at this domain; a "
                "client must not try to connect (RFC 2782, RFC 6186 3.4)",
            )
        )
        return plan
    if any(s.target.is_root() for s in srvs):
        plan.notes.append(Note("srv-root-mixed", "a '.' target beside other targets names no host; it is skipped"))
        srvs = [s for s in srvs if not s.target.is_root()]
    by_prio: dict[int, list[Target]] = {}
    for s in sorted(srvs, key=lambda s: (s.priority, -s.weight, s.target)):
        target = Target(s.target, s.priority, s.port, weight=s.weight)
        _resolve_target(target, resolver, plan, "SRV target")
        by_prio.setdefault(s.priority, []).append(target)
    plan.groups = [Group(p, ts, weighted=True) for p, ts in sorted(by_prio.items())]
    for g in plan.groups:
        if g.randomise:
            total = sum(t.weight or 0 for t in g.targets)
            shares = ", ".join(
                f"{t.host} {100 * (t.weight or 0) / total:.0f}%" if total else f"{t.host} equal" for t in g.targets
            )
            plan.notes.append(
                Note(
                    "srv-weights",
                    f"priority {g.preference}: weighted random order, first choice shares {shares}; the port "
                    "comes from each record (RFC 2782)",
                )
            )
    _finish(plan)
    return plan


# ---------------------------------------------------------------------------
# sampling
# ---------------------------------------------------------------------------
@dataclass(slots=True)
class SampleReport:
    """How often each host came first in N drawn plans, beside the share its record promises."""

    samples: int
    first: dict[str, int]
    expected: dict[str, float]  # shares, summing to 1 over the first usable group
    orders: Counter[tuple[str, ...]]

    def chi_square(self) -> tuple[float, int]:
        """Pearson's statistic and degrees of freedom for observed first choices vs the promised shares."""
        stat = 0.0
        cells = 0
        for host, share in self.expected.items():
            if share <= 0:
                continue
            exp = share * self.samples
            stat += (self.first.get(host, 0) - exp) ** 2 / exp
            cells += 1
        return stat, max(cells - 1, 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "hosts": [
                {
                    "host": host,
                    "first": self.first.get(host, 0),
                    "observed_share": self.first.get(host, 0) / self.samples if self.samples else 0.0,
                    "expected_share": share,
                }
                for host, share in self.expected.items()
            ],
            "chi_square": self.chi_square()[0],
            "degrees_of_freedom": self.chi_square()[1],
        }


def expected_first_shares(plan: Plan) -> dict[str, float]:
    """The chance each usable host of the best usable group is tried first.

    Successive weighted draws restricted to the usable targets keep the weights' ratios
    (Luce's choice axiom), so the share is weight over the usable weights; MX shares are equal.
    """
    for g in plan.groups:
        usable = [t for t in g.targets if t.usable]
        if not usable:
            continue
        total = sum(t.weight or 0 for t in usable) if g.weighted else 0
        if total == 0:
            return {t.host.to_text(): 1 / len(usable) for t in usable}
        return {t.host.to_text(): (t.weight or 0) / total for t in usable}
    return {}


def sample_plans(plan: Plan, n: int, rng: random.Random) -> SampleReport:
    """Draw `n` attempt orders the way a compliant sender would and count the first choices."""
    first: Counter[str] = Counter()
    orders: Counter[tuple[str, ...]] = Counter()
    expected = expected_first_shares(plan)
    for _ in range(n):
        attempts = plan.attempts(rng)
        if not attempts:
            continue
        first[attempts[0].host.to_text()] += 1
        orders[tuple(t.host.to_text() for t in attempts)] += 1
    return SampleReport(n, dict(first), expected, orders)
