"""DNSSEC data for an answer with the DO bit (RFC 4035 3.1): RRSIGs, DNSKEY, NSEC or NSEC3 proofs.

`secure(zoneset, answer, qname, qtype)` takes the plain answer `lookup` gave from signed zones
(zonetool.dnssec.sign_zone output) and returns it with what a validator needs: an RRSIG beside
every signed RRset (3.1.1), the NSEC/NSEC3 records that prove an NXDOMAIN, a NODATA, a wildcard
expansion or wildcard NODATA (3.1.3; RFC 5155 7.2), and at a referral the DS or the proof that
there is none (3.1.4). Pure: zones in, sections out. Without DO the plain answer is sent as it is.

`tamper(...)` makes a secured answer wrong on purpose, for the validator faults of
zonetool.faults (`Effect.rrsig`, `Effect.hide_dnskey`): what a validator must reject.
"""

from __future__ import annotations

import weakref
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import replace

from zonetool.dnssec.keys import Key
from zonetool.dnssec.policy import DAY, Window
from zonetool.dnssec.sign import DNSKEY, DS, NSEC, NSEC3, RRSIG, Signer, nsec3_hash
from zonetool.dnssec.verify import Rrsig
from zonetool.lookup import CNAME, NOERROR, NS, NXDOMAIN, Answer, ZoneSet, negative_soa
from zonetool.names import Name
from zonetool.rrtypes import Generic
from zonetool.zone import Record, RRset, Zone

# An expired-signature fault's window ends this long ago: beyond any validator's allowance for
# clock skew (unbound's val-sig-skew-max is a day), so the RRSIG is expired (RFC 4035 5.3.1).
EXPIRED_BY = 7 * DAY


class _Index:
    """A signed zone's denial records in order: NSEC owners canonically, NSEC3 by hash."""

    __slots__ = ("hashes", "keys", "names", "nsec3")

    def __init__(self, zone: Zone) -> None:
        nsec = sorted((n.canonical_key(), n) for n, node in zone.nodes.items() if NSEC in node)
        self.keys = [k for k, _ in nsec]
        self.names = [n for _, n in nsec]
        hashed = []
        for name, node in zone.nodes.items():
            rrset = node.get(NSEC3)
            if rrset is not None and len(name.labels) == len(zone.origin.labels) + 1:
                hashed.append((_unb32(name.labels[0]), name))
        hashed.sort()
        self.hashes = [h for h, _ in hashed]
        self.nsec3 = [n for _, n in hashed]


_INDEXES: weakref.WeakKeyDictionary[Zone, _Index] = weakref.WeakKeyDictionary()


def _index(zone: Zone) -> _Index:
    found = _INDEXES.get(zone)
    if found is None:
        found = _INDEXES[zone] = _Index(zone)
    return found


def _unb32(label: bytes) -> bytes:
    import base64

    text = label.decode("ascii").upper()
    return base64.b32hexdecode(text + "=" * (-len(text) % 8))


def is_signed(zone: Zone | None) -> bool:
    return zone is not None and zone.dnssec is not None and RRSIG in zone.nodes.get(zone.origin, {})


def secure(zs: ZoneSet, answer: Answer, qname: Name, qtype: int) -> Answer:
    """`answer` with its DNSSEC records added (a new Answer; the one given is not changed)."""
    zone = answer.zone
    if not is_signed(zone):
        return answer
    assert zone is not None
    out = Answer(answer.rcode, answer.authoritative, zone=zone)
    for rrset in answer.answer:
        out.answer.append(rrset)
        out.answer.extend(_sigs(zs, rrset))
    # the name the answer ends at: the question, or the target of the last CNAME in our zones
    name = qname
    for rrset in answer.answer:
        if rrset.code == CNAME and qtype != CNAME:
            name = rrset.records[0].rdata.target  # type: ignore[attr-defined]
    final = zs.find(name)
    if qtype == DS and final is not None and final.origin == name:  # parent-side data (RFC 4035 3.1.4.1)
        final = zs.parent_zone(final) or final
    referral = any(r.code == NS for r in answer.authority)  # lookup puts NS in authority for referrals only
    proofs: list[RRset] = []
    if final is not None and is_signed(final):
        if referral:
            cut = next(r.owner for r in answer.authority if r.code == NS)
            ds = final.rrset(cut, DS)
            proofs = [ds] if ds is not None else _nodata(final, cut)
        elif answer.rcode == NXDOMAIN:
            proofs = _nxdomain(final, name)
        elif not any(r.owner == name for r in answer.answer):
            proofs = _nodata(final, name)
        for rrset in answer.answer:  # a wildcard expansion: prove the name itself is not there (3.1.3.3)
            if rrset.owner == name and final.nodes.get(name) is None and name.is_subdomain_of(final.origin):
                proofs = _no_exact_match(final, name)
                break
    for rrset in answer.authority:
        out.authority.append(rrset)
        out.authority.extend(_sigs(zs, rrset))
    seen: set[tuple[Name, int]] = {(r.owner, r.code) for r in out.authority}
    for rrset in proofs:
        if (rrset.owner, rrset.code) in seen:
            continue
        seen.add((rrset.owner, rrset.code))
        out.authority.append(rrset)
        out.authority.extend(_sigs(zs, rrset, final))  # the proof's zone: a parent's NSEC at a child apex
    for rrset in answer.additional:
        out.additional.append(rrset)
        out.additional.extend(_sigs(zs, rrset))
    return out


