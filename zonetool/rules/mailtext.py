"""What the mail families (spf, dmarc, dkim, mtasts, tlsrpt, dane) read from a zone, in one place.

Record data is read only through these accessors, so when record types move (issue 15:
zonetool/rrtypes/) adapting the mail rules is a change here, not in six families.
"""

from __future__ import annotations

from collections.abc import Iterator

from zonetool.names import Name, NameError_
from zonetool.rrtypes import TXT, RRType
from zonetool.rules.base import A_CODE, AAAA_CODE, CNAME_CODE, TXT_CODE, Context
from zonetool.zone import Record, RRset, Zone

TLSA_CODE, DNSKEY_CODE = int(RRType.TLSA), int(RRType.DNSKEY)


def txt(record: Record) -> str | None:
    """A TXT record's strings joined as one text (RFC 7208 3.3), or None for another type."""
    rdata = record.rdata
    return rdata.joined().decode("utf-8", "replace") if isinstance(rdata, TXT) else None


def tlsa(record: Record) -> tuple[int, int, int, bytes] | None:
    """(usage, selector, matching type, association data) of a TLSA record (RFC 6698 2.1), or None.

    A native TLSA class (fields `usage`, `selector`, `mtype`, `data`) is read by its fields;
    today's records keep TLSA as wire octets (records.Generic), read here.
    """
    rdata = record.rdata
    if record.code != TLSA_CODE:
        return None
    if hasattr(rdata, "usage"):
        return (rdata.usage, rdata.selector, rdata.mtype, bytes(rdata.data))  # type: ignore[attr-defined]
    data = getattr(rdata, "data", b"")
    if len(data) < 3:
        return None
    return data[0], data[1], data[2], data[3:]


def txt_records(ctx: Context, first_label: bytes | None = None) -> Iterator[tuple[Record, str]]:
    """(record, text) of every TXT record, or of those whose owner's first label is `first_label`."""
    for rrset in ctx.rrsets(TXT_CODE):
        if first_label is not None and (not rrset.owner.key or rrset.owner.key[0] != first_label):
            continue
        for r in rrset.records:
            text = txt(r)
            if text is not None:
                yield r, text


def txt_at(zone: Zone, name: Name) -> list[tuple[Record, str]]:
    rrset = zone.rrset(name, TXT_CODE)
    if rrset is None:
        return []
    return [(r, t) for r in rrset.records if (t := txt(r)) is not None]


def domain_name(text: str) -> Name | None:
    """A domain written in a record (absolute, trailing dot optional), or None if it is no name."""
    try:
        return Name.from_text(text.rstrip(".") + ".")
    except NameError_:
        return None


def _answering(zone: Zone, name: Name) -> dict[int, RRset] | None:
    """The node whose RRsets answer `name`: its own, or the wildcard of its closest encloser (RFC 4592)."""
    node = zone.nodes.get(name)
    if node is not None:
        return node
    if zone.exists(name):
        return None  # an empty non-terminal: no wildcard synthesis (RFC 4592 2.2.2)
    labels, depth = name.labels, len(zone.origin.labels)
    for i in range(1, len(labels) - depth + 1):
        encloser = Name(labels[i:])
        if zone.exists(encloser):
            return zone.nodes.get(encloser.child(b"*"))
    return None


def resolves(zone: Zone, name: Name, codes: tuple[int, ...]) -> bool:
    """True if `name` in `zone` answers with one of `codes` (a CNAME counts: it leads elsewhere),
    directly or through a wildcard."""
    node = _answering(zone, name)
    return node is not None and (CNAME_CODE in node or any(c in node for c in codes))


def txt_answer(zone: Zone, name: Name) -> list[tuple[Record, str]]:
    """The TXT texts a query for `name` gets from `zone`, a wildcard's included (a consent record)."""
    node = _answering(zone, name)
    rrset = node.get(TXT_CODE) if node is not None else None
    return [] if rrset is None else [(r, t) for r in rrset.records if (t := txt(r)) is not None]


ADDRESS = (A_CODE, AAAA_CODE)


def at(offset: int) -> str:
    """Where a term sits inside the record text, for messages (1-based, as editors count)."""
    return f"at character {offset + 1}"
