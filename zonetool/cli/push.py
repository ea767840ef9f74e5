"""`zonetool plan` and `zonetool push`: a zone file against a live primary, read by AXFR and changed
by RFC 2136 UPDATE (issue 13 part 4).

`plan` prints the record-level changes (`zonetool diff`'s format) and exits 1 when there are some,
like dnscontrol's --expect-no-changes. `push` sends them as the UPDATE messages of zonetool.update,
signed with the TSIG key, each guarded by the SOA it expects, and stops at the first refusal.
The messages are built by the pure core; this module only reads files, talks and prints.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zonetool.cli.app import EXIT_FINDINGS, Format, FormatOpt, app, echo_json, fail

if TYPE_CHECKING:
    from zonetool.names import Name
    from zonetool.tsig import Key
    from zonetool.update import Part
    from zonetool.zone import Zone

# What each TSIG error a server returns most often means for the person pushing (RFC 8945 5.2).
TSIG_HINTS = {
    "BADKEY": "the server knows no key of that name and algorithm",
    "BADSIG": "the server's secret for that key is different",
    "BADTIME": "this machine's clock and the server's differ by more than the fudge (300 s)",
}

ServerOpt = Annotated[str, typer.Option("--server", help="HOST:PORT of the primary (AXFR and UPDATE over TCP).")]
KeyFileOpt = Annotated[
    Path | None, typer.Option("--tsig-key", help="TSIG key file in BIND syntax (tsig-keygen's), for AXFR and UPDATE.")
]
KeyNameOpt = Annotated[str | None, typer.Option("--key", help="Which key of the file, when it holds several.")]
OriginOpt = Annotated[
    str | None, typer.Option("--origin", help="Origin of a BIND file (default: its $ORIGIN, else ORIGIN.zone).")
]
TimeoutOpt = Annotated[float, typer.Option("--timeout", help="Seconds to wait for each answer of the server.")]
ZoneArg = Annotated[str, typer.Argument(help="The zone as it should be: a YAML zone, or a BIND file (ORIGIN.zone).")]


def _address(server: str) -> tuple[str, int]:
    host, _, port = server.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        fail(f"--server {server}: expected HOST:PORT, e.g. 127.0.0.1:53")
    return host.strip("[]"), int(port)


def _key(file: Path | None, name: str | None) -> Key | None:
    """The one key to sign with; the file's warnings (others can read it) on stderr, never the secret."""
    if file is None:
        if name is not None:
            fail("--key names a key of the --tsig-key file; give the file too")
        return None
    from zonetool.names import Name, NameError_
    from zonetool.source.keyfile import KeyFileError, read_key_file

    try:
        keys, warnings = read_key_file(file)
    except KeyFileError as exc:
        fail(f"--tsig-key {exc}")
    for warning in warnings:
        typer.echo(f"zonetool: warning: {warning}", err=True)
    if name is None:
        if len(keys) > 1:
            fail(f"--tsig-key {file}: it holds {len(keys)} keys ({', '.join(k.name.to_text() for k in keys)}); "
                 f"say which with --key NAME")
        return keys[0]
    try:
        wanted = Name.from_text(name if name.endswith(".") else name + ".")
    except NameError_ as exc:
        fail(f"--key {name}: {exc}")
    for key in keys:
        if key.name == wanted:
            return key
    fail(f"--key {name}: {file} has no such key (it has {', '.join(k.name.to_text() for k in keys)})")


def _live(server: str, origin: Name, key: Key | None, timeout: float) -> Zone:
    from zonetool.source.axfr import AxfrError, fetch_zone

    host, port = _address(server)
    try:
        return fetch_zone(host, port, origin, timeout=timeout, key=key)
    except AxfrError as exc:
        hint = f"; {TSIG_HINTS[exc.tsig_error]}" if exc.tsig_error in TSIG_HINTS else ""
        fail(f"--server {server}: {exc}{hint}")


def _serial(zone: Zone) -> int:
    soa = zone.soa
    if soa is None:
        fail(f"the live zone {zone.origin} has no SOA")
    return soa.serial


def _apex_note(apex: list[Any]) -> str:
    kinds = sorted({c.rtype for c in apex})
    return f"{' and '.join(kinds)} at the apex change: push refuses them without --allow-apex"


