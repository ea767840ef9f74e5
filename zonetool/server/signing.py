"""Online signing for `serve`: zones with `dnssec:` are served signed, re-signed when they change.

The responder hands every zone set it is about to serve to `OnlineSigner.sign`; a zone object
seen before in the same signing window keeps its signed copy, so a reload signs only the zones
whose files changed, and within such a zone only the RRsets that changed: the previous signed
copy of the same origin and window lends the rest their RRSIGs (zonetool.dnssec.sign). A zone
whose keys cannot be read is served unsigned and the reason kept in `problems`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from zonetool.names import Name
from zonetool.zone import Zone

if TYPE_CHECKING:
    from zonetool.dnssec.keys import Key


class OnlineSigner:
    """Signed copies of zones, keyed by the unsigned zone object and the signing window."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._done: dict[int, tuple[Zone, int, Zone]] = {}  # id(zone) -> (zone, window start, signed copy)
        self.problems: dict[str, str] = {}  # origin -> why it is served unsigned
        self.signed: dict[str, int] = {}  # origin -> RRsets the last `sign` signed in it (the others kept theirs)
        self._last: list[Zone] = []  # the zones of the last sign(), unsigned: what a refresh signs again
        # origin -> (source serial, served serial, window inception) of the signed copy served last:
        # a refresh raises the served serial so secondaries transfer the new signatures
        self._serials: dict[Name, tuple[int, int, int]] = {}
        self._keys: dict[Name, list[Key]] = {}  # origin -> the keys its served copy was signed with

    def sign(self, zones: Sequence[Zone]) -> list[Zone]:
        self._last = list(zones)
        self.signed = {}
        if not any(z.dnssec is not None for z in zones):
            self._done = {}
            return list(zones)
        from zonetool.dnssec import DnssecError, window
        from zonetool.dnssec.sign import Signer, served_serial, sign_zone
        from zonetool.source.dnskeys import zone_keys
        from zonetool.zone import common_ttl

        now = int(self.clock())
        out: list[Zone] = []
        kept: dict[int, tuple[Zone, int, Zone]] = {}
        earlier = {zone.origin: (start, signed) for zone, start, signed in self._done.values()}
        for zone in zones:
            policy = zone.dnssec
            if policy is None or zone.soa is None:
                out.append(zone)
                continue
            win = window(policy, now)
            done = self._done.get(id(zone))
            if done is not None and done[0] is zone and done[1] == win.inception:
                signed = done[2]
            else:
                try:
                    keys = zone_keys(zone, policy)
                except DnssecError as exc:
                    self.problems[zone.origin.to_text()] = str(exc)
                    out.append(zone)
                    continue
                self._keys[zone.origin] = keys
                ttl = policy.dnskey_ttl if policy.dnskey_ttl is not None else common_ttl(zone)
                before = earlier.get(zone.origin)
                lend = before[1] if before is not None and before[0] == win.inception else None
                signer = Signer(zone.origin, keys, win)
                source = zone.soa.serial
                serial = served_serial(source, self._serials.get(zone.origin), win.inception)
                signed = sign_zone(zone, keys, policy, win, ttl, earlier=lend, signer=signer, serial=serial)
                self._serials[zone.origin] = (source, serial, win.inception)
                self.signed[zone.origin.to_text()] = signer.rrsets_signed
                self.problems.pop(zone.origin.to_text(), None)
            kept[id(zone)] = (zone, win.inception, signed)
            out.append(signed)
        self._done = kept
        return out

    def due(self) -> list[Name]:
        """The served signed zones whose window has moved on: signing them again refreshes their signatures."""
        if not self._done:
            return []
        from zonetool.dnssec import window

        now = int(self.clock())
        return [zone.origin for zone, start, _ in self._done.values() if window(zone.dnssec, now).inception != start]

    def check_every(self, most: float = 60.0) -> float:
        """How often `due` is worth asking: a quarter of the shortest refresh period served, at most `most`."""
        periods = [zone.dnssec.refresh / 4 for zone, _, _ in self._done.values()]
        return max(1.0, min([most, *periods]))

    def keys(self, zone: Zone) -> list[Key]:
        """The keys `zone` (a served signed copy) was signed with: an expired-signature fault signs with them."""
        return self._keys[zone.origin]

    def sources(self) -> list[Zone]:
        """The zones of the last `sign`, unsigned (what a refresh signs again)."""
        return list(self._last)
