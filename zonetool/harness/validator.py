"""What a sender needs to validate through `zonetool serve`: trust anchors and a ready unbound.conf.

DANE (RFC 7672) works only when the sender's resolver validates: it sets AD on the TLSA answer
(RFC 4035 3.2.3) and the sender trusts that bit from a resolver on its own host (RFC 6698 1.3,
RFC 7672 2.1.1). A lab has no chain from the root, so the validator is given each signed zone's
key-signing key as its trust anchor, and asks `zonetool serve` directly for those zones (a stub
zone: queries without RD, as to any authoritative server). Unsigned zones are stubbed too, marked
`domain-insecure` (they are not under any anchor; saying so keeps a lab that nests them honest).

Pure: text in, text out. `serve --validator-conf FILE` writes `unbound_conf(...)` atomically.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from zonetool.rrtypes import RRType
from zonetool.zone import Zone

DNSKEY_CODE = int(RRType.DNSKEY)
SEP = 0x0001  # DNSKEY flags bit 15: a key-signing key, the one a trust anchor names (RFC 4034 2.1.1)
LAB_MAX_TTL = 5  # seconds: each serve start makes new sink certificates, so nothing is kept longer


@dataclass(frozen=True)
class Anchor:
    """One signed zone's key-signing key, as a DNSKEY and as its SHA-256 DS (RFC 4034 5.1.4)."""

    owner: str  # "lab.example."
    ttl: int
    tag: int
    algorithm: int
    public: bytes  # the DNSKEY RDATA

    @property
    def dnskey(self) -> str:
        flags = int.from_bytes(self.public[:2], "big")
        return f"{self.owner} {self.ttl} IN DNSKEY {flags} {self.public[2]} {self.algorithm} " \
               f"{base64.b64encode(self.public[4:]).decode('ascii')}"

    @property
    def ds(self) -> str:
        digest = hashlib.sha256(_wire(self.owner) + self.public).hexdigest().upper()
        return f"{self.owner} {self.ttl} IN DS {self.tag} {self.algorithm} 2 {digest}"


def _wire(owner: str) -> bytes:
    """The owner in canonical (lower case) wire form, as the DS digest covers it (RFC 4034 5.1.4)."""
    labels = [label for label in owner.lower().rstrip(".").split(".") if label]
    return b"".join(bytes((len(lab),)) + lab.encode("ascii") for lab in labels) + b"\x00"


def _tag(rdata: bytes) -> int:
    """RFC 4034 Appendix B."""
    total = sum(octet if i & 1 else octet << 8 for i, octet in enumerate(rdata))
    return (total + ((total >> 16) & 0xFFFF)) & 0xFFFF


def trust_anchors(zones: Iterable[Zone]) -> list[Anchor]:
    """The SEP keys of the DNSKEY RRset at the apex of each zone served signed (one with `dnssec:`
    whose keys were found: a zone served unsigned has no DNSKEY and gives no anchor)."""
    found = []
    for zone in zones:
        rrset = zone.rrset(zone.origin, DNSKEY_CODE) if zone.dnssec is not None else None
        for record in rrset.records if rrset is not None else ():
            public = record.rdata.to_wire()
            if len(public) > 4 and int.from_bytes(public[:2], "big") & SEP:
                found.append(Anchor(zone.origin.to_text(), record.ttl, _tag(public), public[3], public))
    return found


def stub_address(address: str) -> str:
    """Where a validator on this host reaches the server: a wildcard listen address means loopback."""
    return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(address, address)


def unbound_conf(anchors: Sequence[Anchor], insecure: Sequence[str], server: tuple[str, int],
                 listen: tuple[str, int], folder: str) -> str:
    """A complete unbound.conf: validates `anchors`' zones and stubs every served zone to `server`.

    `insecure`: the served zones without an anchor; `listen`: the validator's own address and port
    (port 53 for a sender that reads /etc/resolv.conf: it cannot name another); `folder`: where its
    PID file goes (the folder of the conf). Meant to be run in the foreground: `unbound -d -c FILE`.
    """
    address, port = server
    stub = f"{stub_address(address)}@{port}"
    signed = list(dict.fromkeys(a.owner for a in anchors))
    zones = signed + [z for z in dict.fromkeys(insecure) if z not in signed]
    out = [
        "# unbound.conf written by `zonetool serve --validator-conf`: a validating resolver for the lab.",
        f"# Run it: unbound -d -c THIS_FILE    (it answers on {listen[0]} port {listen[1]})",
        f"# A sender's /etc/resolv.conf then: nameserver {listen[0]} / options trust-ad",
        "# (glibc 2.31 and later clear the AD bit from a resolver's answers without trust-ad.)",
        "server:",
        f"  interface: {listen[0]}",
        f"  port: {listen[1]}",
        f"  do-ip6: {'yes' if ':' in stub_address(address) else 'no'}",
        "  do-daemonize: no",
        '  username: ""',
        '  chroot: ""',
        f'  directory: "{folder}"',
        f'  pidfile: "{folder.rstrip("/")}/unbound.pid"',
        '  logfile: ""',
        "  use-syslog: no",
        "  verbosity: 1",
        "  val-log-level: 2  # the log says why an answer is bogus",
        '  module-config: "validator iterator"',
        "  do-not-query-localhost: no  # zonetool serve is on this host",
        "  access-control: 127.0.0.0/8 allow",
        "  access-control: ::1/128 allow",
        f"  cache-max-ttl: {LAB_MAX_TTL}  # each serve start makes new certificates and TLSA; faults change",
        f"  cache-max-negative-ttl: {LAB_MAX_TTL}",
        "  infra-host-ttl: 5  # a restarted zonetool serve is asked again at once",
        "  trust-anchor-signaling: no  # no RFC 8145 key tag queries in the server's log",
        "  root-key-sentinel: no",
    ]
    for zone in zones:  # transparent: a name under a default local zone (test., invalid.) is resolved
        out.append(f'  local-zone: "{zone}" transparent')
    out += [f'  trust-anchor: "{a.ds}"' for a in anchors]  # RFC 4033 5: the lab's secure entry points
    out += [f'  domain-insecure: "{z}"' for z in zones if z not in signed]
    for zone in zones:
        out += ["stub-zone:", f'  name: "{zone}"', f"  stub-addr: {stub}"]
    return "\n".join(out) + "\n"


def sender_notes(anchors: Sequence[Anchor], conf: object | None, listen: tuple[str, int]) -> list[str]:
    """What `serve` tells a sender's operator: the anchors, the conf written, the resolv.conf lines."""
    notes = [f"trust anchor {text}" for a in anchors for text in (a.ds, a.dnskey)]
    if not anchors:
        notes.append("no served zone is signed: every answer is insecure, and a DANE sender does "
                     "opportunistic TLS without the TLSA (RFC 7672 2.2)")
    where = f"{listen[0]}:{listen[1]}"
    if conf is None:
        notes.append("--validator-conf FILE writes an unbound.conf that validates through this server")
    else:
        zones = len({a.owner for a in anchors})
        notes.append(f"{conf} written: `unbound -d -c {conf}` answers on {where}, validating {zones} "
                     "zone(s) with these anchors")
    port_note = "" if listen[1] == 53 else " (with --validator-port 53: resolv.conf cannot name a port)"
    notes.append(f"a sender's resolv.conf: nameserver {listen[0]} and options trust-ad (glibc 2.31 and later "
                 f"clear AD without it){port_note}")
    return notes
__all__ = ["Anchor", "sender_notes", "stub_address", "trust_anchors", "unbound_conf"]
