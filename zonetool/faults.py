"""Faults on purpose: which questions the server answers badly, and how.

A sender meets SERVFAIL, REFUSED, lost packets, slow servers and truncated replies on
the Internet; a test server must be able to produce each on demand. This module is the
pure decision ("does this question hit a fault, and which?"); the responder and the
transports carry it out. It knows no YAML and no sockets.

The zone's YAML `faults:` list (passed through by the compiler as plain data) has this shape;
names are relative to the zone's origin unless they end in "." ("@" is the origin):

    faults:
      - {name: mx1, type: A, action: servfail}
      - {name: "@", type: MX, action: delay, delay: 2000ms}
      - {name: "*.lab", action: timeout}              # every name strictly below lab.<origin>
      - {names: [mx1, mx2], types: [A, AAAA], action: refused}
      - {name: "@", type: MX, action: truncate}       # TC bit over UDP: the client must retry over TCP
      - {name: _25._tcp.mx1, type: TLSA, action: bogus-signature}  # signed zones, DO queries only

`type`/`types` is optional (default: every type). `delay` may also be given with another
action: the fault's reply is sent that much later. The actions are the rows of `EFFECTS`
(listed at the end of this docstring, from the table): the responder, the in-process resolver
and the route notes all read what an action does from there, so a new action is one row.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from zonetool.findings import Finding, Where, error, warning
from zonetool.names import Name, NameError_, to_ascii


@dataclass(frozen=True, slots=True)
class Effect:
    """What one fault action does to an answer: the one description every part of the harness reads.

    `rcode`: reply with this RCODE instead of the answer (with the zone's SOA in the authority
    section if `negative`); `drop`: no reply at all; `tc_udp`: over UDP the reply carries TC and
    no records, over TCP the normal answer; `wrong_id`: the normal reply with a wrong message
    ID; `needs_delay`: the fault must say how late (any fault may add a delay). `event` is what a
    resolver records when it meets the effect (`{delay_ms}` filled in), and `note` the route
    note for that event (code, text with `{what}` and `{detail}`).

    For validators (issue 14), read by the DO path of a signed zone only (without DO, or in an
    unsigned zone, the answer is the normal one): `rrsig` is what happens to the answer's RRSIGs
    (those of the answer section, or of the authority section in a negative answer), one of
    `zonetool.dnssec.answer.RRSIG_FAULTS`: "corrupt" (signature bytes changed), "expired"
    (genuinely signed with a window already past), "strip" (left out); `hide_dnskey`: the
    apex DNSKEY RRset is left out of the answer (a DNSKEY question gets NODATA).
    """

    action: str
    summary: str
    rcode: int | None = None
    negative: bool = False
    drop: bool = False
    tc_udp: bool = False
    wrong_id: bool = False
    needs_delay: bool = False
    rrsig: str | None = None
    hide_dnskey: bool = False
    event: str | None = None
    note: tuple[str, str] | None = None

    @property
    def dnssec(self) -> bool:
        """True when the action changes only what a validator checks (the DO path of a signed zone)."""
        return self.rrsig is not None or self.hide_dnskey

    def applies(self, do: bool, signed: bool) -> bool:
        """Whether the action changes the answer: a validator fault only with DO from a signed zone
        (RFC 4035 3.2.1: no DNSSEC records without DO), every other action always."""
        return not self.dnssec or (do and signed)

    def event_text(self, delay_ms: int) -> str | None:
        """The resolver event for a fault of this action (None: the `fault:` event says it all)."""
        return None if self.event is None else self.event.format(delay_ms=delay_ms)


_BOGUS = ("a validating resolver answers SERVFAIL (RFC 4035 5.5), so a sender must defer, and a DANE sender "
          "must not deliver (RFC 7672 2.2); a resolver that does not validate uses the answer as it is")

# RFC 1035 4.1.1 / RFC 2136 RCODEs; RFC 1035 4.2.1 TC; RFC 5452 9.1 IDs; RFC 4035 5 for the validator rows.
EFFECTS: dict[str, Effect] = {e.action: e for e in (
    Effect("servfail", "RCODE 2: a temporary failure; a sender must defer (RFC 5321 5.1: never \"no MX\").",
           rcode=2),
    Effect("refused", "RCODE 5: the same for a sender (try later, or another server).", rcode=5),
    Effect("nxdomain", "RCODE 3 with the SOA: the name does not exist (a permanent answer).", rcode=3, negative=True),
    Effect("timeout", "no answer at all: the sender's resolver times out, a temporary failure.", drop=True),
    Effect("delay", "the normal answer, `delay` later (ms; `2s`, `1500ms` or an integer of ms).", needs_delay=True,
           event="delay:{delay_ms}",
           note=("dns-delay", "{what}: the answer came {detail} ms late; a sender with a shorter resolver timeout "
                 "sees a timeout and must defer, not bounce")),
    Effect("truncate", "UDP answers carry TC and no records (RFC 1035 4.2.1); TCP answers normally.", tc_udp=True,
           event="truncated",
           note=("dns-truncated", "{what}: the UDP answer was truncated (TC); a compliant resolver repeats the query "
                 "over TCP and uses the full answer, never the truncated one (RFC 1035 4.2.1, RFC 7766 5)")),
    Effect("bad-id", "the reply carries a wrong message ID; a resolver must ignore it (RFC 5452 9.1).",
           wrong_id=True, event="bad-id",
           note=("dns-bad-id", "{what}: a reply with the wrong message ID arrived; a resolver must discard it "
                 "(RFC 5452 9.1) and keep waiting, so the lookup ends as a timeout")),
    Effect("bogus-signature", "with DO in a signed zone: the answer's RRSIGs carry bytes that do not verify "
           "(bogus).", rrsig="corrupt", event="dnssec-bogus",
           note=("dnssec-bogus", "{what}: the signature does not verify; " + _BOGUS)),
    Effect("expired-signature", "with DO in a signed zone: the answer is signed with a window already past "
           "(RFC 4035 5.3.1).", rrsig="expired", event="dnssec-expired",
           note=("dnssec-expired", "{what}: the signature has expired; " + _BOGUS)),
    Effect("missing-rrsig", "with DO in a signed zone: the answer's RRSIGs are left out (RFC 4035 5.3: unsigned "
           "data in a signed zone is bogus).", rrsig="strip", event="dnssec-unsigned",
           note=("dnssec-unsigned", "{what}: the answer came without its RRSIG; " + _BOGUS)),
    Effect("no-dnskey", "with DO in a signed zone: the apex DNSKEY RRset is left out (set it on \"@\": nothing "
           "of the zone validates).", hide_dnskey=True, event="dnssec-no-dnskey",
           note=("dnssec-no-dnskey", "{what}: the zone's DNSKEY RRset was left out, so no signature can be "
                 "checked; " + _BOGUS)),
)}
def validator_event(verdict: str) -> str | None:
    """The event of the validator row a checked answer looks like: `verdict` is an `Effect.rrsig`
    value, or "no-dnskey" (the apex DNSKEY RRset missing), as zonetool.dnssec.verify says."""
    for e in EFFECTS.values():
        if e.rrsig == verdict or (e.hide_dnskey and verdict == "no-dnskey"):
            return e.event
    return None


NORMAL = Effect("none", "the normal answer")  # what a matcher's action the table does not know does
ACTIONS = tuple(EFFECTS)  # the action names, for messages and the JSON Schema


def effect(action: str) -> Effect:
    """The effect of `action` (NORMAL for an action the table does not know)."""
    return EFFECTS.get(action, NORMAL)


def event_note(kind: str) -> tuple[str, str] | None:
    """The route note (code, text) for a resolver event kind ("truncated", "bad-id", "delay")."""
    for e in EFFECTS.values():
        if e.note is not None and e.event is not None and e.event.partition(":")[0] == kind:
            return e.note
    return None


def actions_help(indent: str = "  ") -> str:
    """One line per action, for docstrings and help texts."""
    width = max(map(len, EFFECTS))
    return "\n".join(f"{indent}{e.action:<{width}}  {e.summary}" for e in EFFECTS.values())


_KEYS = frozenset({"name", "names", "type", "types", "action", "delay"})
_ids = itertools.count(1)


def _qtype_code(value: str | int) -> int:
    from zonetool.rrtypes import type_code

    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a record type")
    if isinstance(value, int):
        if not 0 < value < 65536:
            raise ValueError(f"type number {value} is outside 1..65535")
        return value
    return type_code(str(value))


def _qtype_text(code: int) -> str:
    from zonetool.rrtypes import type_name

    return type_name(code)


def parse_delay_ms(value: str | int) -> int:
    """Milliseconds from an integer (ms), `1500ms`, or a duration such as `2s`."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a delay")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"delay must not be negative, got {value}")
        return value
    text = str(value).strip().lower()
    if text.endswith("ms") and text[:-2].strip().isdigit():
        return int(text[:-2])
    if text.isdigit():
        return int(text)
    from zonetool.durations import parse_duration

    try:
        return parse_duration(text) * 1000
    except ValueError:
        raise ValueError(f"{value!r} is not a delay (use milliseconds: 1500, 1500ms, or 2s)") from None


