"""`zonetool export` and `zonetool import`: YAML zones to BIND master files and back."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from zonetool.cli.app import EXIT_FINDINGS, EXIT_USAGE, Format, FormatOpt, app, echo_json, fail
from zonetool.rrtypes import RRType

if TYPE_CHECKING:
    from zonetool import forked
    from zonetool.findings import Finding
    from zonetool.zone import Zone

    # a big zone's render started early: (its target, the child returning its text and serial)
    Early = tuple[Path | None, forked.Child[tuple[str, int | None]]]


def _print_findings(findings: list[Finding]) -> None:
    from zonetool.loader import sort_key

    for f in sorted(findings, key=sort_key):
        typer.echo(f.format(), err=True)


def _zone_file_name(zone: Zone) -> str:
    text = zone.origin.to_text().rstrip(".")
    return f"{text or 'root'}.zone"


def _previous(path: Path, zone: Zone) -> tuple[int | None, str | None]:
    """(serial, content digest) of the file at `path`: an earlier export, or any zone file.

    A file without our digest still lends its serial, so the new one is never lower
    than what secondaries already have (RFC 1982).
    """
    from zonetool.source.bind import DIGEST_PREFIX, read_zone

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None, None
    first = text.split("\n", 1)[0]
    digest = first[len(DIGEST_PREFIX) :].strip() if first.startswith(DIGEST_PREFIX) else None
    try:
        old = read_zone(text, zone.origin, str(path), base_dir=path.parent)
    except ValueError:
        return None, None
    soa = old.soa
    return (soa.serial if soa else None), digest


def render(zone: Zone, previous: Path | None, now: int | None = None) -> str:
    """Master text of `zone`, signed if it has `dnssec:`; an auto serial is kept while the content stays the same.

    A signed zone's digest also covers its keys and signing window, so new signatures get a new serial."""
    from zonetool.serial import content_digest, next_serial
    from zonetool.source.bind import write_zone

    signing = None
    if zone.dnssec is not None:
        from zonetool.cli.dnssec import signing_for

        signing = signing_for(zone, now)
    if not zone.auto_serial or zone.soa is None:
        return write_zone(zone if signing is None else signing.sign(zone))
    digest = content_digest(zone) if signing is None else signing.digest(content_digest(zone))
    prev_serial, prev_digest = _previous(previous, zone) if previous is not None else (None, None)
    zone.set_serial(next_serial(prev_serial, prev_digest, digest))
    return write_zone(zone if signing is None else signing.sign(zone), digest=digest)


def _is_folder(output: Path, raw: str | None = None) -> bool:
    """An existing folder, or a path the user wrote with a trailing slash (`-o out/`: create it)."""
    return output.is_dir() or (raw if raw is not None else str(output)).endswith(("/", "\\"))


def _target(output: Path | None, zone: Zone, raw: str | None = None, many: bool = False) -> Path | None:
    """Where `export` will write `zone`, as far as one zone (`many`: one of several files) can tell
    (checked again with all of them)."""
    if output is None:
        return None
    return output / _zone_file_name(zone) if many or _is_folder(output, raw) else output


def _targets(zones: list[Zone], output: Path | None, raw: str | None = None) -> tuple[list[Path | None], Path | None]:
    """The file for each zone (None: stdout), and the folder to create, or a usage error."""
    if output is None:
        if len(zones) > 1:
            fail(f"{len(zones)} zones: give -o FOLDER to write one ORIGIN.zone file per zone", EXIT_USAGE)
        return [None], None
    if len(zones) > 1 or _is_folder(output, raw):
        if output.exists() and not output.is_dir():
            fail(f"{output}: is a file; several zones need a folder", EXIT_USAGE)
        names = [_zone_file_name(z) for z in zones]
        if len(set(names)) != len(names):
            fail("two zones would be written to the same file name", EXIT_USAGE)
        return [output / name for name in names], output
    if not output.parent.is_dir():
        fail(f"{output.parent}: no such folder", EXIT_USAGE)
    return [output], None


def _render_in_child(zone: Zone, target: Path | None, now: int | None) -> tuple[str, int | None]:
    """In a forked child: the text and the serial it chose, which the parent's zone must learn too."""
    text = render(zone, target, now)
    return text, zone.soa.serial if zone.soa is not None else None


def _rendered(zone: Zone, target: Path | None, early: Early | None,
              now: int | None = None) -> str:
    """The text a child wrote while the rules ran, if it wrote it for this target; else written here."""
    if early is not None:
        early_target, child = early
        if early_target == target:
            done = child.result()
            if done is not None:
                text, serial = done
                if serial is not None and zone.auto_serial:
                    zone.set_serial(serial)  # chosen in the child: the report names the serial written
                return text
        else:
            child.cancel()
    return render(zone, target, now)


