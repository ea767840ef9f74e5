"""Plain command-line arguments converted without pydantic: half the start-up of a small job.

Why: typer 0.2x coerces every argument through a pydantic `TypeAdapter` (`typer._adapters`),
whose import and schema building cost ~0.15-0.25 s per run, half the start-up of
`zonetool validate small.yaml` (0.54 s -> 0.27 s with this). `install` replaces typer's private
`typer.core.build_runtime_param` (what `_TyperParameter.get_runtime_param` calls) by one that
converts plain str, bool, Path, int and Enum values itself, with the same typer functions the
adapters call (`coerce_cli_path`, `coerce_cli_choice`); any other annotation, any other value,
and every error go to typer's own coercion, so results and messages are unchanged.

It reaches into typer's internals, so pyproject.toml keeps typer below its next minor version,
and tests/test_typer_speedup.py fails when a typer release stops calling the replacement (or
imports pydantic for a plain run anyway). A typer without these internals is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, get_args, get_origin

try:
    from typer import _coercion, _param_types, core
except ImportError:  # pragma: no cover - another typer version
    _coercion = _param_types = core = None  # type: ignore[assignment]

_SLOW = object()  # "not a plain case": typer's own coercion decides


def _leaf(annotation: Any, info: Any) -> Callable[[Any, Any, Any], Any] | None:
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
    coerce_path, coerce_choice = _param_types.coerce_cli_path, _param_types.coerce_cli_choice
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


def install() -> bool:
    """Put the fast builder in typer's place (once); False when this typer lacks the internals."""
    original = getattr(core, "build_runtime_param", None)
    base = getattr(_coercion, "RuntimeParam", None)
    if original is None or base is None or not hasattr(_param_types, "coerce_cli_path"):
        return False  # pragma: no cover
    if getattr(original, "__module__", None) == __name__:
        return True  # already installed

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

    def build_runtime_param(descriptor: Any) -> Any:
        annotation, info = descriptor.annotation, descriptor.parameter_info
        if descriptor.file_annotation is None:
            many = get_origin(annotation) is list
            convert = _leaf(get_args(annotation)[0] if many else annotation, info)
            if convert is not None:
                return Fast(info, annotation, descriptor, convert, many)
        return original(descriptor)

    core.build_runtime_param = build_runtime_param
    return True
