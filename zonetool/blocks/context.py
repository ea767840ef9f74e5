"""The compile context: one compilation's state (origin, default TTL, records, findings) and its helpers.

Every block compiler works through a `Compiler`: it reports findings with the spec path of
the node (the compiler knows no YAML, only the loaded data and the path of keys/indices
to each node), checks mappings against the format's key tables, parses names, TTLs and
numbers, and adds records with their `Where`. Zone-wide results of blocks (the SOA,
`silence:`, `faults:`) are kept here until `compile_zone` builds the Zone.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Mapping
from datetime import date
from typing import Any

from zonetool.durations import parse_duration
from zonetool.findings import Finding, Where, error
from zonetool.names import MAX_LABEL, MAX_NAME, Name, NameError_, is_address_text, to_ascii
from zonetool.rrtypes import AAAA, A, Rdata, RdataError, check_length, type_name
from zonetool.schema import BLOCKS, MAX_TTL, Block
from zonetool.zone import Record

Path = tuple[str | int, ...]

DEFAULT_TTL = 3600


def describe(value: object) -> str:
    """A value's YAML kind, for 'expected X, got Y' messages."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"true/false ({str(value).lower()})"
    if isinstance(value, int):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"text ({value!r})" if len(value) < 40 else "text"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return type(value).__name__


def key_text(key: object) -> str:
    """Mapping keys as the format means them: YAML's `null:` is the key 'null', `1:` the owner '1'."""
    if isinstance(key, str):
        return key
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