@dataclass(frozen=True, slots=True, eq=False)
class Fault:
    """One misbehaviour for a set of names (exact, or `*.parent` for every name below) and types.

    Empty `qtypes` means every type. Identity (not value) equality, so a test can add the same
    fault twice and remove one of them.
    """

    action: str
    delay_ms: int = 0
    names: tuple[Name, ...] = ()
    qtypes: frozenset[int] = frozenset()
    where: Where | None = None
    id: int = field(default_factory=lambda: next(_ids))

    def __post_init__(self) -> None:
        if self.action not in EFFECTS:
            raise ValueError(f"unknown fault action {self.action!r} (one of {', '.join(EFFECTS)})")
        if self.delay_ms < 0:
            raise ValueError("delay_ms must not be negative")
        if not self.names:
            raise ValueError("a fault needs at least one name or pattern")

    @classmethod
    def make(
        cls,
        name: str | Name | Iterable[str | Name],
        qtype: str | int | Iterable[str | int] | None = None,
        action: str = "servfail",
        delay_ms: int = 0,
        origin: Name | None = None,
    ) -> Fault:
        """Friendly constructor for tests and the runtime API: names as text, types as mnemonics."""
        raw = [name] if isinstance(name, str | Name) else list(name)
        names = tuple(n if isinstance(n, Name) else Name.from_text(to_ascii(n), origin) for n in raw)
        if qtype is None:
            codes: frozenset[int] = frozenset()
        elif isinstance(qtype, str | int):
            codes = frozenset({_qtype_code(qtype)})
        else:
            codes = frozenset(_qtype_code(t) for t in qtype)
        return cls(action, delay_ms, names, codes)

    @property
    def rcode(self) -> int | None:
        """The RCODE this fault answers with, if it answers with one of its own."""
        return effect(self.action).rcode

    def matches(self, qname: Name, qtype: int) -> bool:
        if self.qtypes and qtype not in self.qtypes:
            return False
        return any(_name_matches(pattern, qname) for pattern in self.names)

    def specificity(self, qname: Name) -> int:
        """How closely this fault names `qname`: exact beats any pattern, longer patterns beat shorter."""
        best = -1
        for pattern in self.names:
            if _name_matches(pattern, qname):
                best = max(best, 1000 if not pattern.is_wildcard() else len(pattern.labels))
        return best

    def describe(self) -> str:
        """One line for the query log and for `route`: what fires, for which names and types."""
        names = ",".join(n.to_text() for n in self.names)
        types = ",".join(sorted(_qtype_text(c) for c in self.qtypes)) or "any type"
        text = f"fault {self.action}"
        if self.delay_ms:
            text += f" {self.delay_ms}ms"
        text += f" for {names} {types}"
        if self.where is not None and self.where.file:
            text += f" ({self.where.file})"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "delay_ms": self.delay_ms,
            "names": [n.to_text() for n in self.names],
            "types": sorted(_qtype_text(c) for c in self.qtypes),
        }

    def __repr__(self) -> str:
        return f"<Fault #{self.id} {self.describe()}>"


