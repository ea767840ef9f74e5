"""`zonetool keygen` and `zonetool ds`, and the signing step `export` runs for zones with `dnssec:`.

Keys live in the zone's key folder (`dnssec.keys`, relative to the zone file) in BIND's
K<zone>+<alg>+<tag>.key/.private files, shared with dnssec-keygen and dnssec-signzone.
"""

from __future__ import annotations

import calendar
import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from zonetool.cli.app import EXIT_FINDINGS, EXIT_USAGE, Format, FormatOpt, app, echo_json, fail

if TYPE_CHECKING:
    from zonetool.dnssec import Key, Policy, Window
    from zonetool.zone import Zone




def parse_time(text: str | None) -> int:
    """`--sign-time`: YYYYMMDDHHMMSS (UTC, as RRSIG text writes it) or seconds since the epoch; None: now."""
    if text is None:
        return int(time.time())
    value = text.strip()
    if len(value) == 14 and value.isdigit():
        try:
            return calendar.timegm(time.strptime(value, "%Y%m%d%H%M%S"))
        except ValueError:
            pass
    elif value.isdigit():
        return int(value)
    fail(f"--sign-time {text!r}: give YYYYMMDDHHMMSS (UTC) or seconds since the epoch", EXIT_USAGE)


@dataclass(frozen=True)
class Signing:
    """One zone's keys and window: what the signed text and its content digest depend on."""

    policy: Policy
    keys: list[Key]
    win: Window

    def digest(self, content: str) -> str:
        """The content digest of the signed zone: new keys or a new window give a new one (and a new serial)."""
        tags = ",".join(f"{k.algorithm}/{k.tag}/{k.flags}" for k in self.keys)
        text = f"{content} {self.policy} {tags} {self.win.inception} {self.win.expiration}"
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()

    def sign(self, zone: Zone) -> Zone:
        from zonetool.dnssec import sign_zone
        from zonetool.zone import common_ttl

        ttl = self.policy.dnskey_ttl if self.policy.dnskey_ttl is not None else common_ttl(zone)
        return sign_zone(zone, self.keys, self.policy, self.win, ttl)


def signing_for(zone: Zone, now: int | None) -> Signing:
    from zonetool.dnssec import window
    from zonetool.source.dnskeys import zone_keys

    policy = zone.dnssec
    return Signing(policy, zone_keys(zone, policy), window(policy, int(time.time()) if now is None else now))


def publish_child_ds(zones: list[Zone]) -> list[Zone]:
    """Each zone delegating to another of `zones` that is signed gets the child's DS at the cut (RFC 4035 2.4).

    A DS already written at the cut is left as it is (the parent's own word). Returns the zones changed.
    What is published is zonetool.dnssec.delegation's, as `serve` publishes it in a signed parent
    (`serve` adds none to an unsigned parent: that would need a served serial of its own)."""
    from zonetool.dnssec import DnssecError
    from zonetool.dnssec.delegation import ds_records, ds_wanted
    from zonetool.source.dnskeys import zone_keys

    cuts = {cut for zone in zones for cut in zone.cuts}
    children = {}
    for zone in zones:
        if zone.dnssec is not None and zone.origin in cuts:  # only a child's keys are read
            try:
                children[zone.origin] = zone_keys(zone, zone.dnssec)
            except DnssecError:
                continue  # the child's own export says what is missing
    changed: list[Zone] = []
    for parent in zones:
        wanted = ds_wanted(parent, children)
        for cut in sorted(wanted):
            parent.extend(ds_records(parent, cut, wanted[cut]))
        if wanted:
            changed.append(parent)
    return changed