class Compiler:
    """State of one compilation: the zone's origin, default TTL, records and findings."""

    def __init__(self, file: str | None, today: date | None = None) -> None:
        self.file = file
        self.today = today
        self.findings: list[Finding] = []
        self.records: list[Record] = []
        self.origin: Name = Name(())
        self.ttl = DEFAULT_TTL
        self._names: dict[str, Name] = {}  # text -> Name: targets repeat across a big zone
        self._origin_wire = 1
        # zone-wide results of blocks, read by compile_zone
        self.stopped = False  # a block found the zone unusable (no origin): no Zone is built
        self.nameservers: list[Name] = []  # the apex nameservers of `nameservers:`
        self.soa: Record | None = None
        self.auto_serial = False
        self.silence: dict[str, str] = {}
        self.faults_spec: list[Any] = []
        self.dnssec: Any = None  # the `dnssec:` block's zonetool.dnssec.Policy, or None: not signed
        self.mta_sts: Any = None  # the mail block's MTA-STS policy (zonetool.mailpolicy.mtasts.Policy)

    def stop(self) -> None:
        """No usable zone (its finding is already reported): later blocks do not run."""
        self.stopped = True

        self._origin_wire = 1

    def set_origin(self, origin: Name) -> None:
        self.origin = origin
        self._origin_wire = origin.wire_length()

    # -- reporting -----------------------------------------------------------
    def where(self, path: Path) -> Where:
        return Where(self.file, path=path)

    def error(self, code: str, message: str, path: Path, hint: str | None = None) -> None:
        self.findings.append(error(code, message, self.where(path), hint))

    def wrong_type(self, expected: str, value: object, path: Path, hint: str | None = None) -> None:
        self.error("wrong-type", f"{_dotted(path) or 'the zone'} must be {expected}, got {describe(value)}", path, hint)

    # -- structure -------------------------------------------------------------
    def mapping(self, value: object, block: Block | str, path: Path) -> dict[str, Any] | None:
        """The mapping at `path` with its keys checked against the format table.

        Unknown keys are reported (with the closest known key as a hint) and dropped;
        missing required keys are reported. Returns None if `value` is not a mapping.
        """
        b = BLOCKS[block] if isinstance(block, str) else block
        if not isinstance(value, Mapping):
            self.wrong_type("a mapping", value, path, hint=_shape_hint(b))
            return None
        out: dict[str, Any] = {}
        for raw_key, item in value.items():
            key = key_text(raw_key)
            if key in b.keys:
                out[key] = item
            else:
                self.unknown_key(key, list(b.keys), path)
        for key in b.required:
            if key not in out:
                self.error("missing-key", f"{_dotted(path) or 'the zone'} needs `{key}`", path,
                           hint=f"{key}: {b.keys[key][1]}")
        return out

    def unknown_key(self, key: str, known: list[str], path: Path) -> None:
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        if not close:
            close = [k for k in known if k.lower() == key.lower()]
        hint = f"did you mean `{close[0]}`?" if close else f"known keys: {', '.join(known)}"
        self.error("unknown-key", f"unknown key `{key}` in {_dotted(path) or 'the zone'}", (*path, key), hint)

    # -- values --------------------------------------------------------------------
    def seconds(self, value: object, path: Path, limit: int = MAX_TTL, what: str = "TTL") -> int | None:
        code = "bad-ttl" if what == "TTL" else "bad-duration"
        if isinstance(value, bool) or not isinstance(value, int | str):
            self.wrong_type(f"a {what} (seconds or units like 1h30m)", value, path)
            return None
        try:
            seconds = parse_duration(value)
        except ValueError as exc:
            self.error(code, f"{what} {exc}", path, hint="units: s, m, h, d, w; e.g. 300, 5m, 1h30m, 2d")
            return None
        if seconds > limit:
            rfc = " (RFC 2181 8)" if what == "TTL" else " (a 32-bit field)"
            self.error(code, f"{what} {seconds} is above the largest allowed value {limit}{rfc}", path)
            return None
        return seconds

    def ttl_of(self, spec: Mapping[str, Any], path: Path, default: int) -> int:
        """The `ttl` key of a mapping, or `default`; a bad TTL is reported and `default` used."""
        if "ttl" not in spec:
            return default
        value = self.seconds(spec["ttl"], (*path, "ttl"))
        return default if value is None else value

    def name(self, value: object, path: Path, what: str = "name") -> Name | None:
        """A domain name relative to the origin ('@' = origin; trailing dot = absolute)."""
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.wrong_type(f"a {what}", value, path)
            return None
        text = str(value).strip()
        cached = self._names.get(text)
        if cached is not None:
            return cached
        try:
            name = self.parse_name(text)
        except NameError_ as exc:
            self.error("bad-name", f"{what} {text!r}: {exc}", path)
            return None
        self._names[text] = name
        return name

    def parse_name(self, text: str) -> Name:
        """Name.from_text with a fast path for plain ASCII names (most of a big zone)."""
        if text.isascii() and "\\" not in text and text not in ("@", ".", ""):
            absolute = text[-1] == "."
            raw = (text[:-1] if absolute else text).encode("ascii")
            labels = tuple(raw.split(b"."))
            wire = len(raw) + (2 if absolute else 1 + self._origin_wire)  # RFC 1035 2.3.4 limits, cheaply
            if wire <= MAX_NAME and b"" not in labels and max(map(len, labels)) <= MAX_LABEL:
                return Name(labels if absolute else labels + self.origin.labels)
        return Name.from_text(to_ascii(text), self.origin)  # slow path, and the precise error

    def host(self, value: object, path: Path, what: str) -> Name | None:
        """A target host name: never an IP address (RFC 1035 3.3.9, RFC 2782, RFC 2181 10.3)."""
        if isinstance(value, str) and is_address_text(value.strip()):
            self.error("host-is-address", f"{what} {value!r} is an IP address; it must be a host name", path,
                       hint="name a host and give it the address, e.g. {host: mx1, addresses: [" + value + "]}")
            return None
        return self.name(value, path, what)

    def integer(self, value: object, path: Path, what: str, limit: int) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int):
            self.wrong_type(f"a number 0..{limit}", value, path)
            return None
        if not 0 <= value <= limit:
            self.error("out-of-range", f"{_dotted(path) or what} must be 0..{limit}, got {value}", path)
            return None
        return value

    def fits(self, rdata: Rdata, path: Path) -> bool:
        """False (with a `bad-rdata` finding) for RDATA over 65,535 octets; call it for types marked `long` only."""
        try:
            check_length(rdata)
        except RdataError as exc:
            self.error("bad-rdata", f"{type_name(rdata.type_code)}: {exc}", path,
                       hint="a record must fit one DNS message: split it into several records")
            return False
        return True

    def add(self, owner: Name, ttl: int, rdata: Rdata, path: Path, origin: str | None = None) -> None:
        if rdata.long and not self.fits(rdata, path):
            return
        self.records.append(Record(owner, ttl, rdata, Where(self.file, path=path), origin))

    def addresses(self, host: Name, value: object, ttl: int, path: Path, origin: str | None) -> bool:
        """`addresses:` of an in-zone host -> its A/AAAA records; False if any was refused.

        The caller then drops the item's MX/SRV too: one mistake gives one finding, not a
        second "exchange has no address" from the rules.
        """
        if not host.is_subdomain_of(self.origin):
            self.error("addresses-not-in-zone",
                       f"{host} is outside {self.origin}; addresses can only be given for hosts in this zone",
                       path, hint="the zone that holds the host publishes its addresses")
            return False
        ok = True
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            p = (*path, i) if isinstance(value, list) else path
            if not isinstance(item, str):
                self.wrong_type("an IPv4 or IPv6 address", item, p)
                ok = False
                continue
            try:
                ip = ipaddress.ip_address(item.strip())
            except ValueError:
                self.error("bad-address", f"{item!r} is not an IPv4 or IPv6 address", p)
                ok = False
                continue
            self.add(host, ttl, A(str(ip)) if ip.version == 4 else AAAA(str(ip)), p, origin)
        return ok


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _shape_hint(b: Block) -> str | None:
    keys = list(b.keys)
    return f"keys: {', '.join(keys)}" if keys else None