def _name_matches(pattern: Name, qname: Name) -> bool:
    """Exact (case-insensitive) match, or `*.parent`: every name strictly below `parent`."""
    if pattern.is_wildcard():
        parent = pattern.parent()
        return qname != parent and qname.is_subdomain_of(parent)
    return pattern == qname


class FaultSet:
    """An ordered collection of faults, safe to change while a server thread asks it.

    The list is replaced as a whole on every change (copy on write), so `match` never sees a
    half-made update. When several faults match, the most specific name wins (exact beats
    `*.x`, a deeper pattern beats a shallower one); ties go to the one added last, so a test
    can override a zone's declared fault at runtime.
    """

    def __init__(self, faults: Iterable[Fault] = ()) -> None:
        self._faults: tuple[Fault, ...] = tuple(faults)
        self._lock = threading.Lock()

    # -- questions --------------------------------------------------------------
    def match(self, qname: Name, qtype: int) -> Fault | None:
        best: Fault | None = None
        best_score = -1
        for fault in self._faults:  # one snapshot of the tuple
            if fault.matches(qname, qtype):
                score = fault.specificity(qname)
                if score >= best_score:
                    best, best_score = fault, score
        return best

    def __iter__(self) -> Iterator[Fault]:
        return iter(self._faults)

    def __len__(self) -> int:
        return len(self._faults)

    def __bool__(self) -> bool:
        return bool(self._faults)

    def __repr__(self) -> str:
        return f"<FaultSet {len(self._faults)} faults>"

    # -- changes ----------------------------------------------------------------
    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults = (*self._faults, fault)
        return fault

    def remove(self, fault: Fault | None = None, *, name: Name | None = None, qtype: int | None = None) -> int:
        """Remove one fault object, or every fault naming `name` (and `qtype`, if given); returns the count."""
        with self._lock:
            before = self._faults
            if fault is not None:
                kept = tuple(f for f in before if f is not fault)
            else:
                kept = tuple(
                    f
                    for f in before
                    if not ((name is None or name in f.names) and (qtype is None or not f.qtypes or qtype in f.qtypes))
                )
            self._faults = kept
            return len(before) - len(kept)

    def clear(self) -> None:
        with self._lock:
            self._faults = ()

    def replace(self, faults: Iterable[Fault]) -> None:
        """Swap in a new list at once (zone reload): declared faults follow the files."""
        with self._lock:
            self._faults = tuple(faults)

    @classmethod
    def merge(cls, *sets: FaultSet | Iterable[Fault]) -> FaultSet:
        return cls(f for s in sets for f in s)

    # -- from the YAML `faults:` list -------------------------------------------
    @classmethod
    def from_spec(cls, spec: object, origin: Name, file: str | None = None,
                  signed: bool | None = None) -> tuple[FaultSet, list[Finding]]:
        """Build faults from a zone's `faults:` data; every problem is a finding, none stops the rest.

        `signed`: whether the zone has `dnssec:` (None: not known); a validator fault in a zone
        without it, or a no-dnskey fault that names no apex, is told to change nothing."""
        findings: list[Finding] = []
        base = Where(file, path=("faults",))
        if spec is None:
            return cls(), findings
        if not isinstance(spec, Sequence) or isinstance(spec, str | bytes):
            findings.append(error("fault-invalid", "faults: must be a list of mappings", base))
            return cls(), findings
        faults: list[Fault] = []
        for i, item in enumerate(spec):
            fault = _fault_from_item(item, origin, base.child(i), findings)
            if fault is not None:
                faults.append(fault)
                findings.extend(_no_effect(fault, origin, signed, base.child(i)))
        return cls(faults), findings


