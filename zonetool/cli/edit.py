"""Editing commands: `mx`, `srv`, `record` (add|set|remove), `fmt`, `diff` and `schema`.

Every edit goes: round-trip load -> change the smallest node -> bump a numeric serial ->
validate the WHOLE new zone through the loader -> write atomically, or (invalid) print
the findings, exit 1 and leave the file byte-for-byte as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zonetool.cli.app import EXIT_FINDINGS, EXIT_USAGE, Format, FormatOpt, app, echo_json, fail

if TYPE_CHECKING:
    from zonetool.findings import Finding
    from zonetool.source.yaml_doc import Document
    from zonetool.zone import Zone

mx_app = typer.Typer(help="Add, change or remove mail exchangers (mail.exchangers, or MX at the apex).")
srv_app = typer.Typer(help="Add, change or remove SRV targets (services:, or SRV under records:).")
record_app = typer.Typer(help="Add, replace or remove records under records: OWNER: TYPE.")
app.add_typer(mx_app, name="mx")
app.add_typer(srv_app, name="srv")
app.add_typer(record_app, name="record")

ZoneArg = Annotated[Path, typer.Argument(help="The YAML zone file to edit.")]
DryRun = Annotated[bool, typer.Option("--dry-run", "-n", help="Print the change as a unified diff; write nothing.")]
Strict = Annotated[bool, typer.Option("--strict", help="Refuse an edit that brings in any new finding (warnings too).")]


def _read(path: Path) -> str:
    from zonetool.loader import LoadError, read_bytes

    try:
        data = read_bytes(path)
    except LoadError as exc:
        fail(str(exc))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        from zonetool.findings import not_utf8

        typer.echo(not_utf8(data, exc, str(path)).format(), err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _limit_error(exc: Exception) -> None:
    """A file the YAML limits refuse (alias bomb, absurd nesting): its finding, exit 2."""
    typer.echo(exc.finding.format(), err=True)  # type: ignore[attr-defined]
    raise typer.Exit(EXIT_USAGE)


def run_edit(
    path: Path, what: str, edit: Callable[[Document], None], dry_run: bool, strict: bool = False,
    format: Format = Format.text,
) -> None:
    """The one way every edit command changes a file; it says which findings the edit brings in.

    With `format="json"` a successful edit prints one document (file, edit, changed, written,
    serial, findings, diff); a refusal prints `fail`'s error document instead.
    """
    from zonetool.atomic import write_atomic
    from zonetool.loader import has_errors, load_text, sort_key
    from zonetool.source.yaml import YamlSyntax
    from zonetool.source.yaml_edit import EditError, apply_edit, unified_diff

    def report(
        changed: bool, written: bool, serial: Any = None, found: Any = (), diff: str | None = None,
        text_out: str | None = None,
    ) -> None:
        doc: dict[str, Any] = {"file": str(path), "edit": what, "changed": changed, "written": written,
                               "serial": list(serial) if serial else None, "findings": [f.to_json() for f in found],
                               "diff": diff}
        if text_out is not None:
            doc["text"] = text_out
        echo_json(doc)

    text = _read(path)
    try:
        result = apply_edit(text, edit, file=str(path))
    except YamlSyntax as exc:
        _limit_error(exc)
    except EditError as exc:
        fail(f"{path}: {what}: {exc}", EXIT_USAGE)
    except Exception as exc:  # ruamel raises many error types for a file it cannot parse
        if type(exc).__module__.startswith("ruamel"):
            fail(f"{path}: not valid YAML: {str(exc).splitlines()[0]}", EXIT_USAGE)
        raise
    if not result.changed:
        if format == "json":
            report(False, False, text_out=text if str(path) == "-" else None)
        elif str(path) == "-":
            typer.echo(text, nl=False)  # a filter passes an unchanged zone through
        else:
            typer.echo(f"{path}: {what}: already so, nothing changed")
        return
    _, findings = load_text(result.new_text, str(path))
    if has_errors(findings):
        for f in sorted(findings, key=sort_key):
            if f.silenced is None and f.severity.value == "error":
                typer.echo(f.format(), err=True)
        fail(f"{path}: {what}: the zone would not be valid; the file was not changed", EXIT_FINDINGS,
             [f for f in findings if f.silenced is None and f.severity.value == "error"])
    new = introduced(load_text(text, str(path))[1], findings)
    if format != "json":
        for f in new:  # e.g. a second SPF record: said now, not at the next validate (issue 11)
            typer.echo(f.format(), err=True)
    if strict and new:
        fail(f"{path}: {what}: the edit brings in {len(new)} finding(s) (--strict); the file was not changed",
             EXIT_FINDINGS, new)
    if dry_run:
        diff = unified_diff(text, result.new_text, str(path))
        if format == "json":
            report(True, False, result.serial, new, diff)
        else:
            typer.echo(diff, nl=False)
        return
    if str(path) == "-":  # a filter: the edited zone goes to standard output (JSON: in "text")
        if format == "json":
            report(True, False, result.serial, new, text_out=result.new_text)
        else:
            typer.echo(result.new_text, nl=False)
        return
    write_atomic(path, result.new_text)
    if format == "json":
        report(True, True, result.serial, new)
        return
    serial = f" (serial {result.serial[0]} -> {result.serial[1]})" if result.serial else ""
    typer.echo(f"{path}: {what}{serial}")


def introduced(before: list[Any], after: list[Any]) -> list[Any]:
    """Findings of `after` that `before` lacks, by code and message (an edit moves lines, so not by place)."""
    from collections import Counter

    from zonetool.loader import sort_key

    seen = Counter((f.code, f.message) for f in before if f.silenced is None)
    out = []
    for f in sorted(after, key=sort_key):
        if f.silenced is not None:
            continue
        key = (f.code, f.message)
        if seen[key]:
            seen[key] -= 1
        else:
            out.append(f)
    return out


def _ttl(value: str | None) -> Any:
    """A TTL as the user wrote it (kept as text, e.g. 5m), or an int for plain seconds."""
    if value is None:
        return None
    from zonetool.durations import parse_duration

    try:
        parse_duration(value)
    except ValueError as exc:
        fail(f"--ttl: {exc}")
    return int(value) if value.isdigit() else value


# ---------------------------------------------------------------------------
# mx
# ---------------------------------------------------------------------------
Priority = Annotated[
    int | None, typer.Option("--priority", "-p", min=0, max=65535, help="MX preference / SRV priority.")
]
Weight = Annotated[int | None, typer.Option("--weight", "-w", min=0, max=65535, help="SRV weight (RFC 2782).")]
Port = Annotated[int | None, typer.Option("--port", min=0, max=65535, help="SMTP port (default 25).")]
Address = Annotated[
    list[str] | None, typer.Option("--address", "-a", help="Address of an in-zone host (repeat for more).")
]


@mx_app.command("add")
def mx_add(
    zone: ZoneArg,
    host: Annotated[str, typer.Argument(help="Exchanger host, relative to the origin unless it ends in '.'.")],
    priority: Priority = None,
    weight: Weight = None,
    port: Port = None,
    address: Address = None,
    dry_run: DryRun = False,
    strict: Strict = False,
    format: FormatOpt = Format.text,
) -> None:
    """Add a mail exchanger (--priority is required)."""
    from zonetool.source.yaml_edit import mx_add as edit

    run_edit(zone, f"mx add {host}", lambda d: edit(d, host, priority, weight, port, address), dry_run, strict, format)


@mx_app.command("set")
def mx_set(
    zone: ZoneArg,
    host: Annotated[str, typer.Argument(help="Exchanger host as in the file (relative or absolute).")],
    priority: Priority = None,
    weight: Weight = None,
    port: Port = None,
    address: Address = None,
    dry_run: DryRun = False,
    strict: Strict = False,
    format: FormatOpt = Format.text,
) -> None:
    """Change an exchanger's priority, weight, port or addresses."""
    from zonetool.source.yaml_edit import mx_set as edit

    run_edit(zone, f"mx set {host}", lambda d: edit(d, host, priority, weight, port, address), dry_run, strict, format)


