"""`zonetool rules`: the validation rules' codes, so a zone owner knows what `silence:` can name."""

from __future__ import annotations

from typing import Annotated

import typer

from zonetool.cli.app import EXIT_USAGE, Format, FormatOpt, app, echo_json, fail


@app.command("rules")
def rules(
    code: Annotated[str | None, typer.Argument(help="Show only this rule (e.g. mx-target-cname).")] = None,
    format: FormatOpt = Format.text,
) -> None:
    """List every validation rule: code, severity, what it requires, and its RFC.

    A code listed here can be named under `silence:` in a zone, with the reason for accepting it.
    """
    import difflib

    from zonetool.rules import RULES

    selected = list(RULES.values())
    if code is not None:
        if code not in RULES:
            close = difflib.get_close_matches(code, list(RULES), n=1)
            fail(f"no rule has the code {code!r}" + (f"; did you mean {close[0]!r}?" if close else ""), EXIT_USAGE)
        selected = [RULES[code]]
    if format is Format.json:
        doc = [
            {"code": r.code, "severity": r.severity.value, "family": r.family, "requires": r.summary, "rfc": r.rfc}
            for r in selected
        ]
        echo_json(doc)
        return
    width = max(len(r.code) for r in selected)
    for r in selected:
        typer.echo(f"{r.code:<{width}}  {r.severity.value:<7}  {r.rfc:<14}  {r.summary.replace('`', '')}")
