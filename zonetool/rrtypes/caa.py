"""CAA (RFC 8659): flags, tag, value; the mapping form {flags, tag, value}."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import dnslib

from zonetool.names import Name
from zonetool.rrtypes.base import MappingContext, NameOf, Packer, Path, Rdata
from zonetool.rrtypes.registry import register
from zonetool.rrtypes.text import RdataError, arity, check_uint, quote, uint, unescape

CAA_TAG = re.compile(r"^[A-Za-z0-9]+$")  # RFC 8659 4.1


@register
@dataclass(frozen=True, slots=True)
class CAA(Rdata):
    flags: int
    tag: str
    value: bytes
    rtype: ClassVar[str] = "CAA"
    code: ClassVar[int] = 257
    mapping_doc: ClassVar[str | None] = "CAA item (RFC 8659)."
    mapping_fields: ClassVar[dict[str, tuple[str, str]]] = {
        "flags": ("u8", "flags (default 0; 128 = critical)"),
        "tag": ("string", "issue, issuewild, iodef, ..."),
        "value": ("string", "the property value"),
    }
    mapping_required: ClassVar[tuple[str, ...]] = ("tag", "value")
    hint: ClassVar[str | None] = "CAA: '0 issue \"ca.example\"' or {tag: issue, value: ca.example}"
    long: ClassVar[bool] = True

    def __post_init__(self) -> None:
        check_uint(self.flags, 8, "CAA flags")
        if not CAA_TAG.match(self.tag) or len(self.tag) > 15:
            raise RdataError(f"CAA tag {self.tag!r} must be 1-15 letters or digits (RFC 8659 4.1)")

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None, name_of: NameOf | None = None) -> CAA:
        arity(tokens, 3, "CAA", "flags tag value")
        return cls(uint(tokens[0], 8, "CAA flags"), tokens[1], unescape(tokens[2]))

    def to_text(self, origin: Name | None = None) -> str:
        return f"{self.flags} {self.tag} {quote(self.value)}"

    @classmethod
    def from_dnslib(cls, rd: dnslib.RD) -> CAA:
        value = rd.value.encode("latin-1") if isinstance(rd.value, str) else bytes(rd.value)
        return cls(rd.flags, rd.tag, value)

    def to_dnslib(self) -> dnslib.RD:
        return dnslib.CAA(self.flags, self.tag, self.value.decode("latin-1"))

    def pack(self, packer: Packer) -> None:
        tag = self.tag.encode("ascii")
        packer.buf += bytes((self.flags, len(tag))) + tag + self.value  # RFC 8659 4.1

    def wire_length(self) -> int:
        return 2 + len(self.tag) + len(self.value)

    @classmethod
    def from_mapping(cls, c: MappingContext, spec: Mapping[str, Any], path: Path) -> Rdata | None:
        if "tag" not in spec or "value" not in spec:
            return None
        flags = c.integer(spec.get("flags", 0), (*path, "flags"), "CAA flags", 255)
        tag, value = spec["tag"], spec["value"]
        if not isinstance(tag, str):
            c.wrong_type("a CAA tag like issue", tag, (*path, "tag"))
            return None
        if not isinstance(value, str):
            c.wrong_type("text", value, (*path, "value"))
            return None
        if flags is None:
            return None
        try:
            return cls(flags, tag, value.encode("utf-8"))
        except RdataError as exc:
            c.error("bad-rdata", str(exc), (*path, "tag"))
            return None

    @classmethod
    def mapping_text(cls, spec: Mapping[str, Any]) -> str | None:
        return f'{spec.get("flags", 0)} {spec.get("tag")} "{spec.get("value")}"'