@app.command("export")
def export(
    paths: Annotated[list[Path], typer.Argument(help="YAML zone files or folders of them.")],
    output_text: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", help="File for one zone, or a folder (a trailing / or an existing one): ORIGIN.zone each."
        ),
    ] = None,
    format: FormatOpt = Format.text,
    sign_time: Annotated[
        str | None,
        typer.Option("--sign-time", help="Sign zones with `dnssec:` as of this time (YYYYMMDDHHMMSS UTC or epoch "
                     "seconds; default now): the signing window is the refresh period holding it."),
    ] = None,
    mta_sts: Annotated[
        Path | None,
        typer.Option("--mta-sts", help="Also write each MTA-STS policy to DIR/<domain>/.well-known/mta-sts.txt.",
                     metavar="DIR"),
    ] = None,
) -> None:
    """Write BIND master files (RFC 1035) for zones that validate; nothing is written if any zone has errors.

    Zones with a `dnssec:` block are written signed (DNSKEY, RRSIG, NSEC or NSEC3) with the keys
    of their key folder (`zonetool keygen` makes them)."""
    # Taken as text: a Path would drop the trailing slash that says "a folder" (issue 11). `-o -`: stdout.
    if output_text == "-":
        output_text = None
    output = Path(output_text) if output_text is not None else None
    as_json = format == "json"
    from zonetool.cli.dnssec import parse_time
    from zonetool.dnssec.policy import DnssecError

    now = parse_time(sign_time)
    from zonetool import forked
    from zonetool.atomic import BACKGROUND_MIN, Batch
    from zonetool.loader import NOT_YAML, ONE_SHOT_COMMAND, LoadError, has_errors, load_file, load_listed, zone_files

    early: dict[int, Early] = {}  # id(zone) -> (its target, the child writing it)
    staged: dict[int, tuple[Zone, Path, str, int]] = {}  # id(zone) -> (the zone, its target, its text, batch token)
    many = False  # several files: each zone's file is staged as soon as its rules have run

    def start_render(zone: Zone) -> None:
        """A big zone's BIND text is written in a child while its rules run here."""
        if len(zone) >= forked.MIN_RECORDS:
            target = _target(output, zone, output_text, many)
            child = forked.start(lambda: _render_in_child(zone, target, now))
            if child is not None:
                early[id(zone)] = (target, child)

    policy = ONE_SHOT_COMMAND.refined().with_compiled(start_render)  # load_listed's refine runs cross rules

    def load_and_stage(path: Path) -> tuple[Zone | None, list[Finding]]:
        """A zone judged without errors is rendered now and its file staged, so the writer creates
        it while the next zones' rules run (issue 11: export of 10,000 zones at most 1.5x validate)."""
        zone, findings = load_file(path, policy)
        if zone is not None and id(zone) not in early and not has_errors(findings):
            target = _target(output, zone, output_text, many)
            if target is not None:
                try:
                    text = render(zone, target, now)
                except DnssecError:  # said in its turn, after every zone's findings, as without staging
                    return zone, findings
                staged[id(zone)] = (zone, target, text, batch.stage(target, text, make_folder=True))
        return zone, findings

    batch = Batch()
    try:
        notes: list[Finding] = []
        files = zone_files(paths, notes)
        many = output is not None and len(files) > 1
        batch = Batch(background=len(files) >= BACKGROUND_MIN)
        loaded = load_listed(files, notes, load_and_stage if many else None, policy)
        if loaded.has_errors():
            code = EXIT_USAGE if any(f.code in NOT_YAML for f in loaded.findings) else EXIT_FINDINGS
            if as_json:
                echo_json({"ok": False, "written": [], "findings": [f.to_json() for f in loaded.findings]})
                raise typer.Exit(code)
            _print_findings(loaded.findings)
            fail(f"not exported: {len(loaded.files)} file(s) have errors; nothing was written", code)
        if not as_json:
            _print_findings(loaded.findings)  # warnings (and silenced findings) are shown, not fatal
        zones = loaded.zones
        if not zones:
            fail("no zones to export", EXIT_USAGE)
        targets, folder = _targets(zones, output, output_text)
        from zonetool.cli.dnssec import publish_child_ds

        for changed in publish_child_ds(zones):  # a signed child's DS goes into its parent exported with it
            stale = early.pop(id(changed), None)
            if stale is not None:
                stale[1].cancel()
            gone = staged.pop(id(changed), None)
            if gone is not None:
                batch.discard(gone[3])
        if mta_sts is not None and mta_sts.exists() and not mta_sts.is_dir():
            fail(f"{mta_sts}: is a file; --mta-sts needs a folder", EXIT_USAGE)
        # Render everything before replacing anything: a failure leaves every old file as it was.
        texts = []
        for z, target in zip(zones, targets, strict=True):
            done = staged.pop(id(z), None)
            if done is not None and done[0] is z and done[1] == target:
                texts.append(done[2])
                continue
            if done is not None:  # another zone object (a copy with a DMARC consent record) or another file
                batch.discard(done[3])
            texts.append(_rendered(z, target, early.pop(id(z), None), now))
            if target is not None:
                batch.stage(target, texts[-1], make_folder=folder is not None)
        for _, _, _, token in staged.values():  # staged for a zone that is not exported after all
            batch.discard(token)
        # one sync for all the files, not two fsyncs per file (10,000 zones: 30 s of them here)
        batch.commit()
    except LoadError as exc:
        fail(str(exc), EXIT_USAGE)
    except DnssecError as exc:  # a key that is missing or unusable (the message names the file)
        fail(str(exc), EXIT_FINDINGS)
    finally:
        for _, child in early.values():  # not wanted (errors, another target): stop and reap them
            child.cancel()
        batch.close()
    written: list[dict[str, object]] = []
    policies = _write_policies(zones, mta_sts, as_json) if mta_sts is not None else []
    for zone, target, text in zip(zones, targets, texts, strict=True):
        if as_json:
            soa = zone.soa
            written.append({"origin": zone.origin.to_text(), "file": None if target is None else str(target),
                            "records": len(zone), "serial": soa.serial if soa else None,
                            **({"text": text} if target is None else {})})
        elif target is None:
            typer.echo(text, nl=False)
        else:
            typer.echo(f"{zone.origin} -> {target}", err=True)
    if as_json:
        echo_json({"ok": True, "written": written, "findings": [f.to_json() for f in loaded.findings],
                   **({"mta_sts": policies} if mta_sts is not None else {})})