def _no_effect(fault: Fault, origin: Name, signed: bool | None, where: Where) -> list[Finding]:
    """A validator fault that can never change an answer: said, since the zone still loads and serves."""
    how = effect(fault.action)
    if not how.dnssec:
        return []
    if signed is False:
        return [warning("fault-no-effect", f"{fault.action} changes the DO answers of a signed zone; {origin} has no "
                        "dnssec: block, so the answers stay as they are", where.child("action"),
                        hint="add `dnssec: true` (and keys: `zonetool keygen`) to sign the zone")]
    if how.hide_dnskey and origin not in fault.names:  # the DNSKEY RRset lives at the apex only (RFC 4035 2.1)
        names = ", ".join(n.to_text() for n in fault.names)
        return [warning("fault-no-effect", f"{fault.action} leaves out the apex DNSKEY RRset, which is in no answer "
                        f"for {names}", where.child("names" if len(fault.names) > 1 else "name"),
                        hint='set it on the apex: {name: "@", type: DNSKEY, action: no-dnskey}')]
    return []


def _fault_from_item(item: object, origin: Name, where: Where, findings: list[Finding]) -> Fault | None:
    if not isinstance(item, dict):
        findings.append(
            error("fault-invalid", "each fault is a mapping such as {name: mx1, type: A, action: servfail}", where)
        )
        return None
    ok = True
    for key in item:
        if key not in _KEYS:
            findings.append(
                error(
                    "fault-invalid",
                    f"unknown key {key!r} in a fault (allowed: {', '.join(sorted(_KEYS))})",
                    where.child(str(key)),
                )
            )
            ok = False
    action = item.get("action")
    if action is None:
        findings.append(error("fault-invalid", f"a fault needs an action: one of {', '.join(EFFECTS)}", where))
        ok = False
    elif not isinstance(action, str) or action.lower() not in EFFECTS:
        findings.append(
            error(
                "fault-invalid", f"unknown fault action {action!r} (one of {', '.join(EFFECTS)})", where.child("action")
            )
        )
        ok = False
    else:
        action = action.lower()

    names: list[Name] = []
    if "name" in item and "names" in item:
        findings.append(error("fault-invalid", "give either name or names, not both", where.child("names")))
        ok = False
    raw_names = item.get("names", item.get("name"))
    key = "names" if "names" in item else "name"
    if raw_names is None:
        findings.append(error("fault-invalid", "a fault needs a name (or names: [...]); '@' is the origin", where))
        ok = False
    else:
        values = raw_names if isinstance(raw_names, list) else [raw_names]
        for j, value in enumerate(values):
            at = where.child(key, j) if isinstance(raw_names, list) else where.child(key)
            if not isinstance(value, str) or not value:
                findings.append(error("fault-invalid", f"fault name {value!r} is not a name", at))
                ok = False
                continue
            try:
                name = Name.from_text(to_ascii(value), origin)
            except NameError_ as exc:
                findings.append(error("fault-invalid", f"fault name {value!r}: {exc}", at))
                ok = False
                continue
            target = name.parent() if name.is_wildcard() else name
            if not target.is_subdomain_of(origin):
                findings.append(
                    warning(
                        "fault-outside-zone",
                        f"fault name {name} is outside the zone {origin}: it fires only if the server is asked",
                        at,
                        hint="names are relative to the origin unless they end in '.'",
                    )
                )
            names.append(name)

    codes: set[int] = set()
    if "type" in item and "types" in item:
        findings.append(error("fault-invalid", "give either type or types, not both", where.child("types")))
        ok = False
    raw_types = item.get("types", item.get("type"))
    tkey = "types" if "types" in item else "type"
    if raw_types is not None:
        values = raw_types if isinstance(raw_types, list) else [raw_types]
        for j, value in enumerate(values):
            at = where.child(tkey, j) if isinstance(raw_types, list) else where.child(tkey)
            try:
                codes.add(_qtype_code(value))
            except ValueError as exc:
                findings.append(error("fault-invalid", f"fault type {value!r}: {exc}", at))
                ok = False

    delay_ms = 0
    if "delay" in item:
        try:
            delay_ms = parse_delay_ms(item["delay"])
        except ValueError as exc:
            findings.append(error("fault-invalid", str(exc), where.child("delay")))
            ok = False
    elif isinstance(action, str) and effect(action).needs_delay:
        findings.append(error("fault-invalid", f"action {action} needs delay: (e.g. delay: 2000ms)", where))
        ok = False

    if not ok:
        return None
    return Fault(action, delay_ms, tuple(names), frozenset(codes), where)


