"""SRV: `_service._proto` owners, usable targets, RFC 2782 weight semantics, MX/SRV agreement."""

from __future__ import annotations

from collections.abc import Iterator

from zonetool.findings import Severity
from zonetool.names import Name
from zonetool.rrtypes import MX, SRV
from zonetool.rules.base import (
    MX_CODE,
    SRV_CODE,
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
_LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LDH = _LETTERS | frozenset(b"0123456789-")
KNOWN_PROTOS = frozenset({b"tcp", b"udp", b"sctp", b"dccp", b"tls"})


def service_name_problem(name: bytes) -> str | None:
    """Why `name` (without its underscore) is not an RFC 6335 5.1 service name, or None."""
    if not 1 <= len(name) <= 15:
        return f"is {len(name)} characters long (1-15 allowed)"
    if not set(name) <= _LDH:
        return "may hold only letters, digits and hyphens"
    if not set(name) & _LETTERS:
        return "must contain at least one letter"
    if name[0] == 45 or name[-1] == 45:
        return "must not begin or end with a hyphen"
    if b"--" in name:
        return "must not contain two hyphens in a row"
    return None


def _srv_records(ctx: Context) -> Iterator[tuple[Record, SRV]]:
    for r in ctx.records(SRV_CODE):
        if isinstance(r.rdata, SRV):
            yield r, r.rdata


def _relative_labels(name: Name, origin: Name) -> tuple[bytes, ...]:
    return name.labels[: len(name.labels) - len(origin.labels)] if name.is_subdomain_of(origin) else name.labels


# RFC 2782 (owner format): SRV records live at _Service._Proto.Name.
@rule("srv-owner", ERROR, "SRV owners have the form `_service._proto.name`", "RFC 2782")
def srv_owner(ctx: Context) -> Iterator[Hit]:
    for rrset in ctx.rrsets(SRV_CODE):
        labels = _relative_labels(rrset.owner, ctx.origin)
        if len(labels) < 2 or not labels[0].startswith(b"_") or not labels[1].startswith(b"_"):
            yield hit(
                rrset.records[0],
                f"SRV owner {text_of(rrset.owner, ctx.origin)} is not _service._proto.name",
                hint="e.g. _submission._tcp or _xmpp-server._tcp",
            )


# RFC 6335 5.1: service names are 1-15 letters/digits/hyphens, at least one letter, no '--', no edge hyphen.
@rule(
    "srv-service-label",
    ERROR,
    "the `_service` label is a valid service name (1-15 chars, a letter, no `--`)",
    "RFC 6335 5.1",
)
def srv_service_label(ctx: Context) -> Iterator[Hit]:
    for rrset in ctx.rrsets(SRV_CODE):
        labels = _relative_labels(rrset.owner, ctx.origin)
        if len(labels) >= 2 and labels[0].startswith(b"_") and labels[1].startswith(b"_"):
            problem = service_name_problem(labels[0][1:])
            if problem:
                yield hit(
                    rrset.records[0],
                    f"service label {labels[0].decode('ascii', 'replace')} {problem}",
                    hint="service names are registered at IANA, e.g. _submission, _imaps, _xmpp-server",
                )


# RFC 2782 / RFC 6335 5.1: the _proto label names a transport (_tcp, _udp, ...); others are likely typos.
@rule("srv-proto", WARNING, "the `_proto` label is a known transport (`_tcp`, `_udp`, ...)", "RFC 2782")
def srv_proto(ctx: Context) -> Iterator[Hit]:
    for rrset in ctx.rrsets(SRV_CODE):
        labels = _relative_labels(rrset.owner, ctx.origin)
        if len(labels) >= 2 and labels[0].startswith(b"_") and labels[1].startswith(b"_"):
            proto = labels[1][1:].lower()
            if proto not in KNOWN_PROTOS:
                yield hit(
                    rrset.records[0],
                    f"protocol label {labels[1].decode('ascii', 'replace')} is not a known transport",
                    hint="use _tcp or _udp (or _sctp, _dccp)",
                )


# RFC 2782 / RFC 6186: port 0 is only meaningful in the "service not offered" record `0 0 0 .`.
@rule("srv-port-zero", ERROR, "SRV port 0 is used only with target `.`", "RFC 6186")
def srv_port_zero(ctx: Context) -> Iterator[Hit]:
    for r, rd in _srv_records(ctx):
        if rd.port == 0 and not rd.target.is_root():
            yield hit(r, f"SRV target {text_of(rd.target, ctx.origin)} has port 0", hint="give the service's real port")


# RFC 2782 (Target): "Target '.' means the service is decidedly not available" - so it stands alone.
@rule("srv-dot-not-alone", ERROR, "an SRV with target `.` is the only SRV of its name", "RFC 2782")
def srv_dot_not_alone(ctx: Context) -> Iterator[Hit]:
    for rrset in ctx.rrsets(SRV_CODE):
        if len(rrset.records) > 1:
            for r in rrset.records:
                if isinstance(r.rdata, SRV) and r.rdata.target.is_root():
                    yield hit(
                        r,
                        f"SRV target '.' at {text_of(r.owner, ctx.origin)} says 'not offered' "
                        "but other SRV records offer it",
                        hint="keep either the '.' record or the real targets",
                    )


# RFC 2782 (Target): the target must not be an alias; RFC 2181 10.3 likewise.
@rule("srv-target-cname", ERROR, "an SRV target is not a CNAME", "RFC 2782")
def srv_target_cname(ctx: Context) -> Iterator[Hit]:
    yield from targets_that_are_cnames(ctx, ((r, rd.target) for r, rd in _srv_records(ctx)), "SRV target")


# RFC 2782 (Target): the target must have address records; in-zone ones are ours to publish.
@rule("srv-target-no-address", ERROR, "an in-zone SRV target has A or AAAA records", "RFC 2782")
def srv_target_no_address(ctx: Context) -> Iterator[Hit]:
    pairs = ((r, rd.target) for r, rd in _srv_records(ctx) if not rd.target.is_root())
    yield from targets_without_address(ctx, pairs, "SRV target")


# RFC 2782 (Weight): weight 0 entries get a very small chance when others at that priority have weight.
@rule(
    "srv-weight-zero-mixed", WARNING, "weight 0 is not mixed with non-zero weights at one priority", "RFC 2782"
)
def srv_weight_zero_mixed(ctx: Context) -> Iterator[Hit]:
    for rrset in ctx.rrsets(SRV_CODE):
        groups: dict[int, list[Record]] = {}
        for r in rrset.records:
            if isinstance(r.rdata, SRV):
                groups.setdefault(r.rdata.priority, []).append(r)
        for priority, records in groups.items():
            rdatas = [(r, r.rdata) for r in records if isinstance(r.rdata, SRV)]
            if any(rd.weight == 0 for _, rd in rdatas) and any(rd.weight for _, rd in rdatas):
                for r, rd in rdatas:
                    if rd.weight == 0:
                        yield hit(
                            r,
                            f"SRV target {text_of(rd.target, ctx.origin)} has weight 0 beside non-zero weights"
                            f" at priority {priority}: it will almost never be chosen",
                            hint="give it a weight, or a lower priority (higher number) to make it a backup",
                        )


# RFC 5321 5.1 vs RFC 6186-style _smtp._tcp: two hand-written descriptions of one mail service must agree.
@rule("mx-srv-mismatch", WARNING, "MX and `_smtp._tcp` SRV name the same hosts and priorities", "RFC 2782")
def mx_srv_mismatch(ctx: Context) -> Iterator[Hit]:
    owners = {rrset.owner for rrset in ctx.rrsets(MX_CODE)}
    for srv_set in ctx.rrsets(SRV_CODE):
        labels = srv_set.owner.key
        if len(labels) < 3 or labels[:2] != (b"_smtp", b"_tcp"):
            continue
        domain = Name(srv_set.owner.labels[2:])
        if domain not in owners:
            continue
        mx_set = ctx.zone.rrset(domain, MX_CODE)
        if mx_set is None:
            continue
        if all(r.origin is not None for r in mx_set.records) and all(r.origin is not None for r in srv_set.records):
            continue  # both generated from one mail: block, consistent by construction
        mx = {(rd.exchange, rd.preference) for rd in mx_set.rdatas if isinstance(rd, MX) and not rd.is_null()}
        srv = {(rd.target, rd.priority) for rd in srv_set.rdatas if isinstance(rd, SRV) and not rd.target.is_root()}
        if mx != srv:
            only_mx = sorted(f"{p} {text_of(n, ctx.origin)}" for n, p in mx - srv)
            only_srv = sorted(f"{p} {text_of(n, ctx.origin)}" for n, p in srv - mx)
            parts = []
            if only_mx:
                parts.append(f"only in MX: {', '.join(only_mx)}")
            if only_srv:
                parts.append(f"only in SRV: {', '.join(only_srv)}")
            yield hit(
                srv_set.records[0],
                f"_smtp._tcp SRV and MX of {text_of(domain, ctx.origin)} disagree ({'; '.join(parts)})",
                hint="describe the exchangers once under mail: with srv: true, and both sets stay in step",
            )
