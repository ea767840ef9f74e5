"""Signing a zone: DNSKEY at the apex, an RRSIG for every authoritative RRset, an NSEC or NSEC3 chain.

RFC 4035 2: every authoritative RRset is signed; at a delegation point only DS (and the NSEC)
is, NS and glue are not (2.2); an NSEC is made for every authoritative name and delegation
point, none for glue-only names (2.3). NSEC3 (RFC 5155 7.1) also covers empty non-terminals;
RFC 9276 3.1 parameters: no extra iterations, empty salt, opt-out off (every delegation hashed).

Incremental re-signing (a reload in `serve`): given the zone's previous signed copy, an RRset whose
owner, type, TTL and data are unchanged keeps its RRSIGs when they are the ones this signer would
make (same keys, same window, same original TTL); the denial chain is rebuilt (hashing, no
cryptography) and only its records whose content changed are signed again.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from collections.abc import Callable
from dataclasses import replace

from zonetool.dnssec.canonical import lower_wire, name_order, rrset_wire
from zonetool.dnssec.keys import Key
from zonetool.dnssec.policy import DnssecError, Policy, Window
from zonetool.names import Name
from zonetool.rrtypes import Generic, RRType
from zonetool.rrtypes.table import type_bitmap
from zonetool.serial import serial_gt
from zonetool.zone import Record, RRset, Zone

DNSKEY, RRSIG, NSEC, NSEC3 = int(RRType.DNSKEY), int(RRType.RRSIG), int(RRType.NSEC), int(RRType.NSEC3)
NSEC3PARAM, DS, NS, SOA = int(RRType.NSEC3PARAM), int(RRType.DS), int(RRType.NS), int(RRType.SOA)
_MADE_BY_SIGNING = frozenset({RRSIG, NSEC, NSEC3, NSEC3PARAM})  # replaced on every signing
NSEC3_SHA1 = 1  # RFC 5155 11: the one hash algorithm
ORIGIN_TAG = "dnssec"  # Record.origin of what signing adds


class SigningError(DnssecError):
    """A zone that cannot be signed as asked (no key, no SOA): the message says why."""


def nsec3_hash(name: Name, salt: bytes = b"", iterations: int = 0) -> bytes:
    """RFC 5155 5: IH(salt, x, k), x the owner in canonical wire form."""
    digest = hashlib.sha1(lower_wire(name) + salt).digest()
    for _ in range(iterations):
        digest = hashlib.sha1(digest + salt).digest()
    return digest


def nsec3_owner(digest: bytes, origin: Name) -> Name:
    label = base64.b32hexencode(digest).decode("ascii").rstrip("=").lower().encode("ascii")
    return Name((label, *origin.labels))


class Signer:
    """Makes RRSIGs over RRsets with a zone's keys for one window (RFC 4034 3.1.8.1)."""

    def __init__(self, origin: Name, keys: list[Key], win: Window) -> None:
        if not keys:
            raise SigningError(f"no key to sign {origin} with")
        seps = [k for k in keys if k.is_sep]
        zsks = [k for k in keys if not k.is_sep]
        self.key_keys = seps or zsks  # the DNSKEY RRset: the SEP keys (KSK or CSK)
        self.zone_keys = zsks or seps  # everything else: the ZSKs, or the CSK
        self.signer = lower_wire(origin)
        self.win = win
        self.rrsets_signed = 0  # how many RRsets this signer made signatures for (tests and `serve` count them)

    def _keys_for(self, code: int) -> list[Key]:
        return self.key_keys if code == DNSKEY else self.zone_keys

    def _fields(self, key: Key, owner: Name, code: int, ttl: int) -> bytes:
        """RRSIG RDATA up to the signature (RFC 4034 3.1): what one key's signature over an RRset starts with."""
        labels = len(owner.labels) - (1 if owner.is_wildcard() else 0)  # RFC 4034 3.1.3
        return struct.pack("!HBBIIIH", code, key.algorithm, labels, ttl, self.win.expiration,
                           self.win.inception, key.tag) + self.signer

    def reusable(self, rrsigs: list[Record], owner: Name, code: int, ttl: int) -> list[Record] | None:
        """The records of `rrsigs` this signer would make for the RRset (owner, code, ttl), one per key;
        None unless every key has one (a changed key, window or TTL: sign again)."""
        heads = {self._fields(key, owner, code, ttl) for key in self._keys_for(code)}
        size = len(next(iter(heads)))
        found: dict[bytes, Record] = {}
        for record in rrsigs:
            head = record.rdata.data[:size]  # type: ignore[attr-defined]  # RRSIGs are kept as octets
            if head in heads:
                found.setdefault(head, record)
        return list(found.values()) if len(found) == len(heads) else None

    def rrsigs(self, owner: Name, code: int, ttl: int, rdatas: list[Generic] | list[object]) -> list[Generic]:
        """The RRSIG RDATA over one RRset, one per signing key."""
        self.rrsets_signed += 1
        body = rrset_wire(owner, code, ttl, rdatas)  # type: ignore[arg-type]
        out = []
        for key in self._keys_for(code):
            fields = self._fields(key, owner, code, ttl)
            out.append(Generic(RRSIG, fields + key.sign(fields + body)))
        return out


