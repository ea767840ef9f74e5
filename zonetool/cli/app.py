"""The typer application and the one way commands report user errors.

Commands parse arguments, call one library function, print, and exit. They import
heavy modules inside the function body so `zonetool --help` and small jobs start fast.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from zonetool import __version__

app = typer.Typer(
    name="zonetool",
    help="DNS zones in YAML: validate, compile MX/SRV, export BIND files, serve them to test mail senders.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UserError(Exception):
    """Bad input from the user: printed as one clear line, never as a traceback."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    typer.echo(f"zonetool: {message}", err=True)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"zonetool {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """DNS zones in YAML for mail domains and mail-sender testing."""


def run() -> None:
    """Entry point: turn UserError into a message and an exit code."""
    try:
        app()
    except UserError as exc:
        typer.echo(f"zonetool: {exc}", err=True)
        sys.exit(exc.code)
