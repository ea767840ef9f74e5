"""The `faults:` block: the sender-harness faults, passed through as data (zonetool.faults reads them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zonetool.blocks.context import Compiler
from zonetool.blocks.registry import block

KEYS = {"faults": ("faults", "sender-harness faults, passed through as data")}


@block("faults", keys=KEYS, order=70, position=80)
def compile_faults(c: Compiler, spec: Mapping[str, Any]) -> None:
    c.faults_spec = _faults(c, spec.get("faults"))


def _faults(c: Compiler, value: object) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        c.wrong_type("a list", value, ("faults",))
        return []
    return value