@mx_app.command("remove")
def mx_remove(
    zone: ZoneArg,
    host: Annotated[str, typer.Argument(help="Exchanger host as in the file (relative or absolute).")],
    dry_run: DryRun = False,
    strict: Strict = False,
    format: FormatOpt = Format.text,
) -> None:
    """Remove a mail exchanger."""
    from zonetool.source.yaml_edit import mx_remove as edit

    run_edit(zone, f"mx remove {host}", lambda d: edit(d, host), dry_run, strict, format)


# ---------------------------------------------------------------------------
# srv
# ---------------------------------------------------------------------------
SrvName = Annotated[str, typer.Argument(help="Service owner name, e.g. _xmpp-server._tcp.")]
Target = Annotated[str, typer.Argument(help="Target host, relative to the origin unless it ends in '.'.")]
SrvPort = Annotated[int | None, typer.Option("--port", min=0, max=65535, help="Target port.")]


@srv_app.command("add")
def srv_add(
    zone: ZoneArg,
    name: SrvName,
    target: Target,
    port: SrvPort = None,
    priority: Priority = None,
    weight: Weight = None,
    dry_run: DryRun = False,
    strict: Strict = False,
    format: FormatOpt = Format.text,
) -> None:
    """Add an SRV target (--port is required); a new name goes to services: if the zone has one."""
    from zonetool.source.yaml_edit import srv_add as edit

    run_edit(
        zone, f"srv add {name} {target}", lambda d: edit(d, name, target, port, priority, weight),
        dry_run, strict, format,
    )


