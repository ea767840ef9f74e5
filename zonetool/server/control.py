"""Runtime changes to a running server, in one place: records, faults, and how their names are read.

`zonetool.testing.DNSTestServer` (Python tests) and `zonetool serve --api` (tests in any language,
over HTTP: `zonetool.server.api`) both change a server through a `Control`, so both follow the
same rules:

- **Names.** A name with a trailing dot is absolute. One without is relative to the only served
  zone (`mx1` = `mx1.example.com.` when example.com is the one zone); with several zones a
  relative name is refused, since it could mean any of them. A relative name that already ends
  in the zone's origin (`mx1.example.com` with example.com served) is refused too: read the
  rule's way it means mx1.example.com.example.com., which nobody means. `@` is the zone's
  origin. A record or fault whose name is in no served zone is refused, never kept silently.
- **Records.** Runtime edits are an overlay on the zones from files (or from `load()`): every
  change lays the whole overlay over those zones again and hands the result to the responder
  in one `Responder.swap`, so the very next query sees it and no cached answer survives. A
  reload of the files keeps the overlay: it is laid over the new version, until the edit is
  deleted (`delete_record`, `drop_edits`). Data is presentation text, parsed by the same
  parsers as the YAML and BIND sources (names in it relative to the owner's zone). No zone
  rule runs on runtime data: a test may serve deliberately broken records.
- **Faults.** Added to the runtime set of `ZoneFaults` (the zones' declared `faults:` stay);
  an action that needs a delay gets one or is refused.

Errors are `ControlError` (a ValueError) naming the offending field; `NotInZone` (also a
KeyError) when a name is in no served zone. The HTTP edge turns them into 400 and 404.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from zonetool.faults import EFFECTS, Fault, ZoneFaults, effect, parse_delay_ms
from zonetool.names import Name, NameError_, repeats_origin, to_ascii
from zonetool.rrtypes import Rdata, RdataError, RRType, parse_rdata, type_code, type_name
from zonetool.server.zonesource import SerialBook
from zonetool.zone import Record, RRset, Zone

SOA_CODE = int(RRType.SOA)
DEFAULT_TTL = 3600
MAX_TTL = 2**31 - 1  # RFC 2181 8


class ControlError(ValueError):
    """A change refused; `field` names the input at fault ("owner", "data", "delay", ...)."""

    status = 400

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"

    def with_status(self, status: int) -> ControlError:
        """The same refusal with another HTTP status (e.g. 404 for an unknown SMTP host)."""
        self.status = status
        return self


class NotInZone(ControlError, KeyError):
    """The name is in no served zone (a KeyError too, as `zone_for` always raised)."""

    status = 404


class UnknownFault(ControlError, KeyError):
    status = 404


def copy_zone(zone: Zone) -> Zone:
    """A copy whose RRsets can change without touching the one being served (records are shared)."""
    new = copy.copy(zone)
    new.nodes = {
        name: {code: RRset(rrset.owner, rrset.code, list(rrset.records)) for code, rrset in node.items()}
        for name, node in zone.nodes.items()
    }
    new.duplicates = list(zone.duplicates)
    new._ents = new._cuts = None
    return new


@dataclass(slots=True)
class Edit:
    """The runtime state of one RRset: replaced outright, or records added to / removed from the file's."""

    owner: Name
    code: int
    replace: bool
    records: list[Record] = field(default_factory=list)  # the RRset (replace) or the additions
    removed: list[Rdata] = field(default_factory=list)  # data taken from the file's RRset
    ttl: int | None = None  # a TTL for the whole RRset (RFC 2181 5.2: one TTL per RRset)

    def apply(self, zone: Zone) -> None:
        if self.replace:
            zone.remove(self.owner, self.code)
        for rdata in self.removed:
            zone.remove(self.owner, self.code, rdata)
        for record in self.records:
            rrset = zone.rrset(self.owner, self.code)
            if rrset is None or record.rdata not in rrset.rdata_set():
                zone.add(record)
        rrset = zone.rrset(self.owner, self.code)
        if self.ttl is not None and rrset is not None and any(r.ttl != self.ttl for r in rrset.records):
            rrset.records = [Record(r.owner, self.ttl, r.rdata, r.where, r.origin) for r in rrset.records]

    def to_json(self) -> dict[str, Any]:
        return {
            "owner": self.owner.to_text(),
            "type": type_name(self.code),
            "mode": "replace" if self.replace else "patch",
            "ttl": self.ttl,
            "data": [r.rdata.to_text() for r in self.records],
            "removed": [rd.to_text() for rd in self.removed],
        }