def _write_policies(zones: list[Zone], folder: Path, quiet: bool) -> list[dict[str, str]]:
    """Each domain's MTA-STS policy file (RFC 8461 3.2), written atomically like the zone files."""
    from zonetool.atomic import write_atomic
    from zonetool.mailpolicy.mtasts import policies

    out: list[dict[str, str]] = []
    for domain, text in policies(zones).items():
        target = folder / domain / ".well-known" / "mta-sts.txt"
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, text)
        out.append({"domain": domain, "file": str(target)})
        if not quiet:
            typer.echo(f"MTA-STS policy of {domain} -> {target}", err=True)
    return out


def _guess_origin(file: Path, text: str) -> str | None:
    from zonetool.source.bind import origin_from_text

    found = origin_from_text(text)
    if found is not None:
        return found.to_text()
    name = file.name
    for suffix in (".zone", ".db", ".txt"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    name = name.removeprefix("db.")
    return name if "." in name.strip(".") else None


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(help="A BIND master file (what named-checkzone accepts).")],
    origin: Annotated[
        str | None,
        typer.Option("--origin", help="The zone's origin (default: the file's $ORIGIN, else its name)."),
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="YAML file to write (default: stdout).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace the output file if it exists.")] = False,
    format: FormatOpt = Format.text,
) -> None:
    """Turn a BIND zone file into a YAML zone that compiles back to exactly the same records.

    FILE `-` reads standard input (give --origin, or an $ORIGIN in the text); `-o -` is standard output.
    """
    if output is not None and str(output) == "-":
        output = None
    from zonetool.atomic import write_atomic
    from zonetool.cli import import_check
    from zonetool.gcpause import paused
    from zonetool.loader import LoadError, read_bytes
    from zonetool.source.bind import BindSyntaxError, read_zone_with_warnings

    try:
        data = read_bytes(file)
    except LoadError as exc:
        fail(str(exc), EXIT_USAGE)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        from zonetool.findings import not_utf8

        typer.echo(not_utf8(data, exc, str(file), hint="write other octets as \\DDD escapes").format(), err=True)
        raise typer.Exit(EXIT_FINDINGS) from None
    if origin is None:
        origin = _guess_origin(file, text)
        if origin is None:
            fail(f"{file}: no $ORIGIN in the file; give --origin NAME", EXIT_USAGE)
    # Why: read, emit and the compile-back check build ~1M small acyclic objects; without the
    # cyclic collector's passes over them a 100k-record import takes about a third less time.
    with paused(freeze=True):  # a one-shot command keeps what it built to its end
        try:
            zone, warnings = read_zone_with_warnings(text, origin, str(file), base_dir=file.parent)
        except BindSyntaxError as exc:
            fail(str(exc), EXIT_FINDINGS)
        if format != "json":
            _print_findings(warnings)
        if zone.soa is None and zone.rrset(zone.origin, RRType.NS) is None:  # as named-checkzone: nothing at the origin
            fail(f"{file}: no SOA and no NS at {zone.origin}: is --origin right? nothing written", EXIT_FINDINGS,
                 warnings)
        # The promise of import: the YAML compiles to the very same records. Check it, never assume it.
        result, lost, problems = import_check.checked_yaml(zone, str(output or "<import>"))
    if lost:
        for line in problems:
            typer.echo(line, err=True)
        for line in lost[:20]:
            typer.echo(f"    {line}", err=True)
        fail("internal error: the YAML would not compile back to the same records; nothing written", EXIT_FINDINGS)
    if output is not None and output.exists() and not force:
        # A hand-commented YAML zone is worth more than an import: never replace one by accident.
        fail(f"{output}: exists; give --force to replace it (or -o another file)", EXIT_USAGE)
    if output is not None:
        write_atomic(output, result)
    if format == "json":
        echo_json({"origin": zone.origin.to_text(), "records": len(zone),
                   "file": None if output is None else str(output), **({"yaml": result} if output is None else {}),
                   "findings": [f.to_json() for f in warnings]})
    elif output is None:
        typer.echo(result, nl=False)
    else:
        typer.echo(f"{zone.origin} ({len(zone)} records) -> {output}", err=True)