class _Earlier:
    """An earlier signed copy of the zone: the RRSIGs of its RRsets that are still right for the new one.

    A copy `sign_zone` made holds signatures of one key set and one window only (what it lends
    was checked the same way), so checking its SOA's and DNSKEY's RRSIGs against this signer
    (`usable`) answers for all of them; each RRset then needs only its data compared."""

    def __init__(self, signed: Zone, signer: Signer) -> None:
        self.nodes = signed.nodes
        self.zone_keys, self.key_keys = len(signer.zone_keys), len(signer.key_keys)
        self.usable = all(self._checked(signed, signer, code) for code in (SOA, DNSKEY))

    @staticmethod
    def _checked(signed: Zone, signer: Signer, code: int) -> bool:
        origin = signed.origin
        rrset, sigs = signed.rrset(origin, code), signed.rrset(origin, RRSIG)
        return (rrset is not None and sigs is not None
                and signer.reusable(sigs.records, origin, code, rrset.ttl) is not None)

    def rrsigs(self, rrset: RRset) -> list[Record] | None:
        """The earlier RRSIGs over `rrset` if it is unchanged (owner, type, TTL, data); None: sign it."""
        node = self.nodes.get(rrset.owner)
        if node is None:
            return None
        code = rrset.code
        old, sigs = node.get(code), node.get(RRSIG)
        if old is None or sigs is None:
            return None
        was, now = old.records, rrset.records
        if len(was) == 1 == len(now):  # most RRsets: one record, compared without the owner (the same node)
            if was[0].ttl != now[0].ttl or was[0].rdata != now[0].rdata:
                return None
        elif was != now and (old.ttl != rrset.ttl or old.rdata_set() != rrset.rdata_set()):
            return None  # (records equal in order: same TTLs and data, without hashing every RDATA)
        covered = code.to_bytes(2, "big")  # RFC 4034 3.1.1: the type covered comes first
        found = [r for r in sigs.records if r.rdata.data[:2] == covered]  # type: ignore[attr-defined]
        # one per key: a key dropped since leaves its signature behind, which must not be served
        return found if len(found) == (self.key_keys if code == DNSKEY else self.zone_keys) else None