@app.command("plan")
def plan(
    zone: ZoneArg,
    server: ServerOpt,
    tsig_key: KeyFileOpt = None,
    key: KeyNameOpt = None,
    origin: OriginOpt = None,
    timeout: TimeoutOpt = 10.0,
    format: FormatOpt = Format.text,
) -> None:
    """The changes a push would make to the live zone (+ added, - removed, ~ TTL changed); exit 1 when
    there are some, 0 when the server already serves the zone as the file says."""
    from zonetool.cli.edit import _zone_from
    from zonetool.diff import diff_zones, format_changes
    from zonetool.update import apex_changes

    signing = _key(tsig_key, key)
    wanted = _zone_from(zone, origin, timeout)
    live = _live(server, wanted.origin, signing, timeout)
    serial = _serial(live)
    changes = diff_zones(live, wanted)
    apex = apex_changes(changes, wanted.origin)
    if format == "json":
        echo_json({"origin": wanted.origin.to_text(), "server": server, "serial": serial, "differ": bool(changes),
                   "changes": [c.to_json() for c in changes], "apex": [c.to_json() for c in apex]})
    elif not changes:
        typer.echo(f"no changes: {server} serves {wanted.origin} (serial {serial}) as {zone} says")
    else:
        typer.echo(format_changes(changes, wanted.origin))
        if apex:
            typer.echo(_apex_note(apex))
        typer.echo(f"live serial {serial} at {server} (push --expect-serial {serial} sends exactly these)")
    if changes:
        raise typer.Exit(EXIT_FINDINGS)


def _exchange(sock: socket.socket, message: bytes, key: Key | None, now: float) -> tuple[int, str | None]:
    """Send one UPDATE, read its answer: (rcode, the TSIG error name or None). Raises OSError, ValueError."""
    import secrets
    import struct

    from zonetool import tsig
    from zonetool.source.axfr import read_message
    from zonetool.wire import HEADER, parse_header

    qid = secrets.randbelow(65536)
    message = struct.pack("!H", qid) + message[2:]
    verifier = None
    if key is not None:
        message, mac = tsig.sign_request(message, key, int(now))
        verifier = tsig.ReplyVerifier(key, mac)
    sock.sendall(struct.pack("!H", len(message)) + message)
    reply = read_message(sock, "before answering")
    header = parse_header(reply)
    if header is None or header[0] != qid or not header[1] & 0x8000 or (header[1] >> 11) & 0xF != 5:
        raise ValueError("the answer is not a reply to our UPDATE (wrong ID or opcode)")  # RFC 2136 3.8
    rcode = HEADER.unpack_from(reply)[1] & 0xF
    if verifier is not None:
        try:
            verifier.check(reply, int(now))
        except tsig.ReplyError as exc:
            if exc.error:
                return rcode, tsig.ERROR_NAMES.get(exc.error, str(exc.error))
            raise ValueError(str(exc)) from None
    return rcode, None


def _changed_meanwhile(server: str, read: Zone, key: Key | None, timeout: float) -> str:
    """What someone else changed since we read the zone: the record changes, a few lines of them."""
    from zonetool.diff import diff_zones, format_changes
    from zonetool.source.axfr import AxfrError, fetch_zone

    host, port = _address(server)
    try:
        now = fetch_zone(host, port, read.origin, timeout=timeout, key=key)
    except AxfrError as exc:
        return f"(reading it again failed: {exc})"
    changes = diff_zones(read, now, ignore_serial=True)
    lines = format_changes(changes, read.origin).splitlines()
    shown = [*lines[:20], *(["  ..."] if len(lines) > 21 else []), lines[-1]] if len(lines) > 21 else lines
    return f"it is now serial {_serial(now)}; changed there:\n" + "\n".join(shown)


def _send(server: str, parts: list[Part], key: Key | None, timeout: float, live: Zone) -> int:
    """Every part in order over one TCP connection; stops at the first refusal (fail). Returns parts sent."""
    import time

    from zonetool.lookup import RCODE_NAMES

    host, port = _address(server)
    origin = live.origin
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        fail(f"--server {server}: cannot connect: {exc.strerror or exc}")
    with sock:
        for index, part in enumerate(parts):
            applied = "part 1 was" if index == 1 else f"parts 1-{index} were"
            done = f"{applied} applied (serial {part.expected.serial}); " if index else "nothing was changed; "
            where = f"part {index + 1} of {len(parts)}"
            try:
                rcode, tsig_error = _exchange(sock, part.message, key, time.time())
            except (OSError, ValueError) as exc:
                fail(f"{server}: {where} of the push of {origin}: {exc}; {done}run plan to see the zone as it is")
            if tsig_error is not None:
                name = key.name.to_text() if key else "?"
                fail(f"{server} refused the key {name}: {tsig_error} ({TSIG_HINTS.get(tsig_error, 'TSIG error')}); "
                     f"{done.rstrip('; ')}")
            if rcode == 8:  # NXRRSET: the SOA prerequisite failed (RFC 2136 3.2.5)
                fail(f"{server}: the zone {origin} changed on the server while pushing: its SOA is no longer serial "
                     f"{part.expected.serial} (NXRRSET on {where}); {done}"
                     + (_changed_meanwhile(server, live, key, timeout) if index == 0 else "run plan again"))
            if rcode:
                why = {5: "its update policy does not let this key change this zone",
                       9: "it is not the primary of this zone", 10: "a record lies outside the zone"}.get(rcode, "")
                fail(f"{server} refused {where} of the update of {origin}: {RCODE_NAMES.get(rcode, f'rcode {rcode}')}"
                     + (f" ({why})" if why else "") + f"; {done.rstrip('; ')}")
    return len(parts)


