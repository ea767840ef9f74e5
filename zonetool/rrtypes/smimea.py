"""SMIMEA (RFC 8162): a certificate association for an e-mail address, TLSA's fields (RFC 6698 2.1).

Native in YAML as text ("3 0 1 ABCD...") or as a mapping {usage, selector, matching_type,
certificate}; the data is hexadecimal in text (RFC 6698 2.2) and raw octets on the wire.
dnslib has no SMIMEA class, so the wire form is written here.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from zonetool.names import Name
from zonetool.rrtypes.base import MappingContext, NameOf, Path, Rdata
from zonetool.rrtypes.registry import register
from zonetool.rrtypes.text import RdataError, check_uint, uint

_FIELDS = ("usage", "selector", "matching_type")


@register
@dataclass(frozen=True, slots=True)
class SMIMEA(Rdata):
    usage: int  # RFC 6698 2.1.1: 0 PKIX-TA, 1 PKIX-EE, 2 DANE-TA, 3 DANE-EE
    selector: int  # 2.1.2: 0 full certificate, 1 SubjectPublicKeyInfo
    matching_type: int  # 2.1.3: 0 exact, 1 SHA-256, 2 SHA-512
    certificate: bytes
    rtype: ClassVar[str] = "SMIMEA"
    code: ClassVar[int] = 53
    mapping_doc: ClassVar[str | None] = "SMIMEA item (RFC 8162)."
    mapping_fields: ClassVar[dict[str, tuple[str, str]]] = {
        "usage": ("u8", "certificate usage (RFC 6698 2.1.1: 0-3)"),
        "selector": ("u8", "0 = whole certificate, 1 = SubjectPublicKeyInfo"),
        "matching_type": ("u8", "0 = exact, 1 = SHA-256, 2 = SHA-512"),
        "certificate": ("string", "certificate association data in hexadecimal"),
    }
    mapping_required: ClassVar[tuple[str, ...]] = ("usage", "selector", "matching_type", "certificate")
    hint: ClassVar[str | None] = "SMIMEA: '3 1 1 <hex>' or {usage: 3, selector: 1, matching_type: 1, certificate: ...}"
    long: ClassVar[bool] = True

    def __post_init__(self) -> None:
        for field in _FIELDS:
            check_uint(getattr(self, field), 8, f"SMIMEA {field}")
        if not self.certificate:
            raise RdataError("SMIMEA has no certificate association data")

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None, name_of: NameOf | None = None) -> SMIMEA:
        if len(tokens) < 4:
            raise RdataError(f"SMIMEA takes usage, selector, matching type and hex data, got {len(tokens)} fields")
        usage, selector, mtype = (uint(t, 8, f"SMIMEA {f}") for t, f in zip(tokens, _FIELDS, strict=False))
        return cls(usage, selector, mtype, _unhex("".join(tokens[3:])))

    def to_text(self, origin: Name | None = None) -> str:
        return f"{self.usage} {self.selector} {self.matching_type} {self.certificate.hex().upper()}"

    @classmethod
    def from_wire(cls, data: bytes) -> SMIMEA:
        if len(data) < 4:
            raise RdataError("SMIMEA wire data is truncated")
        return cls(data[0], data[1], data[2], bytes(data[3:]))

    def to_wire(self) -> bytes:
        return bytes((self.usage, self.selector, self.matching_type)) + self.certificate

    def wire_length(self) -> int:
        return 3 + len(self.certificate)

    @classmethod
    def from_mapping(cls, c: MappingContext, spec: Mapping[str, Any], path: Path) -> Rdata | None:
        if any(k not in spec for k in cls.mapping_required):
            return None
        nums = [c.integer(spec[k], (*path, k), f"SMIMEA {k}", 255) for k in _FIELDS]
        data = spec["certificate"]
        if not isinstance(data, str):
            c.wrong_type("hexadecimal text", data, (*path, "certificate"))
            return None
        if None in nums:
            return None
        try:
            return cls(nums[0], nums[1], nums[2], _unhex(data.replace(" ", "")))  # type: ignore[arg-type]
        except RdataError as exc:
            c.error("bad-rdata", str(exc), (*path, "certificate"))
            return None

    @classmethod
    def mapping_text(cls, spec: Mapping[str, Any]) -> str | None:
        return " ".join(str(spec.get(k)) for k in cls.mapping_required)

    def to_mapping(self, origin: Name) -> dict[str, Any] | None:
        return {"usage": self.usage, "selector": self.selector, "matching_type": self.matching_type,
                "certificate": self.certificate.hex().upper()}


def _unhex(text: str) -> bytes:
    try:
        return binascii.unhexlify(text)
    except (binascii.Error, ValueError):
        raise RdataError(f"SMIMEA data is not hexadecimal: {text!r}") from None
