"""Canonical form and order (RFC 4034 6): the one place signing and NSEC chains get them from.

Owner names and the names inside RDATA of the RFC 4034 6.2 types are written in lower case,
never compressed; RFC 6840 5.1 takes NSEC (and HINFO, which holds no name) off that list.
Each type packs itself (`Rdata.pack`) into `CanonicalPacker`, whose `name` writes lower case:
only the RFC 1035 types with names call it, and all of them are on the list. Types kept as
octets (`Generic`) that are on the list are walked by their field kinds (rrtypes/table.py).
"""

from __future__ import annotations

from zonetool.names import Name
from zonetool.rrtypes import Generic, Rdata, read_name
from zonetool.rrtypes.table import EXTRA_TYPES

# RFC 4034 6.2 (as amended by RFC 6840 5.1) types kept as octets: MB MG MR MINFO RP AFSDB RT SIG PX NAPTR KX DNAME RRSIG
_LOWERED_OCTET_TYPES = frozenset({7, 8, 9, 14, 17, 18, 21, 24, 26, 35, 36, 39, 46})
_FIXED = {"u8": 1, "alg": 1, "u16": 2, "type": 2, "u32": 4, "time": 4}


def lower_wire(name: Name) -> bytes:
    """A name in canonical wire form (RFC 4034 6.2 items 2 and 3)."""
    return b"".join(bytes((len(label),)) + label for label in name.key) + b"\x00"


class CanonicalPacker:
    """What `Rdata.pack` writes into for the canonical form: names lower case, uncompressed."""

    __slots__ = ("buf",)

    def __init__(self) -> None:
        self.buf = bytearray()

    def name(self, name: Name, compress: bool = True) -> None:
        buf = self.buf
        for label in name.key:
            buf.append(len(label))
            buf += label
        buf.append(0)


def canonical_rdata(rdata: Rdata) -> bytes:
    """RDATA in canonical form (RFC 4034 6.2)."""
    if isinstance(rdata, Generic):
        if rdata.number in _LOWERED_OCTET_TYPES:
            return _lowered_octets(rdata.number, rdata.data)
        return rdata.data
    packer = CanonicalPacker()
    rdata.pack(packer)
    return bytes(packer.buf)


def _lowered_octets(code: int, data: bytes) -> bytes:
    """Octets of a table type with every 'name' field lowered; the rest copied as it is."""
    _, kinds = EXTRA_TYPES[code]
    out = bytearray()
    i = 0
    for kind in kinds:
        if kind == "name":
            name, end = read_name(data, i, pointers=False)
            out += lower_wire(name)
            i = end
        elif kind == "str":
            end = i + 1 + data[i]
            out += data[i:end]
            i = end
        elif kind in _FIXED:
            out += data[i : i + _FIXED[kind]]
            i += _FIXED[kind]
        else:  # a kind that takes the rest of the data (b64 of SIG/RRSIG)
            break
    return bytes(out + data[i:])


def canonical_rrset(rdatas: list[Rdata]) -> list[bytes]:
    """An RRset's RDATA in canonical order (RFC 4034 6.3): sorted octets, duplicates dropped."""
    return sorted({canonical_rdata(r) for r in rdatas})


def rrset_wire(owner: Name, code: int, ttl: int, rdatas: list[Rdata]) -> bytes:
    """The RRset part of what an RRSIG signs (RFC 4034 3.1.8.1): canonical records, one TTL, class IN."""
    head = lower_wire(owner) + code.to_bytes(2, "big") + b"\x00\x01" + ttl.to_bytes(4, "big")
    return b"".join(head + len(rd).to_bytes(2, "big") + rd for rd in canonical_rrset(rdatas))


def name_order(name: Name) -> tuple[bytes, ...]:
    """Sort key of canonical name order (RFC 4034 6.1)."""
    return name.canonical_key()