@srv_app.command("set")
def srv_set(
    zone: ZoneArg,
    name: SrvName,
    target: Target,
    port: SrvPort = None,
    priority: Priority = None,
    weight: Weight = None,
    dry_run: DryRun = False,
    strict: Strict = False,
    format: FormatOpt = Format.text,
) -> None:
    """Change an SRV target's port, priority or weight."""
    from zonetool.source.yaml_edit import srv_set as edit

    run_edit(
        zone, f"srv set {name} {target}", lambda d: edit(d, name, target, port, priority, weight),
        dry_run, strict, format,
    )


@srv_app.command("remove")
def srv_remove(
    zone: ZoneArg,
    name: SrvName,
    target: Target,
    port: Annotated[int | None, typer.Option("--port", help="Pick one when the target is listed twice.")] = None,
    dry_run: DryRun = False,
    strict: Strict = False,
    format: FormatOpt = Format.text,
) -> None:
    """Remove an SRV target (the service entry goes with its last target)."""
    from zonetool.source.yaml_edit import srv_remove as edit

    run_edit(zone, f"srv remove {name} {target}", lambda d: edit(d, name, target, port), dry_run, strict, format)


# ---------------------------------------------------------------------------
# record
# ---------------------------------------------------------------------------
Owner = Annotated[str, typer.Argument(help="Owner name as under records: ('@' is the origin).")]
RType = Annotated[str, typer.Argument(help="Record type: A, AAAA, CNAME, MX, SRV, TXT, NS, PTR, CAA, TYPEnnn.")]
Ttl = Annotated[str | None, typer.Option("--ttl", help="TTL of the RRset: seconds or 30s/5m/1h/2d/1w.")]


@record_app.command("add")
def record_add(
    zone: ZoneArg,
    owner: Owner,
    rtype: RType,
    value: Annotated[str, typer.Argument(help="The value as written in YAML, e.g. '10 mx1' or a TXT text.")],
    ttl: Ttl = None,
    dry_run: DryRun = False,
    strict: Strict = False,
    format: FormatOpt = Format.text,
) -> None:
    """Add one record to OWNER's TYPE records."""
    from zonetool.source.yaml_edit import record_add as edit

    t = _ttl(ttl)
    run_edit(
        zone, f"record add {owner} {rtype.upper()}", lambda d: edit(d, owner, rtype, value, t),
        dry_run, strict, format,
    )


