"""The typer application and the one way commands report user errors.

Commands parse arguments, call one library function, print, and exit. They import
heavy modules inside the function body so `zonetool --help` and small jobs start fast.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated, Any, NoReturn

import typer

from zonetool import __version__

app = typer.Typer(
    name="zonetool",
    help="DNS zones in YAML: validate, compile MX/SRV, export BIND files, serve them to test mail senders.",
    no_args_is_help=True,
    add_completion=True,  # typer's own: zonetool --install-completion (bash, zsh, fish, PowerShell)
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class Format(StrEnum):
    text = "text"
    json = "json"


# One `--format` for every command that reports; typer checks the choice.
FormatOpt = Annotated[Format, typer.Option("--format", "-f", help="text for people, json for programs.")]


def echo_json(doc: Any) -> None:
    """One JSON document on stdout, as `--format json` prints it."""
    import json

    typer.echo(json.dumps(doc, indent=2, ensure_ascii=False))


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


def _fast_coercion() -> None:
    """Convert plain str, bool, Path, int and Enum arguments without building pydantic TypeAdapters.

    Why: typer 0.2x coerces every argument through pydantic, whose import and schema building
    cost ~0.15-0.25 s per run, half the start-up of `zonetool validate small.yaml` (0.54 s ->
    0.27 s with this). Only the plain cases are handled here, by the same typer functions the
    adapters call (`coerce_cli_path`, `coerce_cli_choice`); any other annotation, any other
    value, and every error go to typer's own coercion, so results and messages are unchanged.
    Older or newer typers without these internals are left alone.
    """
    try:
        from dataclasses import dataclass
        from enum import Enum
        from pathlib import Path
        from typing import get_args, get_origin

        from typer import _coercion, _param_types, core
    except ImportError:  # pragma: no cover - another typer version
        return
    original = getattr(core, "build_runtime_param", None)
    base = getattr(_coercion, "RuntimeParam", None)
    if original is None or base is None or not hasattr(_param_types, "coerce_cli_path"):
        return  # pragma: no cover
    coerce_path, coerce_choice = _param_types.coerce_cli_path, _param_types.coerce_cli_choice

    def leaf(annotation: Any, info: Any) -> Any:
        """A converter for one value, or None when typer's own coercion must be used."""
        if info.parser is not None or getattr(info, "click_type", None) is not None:
            return None
        if annotation is str:
            return lambda v, param, ctx: v if v.__class__ is str else _SLOW
        if annotation is bool:  # flags arrive as bools; an absent flag (None) never reaches the converter
            return lambda v, param, ctx: v if v.__class__ is bool else _SLOW
        if annotation is int and info.min is None and info.max is None:
            return lambda v, param, ctx: (
                v if v.__class__ is int else int(v) if v.__class__ is str and v.isdigit() and v.isascii() else _SLOW
            )
        if annotation is Path and info.path_type is None:
            return lambda v, param, ctx: (
                coerce_path(Path(v), info, path_type=Path, param=param, ctx=ctx) if isinstance(v, str | Path) else _SLOW
            )
        if isinstance(annotation, type) and issubclass(annotation, Enum):
            choices = list(annotation)
            return lambda v, param, ctx: (
                coerce_choice(v, choices=choices, case_sensitive=info.case_sensitive, ctx=ctx)
                if isinstance(v, str | annotation) else _SLOW
            )
        return None

    @dataclass(frozen=True)
    class Fast(base):  # type: ignore[misc, valid-type]
        descriptor: Any = None
        convert: Any = None
        many: bool = False

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            try:
                if self.many:
                    out = [self.convert(v, param, ctx) for v in value] if isinstance(value, list | tuple) else [_SLOW]
                    if _SLOW not in out:
                        return out
                else:
                    out = self.convert(value, param, ctx)
                    if out is not _SLOW:
                        return out
            except Exception:  # typer's own coercion below raises the proper message
                pass
            return original(self.descriptor)._coerce_value(value, param=param, ctx=ctx)

    def build(descriptor: Any) -> Any:
        annotation, info = descriptor.annotation, descriptor.parameter_info
        if descriptor.file_annotation is None:
            many = get_origin(annotation) is list
            convert = leaf(get_args(annotation)[0] if many else annotation, info)
            if convert is not None:
                return Fast(info, annotation, descriptor, convert, many)
        return original(descriptor)

    core.build_runtime_param = build


_SLOW = object()  # "not a plain case": typer's own coercion decides
_fast_coercion()


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
        typer.echo(f"zonetool: {exc}", err=True)
        sys.exit(exc.code)
