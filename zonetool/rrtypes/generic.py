"""RFC 3597 unknown-type data: any type kept as its wire octets and written `\\# LENGTH HEX`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import dnslib

from zonetool.names import Name
from zonetool.rrtypes.base import Packer, Rdata
from zonetool.rrtypes.registry import REGISTRY, yaml_type_key
from zonetool.rrtypes.text import RdataError, tokenize, uint


@dataclass(frozen=True, slots=True)
class Generic(Rdata):
    """Any other type, kept as wire octets (RFC 3597 3, 5): passed through unchanged."""

    number: int
    data: bytes
    rtype: ClassVar[str] = "TYPE"
    code: ClassVar[int] = 0
    long: ClassVar[bool] = True

    @property
    def type_code(self) -> int:
        return self.number

    @classmethod
    def from_generic(cls, type_code: int, tokens: list[str]) -> Generic:
        """Parse RFC 3597 `\\# length hex...`."""
        if not tokens or tokens[0] != "\\#":
            raise RdataError("unknown-type data must be written as \\# LENGTH HEX (RFC 3597 5)")
        if len(tokens) < 2:
            raise RdataError("\\# needs a length")
        length = uint(tokens[1], 16, "RFC 3597 length")
        try:
            data = bytes.fromhex("".join(tokens[2:]))
        except ValueError:
            raise RdataError("RFC 3597 data is not hexadecimal") from None
        if len(data) != length:
            raise RdataError(f"RFC 3597 length says {length} octets but the data has {len(data)}")
        return cls(type_code, data)

    def to_text(self, origin: Name | None = None) -> str:
        return f"\\# {len(self.data)} {self.data.hex()}" if self.data else "\\# 0"

    def yaml_item(self, origin: Name) -> str | list[str]:
        """Native text (e.g. TLSA '3 1 1 8D02...') when it parses back to the same octets, else RFC 3597."""
        spec = REGISTRY.get(self.number)
        if spec is not None and hasattr(spec, "text") and yaml_type_key(self) == spec.rtype:
            try:
                text = spec.text(self.data, origin)
                if spec.from_text(tokenize(text), origin) == self:
                    return text
            except (RdataError, ValueError, IndexError):
                pass
        return self.to_text(origin)

    def to_dnslib(self) -> dnslib.RD:
        return dnslib.RD(self.data)

    def to_wire(self) -> bytes:
        return self.data

    def pack(self, packer: Packer) -> None:
        packer.buf += self.data

    def wire_length(self) -> int:
        return len(self.data)