def served_serial(source: int, before: tuple[int, int, object] | None, basis: object) -> int:
    """The SOA serial of a new signed copy: the source's, unless a secondary would then miss it.

    `before` is (source serial, served serial, basis) of the copy served until now; the basis is
    what the copy depends on besides its source (the signing window, a child's DS). New signatures
    (a refresh, RFC 4035 2.1 keeps RRSIGs current) or a new DS are a new version, so the serial
    rises past the one served (RFC 1982 3.1 addition) even when the source's did not: a secondary
    that compares serials (RFC 1996 3.11) transfers them. A source serial above the served one is
    taken as it is; one that did not move, on the same basis, keeps the served serial."""
    if before is None:
        return source
    was_source, served, was_basis = before
    if serial_gt(source, served):
        return source
    if source == was_source and basis == was_basis:
        return served
    return (served + 1) % 2**32


def sign_zone(zone: Zone, keys: list[Key], policy: Policy, win: Window, dnskey_ttl: int,
              earlier: Zone | None = None, signer: Signer | None = None, serial: int | None = None) -> Zone:
    """A signed copy of `zone`: its records (old RRSIG/NSEC/NSEC3 dropped), DNSKEYs, signatures, denial chain.

    The copy shares the unchanged RRsets of `zone` (neither is changed afterwards by signing).
    `earlier`, a signed copy of a previous version, lends the RRSIGs of the RRsets (and denial
    records) that did not change, when made with these keys in this window: the result is the
    same as signing everything again. `signer` (made here if not given) counts what was signed.
    `serial`: the copy's SOA serial when it differs from the zone's (`served_serial`)."""
    origin = zone.origin
    soa_rec = zone.soa_record()
    if soa_rec is None:
        raise SigningError(f"{origin} has no SOA: nothing to sign")
    if signer is None:
        signer = Signer(origin, keys, win)
    lender = _Earlier(earlier, signer) if earlier is not None else None
    lend = lender.rrsigs if lender is not None and lender.usable else None
    out = Zone(origin, zone.file)
    out.auto_serial, out.silence, out.faults_spec = zone.auto_serial, zone.silence, zone.faults_spec
    out.dnssec, out.mta_sts = zone.dnssec, getattr(zone, "mta_sts", None)
    nodes = out.nodes
    for name, node in zone.nodes.items():
        if name.is_subdomain_of(origin):
            kept = {code: rrset for code, rrset in node.items() if code not in _MADE_BY_SIGNING}
            if kept:
                nodes[name] = kept
    apex = nodes.setdefault(origin, {})
    if serial is not None and serial != soa_rec.rdata.serial:  # type: ignore[attr-defined]
        soa_rec = replace(soa_rec, rdata=replace(soa_rec.rdata, serial=serial))  # type: ignore[type-var]
        apex[SOA] = RRset(origin, SOA, [soa_rec])  # a new RRset: the source zone keeps its own
    old = apex.get(DNSKEY)
    published = RRset(origin, DNSKEY, list(old.records) if old else [])
    for key in keys:
        dnskey = Generic(DNSKEY, key.dnskey())
        if dnskey not in published.rdata_set():
            published.records.append(Record(origin, dnskey_ttl, dnskey, origin=ORIGIN_TAG))
            published.rdata_set().add(dnskey)
    apex[DNSKEY] = published
    soa = soa_rec.rdata
    negative_ttl = min(soa_rec.ttl, soa.minimum)  # type: ignore[attr-defined]  # RFC 9077 3
    if policy.denial == "nsec3":
        param = Generic(NSEC3PARAM, bytes((NSEC3_SHA1, 0, 0, 0, 0)))
        apex[NSEC3PARAM] = RRset(origin, NSEC3PARAM, [Record(origin, negative_ttl, param, origin=ORIGIN_TAG)])
    cuts = out.cuts
    # the zone's authoritative names and delegation points, in canonical order; glue-only names left out
    names = sorted((n for n in nodes if not _occluded(out, n)), key=name_order)
    if policy.denial == "nsec3":
        chain = _nsec3_chain(out, names, cuts, negative_ttl)
    else:
        chain = _nsec_chain(out, names, cuts, negative_ttl)
    # signatures: every authoritative RRset (at a cut only DS), then the chain's records
    for name in names:
        node = nodes[name]
        at_cut = name in cuts
        sigs: list[Record] = []
        for code, rrset in node.items():
            if not at_cut or code == DS:
                sigs.extend(_signed(signer, rrset, lend))
        if sigs:
            node[RRSIG] = RRset(name, RRSIG, sigs)
    for record in chain:
        owner, code = record.owner, record.code
        rrset = RRset(owner, code, [record])
        sigs = _signed(signer, rrset, lend)
        node = nodes.setdefault(owner, {})
        node[code] = rrset
        rrsig = node.get(RRSIG)
        if rrsig is None:
            node[RRSIG] = RRset(owner, RRSIG, sigs)
        else:
            rrsig.records.extend(sigs)
    out._ents = out._cuts = None
    return out


