"""`zonetool serve`: answer DNS queries for zone files, reloading them as they change."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zonetool.cli.app import EXIT_FINDINGS, EXIT_USAGE, app, fail, path_words
from zonetool.rrtypes import RRType

if TYPE_CHECKING:
    from collections.abc import Callable

    from zonetool.harness.sinks import Endpoint
    from zonetool.server.runner import Server


# Not 5353: that is mDNS, which avahi and mDNSResponder hold on most desktops (issue 11).
DEFAULT_PORT = 10053
SHOWN_ORIGINS = 5  # the start line names this many zones, then counts the rest


def origins_summary(zones: list[Any]) -> str:
    """'a., b., c. and 9,997 more': a start line stays short with 10,000 zones."""
    names = [z.origin.to_text() for z in zones[:SHOWN_ORIGINS]]
    rest = len(zones) - len(names)
    return ", ".join(names) + (f" and {rest:,} more" if rest > 0 else "")


def dig_hint(zones: list[Any], address: str, port: int) -> str:
    """The command that asks the server something it knows: `dig @127.0.0.1 -p 10053 MX example.com`."""
    zone = zones[0]
    qtype = "MX" if zone.rrset(zone.origin, RRType.MX) is not None else "SOA"
    port_part = "" if port == 53 else f" -p {port}"
    return f"dig @{address}{port_part} {qtype} {zone.origin.to_text().rstrip('.') or '.'}"


def _sink_line(ep: Endpoint, state: str) -> str:
    return f"smtp sink for {ep.name} on [{ep.address}]:{ep.port} {state}"


def echo_refusal(file: object, blockers: list[Any]) -> None:
    """A zone file refused at start, as a line of the JSON log on stdout (no log thread runs yet)."""
    import json

    from zonetool.server.querylog import refusal_event

    typer.echo(json.dumps(refusal_event(file, blockers, reload=False), separators=(",", ":"), ensure_ascii=False))


def _tsig_keys(files: list[Path]) -> dict[Any, Any]:
    """The keys of every --tsig-key file by name; a clear message for a bad file (never the secret)."""
    from zonetool.source.keyfile import KeyFileError, read_key_file

    keys: dict[Any, Any] = {}
    for file in files:
        try:
            found, warnings = read_key_file(file)
        except KeyFileError as exc:
            fail(f"--tsig-key {exc}")
        for warning in warnings:
            typer.echo(f"zonetool: warning: {warning}", err=True)
        for key in found:
            if key.name in keys:
                fail(f"--tsig-key {file}: the key {key.name.to_text()} is defined in two files")
            keys[key.name] = key
    return keys


def find_default_zones(cwd: Path | None = None) -> Path | None:
    """The zones/ next to where the user stands first, then the bundled ones (wheel or checkout)."""
    from zonetool.cli.examples import bundled_folder

    for candidate in ((cwd or Path.cwd()) / "zones", bundled_folder("zones")):
        if candidate is not None and candidate.is_dir() and any(p.suffix in (".yaml", ".yml")
                                                                for p in candidate.iterdir()):
            return candidate
    return None


@app.command()
def serve(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Zone files or directories (default: the bundled zones/).")
    ] = None,
    address: Annotated[str, typer.Option("--address", "-a", help="Address to listen on (IPv4 or IPv6).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", "-p", help="UDP and TCP port; 0 picks a free one.")] = DEFAULT_PORT,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No query log.")] = False,
    log_format: Annotated[str, typer.Option("--log-format", help="Query log lines as text or json.")] = "text",
    allow_transfer: Annotated[
        list[str] | None,
        typer.Option("--allow-transfer", help="Who may AXFR: ADDRESS, CIDR, key=NAME (a --tsig-key), or "
                     "CIDR,key=NAME for both (repeatable; default: nobody)."),
    ] = None,
    notify: Annotated[
        list[str] | None,
        typer.Option("--notify", help="Secondary HOST:PORT to NOTIFY after a reload, HOST:PORT,key=NAME to sign "
                     "it (repeatable)."),
    ] = None,
    ixfr_history: Annotated[
        int, typer.Option("--ixfr-history", help="Versions of each zone kept for IXFR (RFC 1995); 0: none."),
    ] = 20,
    catalog: Annotated[
        str | None,
        typer.Option("--catalog", help="Also serve the catalog zone NAME (RFC 9432) listing every served zone, "
                     "for secondaries that provision from it (needs --allow-transfer)."),
    ] = None,
    journal_dir: Annotated[
        Path | None,
        typer.Option("--journal", help="Keep the IXFR history and the auto serials in DIR, so a restart keeps "
                     "them (created if missing)."),
    ] = None,
    cache_dir: Annotated[
        Path | None,
        typer.Option("--cache", help="Keep a snapshot of the compiled zones and findings in DIR, so the next "
                     "start reads only the files changed since (default: $XDG_CACHE_HOME/zonetool)."),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Read every zone file at start and keep no snapshot.")
    ] = False,
    tsig_key: Annotated[
        list[Path] | None,
        typer.Option("--tsig-key", help="TSIG key file in BIND syntax, as tsig-keygen writes it (repeatable)."),
    ] = None,
    cache_size: Annotated[
        int, typer.Option("--cache-size", help="Most packed answers kept in memory (0: no cache).")
    ] = 100_000,
    max_udp: Annotated[int, typer.Option("--max-udp", help="Largest UDP answer with EDNS (512..65535).")] = 1232,
    workers: Annotated[int, typer.Option("--workers", help="Processes sharing the port (SO_REUSEPORT).")] = 1,
    tcp_idle: Annotated[
        float, typer.Option("--tcp-idle", help="Seconds before an idle TCP connection is closed.")
    ] = 10.0,
    tcp_max_connections: Annotated[
        int, typer.Option("--tcp-max-connections", help="Most TCP connections at once (the idle longest goes first).")
    ] = 512,
    tcp_max_per_client: Annotated[
        int, typer.Option("--tcp-max-per-client", help="Most TCP connections from one client address.")
    ] = 64,
    tcp_read_timeout: Annotated[
        float, typer.Option("--tcp-read-timeout", help="Seconds to receive one whole TCP message.")
    ] = 5.0,
    tcp_max_queued: Annotated[
        int, typer.Option("--tcp-max-queued", help="Reply octets queued for one TCP client before its queries wait.")
    ] = 256 * 1024,
    tcp_drain_timeout: Annotated[
        float, typer.Option("--tcp-drain-timeout", help="Seconds a TCP client may leave its replies unread.")
    ] = 10.0,
    watch: Annotated[bool, typer.Option("--watch/--no-watch", help="Reload when a zone file changes.")] = True,
    rrl: Annotated[
        float | None,
        typer.Option(
            "--rrl",
            help="UDP answers/s per client /24 (IPv6 /56) and answer; 0: off "
            "(default: off on loopback, 200 elsewhere).",
        ),
    ] = None,
    rrl_slip: Annotated[
        int, typer.Option("--rrl-slip", help="Over the rate, every Nth answer goes out truncated (TC=1); 0: drop all.")
    ] = 2,
    strict: Annotated[
        bool, typer.Option("--strict", help="Serve no zone with errors (default: serve what NSD serves).")
    ] = False,
    settle: Annotated[
        float | None,
        typer.Option("--settle", help="Seconds of quiet before a changed file is read (0.2 after close; 1 polling)."),
    ] = None,
    poll: Annotated[bool, typer.Option("--poll", help="Poll the zone files instead of using inotify.")] = False,
    grace: Annotated[
        float, typer.Option("--grace", help="Seconds a vanished zone file's zone is still served.")
    ] = 5.0,
    smtp: Annotated[
        bool, typer.Option("--smtp", help="Also run an SMTP sink for each in-zone exchanger on its loopback address.")
    ] = False,
    smtp_port: Annotated[
        list[str] | None,
        typer.Option("--smtp-port", help="Sinks for the records' port P listen on Q: P=Q, e.g. 25=2525 (repeatable)."),
    ] = None,
    smtp_behaviour: Annotated[
        list[str] | None,
        typer.Option(
            "--smtp-behaviour",
            help="HOST=accept|tempfail|reject|tempfail-greeting|refuse|hang|closed (repeatable; default accept).",
        ),
    ] = None,
    smtp_tls: Annotated[
        list[str] | None,
        typer.Option("--smtp-tls", help="STARTTLS at the sinks: on (default), off, or HOST=on|off (repeatable)."),
    ] = None,
    dane: Annotated[
        bool, typer.Option("--dane", help="With --smtp: publish each sink's certificate as 3 1 1 TLSA at "
                           "_25._tcp.<exchanger> (RFC 7672).")
    ] = False,
    validator_conf: Annotated[
        Path | None,
        typer.Option("--validator-conf", help="Write an unbound.conf that validates the served zones through this "
                     "server (the signed zones' KSKs as trust anchors): run `unbound -d -c FILE`, point a sender at "
                     "it (DANE needs a validating resolver)."),
    ] = None,
    validator_port: Annotated[
        int, typer.Option("--validator-port", help="The port that unbound.conf listens on at 127.0.0.1 (53: a "
                          "sender's resolv.conf cannot name another).")
    ] = 53,
    mta_sts: Annotated[
        bool, typer.Option("--mta-sts", help="With --smtp: serve each domain's MTA-STS policy over HTTPS at "
                           "mta-sts.<domain> on its loopback address (RFC 8461 3.3), certificate from the test CA.")
    ] = False,
    mta_sts_port: Annotated[
        int, typer.Option("--mta-sts-port", help="Port of the MTA-STS policy servers (443 needs root).")
    ] = 443,
    tls_ca_out: Annotated[
        Path | None,
        typer.Option("--tls-ca-out", help="Write the test CA's certificate (PEM) here for senders to trust "
                     "(default: a temporary file, named at start)."),
    ] = None,
    api: Annotated[
        str | None,
        typer.Option("--api", help="Serve the HTTP control API on HOST:PORT (loopback unless --api-token)."),
    ] = None,
    api_token: Annotated[
        str | None,
        typer.Option("--api-token", help="Require 'Authorization: Bearer TOKEN' on every API request."),
    ] = None,
) -> None:
    """Serve zones over UDP and TCP; SIGHUP or an edited file reloads them; Ctrl-C stops."""
    import sys

    from zonetool.faults import ZoneFaults
    from zonetool.server.acl import parse_rule
    from zonetool.server.notify import Target
    from zonetool.server.querylog import QueryLog
    from zonetool.server.responder import Responder
    from zonetool.server.rrl import RateLimiter, default_rate
    from zonetool.server.runner import Server
    from zonetool.server.sockets import BindError, family_of
    from zonetool.server.supervisor import run
    from zonetool.server.tcp import TCPLimits, raise_descriptor_limit
    from zonetool.server.zonesource import ZoneSource, served_findings

    if log_format not in ("text", "json"):
        fail(f"--log-format must be text or json, not {log_format!r}")
    if not 0 <= port <= 65535:
        fail(f"--port must be 0..65535, not {port}")
    if workers < 1:
        fail("--workers must be at least 1")
    if cache_size < 0:
        fail("--cache-size must not be negative")
    if not 0 <= ixfr_history <= 10_000:
        fail(f"--ixfr-history must be 0..10000, not {ixfr_history}")
    if (settle is not None and settle < 0) or grace < 0:
        fail("--settle and --grace must not be negative")
    if not 512 <= max_udp <= 65535:
        fail("--max-udp must be 512..65535 (RFC 6891 6.2.5)")
    for flag, value in (("--tcp-max-connections", tcp_max_connections), ("--tcp-max-per-client", tcp_max_per_client),
                        ("--tcp-idle", tcp_idle), ("--tcp-read-timeout", tcp_read_timeout),
                        ("--tcp-drain-timeout", tcp_drain_timeout)):
        if value <= 0:
            fail(f"{flag} must be more than 0, not {value:g}")
    if tcp_max_queued < 65536:
        fail(f"--tcp-max-queued must be at least 65536 (one whole message), not {tcp_max_queued}")
    tcp_limits = TCPLimits(
        max_connections=tcp_max_connections, max_per_client=tcp_max_per_client, idle_timeout=tcp_idle,
        read_timeout=tcp_read_timeout, max_queued=tcp_max_queued, drain_timeout=tcp_drain_timeout,
    )
    try:
        family_of(address)
    except BindError as exc:
        fail(f"--address: {exc.strerror}")
    if rrl is not None and not 0 <= rrl <= 1_000_000:
        fail(f"--rrl must be 0 (off) to 1000000 answers per second, not {rrl:g}")
    if not 0 <= rrl_slip <= 100:
        fail(f"--rrl-slip must be 0..100, not {rrl_slip}")
    if rrl is None:  # a test harness on loopback sends bursts on purpose; a server on a network must not amplify
        rrl = default_rate(address)
    keys = _tsig_keys(tsig_key or [])
    for entry in allow_transfer or []:
        try:
            parse_rule(entry, keys)
        except ValueError as exc:
            fail(f"--{exc}")
    if api_token is not None and api is None:
        fail("--api-token needs --api HOST:PORT")
    api_where = _api_address(api, api_token, workers) if api is not None else None
    targets: list[Target] = []
    for entry in notify or []:
        try:
            targets.append(Target.parse(entry, keys))
        except (ValueError, OSError) as exc:
            fail(f"--notify {entry!r}: {exc}")

    if not paths:
        found = find_default_zones()
        if found is None:
            fail(
                "no zone files given and no zones/ directory found here or next to zonetool; "
                "name them: zonetool serve example.com.yaml"
            )
        paths = [found]
    from zonetool.loader import LoadError, missing_reason

    for path in paths:
        if not path.exists():
            fail(f"{path}: {missing_reason(path)}")

    catalog_name = _catalog_name(catalog, allow_transfer) if catalog is not None else None
    if catalog_name is not None:
        from zonetool.server.catalogsource import CatalogSource

        source: ZoneSource = CatalogSource(paths, catalog_name, strict=strict, grace=grace)
    else:
        source = ZoneSource(paths, strict=strict, grace=grace)
    journal, saved = None, {}
    if journal_dir is not None:  # before the first load: auto serials continue from the last run's
        from zonetool.server.journal import open_journal

        if api is not None:
            fail("--journal and --api: runtime changes over the API are not journaled; use one of them")
        try:
            journal = open_journal(journal_dir, lambda m: typer.echo(f"zonetool: {m}", err=True))
        except FileExistsError:
            fail(f"--journal {journal_dir}: is a file, not a folder")
        except OSError as exc:
            fail(f"--journal {journal_dir}: cannot make the folder: {path_words(exc)}")
        saved = journal.read()
        for state in saved.values():
            source.serials.seed(state.origin, state.serial, state.digest)
    if no_cache and cache_dir is not None:
        fail("--cache and --no-cache: give one of them")
    cache, restored = None, None
    if not no_cache:  # a warm start: the snapshot's files count as read unless they changed (snapshot.py)
        from zonetool.server.snapshot import Cache, default_folder

        cache = Cache(cache_dir or default_folder(), paths, lambda m: typer.echo(f"zonetool: {m}", err=True))
        restored = cache.restore(source)
    try:
        outcome = source.load()
    except LoadError as exc:
        fail(str(exc))
    if restored is not None:
        typer.echo(f"zonetool: {restored.summary(source)}", err=True)
    json_log = log_format == "json" and not quiet
    if outcome.zones is None:  # --strict: any error refuses the whole set
        for finding in outcome.findings:
            typer.echo(finding.format(), err=True)
        errors = [f for f in outcome.findings if f.severity.value == "error" and f.silenced is None]
        if json_log:
            for file in dict.fromkeys(str(f.where.file) for f in errors):
                echo_refusal(file, [f for f in errors if str(f.where.file) == file])
        fail(f"not serving: {len(errors)} error(s) in the zone files (--strict)", EXIT_FINDINGS)
    for finding in outcome.findings:
        if finding.silenced is None:
            typer.echo(finding.format(), err=True)
    for file, blockers in outcome.refused.items():
        codes = ", ".join(sorted({f.code for f in blockers}))
        typer.echo(f"zonetool: not serving {file}: {len(blockers)} error(s) no name server would load ({codes})",
                   err=True)
        if json_log:
            echo_refusal(file, blockers)
    if catalog_name is not None:
        clash = [str(z.file) for z in source.served.values() if z.origin == catalog_name]
        if clash:
            fail(f"--catalog {catalog}: {clash[0]} is a zone of that name; the catalog needs a name of its own")
    if not outcome.zones or (catalog_name is not None and len(outcome.zones) == 1):
        fail(f"not serving: no zone in {', '.join(map(str, paths))} can be served", EXIT_FINDINGS)
    summary = served_findings(outcome)
    if summary:
        # Worded without "serving": scripts wait for the "serving ... on HOST:PORT" line.
        typer.echo(f"zonetool: the zone files have {summary}, served as they are (listed above; "
                   "--strict refuses errors)", err=True)

    def events(message: str) -> None:
        typer.echo(f"zonetool: {message}", err=True)

    # With --api the log is also kept in memory (bounded) for GET /queries, even when --quiet.
    querylog = None if quiet else QueryLog(sys.stdout, fmt=log_format, keep=api_where is not None)
    if querylog is None and api_where is not None:
        querylog = QueryLog(None, keep=True)
    zones = outcome.zones
    control = None

    def make_server(worker: int) -> Server:
        # A fresh responder per process; the zones were loaded once, before any fork.
        responder = Responder(
            zones, max_udp=max_udp, cache_size=cache_size, allow_transfer=tuple(allow_transfer or ()),
            keys=keys.values(), ixfr_history=ixfr_history,
        )
        responder.faults = ZoneFaults(lambda: responder.zones)  # the zones' `faults:`, following reloads (issue 4)
        if publisher is not None:  # every swap (reload, runtime edit) gets the sinks' TLSA (--dane)
            plain_swap = responder.swap

            def swap_with_tlsa(new: Any) -> None:
                assert publisher is not None
                plain_swap(publisher(new))
                if worker == 0:
                    tell_dane()

            responder.swap = swap_with_tlsa  # type: ignore[method-assign]
        if worker == 0:
            for problem in responder.signer.problems.values():  # dnssec: without usable keys (issue 14)
                events(f"{problem}; served unsigned")
        # signatures renewed while serving (issue 14 part 2); a zone that gains `dnssec:` on reload too
        _refresh_signatures(responder, lambda origins: made.signatures_refreshed(origins))
        if saved:
            from zonetool.server.journal import Journal

            Journal.restore(saved, zones, source.serials.digest, responder.histories, ixfr_history)
        sink = events if worker == 0 else (lambda m: events(f"[worker {worker}] {m}"))
        made = Server(
            responder,
            address=address,
            port=port,
            querylog=querylog,
            source=source,
            notify=targets if worker == 0 else (),
            tcp_limits=tcp_limits,  # --tcp-idle is its idle_timeout
            settle=settle,
            inotify=not poll,
            events=sink,
            watch=watch and worker == 0,  # workers reload when the parent tells them (supervisor)
            reuseport=workers > 1,
            rrl=RateLimiter(rrl, rrl_slip) if rrl else None,
        )
        if api_where is not None:  # runtime edits: an overlay laid over every reload (zonetool.server.control)
            from zonetool.server.control import Control

            nonlocal control
            control = Control(responder, zones=file_zones if publisher is not None else ())
            made.swap = control.set_base
        return made

    api_server = None

    def announce(server: Server) -> None:
        nonlocal api_server
        if rrl:
            over = f"1 in {rrl_slip} goes out truncated (TC=1)" if rrl_slip else "all are dropped"
            events(f"response-rate limit: {rrl:g} UDP answers/s per client /24 (IPv6 /56) and answer; "
                   f"over it {over} (--rrl 0 turns it off)")
        if sinks is not None:  # the sinks follow the zones from reload to reload
            server.after_reload.append(lambda: follow_sinks(server))
        if policy_server is not None:
            server.after_reload.append(lambda: follow_policies(server))
        if journal is not None:  # the parent writes it, after each reload (workers only serve)
            def follow_journal() -> None:
                journal.follow(server.responder.zones, source.serials.digest, server.responder.histories)

            follow_journal()
            server.after_reload.append(follow_journal)
        if dane or validator_conf is not None:  # what a sender needs to validate through us (issue 14 part 3)
            tell_validator(server)
            server.after_reload.append(lambda: tell_validator(server))
        extra = f", {workers} workers" if workers > 1 else ""
        events(f"serving {len(zones)} zone(s) ({origins_summary(zones)}) on {server.where()} (UDP and TCP{extra}); "
               f"ask it: {dig_hint(zones, server.address, server.port)}")
        if catalog_name is not None:  # the last zone of the set (catalogsource.py)
            events(f"catalog zone {catalog_name.to_text()} lists the other {len(zones) - 1} zone(s) (RFC 9432)")
        if targets:
            server.notify_all([z.origin for z in zones])
        if api_where is not None and control is not None and querylog is not None:
            from zonetool.server.api import Api

            if sinks is not None:  # runtime records change the exchangers too
                control.on_change.append(lambda: follow_sinks(server))
            if targets:  # a runtime change moves an auto serial: tell the secondaries, as after a reload
                control.on_change.append(lambda: server.notify_all([z.origin for z in control.served]))
            try:
                api_server = Api(control, querylog, server=server, token=api_token, smtp=sinks).start(*api_where)
            except OSError as exc:
                fail(f"--api {api}: {exc.strerror or exc}", EXIT_USAGE)
            events(f"control API on {api_server.url}" + (" (token required)" if api_token else ""))
        if cache is not None and outcome.zones is not None and cache.needed(source):
            # after every start line (its own line comes when written): the answers never wait for it
            cache.write_later(source)

    sinks = None
    if not 0 < validator_port < 65536:
        fail(f"--validator-port must be 1..65535, not {validator_port}")
    if validator_conf is not None and validator_port == port and _loopback_v4(address):
        fail(f"--validator-port {validator_port} is serve's own --port on 127.0.0.1: give serve another --port "
             f"(the validator takes {validator_port}, the one a sender's resolv.conf reaches)")
    if (smtp_tls or tls_ca_out or dane or mta_sts) and not smtp:
        fail("--smtp-tls, --tls-ca-out, --dane and --mta-sts need --smtp")
    if not 0 < mta_sts_port < 65536:
        fail(f"--mta-sts-port must be 1..65535, not {mta_sts_port}")
    ca_folder = None
    if smtp:  # SMTP sinks for the sender harness (zonetool.harness.sinks, issue 4)
        from zonetool.harness.sinks import SinkError, start_for_zones
        from zonetool.harness.testca import TestCA, publish

        ca = TestCA()  # STARTTLS certificates for the sinks (issue 12 section 4)
        try:
            ca_file, ca_folder = publish(ca, tls_ca_out)
        except OSError as exc:
            fail(f"--tls-ca-out {tls_ca_out}: {path_words(exc)}")
        try:
            sinks = start_for_zones(zones, smtp_port or (), smtp_behaviour or (), None if quiet else typer.echo,
                                    tls=smtp_tls or (), ca=ca)
        except (ValueError, SinkError) as exc:
            if ca_folder is not None:
                import shutil

                shutil.rmtree(ca_folder, ignore_errors=True)
            fail(str(exc))
        for ep in sinks.endpoints:
            events(_sink_line(ep, f"({ep.behaviour}{'' if ep.tls else ', no TLS'})"))
        for note in sinks.skipped:
            events(f"smtp: {note}")
        events(f"smtp: STARTTLS with certificates of a test CA made now; senders trust it with {ca_file}")
    publisher = None
    file_zones = zones  # as the files have them; `zones` gets the TLSA under --dane
    if dane:  # the sinks' certificates as TLSA in the served zones, at start and after every reload
        from zonetool.harness.dane import DanePublisher

        publisher = DanePublisher(lambda host: ca.leaf(host).cert_pem)
        zones = publisher(zones)
        told: set[str] = set()

        def tell_dane() -> None:
            assert publisher is not None
            for note in publisher.notes:
                if note not in told:
                    told.add(note)
                    events(f"dane: {note}")

        tell_dane()
    policy_server = None
    if mta_sts:  # HTTPS for mta-sts.<domain> (zonetool.harness.policy_http)
        from zonetool.harness.policy_http import PolicyServer

        policy_server = PolicyServer(
            ca, mta_sts_port, on_event=None if quiet else (lambda e: typer.echo("mta-sts " + e.format().strip())))
        policy_server.follow_zones(zones)
        for note in policy_server.notes:
            events(f"mta-sts: {note}")
        problem = None
        if not policy_server.addresses:
            problem = "no served zone's mta-sts.<domain> has a loopback address (127.0.0.x or ::1)"
        else:
            try:
                policy_server.start()
            except OSError as exc:
                problem = exc.strerror or str(exc)
        if problem is not None:
            assert sinks is not None
            sinks.stop()
            if ca_folder is not None:
                import shutil

                shutil.rmtree(ca_folder, ignore_errors=True)
            fail(f"--mta-sts: {problem}")
        for where, hosts in sorted(policy_server.addresses.items()):
            for host in sorted(hosts):
                events(f"mta-sts: policy for {host} on [{where}]:{mta_sts_port}: {policy_server.url(host)}")

    def follow_policies(server: Server) -> None:
        assert policy_server is not None
        known = set(policy_server.notes)
        opened, closed = policy_server.follow_zones(server.responder.zones)
        for note in policy_server.notes:
            if note not in known:
                events(f"mta-sts: {note}")
        for where in opened:
            events(f"mta-sts: policy server on [{where}]:{mta_sts_port} for "
                   f"{', '.join(sorted(policy_server.addresses[where]))}")
        for where in closed:
            events(f"mta-sts: policy server on [{where}]:{mta_sts_port} closed (no policy host uses it now)")

    validator_said: set[str] = set()  # notes said and the conf last written: a reload tells only news
    written: list[str] = []

    def tell_validator(server: Server) -> None:
        from zonetool.atomic import write_atomic
        from zonetool.harness.validator import sender_notes, trust_anchors, unbound_conf

        served = server.responder.zones
        anchors = trust_anchors(served)
        signed = {a.owner for a in anchors}
        insecure = [z.origin.to_text() for z in served if z.origin.to_text() not in signed]
        listen = ("127.0.0.1", validator_port)
        if validator_conf is not None:
            text = unbound_conf(anchors, insecure, (server.address, server.port), listen,
                                str(validator_conf.resolve().parent))
            if written != [text]:
                try:
                    write_atomic(validator_conf, text)
                except OSError as exc:
                    if not written:  # at start: refuse; after a reload: say so and keep serving
                        fail(f"--validator-conf {validator_conf}: {path_words(exc)}")
                    events(f"validator: cannot write {validator_conf} again: {path_words(exc)}")
                    return
                if written:
                    events(f"validator: {validator_conf} written again (the served zones changed): restart unbound")
                written[:] = [text]
        for note in sender_notes(anchors, validator_conf, listen):
            if note not in validator_said:
                validator_said.add(note)
                events(f"validator: {note}")

    def follow_sinks(server: Server) -> None:
        assert sinks is not None
        known = set(sinks.skipped)
        opened, closed = sinks.follow_zones(server.responder.zones)
        for note in sinks.skipped:
            if note not in known:
                events(f"smtp: {note}")
        for ep in opened:
            events(_sink_line(ep, f"({ep.behaviour})"))
        for ep in closed:
            events(_sink_line(ep, "closed (no exchanger uses it now)"))
    raise_descriptor_limit()  # soft RLIMIT_NOFILE up to the hard one: room for --tcp-max-connections
    try:
        run(make_server, workers, on_start=announce)
    except BindError as exc:
        fail(exc.strerror or str(exc), EXIT_USAGE)
    finally:
        if journal is not None:
            journal.close()
        if api_server is not None:
            api_server.stop()
        if policy_server is not None:
            policy_server.stop()
        if sinks is not None:
            sinks.stop()
            ca.close()
        if ca_folder is not None:
            import shutil

            shutil.rmtree(ca_folder, ignore_errors=True)
    events("stopped")


def _loopback_v4(address: str) -> bool:
    """Whether serve listening on `address` holds 127.0.0.1's ports (the validator's interface)."""
    return address in ("127.0.0.1", "0.0.0.0", "")


def _catalog_name(text: str, allow_transfer: list[str] | None) -> Any:
    """--catalog NAME as a Name; a catalog tells who serves what, so only with an explicit transfer ACL."""
    from zonetool.names import Name, NameError_

    try:
        name = Name.from_text(text if text.endswith(".") else text + ".")
    except NameError_ as exc:
        fail(f"--catalog {text!r}: {exc}")
    if name.is_root():
        fail("--catalog: the root cannot be a catalog zone")
    if not allow_transfer:
        fail("--catalog needs --allow-transfer: secondaries transfer the catalog and its zones, and "
             "nobody may transfer without an explicit rule")
    return name


def _api_address(spec: str, token: str | None, workers: int) -> tuple[str, int]:
    """--api HOST:PORT (`[::1]:8053`, `:8053` = 127.0.0.1); loopback only unless a token guards it."""
    from zonetool.server.sockets import is_loopback

    host, sep, port_text = spec.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not sep or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        fail(f"--api {spec!r}: expected HOST:PORT, e.g. 127.0.0.1:8053 (port 0 picks a free one)")
    if not is_loopback(host) and not token:
        fail(f"--api {spec!r}: {host} is not a loopback address; give --api-token TOKEN to serve the API there")
    if token is not None and not token.strip():
        fail("--api-token must not be empty")
    if workers > 1:
        fail("--api needs --workers 1: runtime changes live in one process")
    return host, int(port_text)


def _refresh_signatures(responder: Any, told: Callable[[list[Any]], None]) -> None:
    """Signatures whose refresh period is over are made again, checked each minute (or a quarter of the
    shortest refresh period); `told` gets the zones refreshed (daemon timer: dies with serve)."""
    import threading

    def tick() -> None:
        try:
            refreshed = responder.refresh_signatures()
            if refreshed:
                told(refreshed)
        except Exception:  # a failed refresh must not stop the next one: the old signatures still serve
            import logging

            logging.getLogger("zonetool.server").exception("refreshing signatures failed")
        finally:
            _refresh_signatures(responder, told)

    timer = threading.Timer(responder.signer.check_every(), tick)
    timer.daemon = True
    timer.start()
