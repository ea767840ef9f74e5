"""OPENPGPKEY (RFC 7929): an OpenPGP transferable public key, base64 in text, raw on the wire.

Native in YAML as text (the base64, split anywhere) or as a mapping {key: BASE64}.
dnslib has no OPENPGPKEY class, so the wire form (the key octets themselves) is written here.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from zonetool.names import Name
from zonetool.rrtypes.base import MappingContext, NameOf, Path, Rdata
from zonetool.rrtypes.registry import register
from zonetool.rrtypes.text import RdataError


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RdataError("OPENPGPKEY data is not base64") from None


@register
@dataclass(frozen=True, slots=True)
class OPENPGPKEY(Rdata):
    key: bytes
    rtype: ClassVar[str] = "OPENPGPKEY"
    code: ClassVar[int] = 61
    mapping_doc: ClassVar[str | None] = "OPENPGPKEY item (RFC 7929)."
    mapping_fields: ClassVar[dict[str, tuple[str, str]]] = {
        "key": ("string", "the OpenPGP public key in base64 (RFC 7929 2.3)"),
    }
    mapping_required: ClassVar[tuple[str, ...]] = ("key",)
    hint: ClassVar[str | None] = "OPENPGPKEY: <base64 key> or {key: <base64 key>}"
    long: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if not self.key:
            raise RdataError("OPENPGPKEY has no key")

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None, name_of: NameOf | None = None) -> OPENPGPKEY:
        if not tokens:
            raise RdataError("OPENPGPKEY needs base64 data")
        return cls(_b64("".join(tokens)))  # RFC 7929 2.3: white space may split the base64

    def to_text(self, origin: Name | None = None) -> str:
        return base64.b64encode(self.key).decode("ascii")

    @classmethod
    def from_wire(cls, data: bytes) -> OPENPGPKEY:
        if not data:
            raise RdataError("OPENPGPKEY has no data")
        return cls(bytes(data))

    def to_wire(self) -> bytes:
        return self.key

    def wire_length(self) -> int:
        return len(self.key)

    @classmethod
    def from_mapping(cls, c: MappingContext, spec: Mapping[str, Any], path: Path) -> Rdata | None:
        if "key" not in spec:
            return None
        value = spec["key"]
        if not isinstance(value, str):
            c.wrong_type("base64 text", value, (*path, "key"))
            return None
        try:
            return cls(_b64("".join(value.split())))
        except RdataError as exc:
            c.error("bad-rdata", str(exc), (*path, "key"))
            return None

    @classmethod
    def mapping_text(cls, spec: Mapping[str, Any]) -> str | None:
        return str(spec.get("key"))

    def to_mapping(self, origin: Name) -> dict[str, Any] | None:
        return {"key": self.to_text()}