def _signed(signer: Signer, rrset: RRset, lend: Callable[[RRset], list[Record] | None] | None) -> list[Record]:
    if lend is not None:
        kept = lend(rrset)
        if kept is not None:
            return kept
    ttl = rrset.ttl
    return [Record(rrset.owner, ttl, rd, origin=ORIGIN_TAG)
            for rd in signer.rrsigs(rrset.owner, rrset.code, ttl, rrset.rdatas)]


def _occluded(zone: Zone, name: Name) -> bool:
    return not name.is_subdomain_of(zone.origin) or zone.is_occluded(name)


_bitmaps: dict[frozenset[int], bytes] = {}


def _bitmap(codes: frozenset[int]) -> bytes:
    found = _bitmaps.get(codes)
    if found is None:
        found = _bitmaps[codes] = type_bitmap(codes)
    return found


def _types_at(zone: Zone, name: Name, cuts: set[Name]) -> set[int]:
    """The types a denial record lists for `name`: at a cut only NS and DS (RFC 4035 2.3, RFC 5155 7.1)."""
    codes = set(zone.nodes[name])
    if name in cuts:
        codes &= {NS, DS}
    return codes


def _nsec_chain(zone: Zone, names: list[Name], cuts: set[Name], ttl: int) -> list[Record]:
    """RFC 4034 4: each name points at the next in canonical order, the last at the apex."""
    out = []
    for i, name in enumerate(names):
        following = names[(i + 1) % len(names)]
        codes = frozenset(_types_at(zone, name, cuts) | {NSEC, RRSIG})
        out.append(Record(name, ttl, Generic(NSEC, lower_wire(following) + _bitmap(codes)), origin=ORIGIN_TAG))
    return out


def _nsec3_chain(zone: Zone, names: list[Name], cuts: set[Name], ttl: int) -> list[Record]:
    """RFC 5155 7.1: one NSEC3 per name and empty non-terminal, in hash order, the last pointing at the first."""
    origin = zone.origin
    every: set[Name] = set(names)
    depth = len(origin.labels)
    for name in names:  # empty non-terminals above authoritative names (RFC 5155 7.1 step 4)
        labels = name.labels
        for i in range(1, len(labels) - depth):
            parent = Name(labels[i:])
            if parent in every:
                break
            every.add(parent)
    hashed = sorted((nsec3_hash(name), name) for name in every)
    head = bytes((NSEC3_SHA1, 0)) + (0).to_bytes(2, "big") + b"\x00"  # flags 0 (no opt-out), 0 iterations, no salt
    out = []
    for i, (digest, name) in enumerate(hashed):
        following = hashed[(i + 1) % len(hashed)][0]
        if name in zone.nodes:
            codes = _types_at(zone, name, cuts)
            if name not in cuts or DS in codes:
                codes.add(RRSIG)
        else:
            codes = set()  # an empty non-terminal
        data = head + bytes((len(following),)) + following + _bitmap(frozenset(codes))
        out.append(Record(nsec3_owner(digest, origin), ttl, Generic(NSEC3, data), origin=ORIGIN_TAG))
    return out
