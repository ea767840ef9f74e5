"""TXT (RFC 1035 3.3.14): one or more character-strings of at most 255 octets each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import dnslib

from zonetool.names import Name
from zonetool.rrtypes.base import MappingContext, NameOf, Packer, Path, Rdata
from zonetool.rrtypes.generic import Generic
from zonetool.rrtypes.registry import register
from zonetool.rrtypes.text import RdataError, quote, unescape


def string(token: str) -> bytes:
    """A character-string token's octets; the common case (no escapes) without a per-character loop."""
    if "\\" not in token:
        if len(token) >= 2 and token[0] == '"' and token[-1] == '"':
            token = token[1:-1]
        return token.encode("utf-8")
    return unescape(token)


@register
@dataclass(frozen=True, slots=True)
class TXT(Rdata):
    strings: tuple[bytes, ...]
    rtype: ClassVar[str] = "TXT"
    code: ClassVar[int] = 16
    hint: ClassVar[str | None] = 'TXT: "v=spf1 mx -all"'
    long: ClassVar[bool] = True
    yaml_shapes: ClassVar[str] = "text, a list of strings or a mapping"
    yaml_list: ClassVar[bool] = True

    def __post_init__(self) -> None:
        for s in self.strings:
            if len(s) > 255:
                raise RdataError(f"TXT character-string is {len(s)} octets, at most 255 (RFC 1035 3.3)")

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None, name_of: NameOf | None = None) -> TXT:
        if not tokens:
            raise RdataError("TXT needs at least one string")
        return cls(tuple(string(t) for t in tokens))

    @classmethod
    def from_yaml_text(cls, text: str) -> TXT | None:
        """A YAML string is ONE logical text, split at 255 octets (RFC 3597 form aside)."""
        return None if text.startswith("\\#") else cls.from_value(text)

    @classmethod
    def from_yaml_list(cls, c: MappingContext, value: list[Any], path: Path) -> Rdata | None:
        """A list inside TXT: one record of several character-strings (each at most 255 octets)."""
        strings: list[bytes] = []
        for i, s in enumerate(value):
            if isinstance(s, int) and not isinstance(s, bool):
                s = str(s)
            if not isinstance(s, str):
                c.wrong_type("text", s, (*path, i))
                return None
            data = s.encode("utf-8")
            if len(data) > 255:
                c.error("bad-rdata", f"TXT character-string is {len(data)} octets, at most 255 (RFC 1035 3.3)",
                        (*path, i), hint="write the text as one string (not in an inner list) to have it split "
                        "automatically")
                return None
            strings.append(data)
        if not strings:
            c.error("bad-rdata", "TXT needs at least one string", path)
            return None
        return cls(tuple(strings))

    @classmethod
    def from_value(cls, text: str | bytes) -> TXT:
        """One logical text, split into 255-octet character-strings (RFC 7208 3.3)."""
        data = text.encode("utf-8") if isinstance(text, str) else text
        pieces = tuple(data[i : i + 255] for i in range(0, len(data), 255)) or (b"",)
        return cls(pieces)

    def joined(self) -> bytes:
        return b"".join(self.strings)

    def to_text(self, origin: Name | None = None) -> str:
        return " ".join(quote(s) for s in self.strings)

    def yaml_item(self, origin: Name) -> str | list[str]:
        """A string when the compiler's 255-octet split gives it back, else a list, else RFC 3597."""
        joined = self.joined()
        try:
            whole = joined.decode("utf-8")
            parts = [s.decode("utf-8") for s in self.strings]
        except UnicodeDecodeError:
            return Generic(self.code, self.to_wire()).to_text()
        if TXT.from_value(joined).strings == self.strings and not whole.startswith("\\#"):
            return whole
        return parts

    @classmethod
    def from_dnslib(cls, rd: dnslib.RD) -> TXT:
        return cls(tuple(bytes(s) for s in rd.data))

    def to_dnslib(self) -> dnslib.RD:
        return dnslib.TXT(list(self.strings))

    def pack(self, packer: Packer) -> None:
        buf = packer.buf
        for s in self.strings:
            buf.append(len(s))
            buf += s

    def wire_length(self) -> int:
        return sum(map(len, self.strings)) + len(self.strings)
