"""SMTP sinks: one listening SMTP server per in-zone exchanger, to see which host a sender really chose.

Each exchanger of the zones (MX targets, and `_smtp._tcp` / `_submission._tcp` SRV targets)
gets a sink on each of its loopback addresses (127.0.0.0/8, ::1), on port 25 or the SRV
record's port, or on the port a `ports` mapping gives (non-root users: `{25: 2525}`). Every
sink has a behaviour, changeable while it runs:

  accept             250 to everything; the message is recorded
  tempfail           451 4.3.0 to every RCPT: a temporary failure (RFC 5321 4.2.5)
  reject             550 5.1.1 to every RCPT: permanent, a sender bounces and tries no other MX
  tempfail-greeting  421 as the greeting, then close (RFC 5321 3.1): the host is unavailable
  refuse             the connection is accepted and reset at once (recorded)
  hang               the connection is accepted and nothing is ever said
  closed             nothing listens: a real "connection refused" (and so nothing is recorded)

Every sink offers STARTTLS (RFC 3207) with a certificate for its exchanger's name from a test CA
made at start (zonetool.harness.testca), unless TLS is turned off for it (`use_tls(host, False)`,
`--smtp-tls HOST=off`: a sender that requires TLS must then defer). With several names on one
address, the name the client sends as SNI picks the certificate (the first name's without SNI).

aiosmtpd speaks the SMTP (a real RFC 5321 server beats a hand-written one). All sinks share
one event-loop thread; every connection, TLS handshake, RCPT and message lands in one ordered
event list, each saying whether the session was encrypted, the TLS version and the SNI.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zonetool.harness.loopthread import LoopThread
from zonetool.names import Name
from zonetool.rrtypes import RRType
from zonetool.zone import Zone

if TYPE_CHECKING:
    import ssl

    from zonetool.harness.testca import TestCA

BEHAVIOURS = ("accept", "tempfail", "reject", "tempfail-greeting", "refuse", "hang", "closed")
SMTP_SRV_PREFIXES = ((b"_smtp", b"_tcp"), (b"_submission", b"_tcp"))
A_CODE, AAAA_CODE, CNAME_CODE, MX_CODE, SRV_CODE = map(
    int, (RRType.A, RRType.AAAA, RRType.CNAME, RRType.MX, RRType.SRV)
)
TEMPFAIL_REPLY = "451 4.3.0 zonetool sink: try again later"
REJECT_REPLY = "550 5.1.1 zonetool sink: recipient rejected"


class SinkError(RuntimeError):
    """A sink could not start (address or port in use, no permission): the message says what to do."""


@dataclass(frozen=True, slots=True)
class SinkEvent:
    """One thing that happened at a sink, numbered in the order it happened across all sinks."""

    seq: int
    kind: str  # connect | starttls | tls-failed | rcpt | message
    host: str  # the exchanger name(s) this endpoint stands for
    address: str
    port: int
    behaviour: str
    peer: str = ""
    mail_from: str | None = None
    recipients: tuple[str, ...] = ()
    reply: str = ""
    data: bytes = b""
    tls_version: str | None = None  # e.g. TLSv1.3 once STARTTLS succeeded in this session, else None
    sni: str | None = None  # the server name the client sent in its TLS hello (RFC 6066 3), if any
    cipher: str | None = None

    @property
    def tls(self) -> bool:
        """Whether the session was encrypted (STARTTLS done) when this happened."""
        return self.tls_version is not None

    def format(self) -> str:
        where = f"{self.host} [{self.address}]:{self.port}"
        over = f" over {self.tls_version}" if self.tls_version else ""
        if self.kind == "connect":
            return f"{self.seq:>3}. connect  {where} ({self.behaviour})"
        if self.kind == "starttls":
            return f"{self.seq:>3}. starttls {where} {self.tls_version} {self.cipher} sni={self.sni or '-'}"
        if self.kind == "tls-failed":
            return f"{self.seq:>3}. tls-failed {where} sni={self.sni or '-'}: {self.reply}"
        if self.kind == "rcpt":
            return f"{self.seq:>3}. rcpt     {where} <{self.recipients[0]}> -> {self.reply}{over}"
        rcpts = ", ".join(f"<{r}>" for r in self.recipients)
        return f"{self.seq:>3}. message  {where} from <{self.mail_from}> to {rcpts} ({len(self.data)} octets){over}"

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "kind": self.kind,
            "host": self.host,
            "address": self.address,
            "port": self.port,
            "behaviour": self.behaviour,
            "peer": self.peer,
            "mail_from": self.mail_from,
            "recipients": list(self.recipients),
            "reply": self.reply,
            "size": len(self.data),
            "tls": self.tls,
            "tls_version": self.tls_version,
            "sni": self.sni,
            "cipher": self.cipher,
        }


@dataclass(slots=True)
class Endpoint:
    """One listening address and port; several exchanger names may share it."""

    hosts: list[str]
    address: str
    port: int
    behaviour: str = "accept"
    tls: bool = True  # offer STARTTLS (with the first host's certificate, or the one the SNI names)
    server: Any = None
    hanging: list[Any] = field(default_factory=list)
    tls_context: Any = None  # made when the sink opens (MailSinks._context)

    @property
    def name(self) -> str:
        return "/".join(self.hosts)


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def free_port(addresses: Iterable[str] = ("127.0.0.1",), exclude: Iterable[int] = ()) -> int:
    """A TCP port free on every address given (for a `ports` mapping in tests)."""
    addresses = list(addresses)
    taken = set(exclude)
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        ok = port not in taken
        for address in addresses if ok else ():
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            with socket.socket(family, socket.SOCK_STREAM) as s:
                try:
                    s.bind((address, port))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
    raise SinkError("no TCP port is free on every sink address")


def exchangers(zones: Iterable[Zone]) -> tuple[list[tuple[str, str, int]], list[str]]:
    """(host, address, port) of every in-zone exchanger with a loopback address, and why others were left out.

    Exchangers are MX targets, SMTP/submission SRV targets, and each zone's apex when it has
    addresses (the implicit MX, and where a sender that wrongly falls back would connect).
    """
    zones = list(zones)
    found: list[tuple[str, str, int]] = []
    skipped: list[str] = []
    targets: dict[tuple[Name, int], None] = {}
    for zone in zones:
        for record in zone.records():
            rd = record.rdata
            if record.code == MX_CODE and not rd.exchange.is_root():  # type: ignore[attr-defined]
                targets[(rd.exchange, 25)] = None  # type: ignore[attr-defined]
            elif (
                record.code == SRV_CODE and record.owner.key[:2] in SMTP_SRV_PREFIXES and not rd.target.is_root()  # type: ignore[attr-defined]
            ):
                targets[(rd.target, rd.port)] = None  # type: ignore[attr-defined]
    for zone in zones:  # the domain itself: the implicit MX (RFC 5321 5.1), and where buggy senders go
        if zone.rrset(zone.origin, A_CODE) or zone.rrset(zone.origin, AAAA_CODE):
            targets.setdefault((zone.origin, 25), None)
    for host, port in targets:
        canonical = _canonical(zones, host)
        zone = _zone_of(zones, canonical) if canonical is not None else None
        if zone is None or canonical is None:
            why = "a CNAME loop" if canonical is None else "outside the served zones"
            skipped.append(f"{host}: {why}, no sink")
            continue
        node = zone.nodes.get(canonical, {})
        addresses = [r.rdata.address for code in (A_CODE, AAAA_CODE) if code in node for r in node[code].records]  # type: ignore[attr-defined]
        if not addresses:
            skipped.append(f"{host}: no A/AAAA records in the zone, no sink")
        for address in addresses:
            if is_loopback(address):
                found.append((host.to_text(), address, port))
            else:
                skipped.append(f"{host} {address}: not a loopback address, no sink (use 127.0.0.x or ::1)")
    return found, skipped


def _zone_of(zones: list[Zone], name: Name) -> Zone | None:
    return next((z for z in sorted(zones, key=lambda z: -len(z.origin)) if name.is_subdomain_of(z.origin)), None)


def _canonical(zones: list[Zone], host: Name) -> Name | None:
    """Where a CNAME chain from `host` ends in the zones (senders follow an MX -> CNAME; RFC 2181
    10.3 forbids it, senders cope), so the sink listens where they connect; None for a loop."""
    seen = {host}
    while (zone := _zone_of(zones, host)) is not None and CNAME_CODE in (node := zone.nodes.get(host, {})):
        host = node[CNAME_CODE].records[0].rdata.target  # type: ignore[attr-defined]
        if host in seen:
            return None
        seen.add(host)
    return host


class MailSinks:
    """A set of SMTP sinks sharing one event loop; the recorded events are readable from any thread."""

    def __init__(
        self,
        ports: Mapping[int, int] | None = None,
        default: str = "accept",
        on_event: Callable[[SinkEvent], None] | None = None,
        tls: bool = True,
        ca: TestCA | None = None,
    ) -> None:
        _check(default)
        self.tls = tls  # the default for new sinks: STARTTLS offered
        self._ca = ca
        self._own_ca = ca is None  # made here: its key files are removed at stop()
        self.host_tls: dict[str, bool] = {}  # host -> TLS on/off, also for sinks `follow_zones` opens
        self.ports = dict(ports or {})
        self.on_event = on_event  # e.g. print each event as it happens (zonetool serve --smtp)
        self.default = default
        self.endpoints: list[Endpoint] = []
        self.skipped: list[str] = []
        self.host_behaviours: dict[str, str] = {}  # host -> behaviour, also for sinks `follow_zones` opens
        self._events: list[SinkEvent] = []
        self._seq = 0  # numbers keep rising across clear(), so a reader's `since` stays valid
        self.listeners: list[Callable[[SinkEvent], None]] = []  # e.g. the HTTP API's event stream
        self._lock = threading.Lock()
        self._bg = LoopThread("zonetool-smtp-sinks")

    # -- declaring sinks ------------------------------------------------------------
    def add(self, host: str | Name, address: str, port: int = 25, behaviour: str | None = None) -> Endpoint:
        """A sink for `host` on `address` and `port` (the `ports` mapping applies)."""
        behaviour = behaviour or self.default
        _check(behaviour)
        text = host.to_text() if isinstance(host, Name) else (host if host.endswith(".") else host + ".")
        real_port = self.ports.get(port, port)
        address = str(ipaddress.ip_address(address))
        for ep in self.endpoints:
            if ep.address == address and ep.port == real_port:
                if text.lower() not in (h.lower() for h in ep.hosts):
                    ep.hosts.append(text)
                return ep
        ep = Endpoint([text], address, real_port, behaviour, tls=self._tls_for(text))
        self.endpoints.append(ep)
        if self._bg.loop is not None:
            try:
                self._bg.call(self._open(ep))
            except BaseException:
                self.endpoints.remove(ep)  # no phantom sink
                raise
        return ep

    def add_zones(self, zones: Iterable[Zone], behaviours: Mapping[str, str] | None = None) -> list[Endpoint]:
        """Sinks for every in-zone exchanger with loopback addresses; `behaviours` maps host -> behaviour."""
        found, skipped = exchangers(zones)
        self.skipped.extend(skipped)
        added = [self.add(host, address, port) for host, address, port in found]
        for host, behaviour in (behaviours or {}).items():
            self.behave(host, behaviour)
        return added

    def follow_zones(self, zones: Iterable[Zone]) -> tuple[list[Endpoint], list[Endpoint]]:
        """Bring the sinks in line with a new version of the zones: (opened, closed).

        A sink for each exchanger the zones now name; sinks no exchanger needs any more are
        closed. A sink that stays keeps its behaviour; a new one gets the `host_behaviours` given
        for its host, else the default. The recorded events are kept.
        """
        before = {id(ep) for ep in self.endpoints}
        found, self.skipped = exchangers(zones)
        wanted: dict[int, set[str]] = {}
        for host, address, port in found:
            try:
                ep = self.add(host, address, port)
            except SinkError as exc:  # e.g. the port is taken: say so, keep the others
                self.skipped.append(str(exc))
                continue
            wanted.setdefault(id(ep), set()).add(host.lower())
        closed = [ep for ep in self.endpoints if id(ep) not in wanted]
        for ep in closed:
            self.endpoints.remove(ep)
            if self._bg.loop is not None:
                self._bg.call(self._close(ep))
        opened = [ep for ep in self.endpoints if id(ep) not in before]
        for ep in self.endpoints:
            ep.hosts = [h for h in ep.hosts if h.lower() in wanted[id(ep)]]
        for host, behaviour in self.host_behaviours.items():
            for ep in opened:
                if host.lower().rstrip(".") in (h.lower().rstrip(".") for h in ep.hosts):
                    self.behave(ep.hosts[0], behaviour)
        for ep in self.endpoints:  # a host's TLS setting follows it (the endpoint's context is rebuilt)
            ep.tls_context = None
        return opened, closed

    # -- TLS ----------------------------------------------------------------------------
    @property
    def ca(self) -> TestCA:
        """The test CA that issues the sinks' certificates (made on first use)."""
        if self._ca is None:
            from zonetool.harness.testca import TestCA

            self._ca = TestCA()
        return self._ca

    def write_ca(self, path: str | Path) -> Path:
        """The CA certificate (PEM) at `path`, atomically: what a sender is told to trust."""
        return self.ca.write_ca(path)

    def certificate(self, host: str | Name) -> bytes:
        """The PEM certificate the sink of `host` presents (zonetool.mailpolicy.dane computes its TLSA)."""
        text = host.to_text() if isinstance(host, Name) else host
        return self.ca.leaf(text).cert_pem

    def use_tls(self, host: str | Name, on: bool = True) -> None:
        """Offer STARTTLS at the sink(s) of `host`, or not (from the next connection on)."""
        for ep in self._find(host):
            ep.tls = on
            ep.tls_context = None

    def _tls_for(self, host: str) -> bool:
        key = host.lower().rstrip(".")
        return next((on for h, on in self.host_tls.items() if h.lower().rstrip(".") == key), self.tls)

    def _context(self, ep: Endpoint) -> ssl.SSLContext | None:
        """The endpoint's TLS context: its first host's certificate; the SNI switches to another of its hosts."""
        if not ep.tls:
            return None
        if ep.tls_context is None:
            ca = self.ca
            context = ca.new_context(ep.hosts[0])

            def pick(ssl_object: Any, server_name: str | None, _context: Any) -> None:
                ssl_object.zonetool_sni = server_name  # read back when the handshake is done
                if server_name and server_name.lower() in (h.lower().rstrip(".") for h in ep.hosts[1:]):
                    ssl_object.context = ca.server_context(server_name)

            context.sni_callback = pick
            ep.tls_context = context
        return ep.tls_context

    def behave(self, host: str | Name, behaviour: str) -> None:
        """Change how the sink(s) of `host` behave from the next connection on."""
        _check(behaviour)
        eps = self._find(host)
        for ep in eps:
            old, ep.behaviour = ep.behaviour, behaviour
            if self._bg.loop is not None and (old == "closed") != (behaviour == "closed"):
                self._bg.call(self._open(ep) if old == "closed" else self._close(ep))

    def _find(self, host: str | Name) -> list[Endpoint]:
        text = host.to_text() if isinstance(host, Name) else host
        key = text.lower().rstrip(".")
        eps = [ep for ep in self.endpoints if key in (h.lower().rstrip(".") for h in ep.hosts) or ep.address == text]
        if not eps:
            known = ", ".join(ep.name for ep in self.endpoints) or "none"
            raise KeyError(f"no sink for {text} (sinks: {known})")
        return eps

    def port_for(self, port: int) -> int:
        """Where a sink for a record's `port` really listens (after the `ports` mapping)."""
        return self.ports.get(port, port)

    def address_of(self, host: str | Name) -> tuple[str, int]:
        ep = self._find(host)[0]
        return ep.address, ep.port

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> MailSinks:
        if self._bg.loop is not None:
            return self
        self._bg.start()
        try:
            for ep in self.endpoints:
                self._bg.call(self._open(ep))
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        running = self._bg.loop is not None
        self._bg.stop(self._close_all() if running else None)
        if running and self._own_ca and self._ca is not None:
            self._ca.close()

    def __enter__(self) -> MailSinks:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._bg.loop is not None

    async def _open(self, ep: Endpoint) -> None:
        if ep.behaviour == "closed" or ep.server is not None:
            return
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in ep.address else socket.AF_INET
        try:
            ep.server = await loop.create_server(
                lambda: self._protocol(ep), ep.address, ep.port, family=family, reuse_address=True
            )
        except OSError as exc:
            hint = ""
            if exc.errno == 13:
                hint = (
                    f"; port {ep.port} needs root: map it, e.g. ports={{{ep.port}: 2525}} (--smtp-port {ep.port}=2525)"
                )
            elif exc.errno == 99:
                hint = "; that address is not on this machine (loopback: 127.0.0.0/8 or ::1)"
            raise SinkError(f"cannot listen on [{ep.address}]:{ep.port} for {ep.name}: {exc.strerror}{hint}") from None

    async def _close(self, ep: Endpoint) -> None:
        server, ep.server = ep.server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    async def _close_all(self) -> None:
        for ep in self.endpoints:
            for transport in ep.hanging:
                transport.abort()
            ep.hanging.clear()
            server, ep.server = ep.server, None
            if server is not None:
                server.close()
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- protocols -----------------------------------------------------------------
    def _protocol(self, ep: Endpoint) -> asyncio.BaseProtocol:
        behaviour = ep.behaviour
        if behaviour in ("refuse", "hang", "tempfail-greeting"):
            return _Silent(self, ep, behaviour)
        from aiosmtpd.smtp import SMTP, TLSSetupException

        sinks = self

        class _SinkSMTP(SMTP):  # type: ignore[misc]
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                if self.transport is None:  # not the second call STARTTLS makes with the TLS transport
                    sinks._record("connect", ep, behaviour, peer=_peer(transport))
                super().connection_made(transport)

            async def smtp_STARTTLS(self, arg: str) -> None:
                try:
                    await super().smtp_STARTTLS(arg)
                except TLSSetupException as exc:  # e.g. the sender does not trust the CA: it says so in an alert
                    why = exc.__cause__ or exc
                    sslobj = getattr(self._tls_protocol, "_sslobj", None)
                    sinks._record("tls-failed", ep, behaviour, peer=_fmt(self.session.peer),
                                  reply=str(getattr(why, "reason", None) or why),
                                  sni=getattr(sslobj, "zonetool_sni", None))
                    raise

        hostname = ep.hosts[0].rstrip(".")
        return _SinkSMTP(
            _Handler(self, ep, behaviour), hostname=hostname, ident="zonetool sink", timeout=60,
            tls_context=self._context(ep), require_starttls=False,
        )

    # -- the record ------------------------------------------------------------------
    def _record(self, kind: str, ep: Endpoint, behaviour: str, **kw: Any) -> None:
        with self._lock:
            self._seq += 1
            event = SinkEvent(self._seq, kind, ep.name, ep.address, ep.port, behaviour, **kw)
            self._events.append(event)
        if self.on_event is not None:
            self.on_event(event)
        for listener in self.listeners:
            listener(event)

    @property
    def events(self) -> list[SinkEvent]:
        with self._lock:
            return list(self._events)

    def since(self, seq: int = 0) -> list[SinkEvent]:
        """Events numbered above `seq`, oldest first (`GET /smtp/events?since=SEQ`)."""
        with self._lock:
            return [e for e in self._events if e.seq > seq]

    @property
    def attempts(self) -> list[SinkEvent]:
        """Connections, in the order they were made."""
        return [e for e in self.events if e.kind == "connect"]

    @property
    def messages(self) -> list[SinkEvent]:
        """Messages accepted, in order."""
        return [e for e in self.events if e.kind == "message"]

    def hosts_tried(self) -> list[str]:
        """Exchanger names in the order the sender connected to them (repeats kept)."""
        return [e.host for e in self.attempts]

    def delivered_to(self) -> list[str]:
        return [e.host for e in self.messages]

    def clear(self) -> None:
        with self._lock:
            self._events.clear()

    def report(self) -> str:
        """Every sink and every event, for a person (or a failing test's output)."""
        lines = ["SMTP sinks:"]
        for ep in self.endpoints:
            lines.append(f"  {ep.name} [{ep.address}]:{ep.port} {ep.behaviour}")
        for note in self.skipped:
            lines.append(f"  (skipped) {note}")
        events = self.events
        lines.append(f"events ({len(events)}):" if events else "events: none")
        lines.extend("  " + e.format() for e in events)
        return "\n".join(lines)


