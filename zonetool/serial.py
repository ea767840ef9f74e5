"""Auto serials: date-based YYYYMMDDnn that change only when the zone's content does.

`serial: auto` must give the same serial for the same content (so exporting twice gives the
same file, and a reload of an unchanged zone is not a change for secondaries), and a
strictly greater one (RFC 1982 serial arithmetic) as soon as any record changes.
Callers keep the last (serial, digest) pair, e.g. in the exported file or server state.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, date, datetime

from zonetool.rrtypes import SOA
from zonetool.zone import Zone

SERIAL_BITS = 32
_MOD = 1 << SERIAL_BITS
_HALF = 1 << (SERIAL_BITS - 1)


def date_serial(today: date | None = None) -> int:
    """YYYYMMDD00 of `today` (UTC by default)."""
    day = today or datetime.now(UTC).date()
    return (day.year * 100 + day.month) * 10000 + day.day * 100


def serial_gt(a: int, b: int) -> bool:
    """a > b in serial number arithmetic (RFC 1982 3.2)."""
    return (a < b and b - a > _HALF) or (a > b and a - b < _HALF)


def content_digest(zone: Zone) -> str:
    """A stable hash of every record (owner spelling, TTL, type, data) except the SOA serial.

    Independent of the order records were added in: lines are sorted before hashing.
    """
    lines: list[str] = []
    for record in zone.records():
        rdata = record.rdata
        if isinstance(rdata, SOA):
            rdata = replace(rdata, serial=0)
        lines.append(f"{record.owner.to_text()}\t{record.ttl}\t{record.code}\t{rdata.to_text()}")
    lines.sort()
    h = hashlib.sha256(zone.origin.to_text().encode("utf-8") + b"\n")
    h.update("\n".join(lines).encode("utf-8"))
    return "sha256:" + h.hexdigest()


def next_serial(
    previous_serial: int | None,
    previous_digest: str | None,
    digest: str,
    today: date | None = None,
) -> int:
    """The serial for content `digest`, given the last published serial and its digest.

    Same content -> the same serial. Otherwise today's YYYYMMDD00, or previous + 1 when
    that is not greater (several changes a day, or a previous serial from another scheme),
    wrapping modulo 2**32 as RFC 1982 allows.
    """
    if previous_serial is not None and previous_digest == digest:
        return previous_serial
    base = date_serial(today)
    if previous_serial is None or serial_gt(base, previous_serial):
        return base
    return (previous_serial + 1) % _MOD


def stamp(zone: Zone, previous_serial: int | None, previous_digest: str | None,
          today: date | None = None) -> tuple[int, str]:
    """Set an auto-serial zone's SOA serial from its content; returns (serial, digest)."""
    digest = content_digest(zone)
    serial = next_serial(previous_serial, previous_digest, digest, today)
    if zone.auto_serial and zone.soa is not None:
        zone.set_serial(serial)
    return serial, digest