class ZoneFaults:
    """The faults a server applies: those declared in its zones' `faults:` lists, plus runtime ones.

    `zones` is a callable returning the zones being served now (e.g. `lambda: responder.zones`);
    the declared set is rebuilt when that sequence changes (a reload or a runtime edit), so a
    fault edited in a zone file takes effect with the reload. Runtime faults (`runtime.add`)
    win ties over declared ones. Empty means false, so a server can keep its fast path.
    """

    def __init__(self, zones: Callable[[], Sequence[Any]], runtime: FaultSet | None = None) -> None:
        self._zones = zones
        self.runtime = runtime if runtime is not None else FaultSet()
        self._seen: object = None
        self._declared = FaultSet()
        self._lock = threading.Lock()

    @property
    def declared(self) -> FaultSet:
        zones = self._zones()
        if zones is not self._seen:
            self._rebuild(zones)
        return self._declared

    def _rebuild(self, zones: Sequence[Any]) -> None:
        with self._lock:
            if zones is self._seen:
                return
            faults: list[Fault] = []
            for zone in zones:
                spec = getattr(zone, "faults_spec", None)
                if spec:
                    # Bad items were reported when the zone was loaded; the good ones apply.
                    faults.extend(FaultSet.from_spec(spec, zone.origin, getattr(zone, "file", None))[0])
            self._declared = FaultSet(faults)
            self._seen = zones

    def match(self, qname: Name, qtype: int) -> Fault | None:
        runtime = self.runtime.match(qname, qtype)
        declared = self.declared.match(qname, qtype)
        if runtime is None or declared is None:
            return runtime or declared
        return declared if declared.specificity(qname) > runtime.specificity(qname) else runtime

    def __bool__(self) -> bool:
        # On every query of a server's cached path: kept to a tuple check and one identity check.
        if self.runtime._faults:
            return True
        zones = self._zones()
        if zones is not self._seen:
            self._rebuild(zones)
        return bool(self._declared._faults)

    def __iter__(self) -> Iterator[Fault]:
        yield from self.declared
        yield from self.runtime


__doc__ = f"{__doc__}\nActions:\n{actions_help()}\n"