def _check(behaviour: str) -> None:
    if behaviour not in BEHAVIOURS:
        raise ValueError(f"unknown sink behaviour {behaviour!r} (one of {', '.join(BEHAVIOURS)})")


def _peer(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return f"{peer[0]}:{peer[1]}" if peer else ""


class _Silent(asyncio.Protocol):
    """refuse (reset at once), hang (say nothing), tempfail-greeting (421 and close)."""

    def __init__(self, sinks: MailSinks, ep: Endpoint, behaviour: str) -> None:
        self.sinks, self.ep, self.behaviour = sinks, ep, behaviour
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.sinks._record("connect", self.ep, self.behaviour, peer=_peer(transport))
        if self.behaviour == "refuse":
            sock = transport.get_extra_info("socket")
            if sock is not None:  # linger 0: close sends RST, as a refusing host's stack would
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        elif self.behaviour == "tempfail-greeting":
            transport.write(
                f"421 4.3.2 {self.ep.hosts[0].rstrip('.')} zonetool sink: service not available\r\n".encode()
            )
            transport.close()
        else:
            self.ep.hanging.append(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport in self.ep.hanging:
            self.ep.hanging.remove(self.transport)


def _tls_of(session: Any) -> dict[str, Any]:
    """tls_version, sni and cipher of an aiosmtpd session (all None before STARTTLS)."""
    extra = getattr(session, "ssl", None)
    sslobj = extra.get("ssl_object") if extra else None
    if sslobj is None:
        return {}
    cipher = sslobj.cipher()
    return {"tls_version": sslobj.version(), "sni": getattr(sslobj, "zonetool_sni", None),
            "cipher": cipher[0] if cipher else None}


class _Handler:
    """aiosmtpd hooks: answer RCPT by behaviour, record TLS handshakes, recipients and messages."""

    def __init__(self, sinks: MailSinks, ep: Endpoint, behaviour: str) -> None:
        self.sinks, self.ep, self.behaviour = sinks, ep, behaviour

    async def handle_exception(self, error: Exception) -> str:
        """A failed handshake is recorded (a `tls-failed` event) and the connection closed, not logged
        as a traceback; anything else is logged as aiosmtpd would."""
        from aiosmtpd.smtp import TLSSetupException

        if not isinstance(error, TLSSetupException):
            import logging

            logging.getLogger("mail.log").error("SMTP session exception", exc_info=error)
        return f"500 Error: ({error.__class__.__name__}) {error}"

    def handle_STARTTLS(self, server: Any, session: Any, envelope: Any) -> bool:
        """The handshake is done (RFC 3207 4.1: the client starts over with EHLO)."""
        self.sinks._record("starttls", self.ep, self.behaviour, peer=_fmt(session.peer), **_tls_of(session))
        return True

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: list[str]) -> str:
        if self.behaviour == "tempfail":
            reply = TEMPFAIL_REPLY
        elif self.behaviour == "reject":
            reply = REJECT_REPLY
        else:
            envelope.rcpt_tos.append(address)
            reply = "250 2.1.5 OK"
        self.sinks._record(
            "rcpt",
            self.ep,
            self.behaviour,
            peer=_fmt(session.peer),
            mail_from=envelope.mail_from,
            recipients=(address,),
            reply=reply,
            **_tls_of(session),
        )
        return reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content or b""
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        self.sinks._record(
            "message",
            self.ep,
            self.behaviour,
            peer=_fmt(session.peer),
            mail_from=envelope.mail_from,
            recipients=tuple(envelope.rcpt_tos),
            reply="250 2.0.0 OK",
            data=data,
            **_tls_of(session),
        )
        return "250 2.0.0 OK: accepted by zonetool sink"


def _fmt(peer: Any) -> str:
    return f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer or "")