@record_app.command("set")
def record_set(
    zone: ZoneArg,
    owner: Owner,
    rtype: RType,
    value: Annotated[str, typer.Argument(help="The one value the RRset will hold.")],
    ttl: Ttl = None,
    dry_run: DryRun = False,
    strict: Strict = False,
    format: FormatOpt = Format.text,
) -> None:
    """Replace all of OWNER's TYPE records by VALUE."""
    from zonetool.source.yaml_edit import record_set as edit

    t = _ttl(ttl)
    run_edit(
        zone, f"record set {owner} {rtype.upper()}", lambda d: edit(d, owner, rtype, value, t),
        dry_run, strict, format,
    )


@record_app.command("remove")
def record_remove(
    zone: ZoneArg,
    owner: Owner,
    rtype: RType,
    value: Annotated[str | None, typer.Argument(help="The value to remove; omit it to remove them all.")] = None,
    dry_run: DryRun = False,
    strict: Strict = False,
    format: FormatOpt = Format.text,
) -> None:
    """Remove one record (or, without VALUE, all of OWNER's TYPE records)."""
    from zonetool.source.yaml_edit import record_remove as edit

    run_edit(
        zone, f"record remove {owner} {rtype.upper()}", lambda d: edit(d, owner, rtype, value),
        dry_run, strict, format,
    )


# ---------------------------------------------------------------------------
# fmt
# ---------------------------------------------------------------------------
@app.command("fmt")
def fmt(
    paths: Annotated[list[Path], typer.Argument(help="YAML zone files or folders of them.")],
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; list files that would change, exit 1.")
    ] = False,
    format: FormatOpt = Format.text,
) -> None:
    """Rewrite zone files in the canonical layout, keeping every comment."""
    from zonetool.atomic import write_atomic
    from zonetool.loader import BIND_SUFFIX, YAML_SUFFIXES, LoadError, zone_files

    if [str(p) for p in paths] == ["-"]:  # a filter: standard input formatted to standard output
        _fmt_stdin()
        return
    for raw in paths:
        if raw.suffix == BIND_SUFFIX and not raw.is_dir():
            fail(f"{raw}: is a BIND zone file; fmt formats YAML zones only (*.yaml, *.yml)")
    notes: list[Finding] = []
    try:
        files = [f for f in zone_files(paths, notes) if f.suffix in YAML_SUFFIXES or f in paths]
    except LoadError as exc:
        fail(str(exc))
    for note in notes:  # FIFOs, devices, link loops found in a folder: skipped, said once each
        typer.echo(note.format(), err=True)
    if not files:
        fail(f"{' '.join(map(str, paths))}: no YAML zone files (*.yaml, *.yml) to format")
    changed: list[Path] = []
    problems: list[str] = []

    def problem(line: str) -> None:
        problems.append(line)
        if format != "json":
            typer.echo(line, err=True)

    for path in files:
        text = _read(path)
        new, why = _formatted(text, str(path))
        if new is None:
            problem(str(why))
            continue
        if new != text:
            changed.append(path)
            if not check:
                write_atomic(path, new)
    if format == "json":
        echo_json({"check": check, "files": [{"file": str(p), "changed": p in changed} for p in files],
                   "problems": problems})
    else:
        for path in changed:
            typer.echo(f"{'would reformat' if check else 'reformatted'} {path}")
    if problems:
        raise typer.Exit(EXIT_USAGE)
    if check and changed:
        raise typer.Exit(EXIT_FINDINGS)


def _formatted(text: str, file: str) -> tuple[str | None, str | None]:
    """(the text in fmt's layout, None), or (None, the one line that says why it cannot be formatted)."""
    from zonetool.source.yaml import YamlSyntax
    from zonetool.source.yaml_fmt import EditError, format_text

    try:
        return format_text(text, file), None
    except YamlSyntax as exc:  # not YAML, or over the limits: placed at file:line:col
        return None, exc.finding.format()
    except EditError as exc:
        return None, f"{file}: {exc}"
    except Exception as exc:
        if type(exc).__module__.startswith("ruamel"):
            return None, f"{file}: not valid YAML: {str(exc).splitlines()[0]}"
        raise


def _fmt_stdin() -> None:
    """`zonetool fmt -`: for editors and pipes; the same layout, written to standard output."""
    new, why = _formatted(_read(Path("-")), "-")
    if new is None:
        typer.echo(str(why), err=True)
        raise typer.Exit(EXIT_USAGE)
    typer.echo(new, nl=False)


