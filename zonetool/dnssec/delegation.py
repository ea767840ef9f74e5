"""A parent's DS for its signed children served or exported with it (RFC 4035 2.4, RFC 4034 5).

The DS at a cut is made from the child's key-signing keys (SHA-256, RFC 4509); a DS the parent
wrote itself at the cut is its own word and is left alone. A child that is not signed gets none:
the delegation is insecure, which the parent's NSEC/NSEC3 at the cut proves (RFC 4035 3.1.4.1).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from zonetool.dnssec.canonical import lower_wire
from zonetool.dnssec.keys import Key, ds_rdata
from zonetool.names import Name
from zonetool.rrtypes import Generic, RRType
from zonetool.zone import Record, RRset, Zone

DS, NS = int(RRType.DS), int(RRType.NS)
_made: dict[tuple[Name, tuple[bytes, ...]], frozenset[Generic]] = {}  # (cut, the KSKs' DNSKEY RDATA) -> DS set


def child_ds(cut: Name, keys: Sequence[Key]) -> frozenset[Generic]:
    """The DS RDATA for a child's key-signing keys; made once per key set (a reload of other zones reuses it)."""
    seps = [k for k in keys if k.is_sep]
    memo = (cut, tuple(sorted(k.dnskey() for k in seps)))
    found = _made.get(memo)
    if found is None:
        if len(_made) > 4096:  # keys that came and went: forget them rather than grow without end
            _made.clear()
        found = _made[memo] = frozenset(Generic(DS, ds_rdata(lower_wire(cut), k)) for k in seps)
    return found


def ds_wanted(parent: Zone, children: Mapping[Name, Sequence[Key]]) -> dict[Name, frozenset[Generic]]:
    """The DS to publish at each cut of `parent` that is a child signed with `children[cut]`'s keys,
    except where the parent has a DS of its own."""
    out: dict[Name, frozenset[Generic]] = {}
    if not children:
        return out
    for cut in parent.cuts:
        keys = children.get(cut)
        if keys is not None and parent.rrset(cut, DS) is None:
            ds = child_ds(cut, keys)
            if ds:
                out[cut] = ds
    return out


def ds_records(parent: Zone, cut: Name, ds: frozenset[Generic]) -> list[Record]:
    """The DS records at `cut`, with the TTL of the parent's NS there, in a stable order."""
    ttl = parent.rrset(cut, NS).ttl  # type: ignore[union-attr]  # a cut has NS by definition
    return [Record(cut, ttl, rd, origin="dnssec") for rd in sorted(ds, key=lambda r: r.data)]


def with_ds(parent: Zone, wanted: Mapping[Name, frozenset[Generic]]) -> Zone:
    """A copy of `parent` with the children's DS added at their cuts; `parent` itself is not changed
    (the served source zone stays what its file says). The copy shares every other RRset."""
    if not wanted:
        return parent
    copy = Zone(parent.origin, parent.file)
    copy.auto_serial, copy.silence, copy.faults_spec = parent.auto_serial, parent.silence, parent.faults_spec
    copy.dnssec, copy.mta_sts, copy.duplicates = parent.dnssec, parent.mta_sts, parent.duplicates
    copy.nodes = dict(parent.nodes)
    for cut, ds in wanted.items():
        copy.nodes[cut] = {**copy.nodes[cut], DS: RRset(cut, DS, ds_records(parent, cut, ds))}
    return copy
