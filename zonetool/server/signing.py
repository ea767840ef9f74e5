"""Online signing for `serve`: zones with `dnssec:` are served signed, re-signed when they change.

The responder hands every zone set it is about to serve to `OnlineSigner.sign`; a zone object
seen before in the same signing window keeps its signed copy, so a reload signs only the zones
whose files changed, and within such a zone only the RRsets that changed: the previous signed
copy of the same origin and window lends the rest their RRSIGs (zonetool.dnssec.sign). A zone
whose keys cannot be read is served unsigned and the reason kept in `problems`. A signed parent
publishes the DS of each signed child served with it (zonetool.dnssec.delegation), so a change of
the child's keys re-signs the parent's DS. New signatures (a refresh) or a new DS come under a
higher SOA serial than the one served (zonetool.dnssec.sign.served_serial).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from zonetool.gcpause import paused
from zonetool.names import Name
from zonetool.zone import Zone

if TYPE_CHECKING:
    from zonetool.dnssec.keys import Key


_SEEDED = object()  # the basis of a serial carried over a restart: taken as the first signing's own


class OnlineSigner:
    """Signed copies of zones, keyed by the unsigned zone object and the signing window."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        # id(zone) -> (zone, window start, the children's DS it publishes, signed copy)
        self._done: dict[int, tuple[Zone, int, object, Zone]] = {}
        self.problems: dict[str, str] = {}  # origin -> why it is served unsigned
        self.signed: dict[str, int] = {}  # origin -> RRsets the last `sign` signed in it (the others kept theirs)
        self.resigned: list[Name] = []  # the zones the last `sign` signed again: new serials, for NOTIFY
        self._last: list[Zone] = []  # the zones of the last sign(), unsigned: what a refresh signs again
        # origin -> (source serial, served serial, basis: window and children's DS) of the copy served
        # last: new signatures or a new DS raise the served serial, so secondaries transfer them
        self._serials: dict[Name, tuple[int, int, object]] = {}
        self._keys: dict[Name, list[Key]] = {}  # origin -> the keys its served copy was signed with

    def sign(self, zones: Sequence[Zone]) -> list[Zone]:
        """The zones to serve: each with `dnssec:` signed (its earlier copy reused or lent from), the
        others as they are. A signed parent publishes the DS of each signed child among `zones`."""
        self._last = list(zones)
        self.signed, self.resigned = {}, []
        if not any(z.dnssec is not None for z in zones):
            self._done = {}
            return list(zones)
        now = int(self.clock())
        kept: dict[int, tuple[Zone, int, object, Zone]] = {}
        earlier = {zone.origin: (start, signed) for zone, start, _, signed in self._done.values()}
        live: dict[Name, list[Key]] = {}  # the keys of each zone served signed now: its parent's DS
        done: dict[int, Zone] = {}
        # children before parents (more labels first): a parent's DS needs its children's keys
        with paused():
            for zone in sorted((z for z in zones if z.dnssec is not None and z.soa is not None),
                               key=lambda z: -len(z.origin.labels)):
                signed = self._one(zone, now, earlier, live, kept)
                if signed is not None:
                    done[id(zone)] = signed
        self._done = kept
        return [done.get(id(zone), zone) for zone in zones]

    def _one(self, zone: Zone, now: int, earlier: dict[Name, tuple[int, Zone]], live: dict[Name, list[Key]],
             kept: dict[int, tuple[Zone, int, object, Zone]]) -> Zone | None:
        """The signed copy of one zone (None: it is served unsigned, the reason in `problems`)."""
        from zonetool.dnssec import DnssecError, window
        from zonetool.dnssec.delegation import ds_wanted, with_ds
        from zonetool.dnssec.sign import Signer, served_serial, sign_zone
        from zonetool.source.dnskeys import zone_keys
        from zonetool.zone import common_ttl

        policy = zone.dnssec
        origin = zone.origin
        win = window(policy, now)
        wanted = ds_wanted(zone, live)
        children = frozenset(wanted.items())  # what the copy holds besides its file: the children's DS
        done = self._done.get(id(zone))
        if done is not None and done[0] is zone and done[1] == win.inception and done[2] == children:
            live[origin] = self._keys[origin]
            kept[id(zone)] = done
            return done[3]
        try:
            keys = zone_keys(zone, policy)
        except DnssecError as exc:
            self.problems[origin.to_text()] = str(exc)
            return None
        self._keys[origin] = live[origin] = keys
        ttl = policy.dnskey_ttl if policy.dnskey_ttl is not None else common_ttl(zone)
        before = earlier.get(origin)
        lend = before[1] if before is not None and before[0] == win.inception else None
        signer = Signer(origin, keys, win)
        source = zone.soa.serial  # type: ignore[union-attr]
        basis = (win.inception, children)
        last = self._serials.get(origin)
        if last is not None and last[2] is _SEEDED:
            last = (last[0], last[1], basis)
        serial = served_serial(source, last, basis)
        signed = sign_zone(with_ds(zone, wanted), keys, policy, win, ttl, earlier=lend, signer=signer, serial=serial)
        self._serials[origin] = (source, serial, basis)
        self.signed[origin.to_text()] = signer.rrsets_signed
        self.resigned.append(origin)
        self.problems.pop(origin.to_text(), None)
        kept[id(zone)] = (zone, win.inception, children, signed)
        return signed

    def seed(self, origin: Name, served: int) -> None:
        """The serial `origin` was served with before a restart (serve --journal): its first signing
        here takes the source's serial only if it is above that one, else that one (or one past it
        when the source's serial moved), so secondaries never see the serial go back."""
        self._serials[origin] = (served, served, _SEEDED)

    def due(self) -> list[Name]:
        """The served signed zones whose window has moved on: signing them again refreshes their signatures."""
        if not self._done:
            return []
        from zonetool.dnssec import window

        now = int(self.clock())
        return [zone.origin for zone, start, _, _ in self._done.values()
                if window(zone.dnssec, now).inception != start]

    def check_every(self, most: float = 60.0) -> float:
        """How often `due` is worth asking: a quarter of the shortest refresh period served, at most `most`."""
        periods = [zone.dnssec.refresh / 4 for zone, _, _, _ in self._done.values()]
        return max(1.0, min([most, *periods]))

    def keys(self, zone: Zone) -> list[Key]:
        """The keys `zone` (a served signed copy) was signed with: an expired-signature fault signs with them."""
        return self._keys[zone.origin]

    def sources(self) -> list[Zone]:
        """The zones of the last `sign`, unsigned (what a refresh signs again)."""
        return list(self._last)