# ---------------------------------------------------------------------------
# diff
# ---------------------------------------------------------------------------
def _zone_from(source: str, origin: str | None, timeout: float) -> Zone:
    """A zone from a YAML file, a BIND file (*.zone or --origin) or HOST:PORT (AXFR)."""
    from zonetool.loader import build_errors, load_file, missing_reason, sort_key
    from zonetool.names import Name, NameError_

    path = Path(source)
    if not path.exists() and source != "-":
        fail(f"{source}: {missing_reason(path)}")
    if path.suffix in (".yaml", ".yml") or source == "-":  # standard input: a YAML zone
        zone, findings = load_file(path)
        broken = build_errors(findings)  # rule errors are fine: the zone is whole, and may be served
        if zone is None or broken:
            for f in sorted(broken, key=sort_key):
                typer.echo(f.format(), err=True)
            fail(f"{source}: cannot be built into records; fix these errors before comparing", EXIT_USAGE)
        return zone
    from zonetool.source.bind import origin_from_text, read_zone

    text = _read(path)
    found = origin_from_text(text) if origin is None else None  # the file's own $ORIGIN beats its name
    name = origin or (found.to_text() if found is not None else None)
    name = name or (path.name[: -len(".zone")] if path.suffix == ".zone" else None)
    if not name:
        fail(f"{source}: a BIND file needs --origin (or a name like ORIGIN.zone)")
    try:
        return read_zone(
            text, Name.from_text(name if name.endswith(".") else name + "."), str(path), base_dir=path.parent
        )
    except (ValueError, NameError_) as exc:
        fail(f"{source}: {exc}")


@app.command("diff")
def diff(
    old: Annotated[str, typer.Argument(help="The zone as it is: a YAML zone, or a BIND file (ORIGIN.zone).")],
    new: Annotated[
        str | None, typer.Argument(help="The zone as it will be (YAML or BIND); omit it with --server.")
    ] = None,
    server: Annotated[
        str | None, typer.Option("--server", help="HOST:PORT of a running server: compare OLD against its AXFR.")
    ] = None,
    origin: Annotated[
        str | None, typer.Option("--origin", help="Origin of a BIND file (default: its $ORIGIN, else ORIGIN.zone).")
    ] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds to wait for the server.")] = 5.0,
    format: FormatOpt = Format.text,
) -> None:
    """Record-level changes from OLD to NEW (+ added, - removed, ~ TTL changed); exit 1 when they differ.

    With --server, the running server's copy (by AXFR) is OLD and the file is NEW: the plan of a deploy.
    """
    from zonetool.diff import diff_zones, format_changes

    if (new is None) == (server is None):
        fail("give either OLD NEW, or a zone file and --server HOST:PORT")
    if server is not None:
        from zonetool.source.axfr import AxfrError, fetch_zone

        wanted = _zone_from(old, origin, timeout)
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            fail(f"--server {server}: expected HOST:PORT, e.g. 127.0.0.1:10053")
        try:
            live = fetch_zone(host.strip("[]"), int(port), wanted.origin, timeout=timeout)
        except AxfrError as exc:
            fail(f"--server {server}: {exc}")
        before, after = live, wanted
    else:
        assert new is not None
        before, after = _zone_from(old, origin, timeout), _zone_from(new, origin, timeout)
    if before.origin != after.origin:
        fail(f"the zones have different origins ({before.origin} and {after.origin}); nothing to compare")
    changes = diff_zones(before, after)
    if format == "json":
        echo_json({"origin": after.origin.to_text(), "differ": bool(changes),
                   "changes": [c.to_json() for c in changes]})
    elif not changes:
        typer.echo("no differences")
    else:
        typer.echo(format_changes(changes, after.origin))
    if changes:
        raise typer.Exit(EXIT_FINDINGS)


# ---------------------------------------------------------------------------
# schema
# ---------------------------------------------------------------------------
@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of the YAML zone format (for yaml-language-server and editors)."""
    import json

    from zonetool.schema import SCHEMA

    typer.echo(json.dumps(SCHEMA, indent=2, sort_keys=False))
