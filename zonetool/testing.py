"""A DNS server inside your tests: `DNSTestServer` and the pytest fixtures `dns_server`, `dns_server_session`.

    def test_backup_mx(dns_server):
        dns_server.load("zones/example.com.yaml")      # or a dict in the YAML shape
        ...point the sender at dns_server.host, dns_server.port...
        assert ("example.com", "MX") in dns_server.queries

The server runs in this process (one UDP thread, one event-loop thread) on a free port, answers
exactly as `zonetool serve` does, and gives every thread and socket back on `stop()`. Zones and
records can change while it runs; each change is one atomic swap, like a reload.

Names at runtime: `mx1` is relative to the only served zone, `mx1.example.com.` (trailing dot) is
absolute; a name in no served zone is refused (zonetool.server.control holds the rules, shared
with `zonetool serve --api`). Faults (the sender harness): a zone's `faults:` list applies, and
`dns_server.fault(name, qtype, action, delay_ms=...)` / `clear_faults()` add and drop faults at
runtime. `dns_server.queries` is the query log (zonetool.server.querylog.QueryLog): iterate it,
`filter(name, type, rcode)`, `count(...)`, `wait_for(name, type, timeout)`, `clear()`.
`DNSTestServer(api=True)` also serves the HTTP control API at `.api_url`, for a sender or a
test suite written in another language. The `smtp_sinks` fixture
(`zonetool.harness.fixtures`) runs SMTP sinks for the served exchangers. To match faults your own
way, pass `faults` (anything with `match(qname, qtype)`) to the constructor.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from zonetool.faults import Fault, actions_help
from zonetool.findings import Finding
from zonetool.names import Name, to_ascii
from zonetool.rrtypes import Rdata
from zonetool.server.control import Control
from zonetool.server.querylog import QueryLog
from zonetool.server.runner import Server
from zonetool.server.tcp import TCPLimits
from zonetool.server.trouble import Trouble
from zonetool.zone import Zone

__all__ = ["DNSTestServer", "ZoneFindingsWarning", "ZoneLoadError"]


class ZoneLoadError(ValueError):
    """The zone given to `load()` cannot be served; the message lists why, each finding with its place."""

    def __init__(self, findings: Sequence[Finding], blockers: Sequence[Finding] | None = None) -> None:
        self.findings = list(findings)
        shown = list(blockers) if blockers is not None else [f for f in self.findings if f.severity.value == "error"]
        super().__init__(f"{len(shown)} error(s) in the zone:\n" + "\n".join(f.format() for f in shown))


class ZoneFindingsWarning(UserWarning):
    """A loaded zone breaks rules and is served as it is (a sender lab serves broken DNS on purpose)."""


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
        api: bool = False,
        api_token: str | None = None,
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
        # Every runtime change (zones, records, faults, the naming rule) goes through one Control,
        # the same object `zonetool serve --api` drives over HTTP (zonetool.server.control).
        # `faults`: anything with match(qname, qtype) -> fault or None; by default the zones'
        # declared `faults:` plus runtime ones (fault(), clear_faults(); issue 4, zonetool.faults).
        self.control = Control(faults=faults)
        self.faults = self.control.faults
        self.queries = QueryLog(keep=True)
        self.findings: list[Finding] = []  # every finding of the zones of the last load(), served or not
        self.api = api
        self.api_token = api_token
        self._api: Any = None
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
        )

    def start(self) -> DNSTestServer:
        if self._server is not None:
            return self
        self._responder = self._make_responder()
        self.control.attach(self._responder)
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
        if self.api:
            from zonetool.server.api import Api

            try:
                self._api = Api(self.control, self.queries, server=server, token=self.api_token).start(self.address)
            except BaseException:
                self.stop()
                raise
        return self

    def stop(self) -> None:
        api, self._api = self._api, None
        if api is not None:
            api.stop()
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
    def api_url(self) -> str:
        """The HTTP control API's base URL (`DNSTestServer(api=True)`), for a sender or suite in another language."""
        if self._api is None:
            raise RuntimeError("the HTTP API is off: DNSTestServer(api=True) and start() turn it on")
        return self._api.url

    @property
    def address_tuple(self) -> tuple[str, int]:
        return (self.host, self.port)

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self.running else "stopped"
        return f"<DNSTestServer {where} zones={[z.to_text() for z in self.zones]}>"

    # -- zones ------------------------------------------------------------------------
    @property
    def zones(self) -> dict[Name, Zone]:
        """The zones served now, by origin (runtime edits included)."""
        return self.control.zones

    def load(self, *sources: str | os.PathLike[str] | Mapping[str, Any]) -> list[Zone]:
        """Serve zones from YAML files, directories, or dicts in the YAML shape; replaces zones of the same origin.

        Rule findings do not stop it: the zones are served as they are (an MX pointing at a CNAME,
        an exchanger without addresses: what senders meet in the wild), `findings` lists every
        finding and, when errors are among them, one ZoneFindingsWarning says how many. Raises
        ZoneLoadError, changing nothing, when a zone cannot be built, when NSD would refuse it
        too (CNAME beside other data, no SOA, ...), or with `strict=True` when it has any error.
        Runtime edits (set, add, remove) stay laid over the new version, as over a reload in `serve`.
        """
        import warnings

        from zonetool.loader import LONG_RUNNING, load_mapping, load_paths, serving_blockers

        loaded_zones: list[Zone] = []
        findings: list[Finding] = []
        for source in sources:
            if isinstance(source, Mapping):
                zone, found = load_mapping(dict(source), "<dict>", LONG_RUNNING)
                findings.extend(found)
                if zone is not None:
                    loaded_zones.append(zone)
            else:
                path = Path(source)
                if not path.exists():
                    raise FileNotFoundError(f"{path}: no such zone file or directory")
                loaded = load_paths([path], policy=LONG_RUNNING)  # in a test's process: other threads run
                findings.extend(loaded.findings)
                loaded_zones.extend(loaded.zones)
        blockers = serving_blockers(findings, self.strict)
        if blockers:
            raise ZoneLoadError(findings, blockers)
        self.control.load(loaded_zones)
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
        """Stop serving the zone `origin` (a zone's name: absolute, trailing dot optional)."""
        self.control.unload(origin if isinstance(origin, Name) else Name.from_text(to_ascii(origin.rstrip(".")) + "."))

    def zone_for(self, name: str | Name) -> Zone:
        """The most specific served zone containing `name` (the one that answers for it); KeyError if none."""
        return self.control.zone_for(name)

    def set(
        self,
        owner: str | Name,
        rtype: str,
        values: str | Rdata | Iterable[str | Rdata],
        ttl: int = 3600,
    ) -> None:
        """Replace the `rtype` records at `owner` with `values` (presentation text, e.g. "10 mx1").

        `owner` follows the runtime naming rule (zonetool.server.control): `mx1` is relative to the
        only served zone, `mx1.example.com.` is absolute. Names inside values are relative to the
        owner's zone unless they end in ".", as in the YAML. Bad data: ValueError naming the field.
        """
        items = [values] if isinstance(values, str | Rdata) else list(values)
        self.control.replace_rrset(owner, rtype, items, ttl)

    def add(self, owner: str | Name, rtype: str, value: str | Rdata, ttl: int | None = None) -> None:
        """Add one record to the RRset (its TTL: `ttl`, else the RRset's, else 3600)."""
        self.control.add_record(owner, rtype, value, ttl)

    def remove(self, owner: str | Name, rtype: str | None = None, value: str | Rdata | None = None) -> int:
        """Remove the records of `owner` (all types, one type, or one record); returns how many went."""
        return self.control.delete_record(owner, rtype, value)

    # -- faults (the sender harness, zonetool.faults) ---------------------------------------
    def fault(
        self,
        name: str | Name | Sequence[str | Name],
        qtype: str | int | None = None,
        action: str = "servfail",
        delay_ms: int = 0,
        *,
        delay: str | int | None = None,
    ) -> Fault:
        """Misbehave for `name` (`mx1` = in the only zone; `*.x` = every name below x) and `qtype` (None = every type).

        `action` is one of the table below (zonetool.faults.EFFECTS); an action that needs a delay takes
        delay_ms or delay="2s". Returns the fault, for `remove_fault`; the query log names the action
        when it fires. A name in no served zone, an unknown action or a delay without one: ValueError.

        Actions:
        {actions}
        """
        return self.control.add_fault(name, qtype, action, delay if delay is not None else (delay_ms or None))

    def remove_fault(self, fault: Fault) -> None:
        self.control.remove_fault(fault)

    def clear_faults(self) -> None:
        """Forget the runtime faults (the zones' declared `faults:` stay)."""
        self.control.clear_faults()

    # -- the log ------------------------------------------------------------------------
    def clear_log(self) -> None:
        self.queries.clear()


try:
    import pytest
except ImportError:  # the class works without pytest; only the fixtures need it
    pytest = None  # type: ignore[assignment]

# fault()'s help lists the actions from the one table of their effects (zonetool.faults.EFFECTS).
if DNSTestServer.fault.__doc__:
    DNSTestServer.fault.__doc__ = DNSTestServer.fault.__doc__.replace("{actions}", actions_help(" " * 8).lstrip())


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
