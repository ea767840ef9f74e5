"""A DNS server inside your tests: `DNSTestServer` and the pytest fixtures `dns_server`, `dns_server_session`.

    def test_backup_mx(dns_server):
        dns_server.load("zones/example.com.yaml")      # or a dict in the YAML shape
        ...point the sender at dns_server.host, dns_server.port...
        assert ("example.com", "MX") in dns_server.queries

The server runs in this process (one UDP thread, one event-loop thread) on a free port, answers
exactly as `zonetool serve` does, and gives every thread and socket back on `stop()`. Zones and
records can change while it runs; each change is one atomic swap, like a reload.

Faults (the sender harness): a zone's `faults:` list applies, and `dns_server.fault(name, qtype,
action, delay_ms=...)` / `clear_faults()` add and drop faults at runtime. The `smtp_sinks` fixture
(`zonetool.harness.fixtures`) runs SMTP sinks for the served exchangers. To match faults your own
way, pass `faults` (anything with `match(qname, qtype)`) to the constructor.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from zonetool.faults import Fault, ZoneFaults
from zonetool.findings import Finding
from zonetool.names import Name, to_ascii
from zonetool.records import Rdata, parse_rdata, type_code
from zonetool.server.querylog import QueryLog
from zonetool.server.runner import Server
from zonetool.server.tcp import TCPLimits
from zonetool.server.trouble import Trouble
from zonetool.server.zonesource import SerialBook
from zonetool.zone import Record, RRset, Zone

__all__ = ["DNSTestServer", "ZoneFindingsWarning", "ZoneLoadError"]


class ZoneLoadError(ValueError):
    """The zone given to `load()` cannot be served; the message lists why, each finding with its place."""

    def __init__(self, findings: Sequence[Finding], blockers: Sequence[Finding] | None = None) -> None:
        self.findings = list(findings)
        shown = list(blockers) if blockers is not None else [f for f in self.findings if f.severity.value == "error"]
        super().__init__(f"{len(shown)} error(s) in the zone:\n" + "\n".join(f.format() for f in shown))


class ZoneFindingsWarning(UserWarning):
    """A loaded zone breaks rules and is served as it is (a sender lab serves broken DNS on purpose)."""


def _copy_zone(zone: Zone) -> Zone:
    """A copy whose RRsets can change without touching the one being served."""
    new = copy.copy(zone)
    new.nodes = {
        name: {code: RRset(rrset.owner, rrset.code, list(rrset.records)) for code, rrset in node.items()}
        for name, node in zone.nodes.items()
    }
    new.duplicates = list(zone.duplicates)
    new._ents = new._cuts = None
    return new


def _absolute(owner: str | Name) -> Name:
    if isinstance(owner, Name):
        return owner
    text = to_ascii(owner.strip())
    return Name.from_text(text if text.endswith(".") else text + ".")


class DNSTestServer:
    """An authoritative DNS server on an ephemeral port for the length of a test (or a session)."""

    def __init__(
        self,
        *,
        address: str = "127.0.0.1",
        port: int = 0,
        allow_transfer: Sequence[str] = ("127.0.0.1", "::1"),
        max_udp: int = 1232,
        cache_size: int = 10_000,
        faults: Any = None,
        tcp_idle: float = 10.0,
        tcp_limits: TCPLimits | None = None,
        strict: bool = False,
    ) -> None:
        self.address = address
        self.strict = strict  # True: refuse zones with any error, as `export` and `serve --strict` do
        self.tcp_idle = tcp_idle
        # what one TCP client may hold (zonetool.server.tcp.TCPLimits; `zonetool serve`'s --tcp-* flags)
        self.tcp_limits = tcp_limits
        self.requested_port = port
        self.allow_transfer = tuple(allow_transfer)
        self.max_udp = max_udp
        self.cache_size = cache_size
        # passed to the Responder: anything with match(qname, qtype) -> fault or None; by default the
        # zones' declared `faults:` plus runtime ones (fault(), clear_faults(); issue 4, zonetool.faults)
        self.faults = faults if faults is not None else ZoneFaults(self._served_zones)
        self.queries = QueryLog(keep=True)
        self.zones: dict[Name, Zone] = {}
        self.findings: list[Finding] = []  # every finding of the zones of the last load(), served or not
        self._serials = SerialBook()
        self._lock = threading.RLock()
        self._server: Server | None = None
        self._responder: Any = None

    # -- lifecycle --------------------------------------------------------------------
    def _make_responder(self) -> Any:
        from zonetool.server.responder import Responder

        return Responder(
            list(self.zones.values()),
            max_udp=self.max_udp,
            cache_size=self.cache_size,
            allow_transfer=self.allow_transfer,
            faults=self.faults,
        )

    def start(self) -> DNSTestServer:
        if self._server is not None:
            return self
        self._responder = self._make_responder()
        server = Server(
            self._responder,
            address=self.address,
            port=self.requested_port,
            querylog=self.queries,
            tcp_idle=self.tcp_idle,
            tcp_limits=self.tcp_limits,
        )
        server.start()
        self._server = server
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> DNSTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def trouble(self) -> Trouble:
        """The trouble the server met (limits hit, refused transfers...), counted by kind."""
        if self._server is None:
            raise RuntimeError("the DNS test server is not running")
        return self._server.trouble

    @property
    def host(self) -> str:
        return self.address

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the DNS test server is not running (use it as a context manager or call start())")
        return self._server.port

    @property
    def address_tuple(self) -> tuple[str, int]:
        return (self.host, self.port)

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self.running else "stopped"
        return f"<DNSTestServer {where} zones={[z.to_text() for z in self.zones]}>"

    # -- zones ------------------------------------------------------------------------
    def _publish(self) -> None:
        """Hand the current zones to the responder in one swap (answers and cache change together)."""
        self._serials.stamp(self.zones.values())
        if self._responder is not None:
            self._responder.swap(list(self.zones.values()))

    def load(self, *sources: str | os.PathLike[str] | Mapping[str, Any]) -> list[Zone]:
        """Serve zones from YAML files, directories, or dicts in the YAML shape; replaces zones of the same origin.

        Rule findings do not stop it: the zones are served as they are (an MX pointing at a CNAME,
        an exchanger without addresses: what senders meet in the wild), `findings` lists every
        finding and, when errors are among them, one ZoneFindingsWarning says how many. Raises
        ZoneLoadError, changing nothing, when a zone cannot be built, when NSD would refuse it
        too (CNAME beside other data, no SOA, ...), or with `strict=True` when it has any error.
        """
        import warnings

        from zonetool.loader import load_mapping, load_paths, serving_blockers

        loaded_zones: list[Zone] = []
        findings: list[Finding] = []
        for source in sources:
            if isinstance(source, Mapping):
                zone, found = load_mapping(dict(source), "<dict>")
                findings.extend(found)
                if zone is not None:
                    loaded_zones.append(zone)
            else:
                path = Path(source)
                if not path.exists():
                    raise FileNotFoundError(f"{path}: no such zone file or directory")
                loaded = load_paths([path])
                findings.extend(loaded.findings)
                loaded_zones.extend(loaded.zones)
        blockers = serving_blockers(findings, self.strict)
        if blockers:
            raise ZoneLoadError(findings, blockers)
        with self._lock:
            for zone in loaded_zones:
                self.zones[zone.origin] = zone
            self._publish()
        self.findings = findings
        errors = [f for f in findings if f.silenced is None and f.severity.value == "error"]
        if errors:  # zones with warnings only were always served quietly; errors served are news
            first = errors[0].format().splitlines()[0]
            warnings.warn(
                ZoneFindingsWarning(f"{len(errors)} error(s) served as they are (the first: {first}); see .findings"),
                stacklevel=2,
            )
        return loaded_zones

    def unload(self, origin: str | Name) -> None:
        with self._lock:
            self.zones.pop(_absolute(origin), None)
            self._publish()

    def zone_for(self, name: str | Name) -> Zone:
        """The most specific served zone containing `name` (the one that answers for it)."""
        target = _absolute(name)
        best: Zone | None = None
        for zone in self.zones.values():
            if target.is_subdomain_of(zone.origin) and (best is None or len(zone.origin) > len(best.origin)):
                best = zone
        if best is None:
            served = ", ".join(z.to_text() for z in self.zones) or "none"
            raise KeyError(f"no served zone contains {target.to_text()} (zones: {served}); load() one first")
        return best

    def set(
        self,
        owner: str | Name,
        rtype: str,
        values: str | Rdata | Iterable[str | Rdata],
        ttl: int = 3600,
    ) -> None:
        """Replace the `rtype` records at `owner` (absolute) with `values` (presentation text, e.g. "10 mx1").

        Names inside values are relative to the zone's origin unless they end in ".", as in the YAML.
        """
        with self._lock:
            zone = self.zone_for(owner)
            name = _absolute(owner)
            code = type_code(rtype)
            items = [values] if isinstance(values, str | Rdata) else list(values)
            rdatas = [v if isinstance(v, Rdata) else parse_rdata(rtype, str(v), zone.origin) for v in items]
            new = _copy_zone(zone)
            new.remove(name, code)
            for rdata in rdatas:
                new.add(Record(name, ttl, rdata))
            self.zones[zone.origin] = new
            self._publish()

    def remove(self, owner: str | Name, rtype: str | None = None) -> int:
        """Remove the records of `owner` (all types, or one); returns how many went."""
        with self._lock:
            zone = self.zone_for(owner)
            new = _copy_zone(zone)
            removed = new.remove(_absolute(owner), type_code(rtype) if rtype else None)
            self.zones[zone.origin] = new
            self._publish()
            return removed

    # -- faults (the sender harness, zonetool.faults) ---------------------------------------
    def _served_zones(self) -> tuple[Zone, ...]:
        return self._responder.zones if self._responder is not None else ()

    def fault(
        self, name: str | Name, qtype: str | int | None = None, action: str = "servfail", delay_ms: int = 0
    ) -> Fault:
        """Misbehave for `name` (absolute; `*.x` = every name below x) and `qtype` (None = every type).

        action: servfail, refused, nxdomain, timeout, delay (with delay_ms), truncate, bad-id.
        Returns the fault, for `remove_fault`; the query log names the action when it fires.
        """
        if not isinstance(self.faults, ZoneFaults):
            raise TypeError("this server was given its own `faults` matcher; add faults to that instead")
        return self.faults.runtime.add(Fault.make(_absolute(name), qtype, action, delay_ms))

    def remove_fault(self, fault: Fault) -> None:
        if isinstance(self.faults, ZoneFaults):
            self.faults.runtime.remove(fault)

    def clear_faults(self) -> None:
        """Forget the runtime faults (the zones' declared `faults:` stay)."""
        if isinstance(self.faults, ZoneFaults):
            self.faults.runtime.clear()

    # -- the log ------------------------------------------------------------------------
    def clear_log(self) -> None:
        self.queries.clear()


try:
    import pytest
except ImportError:  # the class works without pytest; only the fixtures need it
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    def dns_server() -> Iterator[DNSTestServer]:
        """A fresh DNS server for one test: no zones until you `load()` some."""
        with DNSTestServer() as server:
            yield server

    from zonetool.harness.fixtures import smtp_sinks  # noqa: F401  (the sender harness, issue 4)

    @pytest.fixture(scope="session")
    def dns_server_session() -> Iterator[DNSTestServer]:
        """One DNS server for the whole session (zones and log persist: clear_log() between tests)."""
        with DNSTestServer() as server:
            yield server
