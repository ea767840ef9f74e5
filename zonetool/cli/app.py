"""The typer application and the one way commands report user errors.

Commands parse arguments, call one library function, print, and exit. They import
heavy modules inside the function body so `zonetool --help` and small jobs start fast.
"""

from __future__ import annotations

import errno
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer

from zonetool import __version__
from zonetool.cli import typer_speedup

app = typer.Typer(
    name="zonetool",
    help="DNS zones in YAML: validate, compile MX/SRV, export BIND files, serve them to test mail senders.",
    no_args_is_help=True,
    add_completion=True,  # typer's own: zonetool --install-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


# One wording for the same trouble with a path, whichever command meets it (issue 11 A12).
_PATH_WORDS = {errno.ENOENT: "no such file or folder", errno.ENOTDIR: "not a folder",
               errno.EISDIR: "is a folder", errno.EEXIST: "already exists", errno.EACCES: "permission denied"}


def path_words(exc: OSError) -> str:
    """Why a path could not be read, written or made, in the tool's words (the system's where it has none)."""
    return _PATH_WORDS.get(exc.errno or 0) or (exc.strerror or str(exc)).lower()


class Format(StrEnum):
    text = "text"
    json = "json"


# Set by `--format` at every invocation (click calls an option's callback for its default too):
# "text", "json" (a program asked for JSON), or "printed" (its one document is out already).
_json_state: ContextVar[str] = ContextVar("zonetool_json_state", default="text")


def _note_format(value: Format) -> Format:
    _json_state.set(value.value)
    return value


# One `--format` for every command that reports; typer checks the choice.
FormatOpt = Annotated[
    Format, typer.Option("--format", "-f", help="text for people, json for programs.", callback=_note_format)
]


def echo_json(doc: Any) -> None:
    """One JSON document on stdout, as `--format json` prints it."""
    import json

    typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))
    if _json_state.get() == "json":
        _json_state.set("printed")


class UserError(Exception):
    """Bad input from the user: printed as one clear line, never as a traceback."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def fail(message: str, code: int = EXIT_USAGE, findings: Iterable[Any] = ()) -> NoReturn:
    """Refuse: one line on stderr for a person and, under `--format json`, one document on stdout
    (unless the command printed its document already, e.g. compile's records and findings)."""
    _refusal(message, code, findings)
    raise typer.Exit(code)


def _refusal(message: str, code: int, findings: Iterable[Any] = ()) -> None:
    typer.echo(f"zonetool: {message}", err=True)
    if _json_state.get() == "json":
        echo_json({"ok": False, "error": message, "exit": code, "findings": [f.to_json() for f in findings]})


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


typer_speedup.install()  # before any command parses its arguments


def _only_the_command_asked_for(argv: list[str]) -> None:
    """Register only the command `argv` names: typer builds the click objects of every registered
    command at each start (~30 ms of a 0.15 s small-zone run). `zonetool --help`, an unknown or
    misspelt name and options before the command keep them all, so their messages are unchanged."""
    if len(argv) < 2:
        return
    name = argv[1]
    commands = [c for c in app.registered_commands if (c.name or c.callback.__name__.replace("_", "-")) == name]  # type: ignore[union-attr]
    groups = [g for g in app.registered_groups if g.name == name]
    if len(commands) + len(groups) == 1:
        app.registered_commands[:] = commands
        app.registered_groups[:] = groups


def run() -> None:
    """Entry point: turn UserError into a message and an exit code."""
    _only_the_command_asked_for(sys.argv)
    try:
        app()
    except UserError as exc:
        _refusal(str(exc), exc.code)
        sys.exit(exc.code)