# ---------------------------------------------------------------------------
# command-line glue (zonetool serve --smtp)
# ---------------------------------------------------------------------------
def parse_port_map(items: Iterable[str]) -> dict[int, int]:
    """`25=2525` items -> {25: 2525}; ValueError names the bad item."""
    out: dict[int, int] = {}
    for item in items:
        left, sep, right = item.partition("=")
        if not sep or not left.strip().isdigit() or not right.strip().isdigit():
            raise ValueError(f"--smtp-port {item!r}: expected RECORD_PORT=LISTEN_PORT, e.g. 25=2525")
        src, dst = int(left), int(right)
        if not (0 < src < 65536 and 0 <= dst < 65536):
            raise ValueError(f"--smtp-port {item!r}: ports are 1..65535")
        out[src] = dst
    return out


def parse_behaviours(items: Iterable[str]) -> dict[str, str]:
    """`mx1.example.com=refuse` items -> {host: behaviour}; ValueError names the bad item."""
    out: dict[str, str] = {}
    for item in items:
        host, sep, behaviour = item.partition("=")
        if not sep or not host.strip():
            raise ValueError(f"--smtp-behaviour {item!r}: expected HOST=BEHAVIOUR, e.g. mx1.example.com=refuse")
        behaviour = behaviour.strip()
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"--smtp-behaviour {item!r}: behaviour is one of {', '.join(BEHAVIOURS)}")
        out[host.strip()] = behaviour
    return out