@app.command("push")
def push(
    zone: ZoneArg,
    server: ServerOpt,
    tsig_key: KeyFileOpt = None,
    key: KeyNameOpt = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the UPDATE messages as nsupdate commands; "
                                                            "send nothing.")] = False,
    allow_apex: Annotated[bool, typer.Option("--allow-apex", help="Also change the SOA (beyond its serial) "
                                                                  "and the apex NS set.")] = False,
    expect_serial: Annotated[int | None, typer.Option("--expect-serial", help="The live serial `plan` showed: "
                                                      "stop if the zone changed since.")] = None,
    origin: OriginOpt = None,
    timeout: TimeoutOpt = 10.0,
    format: FormatOpt = Format.text,
) -> None:
    """Make the live zone equal the file by RFC 2136 UPDATE: signed, each message guarded by the SOA
    serial it expects, so a concurrent change stops the push instead of mixing with it."""
    from zonetool.cli.edit import _zone_from
    from zonetool.diff import diff_zones, format_changes
    from zonetool.tsig import record_size
    from zonetool.update import UpdateError, apex_changes, build_update

    signing = _key(tsig_key, key)
    if signing is None and not dry_run:
        fail("push needs --tsig-key FILE: a primary set up safely refuses unsigned updates")
    wanted = _zone_from(zone, origin, timeout)
    live = _live(server, wanted.origin, signing, timeout)
    serial = _serial(live)
    if expect_serial is not None and expect_serial != serial:
        fail(f"{server}: the zone {wanted.origin} changed since the plan: serial {expect_serial} is now {serial}; "
             f"nothing was sent; run plan again")
    changes = diff_zones(live, wanted)
    apex = apex_changes(changes, wanted.origin)
    if apex and not allow_apex:
        fail(f"{_apex_note(apex)}:\n{format_changes(apex, wanted.origin)}")
    try:
        parts = build_update(live, wanted, changes, reserve=record_size(signing) if signing else 0)
    except UpdateError as exc:
        fail(f"{zone}: {exc}")
    report: dict[str, Any] = {"origin": wanted.origin.to_text(), "server": server, "serial_before": serial,
                              "serial": parts[-1].serial if parts else serial, "dry_run": dry_run,
                              "changes": [c.to_json() for c in changes],
                              "parts": [{"expected_serial": p.expected.serial, "serial": p.serial,
                                         "records": len(p.ops), "octets": len(p.message)} for p in parts]}
    if not parts:
        if format == "json":
            echo_json({**report, "pushed": False})
        else:
            typer.echo(f"no changes: {server} serves {wanted.origin} (serial {serial}) as {zone} says")
        return
    if dry_run:
        if format == "json":
            for doc, part in zip(report["parts"], parts, strict=True):
                doc["nsupdate"] = part.to_text(wanted.origin).splitlines()
            echo_json({**report, "pushed": False})
            return
        for i, part in enumerate(parts, 1):
            typer.echo(f"; part {i} of {len(parts)}: {len(part.ops)} records, {len(part.message)} octets, "
                       f"serial {part.expected.serial} -> {part.serial}")
            typer.echo(part.to_text(wanted.origin))
            typer.echo("send")
        return
    _send(server, parts, signing, timeout, live)
    if format == "json":
        echo_json({**report, "pushed": True})
    else:
        typer.echo(f"pushed {len(changes)} changes to {server} in {len(parts)} UPDATE message"
                   f"{'s' if len(parts) > 1 else ''}: {wanted.origin} serial {serial} -> {parts[-1].serial}")
