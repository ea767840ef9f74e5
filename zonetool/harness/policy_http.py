"""`serve --smtp --mta-sts`: each domain's MTA-STS policy over HTTPS at `mta-sts.<domain>` (RFC 8461 3.3).

A sender that finds `_mta-sts.<domain>` TXT fetches `https://mta-sts.<domain>/.well-known/mta-sts.txt`
and checks the server's certificate like any HTTPS client (RFC 8461 3.3: a name the certificate
is valid for, a CA it trusts). So the server listens on the policy host's loopback addresses from
the zones (as the SMTP sinks do), on port 443 or the one given, and presents a certificate for
`mta-sts.<domain>` from the sinks' test CA; the Host header (else the SNI) says whose policy to give.

The policy text is the mail block's (`mta_sts:`, zonetool.mailpolicy.mtasts); a zone without that key
whose policy host has an address gets the default: mode enforce, every exchanger of the apex as mx.
Every fetch is recorded (host, path, status, TLS version, SNI), like the sinks' events.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zonetool.harness.loopthread import LoopThread
from zonetool.harness.sinks import A_CODE, AAAA_CODE, MX_CODE, _canonical, _zone_of, is_loopback
from zonetool.names import Name
from zonetool.zone import Zone

if TYPE_CHECKING:
    import ssl

    from aiohttp import web

    from zonetool.harness.testca import TestCA

POLICY_PATH = "/.well-known/mta-sts.txt"  # RFC 8461 3.2
POLICY_LABEL = b"mta-sts"


@dataclass(frozen=True, slots=True)
class PolicyFetch:
    """One request to a policy host, numbered in order."""

    seq: int
    host: str  # the policy host asked for (Host header, else SNI)
    address: str
    port: int
    path: str
    status: int
    tls_version: str | None
    sni: str | None
    peer: str = ""

    def format(self) -> str:
        return (f"{self.seq:>3}. GET {self.path} from {self.host} [{self.address}]:{self.port} -> {self.status} "
                f"{self.tls_version or '-'} sni={self.sni or '-'}")

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "host": self.host, "address": self.address, "port": self.port, "path": self.path,
                "status": self.status, "tls_version": self.tls_version, "sni": self.sni, "peer": self.peer}


def default_policy(zone: Zone) -> str:
    """RFC 8461 3.2 policy text for a zone without `mta_sts:`: enforce, each apex exchanger as mx."""
    from zonetool.mailpolicy.mtasts import DEFAULT_MAX_AGE, policy_text

    rrset = zone.rrset(zone.origin, MX_CODE)
    hosts = sorted({r.rdata.exchange.to_text().rstrip(".").lower()  # type: ignore[attr-defined]
                    for r in (rrset.records if rrset else ()) if not r.rdata.exchange.is_root()})  # type: ignore[attr-defined]
    return policy_text("enforce", hosts, DEFAULT_MAX_AGE)


def policy_of(zone: Zone) -> str:
    """The zone's policy file text: its mail block's `mta_sts:` policy, else `default_policy`."""
    policy = getattr(zone, "mta_sts", None)
    text = getattr(policy, "text", None)
    return text if isinstance(text, str) else default_policy(zone)


def policy_hosts(zones: Iterable[Zone]) -> tuple[dict[str, str], dict[str, set[str]], list[str]]:
    """({policy host: policy text}, {loopback address: policy hosts}, notes) for every served zone whose
    `mta-sts.<domain>` has an address in the zones (a CNAME to an in-zone name followed)."""
    zones = list(zones)
    texts: dict[str, str] = {}
    where: dict[str, set[str]] = {}
    notes: list[str] = []
    for zone in zones:
        host = Name((POLICY_LABEL, *zone.origin.labels))
        canonical = _canonical(zones, host)
        holder = _zone_of(zones, canonical) if canonical is not None else None
        node = holder.nodes.get(canonical, {}) if holder is not None and canonical is not None else {}
        addresses = [r.rdata.address for code in (A_CODE, AAAA_CODE) if code in node  # type: ignore[attr-defined]
                     for r in node[code].records]
        if not addresses:
            if getattr(zone, "mta_sts", None) is not None:
                notes.append(f"{host.to_text()}: no address in the zones, no policy server")
            continue
        name = host.to_text().rstrip(".").lower()
        loopback = [a for a in addresses if is_loopback(a)]
        for address in addresses:
            if not is_loopback(address):
                notes.append(f"{name} {address}: not a loopback address, no policy server there")
        if loopback:
            texts[name] = policy_of(zone)
            for address in loopback:
                where.setdefault(address, set()).add(name)
    return texts, where, notes


class PolicyServer:
    """HTTPS for the policy hosts of the zones, in a thread of its own; follows the zones on reload."""

    def __init__(self, ca: TestCA, port: int = 443, on_event: Callable[[PolicyFetch], None] | None = None) -> None:
        self.ca = ca
        self.port = port
        self.on_event = on_event
        self.texts: dict[str, str] = {}
        self.addresses: dict[str, set[str]] = {}
        self.notes: list[str] = []
        self._events: list[PolicyFetch] = []
        self._seq = 0
        self._lock = threading.Lock()
        self._bg = LoopThread("zonetool-mta-sts")
        self._runner: Any = None
        self._sites: dict[str, Any] = {}

    # -- the zones ------------------------------------------------------------------
    def follow_zones(self, zones: Sequence[Zone]) -> tuple[list[str], list[str]]:
        """The policies and addresses of this version of the zones: (addresses opened, addresses closed)."""
        texts, where, self.notes = policy_hosts(zones)
        with self._lock:
            self.texts = texts
            self.addresses = where
        if self._bg.loop is None:
            return [], []
        opened = [a for a in where if a not in self._sites]
        closed = [a for a in self._sites if a not in where]
        for address in closed:
            self._bg.call(self._close(address))
        for address in opened:
            self._bg.call(self._open(address))
        return opened, closed

    def url(self, host: str) -> str:
        port = "" if self.port == 443 else f":{self.port}"
        return f"https://{host}{port}{POLICY_PATH}"

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> PolicyServer:
        """Listen on every policy host's address now (OSError: the address or port is not free)."""
        self._bg.start()
        try:
            for address in sorted(self.addresses):
                self._bg.call(self._open(address))
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        self._bg.stop(self._close_all() if self._bg.loop is not None else None)

    def __enter__(self) -> PolicyServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _open(self, address: str) -> None:
        from aiohttp import web

        if self._runner is None:
            app = web.Application()
            app.router.add_get("/{path:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
            await self._runner.setup()
        site = web.TCPSite(self._runner, address, self.port, ssl_context=self._context(address), reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            hint = " (port 443 needs root: --mta-sts-port 8443)" if exc.errno == 13 else ""
            raise OSError(exc.errno, f"cannot listen on [{address}]:{self.port} for MTA-STS: "
                                     f"{exc.strerror}{hint}") from None
        self._sites[address] = site

    async def _close(self, address: str) -> None:
        site = self._sites.pop(address, None)
        if site is not None:
            await site.stop()

    async def _close_all(self) -> None:
        for address in list(self._sites):
            await self._close(address)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _context(self, address: str) -> ssl.SSLContext:
        """The first policy host's certificate on `address`; the SNI switches to another host's."""
        first = sorted(self.addresses.get(address, ()))[0]
        context = self.ca.new_context(first)
        ca = self.ca

        def pick(ssl_object: Any, server_name: str | None, _context: Any) -> None:
            ssl_object.zonetool_sni = server_name
            if server_name and server_name.lower() != first and server_name.lower() in self.addresses.get(address, ()):
                ssl_object.context = ca.server_context(server_name)

        context.sni_callback = pick
        return context

    # -- the requests ------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        from aiohttp import web

        sslobj = request.transport.get_extra_info("ssl_object") if request.transport else None
        sni = getattr(sslobj, "zonetool_sni", None)
        host = (request.host or "").rsplit(":", 1)[0].strip("[]").rstrip(".").lower() if request.host else ""
        host = host or (sni or "").lower()
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        address = sockname[0] if sockname else ""
        with self._lock:
            text = self.texts.get(host) if address in self.addresses and host in self.addresses[address] else None
        if request.path != POLICY_PATH or text is None:
            response: web.StreamResponse = web.Response(status=404, text=f"no MTA-STS policy at {host}{request.path}\n")
        else:  # RFC 8461 3.3: media type text/plain; no redirect (senders must not follow one)
            response = web.Response(text=text, content_type="text/plain", charset="utf-8")
        self._record(host, address, request.path, response.status, sslobj, sni, request.remote or "")
        return response

    def _record(self, host: str, address: str, path: str, status: int, sslobj: Any, sni: str | None, peer: str) -> None:
        with self._lock:
            self._seq += 1
            event = PolicyFetch(self._seq, host, address, self.port, path, status,
                                sslobj.version() if sslobj is not None else None, sni, peer)
            self._events.append(event)
        if self.on_event is not None:
            self.on_event(event)

    @property
    def events(self) -> list[PolicyFetch]:
        with self._lock:
            return list(self._events)