def parse_tls(items: Iterable[str]) -> tuple[bool, dict[str, bool]]:
    """`off` / `on` (every sink) and `HOST=off` items -> (default, {host: on}); ValueError names the bad item."""
    default, hosts = True, {}
    for item in items:
        host, sep, value = item.rpartition("=")
        value = value.strip().lower()
        if value not in ("on", "off") or (sep and not host.strip()):
            raise ValueError(f"--smtp-tls {item!r}: expected on, off or HOST=on|off, e.g. mx1.example.com=off")
        if sep:
            hosts[host.strip()] = value == "on"
        else:
            default = value == "on"
    return default, hosts


def start_for_zones(
    zones: Iterable[Zone],
    port_map: Iterable[str] = (),
    behaviours: Iterable[str] = (),
    echo: Callable[[str], None] | None = None,
    tls: Iterable[str] = (),
    ca: TestCA | None = None,
) -> MailSinks:
    """Sinks for every in-zone exchanger, started; events go to `echo` one line each (ValueError/SinkError)."""
    tls_default, tls_hosts = parse_tls(tls)
    sinks = MailSinks(
        ports=parse_port_map(port_map), on_event=(lambda e: echo("smtp " + e.format().strip())) if echo else None,
        tls=tls_default, ca=ca,
    )
    wanted = parse_behaviours(behaviours)
    sinks.host_behaviours = dict(wanted)
    sinks.host_tls = dict(tls_hosts)
    sinks.add_zones(zones)
    for host, behaviour in wanted.items():
        try:
            sinks.behave(host, behaviour)
        except KeyError as exc:
            raise ValueError(f"--smtp-behaviour: {exc.args[0]}") from None
    for host in tls_hosts:
        try:
            sinks._find(host)
        except KeyError as exc:
            raise ValueError(f"--smtp-tls: {exc.args[0]}") from None
    if not sinks.endpoints:
        raise ValueError("--smtp: no exchanger of the served zones has a loopback address (127.0.0.x or ::1)")
    sinks.start()
    return sinks
