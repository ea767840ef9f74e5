"""The `silence:` block: finding code -> the reason the zone's owner accepts it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zonetool.blocks.context import Compiler, Path, key_text
from zonetool.blocks.registry import block

KEYS = {"silence": ("silence", "finding code -> the reason it is accepted; shown in the output")}


@block("silence", keys=KEYS, order=60, position=70)
def compile_silence(c: Compiler, spec: Mapping[str, Any]) -> None:
    c.silence = _silence(c, spec.get("silence"))


def _silence(c: Compiler, value: object) -> dict[str, str]:
    if value is None:
        return {}
    path: Path = ("silence",)
    if not isinstance(value, Mapping):
        c.wrong_type("a mapping of finding code -> reason", value, path, hint="silence: {spf-missing: lab zone}")
        return {}
    out: dict[str, str] = {}
    for raw_key, reason in value.items():
        code = key_text(raw_key)
        if not isinstance(reason, str) or not reason.strip():
            c.wrong_type("a reason (text) for accepting the finding", reason, (*path, code),
                         hint="the reason is printed next to every silenced finding")
            continue
        out[code] = reason.strip()
    return out