def _sigs(zs: ZoneSet, rrset: RRset, holder: Zone | None = None) -> list[RRset]:
    """The RRSIGs over `rrset` (from its wildcard when it was synthesized: RFC 4035 3.1.3.3), from
    `holder`, the zone it came from, when given (a parent's NSEC at its child's apex is the parent's)."""
    zone = holder if holder is not None else zs.find(rrset.owner)
    if holder is None and zone is not None and rrset.code == DS and zone.origin == rrset.owner:
        zone = zs.parent_zone(zone)  # DS at a child's apex is the parent's (RFC 4035 3.1.4.1)
    if zone is None or not is_signed(zone) or rrset.code == RRSIG:
        return []
    node = zone.nodes.get(rrset.owner)
    owner = None
    if node is None:
        source = _wildcard_source(zone, rrset.owner)
        if source is None:
            return []
        node, owner = zone.nodes.get(source), rrset.owner
        if node is None:
            return []
    sigs = node.get(RRSIG)
    if sigs is None:
        return []
    code = rrset.code.to_bytes(2, "big")
    records = [r for r in sigs.records if r.rdata.data[:2] == code]  # type: ignore[attr-defined]
    if not records:
        return []
    ttl = rrset.ttl  # the RRset's TTL as sent (a negative answer's SOA: RFC 2308 3), as NSD does (RFC 4035 2.2)
    if owner is not None or any(r.ttl != ttl for r in records):
        records = [replace(r, owner=owner or r.owner, ttl=ttl) for r in records]
    return [RRset(owner or rrset.owner, RRSIG, records)]


def _closest_encloser(zone: Zone, name: Name) -> Name:
    labels = name.labels
    for i in range(1, len(labels) - len(zone.origin.labels) + 1):
        ancestor = Name(labels[i:])
        if zone.exists(ancestor):
            return ancestor
    return zone.origin


def _wildcard_source(zone: Zone, name: Name) -> Name | None:
    ce = _closest_encloser(zone, name)
    source = ce.child(b"*")
    return source if source in zone.nodes else None


def _nsec3(zone: Zone) -> bool:
    return zone.dnssec.denial == "nsec3"  # type: ignore[union-attr]


def _covering_nsec(zone: Zone, name: Name) -> RRset:
    idx = _index(zone)
    i = bisect_right(idx.keys, name.canonical_key()) - 1
    return zone.nodes[idx.names[i]][NSEC]


def _nsec3_of(zone: Zone, name: Name, match: bool) -> RRset | None:
    """The NSEC3 whose hash is the name's (`match`), or the one whose span covers it."""
    idx = _index(zone)
    if not idx.hashes:
        return None
    digest = nsec3_hash(name)
    i = bisect_right(idx.hashes, digest) - 1
    if match:
        if i < 0 or idx.hashes[i] != digest:
            return None
    elif i >= 0 and idx.hashes[i] == digest:
        return None
    return zone.nodes[idx.nsec3[i]][NSEC3]  # i == -1: the last one wraps around to cover it


def _next_closer(name: Name, ce: Name) -> Name:
    return Name(name.labels[len(name.labels) - len(ce.labels) - 1 :])


def _present(*rrsets: RRset | None) -> list[RRset]:
    return [r for r in rrsets if r is not None]


def _nodata(zone: Zone, name: Name) -> list[RRset]:
    """The name exists (or is synthesized from a wildcard) but has no RRset of the type asked."""
    if _nsec3(zone):
        if zone.exists(name):
            if name.is_wildcard():  # the source of synthesis asked by name: its closest encloser too, as NSD
                return _present(_nsec3_of(zone, name.parent(), True), _nsec3_of(zone, name, True))
            return _present(_nsec3_of(zone, name, True))  # RFC 5155 7.2.3 (and 7.2.4 for DS at a cut)
        ce = _closest_encloser(zone, name)  # wildcard NODATA: RFC 5155 7.2.5
        return _present(_nsec3_of(zone, ce, True), _nsec3_of(zone, _next_closer(name, ce), False),
                        _nsec3_of(zone, ce.child(b"*"), True))
    node = zone.nodes.get(name)
    if node is not None and NSEC in node:
        return [node[NSEC]]  # RFC 4035 3.1.3.1
    if zone.exists(name):
        return [_covering_nsec(zone, name)]  # an empty non-terminal: the NSEC before it covers it
    source = _wildcard_source(zone, name)  # wildcard NODATA: RFC 4035 3.1.3.4
    found = [_covering_nsec(zone, name)]
    if source is not None and NSEC in zone.nodes[source]:
        found.append(zone.nodes[source][NSEC])
    return found