class Control:
    """The served zones (base + runtime overlay), the responder they are swapped into, the runtime faults."""

    def __init__(self, responder: Any = None, faults: Any = None, zones: Iterable[Zone] = ()) -> None:
        self._lock = threading.RLock()
        self.base: dict[Name, Zone] = {z.origin: z for z in zones}
        self.edits: dict[tuple[Name, int], Edit] = {}
        self.served: tuple[Zone, ...] = ()
        self.serials = SerialBook()
        self.on_change: list[Callable[[], None]] = []  # after each runtime edit (not after set_base)
        # The faults a responder applies: the zones' declared ones plus the runtime set (ours to change).
        self.faults = faults if faults is not None else ZoneFaults(lambda: self.served)
        self.responder: Any = None
        if responder is not None:
            if not self.base:
                self.base = {z.origin: z for z in responder.zones}
            self.attach(responder)
        else:
            self._publish()

    def attach(self, responder: Any) -> None:
        """Serve through `responder` from now on (its faults become ours)."""
        with self._lock:
            self.responder = responder
            responder.faults = self.faults
            self._publish()

    # -- the zones ------------------------------------------------------------------
    def set_base(self, zones: Sequence[Zone]) -> None:
        """A new version of the files (a reload): the overlay is laid over it, then one swap."""
        with self._lock:
            self.base = {z.origin: z for z in zones}
            self._publish()

    def load(self, zones: Iterable[Zone]) -> None:
        """Add or replace zones of the base (DNSTestServer.load); the overlay stays."""
        with self._lock:
            for zone in zones:
                self.base[zone.origin] = zone
            self._publish()

    def unload(self, origin: Name) -> None:
        with self._lock:
            self.base.pop(origin, None)
            self._publish()

    @property
    def zones(self) -> dict[Name, Zone]:
        """The zones being served now, by origin (base with the overlay laid over)."""
        return {z.origin: z for z in self.served}

    def _publish(self) -> None:
        """Lay the overlay over the base and swap the result in (one store: answers and cache together)."""
        touched: dict[Name, Zone] = {}
        origins = sorted(self.base, key=lambda o: -len(o.labels))
        for edit in self.edits.values():
            origin = next((o for o in origins if edit.owner.is_subdomain_of(o)), None)
            if origin is None:
                continue  # its zone is not served now; the edit waits for it (a later reload or load)
            zone = touched.get(origin)
            if zone is None:
                zone = touched[origin] = copy_zone(self.base[origin])
            edit.apply(zone)
        served = [touched.get(origin, zone) for origin, zone in self.base.items()]
        self.serials.stamp(served)  # an auto serial rises with each change, as with a reload
        self.served = tuple(served)
        if self.responder is not None:
            self.responder.swap(served)

    def _changed(self) -> None:
        self._publish()
        for follow in self.on_change:
            follow()

    # -- names --------------------------------------------------------------------------
    def resolve(self, text: str | Name, what: str = "owner") -> Name:
        """The absolute name `text` means at runtime (see the module's docstring); ControlError if none."""
        if isinstance(text, Name):
            return text
        if not isinstance(text, str) or not text.strip():
            raise ControlError(what, f"expected a domain name, got {text!r}")
        raw = text.strip()
        try:
            ascii_text = to_ascii(raw)
            if raw == "@" or not ascii_text.endswith("."):
                origin = self._only_origin(raw, what)
                name = Name.from_text(ascii_text, origin)
                if raw != "@" and repeats_origin(name, origin):
                    short = Name(name.labels[: len(name.labels) - 2 * len(origin.labels)])
                    relative = short.to_text().rstrip(".") if short.labels else "@"
                    raise ControlError(
                        what,
                        f"{raw!r} has no trailing dot, so it is relative to {origin.to_text()} and would mean "
                        f"{name.to_text()}; write {relative!r} (relative) or {raw + '.'!r} (absolute)",
                    )
            else:
                name = Name.from_text(ascii_text)
        except NameError_ as exc:
            raise ControlError(what, f"{raw!r} is not a domain name: {exc}") from None
        return name

    def _only_origin(self, raw: str, what: str) -> Name:
        origins = sorted(z.origin.to_text() for z in self.served)
        if len(origins) == 1:
            return self.served[0].origin
        if not origins:
            raise NotInZone(what, f"{raw!r} is relative (no trailing dot) and no zone is served")
        raise ControlError(
            what,
            f"{raw!r} is relative (no trailing dot) but {len(origins)} zones are served ({', '.join(origins)}); "
            f"write it absolute, e.g. {raw}.{origins[0]}",
        )

    def zone_for(self, name: str | Name, what: str = "owner") -> Zone:
        """The most specific served zone containing `name` (the one that answers for it); NotInZone if none."""
        target = self.resolve(name, what)
        best: Zone | None = None
        for zone in self.served:
            if target.is_subdomain_of(zone.origin) and (best is None or len(zone.origin) > len(best.origin)):
                best = zone
        if best is None:
            served = ", ".join(z.origin.to_text() for z in self.served) or "none"
            raise NotInZone(what, f"no served zone contains {target.to_text()} (zones: {served})")
        return best

    # -- records ------------------------------------------------------------------------
    def _parse(
        self, owner: str | Name, rtype: str | int, ttl: object, values: Sequence[object], many: bool
    ) -> tuple[Name, int, int | None, list[Record]]:
        zone = self.zone_for(owner)
        name = self.resolve(owner)
        if isinstance(rtype, int) and not isinstance(rtype, bool):
            code = rtype
        else:
            if not isinstance(rtype, str) or not rtype.strip():
                raise ControlError("type", f"expected a record type such as A or MX, got {rtype!r}")
            try:
                code = type_code(rtype.strip())
            except (RdataError, ValueError) as exc:
                raise ControlError("type", str(exc)) from None
        if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= MAX_TTL):
            raise ControlError("ttl", f"expected seconds 0..{MAX_TTL}, got {ttl!r}")
        mnemonic = type_name(code)
        existing = zone.rrset(name, code)
        use_ttl = ttl if ttl is not None else (existing.records[0].ttl if existing else DEFAULT_TTL)
        records = []
        for i, value in enumerate(values):
            where = f"data[{i}]" if many else "data"
            if isinstance(value, Rdata):
                rdata = value
            elif isinstance(value, str):
                try:
                    rdata = parse_rdata(mnemonic, value, zone.origin)
                except (RdataError, NameError_, ValueError) as exc:
                    raise ControlError(where, f"{mnemonic} {value!r}: {exc}") from None
            else:
                raise ControlError(where, f"expected {mnemonic} data as presentation text, got {value!r}")
            if rdata.type_code != code:
                raise ControlError(where, f"{value!r} is not {mnemonic} data")
            records.append(Record(name, int(use_ttl), rdata))
        return name, code, ttl if isinstance(ttl, int) else None, records

    def add_record(self, owner: str | Name, rtype: str | int, data: str | Rdata, ttl: int | None = None) -> Record:
        """Add one record to the served RRset (201 in the API); a repeat of present data changes nothing."""
        with self._lock:
            name, code, ttl_, (record,) = self._parse(owner, rtype, ttl, [data], many=False)
            if code == SOA_CODE:
                raise ControlError("type", "a zone has one SOA: replace it (PUT) instead of adding one")
            edit = self.edits.get((name, code))
            if edit is None:
                edit = self.edits[(name, code)] = Edit(name, code, replace=False)
            edit.removed = [rd for rd in edit.removed if rd != record.rdata]
            if record.rdata not in (r.rdata for r in edit.records):
                edit.records.append(record)
            if ttl_ is not None:
                edit.ttl = ttl_
            self._changed()
            return record

    def replace_rrset(
        self, owner: str | Name, rtype: str | int, data: Iterable[str | Rdata], ttl: int | None = None
    ) -> list[Record]:
        """Serve exactly these records for owner and type ([]: none); TTL: `ttl`, else the RRset's, else 3600."""
        values = list(data)
        with self._lock:
            name, code, _, records = self._parse(owner, rtype, ttl, values, many=True)
            if code == SOA_CODE and len(records) != 1:
                raise ControlError("data", "a zone has exactly one SOA")
            self.edits[(name, code)] = Edit(name, code, replace=True, records=records)
            self._changed()
            return records

    def delete_record(self, owner: str | Name, rtype: str | int | None = None, data: str | Rdata | None = None) -> int:
        """Remove one record (data given), an RRset (type given) or every record of owner; how many went.

        Removing what was added at runtime drops that edit; removing a file's record is remembered,
        so the next reload does not bring it back. NotInZone if nothing of that kind is served.
        """
        with self._lock:
            zone = self.zone_for(owner)
            name = self.resolve(owner)
            if rtype is None:
                if data is not None:
                    raise ControlError("type", "give the type of the record to remove")
                codes = [c for c in zone.nodes.get(name, {}) if c != SOA_CODE]
            else:
                codes = [self._parse(owner, rtype, None, [], many=False)[1]]
            if codes == [SOA_CODE]:
                raise ControlError("type", "the SOA cannot be removed (a zone needs one)")
            removed = 0
            target: Rdata | None = None
            if data is not None:
                target = self._parse(owner, codes[0], None, [data], many=False)[3][0].rdata
            for code in codes:
                rrset = zone.rrset(name, code)
                present = [r.rdata for r in rrset.records] if rrset else []
                if target is not None:
                    if target not in present:
                        continue
                    edit = self.edits.get((name, code))
                    if edit is None:
                        edit = self.edits[(name, code)] = Edit(name, code, replace=False)
                    edit.records = [r for r in edit.records if r.rdata != target]
                    if target not in edit.removed:
                        edit.removed.append(target)
                    removed += 1
                elif present:
                    self.edits[(name, code)] = Edit(name, code, replace=True)
                    removed += len(present)
            if not removed:
                if data is not None:
                    what = f"{type_name(codes[0])} {data}"
                else:
                    what = " ".join(type_name(c) for c in codes) or "records"
                raise NotInZone("data" if data is not None else "type", f"{name.to_text()} has no {what} served")
            self._changed()
            return removed

    def drop_edits(self) -> int:
        """Forget every runtime record edit: the files' (or load()'s) zones are served as they are."""
        with self._lock:
            count = len(self.edits)
            self.edits.clear()
            self._changed()
            return count

    # -- faults ---------------------------------------------------------------------------
    def _runtime_faults(self) -> Any:
        if not isinstance(self.faults, ZoneFaults):
            raise TypeError("this server was given its own `faults` matcher; add faults to that instead")
        return self.faults.runtime

    def add_fault(
        self,
        name: str | Name | Sequence[str | Name],
        qtype: str | int | Sequence[str | int] | None = None,
        action: str = "servfail",
        delay: str | int | None = None,
    ) -> Fault:
        """A runtime fault for name(s) (`*.x`: every name below x) and type(s) (None: every type).

        `delay` is milliseconds or a duration (`2s`, `1500ms`); action `delay` needs one.
        """
        runtime = self._runtime_faults()
        if not isinstance(action, str) or action.strip().lower() not in EFFECTS:
            raise ControlError("action", f"unknown fault action {action!r} (one of {', '.join(EFFECTS)})")
        action = action.strip().lower()
        delay_ms = 0
        if delay is not None and delay != "":
            try:
                delay_ms = parse_delay_ms(delay)  # type: ignore[arg-type]
            except (ValueError, TypeError) as exc:
                raise ControlError("delay", str(exc)) from None
        if effect(action).needs_delay and delay_ms <= 0:
            raise ControlError("delay", f"action {action} needs a delay: milliseconds or a duration (2s, 1500ms)")
        raw_names = [name] if isinstance(name, str | Name) else list(name)
        if not raw_names:
            raise ControlError("name", "a fault needs a name")
        names = []
        with self._lock:
            for raw in raw_names:
                resolved = self.resolve(raw, "name")
                target = resolved.parent() if resolved.is_wildcard() else resolved
                try:
                    self.zone_for(target, "name")
                except NotInZone as exc:
                    raise ControlError("name", exc.message) from None  # a fault that could never fire
                names.append(resolved)
        try:
            fault = Fault.make(names, qtype, action, delay_ms)
        except (ValueError, RdataError) as exc:
            raise ControlError("type", str(exc)) from None
        return runtime.add(fault)  # a FaultSet swaps its tuple whole: the next query sees it

    def fault_list(self) -> list[dict[str, Any]]:
        """Every fault that applies: the runtime ones (removable by id) and the zones' declared ones."""
        out = []
        if isinstance(self.faults, ZoneFaults):
            for fault in self.faults.declared:
                out.append({"id": fault.id, **fault.to_json(), "declared": True,
                            "file": fault.where.file if fault.where else None})
        for fault in self.faults.runtime if isinstance(self.faults, ZoneFaults) else ():
            out.append({"id": fault.id, **fault.to_json(), "declared": False})
        return out

    def remove_fault(self, fault: Fault | int) -> None:
        runtime = self._runtime_faults()
        if isinstance(fault, Fault):
            runtime.remove(fault)
            return
        match = next((f for f in runtime if f.id == fault), None)
        if match is None:
            declared = isinstance(self.faults, ZoneFaults) and any(f.id == fault for f in self.faults.declared)
            hint = "it is declared in a zone file's faults: (edit the file)" if declared else "no such runtime fault"
            raise UnknownFault("id", f"fault {fault}: {hint}")
        runtime.remove(match)

    def clear_faults(self) -> int:
        """Forget the runtime faults (the zones' declared `faults:` stay); how many went."""
        runtime = self._runtime_faults()
        count = len(runtime)
        runtime.clear()
        return count

    # -- views ------------------------------------------------------------------------------
    def summary(self) -> list[dict[str, Any]]:
        """`GET /zones`: origin, serial and record count of each served zone."""
        return [
            {"origin": z.origin.to_text(), "serial": z.soa.serial if z.soa else None, "records": len(z)}
            for z in sorted(self.served, key=lambda z: z.origin.to_text())
        ]
