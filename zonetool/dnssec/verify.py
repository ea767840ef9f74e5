"""Checking an answer's RRSIGs (RFC 4035 5.3) for `route --server`: what a validator would make of it.

Not a validator: no chain of trust, the zone's DNSKEY RRset is taken as the server gives it.
That is enough to tell the lab's validator faults apart (a signature left out, one that does
not verify, one outside its window), each named as its row's `rrsig` in `zonetool.faults`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from zonetool.dnssec.canonical import rrset_wire
from zonetool.dnssec.keys import ZONE_KEY, key_tag, verify
from zonetool.names import Name
from zonetool.rrtypes import Rdata
from zonetool.serial import serial_gt

_FIXED = 18  # type covered .. key tag (RFC 4034 3.1)


@dataclass(frozen=True, slots=True)
class Rrsig:
    """One RRSIG's fields (RFC 4034 3.1); `head` is its RDATA up to the signature, the start of what it signs."""

    covered: int
    algorithm: int
    labels: int
    original_ttl: int
    expiration: int
    inception: int
    key_tag: int
    signer: Name
    signature: bytes
    head: bytes

    @classmethod
    def parse(cls, data: bytes) -> Rrsig:
        labels, at = [], _FIXED
        while at < len(data) and data[at]:  # RFC 4034 3.1.7: the signer's name, uncompressed
            labels.append(data[at + 1 : at + 1 + data[at]])
            at += 1 + data[at]
        at += 1
        return cls(int.from_bytes(data[0:2], "big"), data[2], data[3], int.from_bytes(data[4:8], "big"),
                   int.from_bytes(data[8:12], "big"), int.from_bytes(data[12:16], "big"),
                   int.from_bytes(data[16:18], "big"), Name(tuple(labels)), data[at:], data[:at])

    def signed_owner(self, owner: Name) -> Name:
        """The owner the signature was made over: a wildcard's when fewer labels are signed (RFC 4035 5.3.2)."""
        if len(owner.labels) <= self.labels:
            return owner
        return Name((b"*", *owner.labels[len(owner.labels) - self.labels :]))


def check(owner: Name, code: int, rdatas: list[Rdata], sigs: Sequence[Rrsig], dnskeys: Sequence[bytes],
          now: int) -> str | None:
    """None when one signature holds; else what is wrong, as `zonetool.dnssec.answer.RRSIG_FAULTS`
    names it: "strip" (no RRSIG), "expired" (it verifies, outside its window; RFC 4035 5.3.1),
    "corrupt" (no signature verifies with a key of the zone)."""
    if not sigs:
        return "strip"
    outside = False
    for sig in sigs:
        data = sig.head + rrset_wire(sig.signed_owner(owner), code, sig.original_ttl, rdatas)
        for key in dnskeys:
            flags, algorithm = int.from_bytes(key[:2], "big"), key[3]
            if algorithm != sig.algorithm or not flags & ZONE_KEY or key_tag(key) != sig.key_tag:
                continue
            if verify(algorithm, key[4:], sig.signature, data):
                if serial_gt(now, sig.expiration) or serial_gt(sig.inception, now):  # RFC 4034 3.1.5
                    outside = True
                    continue
                return None
    return "expired" if outside else "corrupt"
