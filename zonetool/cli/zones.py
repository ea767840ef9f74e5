"""`zonetool validate` and `zonetool compile`: judge zone files, print their records.

Both load through `zonetool.loader`, the same pipeline the server and the editing
commands use. Exit codes: 0 clean, 1 findings (errors, or warnings with --strict),
2 usage (a missing file, a folder without zones, a file that is not a YAML zone).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from zonetool.cli.app import EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, Format, FormatOpt, app, echo_json, fail

if TYPE_CHECKING:
    from zonetool.findings import Finding
    from zonetool.loader import Loaded
    from zonetool.zone import Zone


PathsArg = Annotated[list[Path], typer.Argument(help="Zone files (.yaml, .yml, .zone) or folders of them.")]


def _load(paths: list[Path]) -> Loaded:
    from zonetool.loader import ONE_SHOT_COMMAND, LoadError, load_paths

    try:
        return load_paths(paths, policy=ONE_SHOT_COMMAND)
    except LoadError as exc:
        fail(str(exc), EXIT_USAGE)


def _strict(findings: list[Finding]) -> list[Finding]:
    """--strict: every warning that is not silenced counts, and is shown, as an error."""
    from dataclasses import replace

    from zonetool.findings import Severity

    return [
        replace(f, severity=Severity.ERROR) if f.severity is Severity.WARNING and f.silenced is None else f
        for f in findings
    ]


def _counts(findings: list[Finding]) -> dict[str, int]:
    from zonetool.findings import Severity

    live = [f for f in findings if f.silenced is None]
    return {
        "errors": sum(f.severity is Severity.ERROR for f in live),
        "warnings": sum(f.severity is Severity.WARNING for f in live),
        "silenced": len(findings) - len(live),
    }


def _exit_code(findings: list[Finding]) -> int:
    from zonetool.loader import NOT_YAML, has_errors

    if any(f.code in NOT_YAML for f in findings):
        return EXIT_USAGE
    return EXIT_FINDINGS if has_errors(findings) else EXIT_OK


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@app.command("validate")
def validate(
    paths: PathsArg,
    format: FormatOpt = Format.text,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as errors.")] = False,
) -> None:
    """Check zones and report every finding at once, each as file:line:column.

    Exit 0 when clean, 1 for errors (or warnings with --strict), 2 for usage problems.

    Usage problems: a missing file, a folder without zones, a file that is not a YAML zone.
    """
    import json

    from zonetool.loader import sort_key

    loaded = _load(paths)
    findings = sorted(loaded.findings, key=sort_key)
    if strict:
        findings = _strict(findings)
    counts = _counts(findings)
    code = _exit_code(findings)
    if format is Format.json:
        doc: dict[str, Any] = {
            "ok": code == EXIT_OK,
            "files": loaded.files,
            "zones": [{"origin": z.origin.to_text(), "file": z.file, "records": len(z)} for z in loaded.zones],
            "findings": [f.to_json() for f in findings],
            "summary": counts,
        }
        typer.echo(json.dumps(doc, indent=2))
        raise typer.Exit(code)
    for f in findings:
        typer.echo(f.format())
    records = sum(len(z) for z in loaded.zones)
    summary = (
        f"{_plural(len(loaded.zones), 'zone')} ({_plural(records, 'record')}) in {_plural(len(loaded.files), 'file')}: "
        f"{_plural(counts['errors'], 'error')}, {_plural(counts['warnings'], 'warning')}"
    )
    if counts["silenced"]:
        summary += f", {counts['silenced']} silenced"
    typer.echo(summary)
    raise typer.Exit(code)


def _rows(zone: Zone) -> list[tuple[str, int, str, str, object]]:
    """(owner, ttl, type, data, record) in canonical order: names (RFC 4034 6.1), SOA first, then type code."""
    from zonetool.rrtypes import rdata_text  # native text of types kept as octets (TLSA, DS, ...), as export writes

    return [(r.owner.to_text(), r.ttl, r.rtype, rdata_text(r.rdata, None)[1], r) for r in zone.records()]


@app.command("compile")
def compile_(paths: PathsArg, format: FormatOpt = Format.text) -> None:
    """Print the records the zones compile to (presentation format, or JSON with each record's source).

    Same input, same output: names in canonical order, SOA first, then types by number.

    Zones with errors print the records that could be built, then the findings (exit 1).
    """

    from zonetool.loader import has_errors, record_positions, sort_key

    loaded = _load(paths)
    findings = sorted(loaded.findings, key=sort_key)
    failed = has_errors(findings)
    if format is Format.json:
        zones = []
        for zone in loaded.zones:
            positions = record_positions(zone)
            records = []
            for owner, ttl, rtype, data, record in _rows(zone):
                where = record.where  # type: ignore[attr-defined]
                line, column = positions.get(where.path, (None, None))
                records.append({
                    "owner": owner, "ttl": ttl, "class": "IN", "type": rtype, "data": data,
                    "source": {"file": where.file, "line": line, "column": column, "path": list(where.path)},
                    "generated_by": record.origin,  # type: ignore[attr-defined]
                })  # fmt: skip
            zones.append({"origin": zone.origin.to_text(), "file": zone.file, "records": records})
        echo_json({"ok": not failed, "zones": zones, "findings": [f.to_json() for f in findings]})
        _compiled(findings, failed, show=False)
        return
    out: list[str] = []
    for zone in loaded.zones:
        rows = _rows(zone)
        widths = [max((len(str(row[i])) for row in rows), default=0) for i in range(3)]
        out.append(f"; zone {zone.origin.to_text()} from {zone.file} ({_plural(len(rows), 'record')})")
        for owner, ttl, rtype, data, _ in rows:
            out.append(f"{owner:<{widths[0]}} {ttl:>{widths[1]}} IN {rtype:<{widths[2]}} {data}")
        out.append("")
    typer.echo("\n".join(out), nl=False)
    _compiled(findings, failed, show=True)


def _compiled(findings: list[Finding], failed: bool, show: bool) -> None:
    """After the records: the findings on stderr (text output), and exit 1 if there were errors."""
    if show:
        for f in findings:  # after what could be built, so the reason is the last thing on screen
            typer.echo(f.format(), err=True)
    if failed:
        fail(f"not compiled cleanly: {_plural(_counts(findings)['errors'], 'error')}; the records above are what "
             "could be built", _exit_code(findings))