def _one_zone(path: Path) -> Zone:
    from zonetool.loader import LoadError, has_errors, load_paths, sort_key

    try:
        loaded = load_paths([path])
    except LoadError as exc:
        fail(str(exc), EXIT_USAGE)
    if not loaded.zones and has_errors(loaded.findings):  # the keys need only the zone's origin and settings
        for f in sorted(loaded.findings, key=sort_key):
            typer.echo(f.format(), err=True)
        fail(f"{path}: has errors; fix them first", EXIT_FINDINGS, loaded.findings)
    if len(loaded.zones) != 1:
        fail(f"{path}: give one zone file ({len(loaded.zones)} zones found)", EXIT_USAGE)
    # errors elsewhere may wait, not in the settings the keys are made by (the block fell back to defaults)
    settings = [f for f in loaded.findings if f.severity.value == "error" and f.where.path[:1] == ("dnssec",)]
    if settings:
        for f in sorted(settings, key=sort_key):
            typer.echo(f.format(), err=True)
        fail(f"{path}: dnssec: has errors; fix them first", EXIT_FINDINGS, settings)
    return loaded.zones[0]


def _policy(zone: Zone) -> Policy:
    from zonetool.dnssec import DEFAULTS

    return zone.dnssec if zone.dnssec is not None else DEFAULTS


@app.command("keygen")
def keygen(
    path: Annotated[Path, typer.Argument(help="The YAML zone file (its dnssec: block says the algorithm and folder).")],
    csk: Annotated[bool, typer.Option("--csk", help="One combined signing key (flags 257), not KSK + ZSK.")] = False,
    rsa_bits: Annotated[int, typer.Option("--rsa-bits", help="Modulus size for RSASHA256 keys.")] = 2048,
    format: FormatOpt = Format.text,
) -> None:
    """Make the zone's signing keys: a KSK (257) and a ZSK (256), or one CSK, as BIND key files.

    dnssec-signzone reads them (-K FOLDER); zonetool reads keys dnssec-keygen made the same way."""
    from zonetool.dnssec.keys import SEP, ZONE_KEY, generate
    from zonetool.source.dnskeys import key_folder, write_key

    if not 1024 <= rsa_bits <= 4096:
        fail("--rsa-bits must be 1024..4096 (RFC 5702 2)", EXIT_USAGE)
    zone = _one_zone(path)
    policy = _policy(zone)
    folder = key_folder(zone, policy)
    now = int(time.time())
    flags = [ZONE_KEY | SEP] if csk else [ZONE_KEY | SEP, ZONE_KEY]
    made = []
    for f in flags:
        key = generate(policy.algorithm, f, rsa_bits)
        made.append((key, write_key(folder, zone.origin, key, now)))
    if format == "json":
        echo_json({"origin": zone.origin.to_text(), "keys": [
            {"tag": k.tag, "flags": k.flags, "algorithm": k.algorithm, "key": str(pub), "private": str(priv)}
            for k, (pub, priv) in made]})
        return
    for key, (public, _) in made:
        kind = ("CSK" if csk else "KSK") if key.is_sep else "ZSK"
        typer.echo(f"{kind} {key.tag} -> {public.with_suffix('')}.{{key,private}}")


@app.command("ds")
def ds(
    path: Annotated[Path, typer.Argument(help="The YAML zone file whose DS records the parent publishes.")],
    format: FormatOpt = Format.text,
) -> None:
    """Print the DS records (SHA-256, digest type 2) of the zone's key-signing keys, for the parent zone."""
    from zonetool.dnssec import DnssecError, ds_rdata
    from zonetool.dnssec.canonical import lower_wire
    from zonetool.rrtypes import Generic, RRType
    from zonetool.source.bind import rdata_text
    from zonetool.source.dnskeys import zone_keys
    from zonetool.zone import common_ttl

    zone = _one_zone(path)
    policy = _policy(zone)
    try:
        keys = [k for k in zone_keys(zone, policy) if k.is_sep]
    except DnssecError as exc:
        fail(str(exc), EXIT_FINDINGS)
    ttl = policy.dnskey_ttl if policy.dnskey_ttl is not None else common_ttl(zone)
    rows = []
    for key in keys:
        _, text = rdata_text(Generic(int(RRType.DS), ds_rdata(lower_wire(zone.origin), key)), None)
        rows.append({"owner": zone.origin.to_text(), "ttl": ttl, "tag": key.tag, "text": text})
    if format == "json":
        echo_json({"origin": zone.origin.to_text(), "ds": rows})
        return
    for row in rows:
        typer.echo(f"{row['owner']} {row['ttl']} IN DS {row['text']}")