def _nxdomain(zone: Zone, name: Name) -> list[RRset]:
    """The name does not exist and no wildcard could have made it (RFC 4035 3.1.3.2, RFC 5155 7.2.2)."""
    ce = _closest_encloser(zone, name)
    if _nsec3(zone):
        return _present(_nsec3_of(zone, ce, True), _nsec3_of(zone, _next_closer(name, ce), False),
                        _nsec3_of(zone, ce.child(b"*"), False))
    return [_covering_nsec(zone, name), _covering_nsec(zone, ce.child(b"*"))]


def _no_exact_match(zone: Zone, name: Name) -> list[RRset]:
    """A wildcard answered: the name itself does not exist (RFC 4035 3.1.3.3, RFC 5155 7.2.6)."""
    if _nsec3(zone):
        ce = _closest_encloser(zone, name)
        return _present(_nsec3_of(zone, _next_closer(name, ce), False))
    return [_covering_nsec(zone, name)]


# -- faults for validators (zonetool.faults: Effect.rrsig, Effect.hide_dnskey) ----------------------

KeysOf = Callable[[Zone], Sequence[Key]]  # the keys a served zone was signed with


def tamper(zs: ZoneSet, answer: Answer, rrsig: str | None, hide_dnskey: bool, keys: KeysOf, now: int) -> Answer:
    """A secured answer made wrong for a validator: its RRSIGs changed as `rrsig` says (a key of
    `RRSIG_FAULTS`), those of the answer section, or of the authority section when the answer
    section is empty (a negative answer's SOA and proofs, a referral's DS); with `hide_dnskey`
    the apex DNSKEY RRset (and its RRSIG) left out, a DNSKEY question then answered NODATA."""
    zone = answer.zone
    if not is_signed(zone):
        return answer
    assert zone is not None
    out = Answer(answer.rcode, answer.authoritative, list(answer.answer), list(answer.authority),
                 list(answer.additional), zone=zone)
    if hide_dnskey:
        _without_dnskey(zs, out, zone)
    if rrsig is not None:
        section = out.answer if out.answer else out.authority
        section[:] = RRSIG_FAULTS[rrsig](zs, section, keys, now)
    return out


def _covers(sigs: RRset) -> int:
    return int.from_bytes(sigs.records[0].rdata.data[:2], "big")  # type: ignore[attr-defined]  # RFC 4034 3.1


def _without_dnskey(zs: ZoneSet, out: Answer, zone: Zone) -> None:
    apex = zone.origin
    kept = [r for r in out.answer
            if not (r.owner == apex and DNSKEY in (r.code, _covers(r) if r.code == RRSIG else 0))]
    if out.answer and not kept and out.rcode == NOERROR:  # nothing left: a NODATA, with its SOA (RFC 2308 2.2)
        out.authority = []
        for rrset in negative_soa(zone) + _nodata(zone, apex):
            out.authority.append(rrset)
            out.authority.extend(_sigs(zs, rrset))
    out.answer = kept


def _corrupt(zs: ZoneSet, section: list[RRset], keys: KeysOf, now: int) -> list[RRset]:
    """Each signature's last octet inverted: the RRSIG looks right and does not verify."""
    def bad(record: Record) -> Record:
        data = record.rdata.data  # type: ignore[attr-defined]
        return replace(record, rdata=Generic(RRSIG, data[:-1] + bytes((data[-1] ^ 0xFF,))))

    return [RRset(r.owner, RRSIG, [bad(x) for x in r.records]) if r.code == RRSIG else r for r in section]


def _strip(zs: ZoneSet, section: list[RRset], keys: KeysOf, now: int) -> list[RRset]:
    return [r for r in section if r.code != RRSIG]


def _expired(zs: ZoneSet, section: list[RRset], keys: KeysOf, now: int) -> list[RRset]:
    """Each RRSIG made again with the zone's keys over the same data, in a window that ended EXPIRED_BY ago."""
    covered = {(r.owner, r.code): r for r in section if r.code != RRSIG}
    out = []
    for rrset in section:
        target = covered.get((rrset.owner, _covers(rrset))) if rrset.code == RRSIG else None
        out.append(rrset if target is None else _signed_in_the_past(zs, target, rrset, keys, now))
    return out


def _signed_in_the_past(zs: ZoneSet, rrset: RRset, sigs: RRset, keys: KeysOf, now: int) -> RRset:
    first = Rrsig.parse(sigs.records[0].rdata.data)  # type: ignore[attr-defined]
    zone = zs.by_apex.get(first.signer)
    if zone is None or zone.dnssec is None:
        return sigs
    owner = rrset.owner
    end = now - EXPIRED_BY
    signer = Signer(zone.origin, list(keys(zone)), Window(end - zone.dnssec.validity, end))
    rdatas = signer.rrsigs(first.signed_owner(owner), rrset.code, first.original_ttl, rrset.rdatas)
    return RRset(owner, RRSIG, [Record(owner, sigs.ttl, rd) for rd in rdatas])


RRSIG_FAULTS: dict[str, Callable[[ZoneSet, list[RRset], KeysOf, int], list[RRset]]] = {
    "corrupt": _corrupt,
    "expired": _expired,
    "strip": _strip,
}
