"""`OctetType`: a registered type whose records stay RFC 3597 octets but read and print natively."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from zonetool.names import Name
from zonetool.rrtypes.base import NameOf, Rdata
from zonetool.rrtypes.generic import Generic
from zonetool.rrtypes.text import RdataError


class OctetType:
    """A type whose records stay RFC 3597 octets (`Generic`) but read and print natively.

    `parse(tokens, origin, name_of) -> octets` and `show(octets, origin) -> text` are the type's
    whole life; the table-driven types (table.py) and SVCB/HTTPS are registered this way."""

    name_fields: ClassVar[tuple[int, ...]] = ()
    host_fields: ClassVar[bool] = False
    mapping_doc: ClassVar[str | None] = None
    mapping_fields: ClassVar[dict[str, tuple[str, str]]] = {}
    mapping_required: ClassVar[tuple[str, ...]] = ()
    hint: ClassVar[str | None] = None
    long: ClassVar[bool] = True
    yaml_shapes: ClassVar[str] = "presentation text or a mapping"
    bad_code: ClassVar[str] = "bad-rdata"
    text_fields: ClassVar[int] = 1
    target_what: ClassVar[str | None] = None
    yaml_list: ClassVar[bool] = False

    def __init__(self, code: int, rtype: str, parse: Callable[[list[str], Name | None, NameOf], bytes],
                 show: Callable[[bytes, Name | None], str]) -> None:
        self.code = code
        self.rtype = rtype
        self._parse = parse
        self._show = show

    def from_text(self, tokens: list[str], origin: Name | None, name_of: NameOf | None = None) -> Rdata:
        data = self._parse(tokens, origin, name_of or (lambda token, field: Name.from_text(token, origin)))
        if len(data) > 0xFFFF:
            raise RdataError(f"{self.rtype} data is {len(data)} octets, at most 65535")
        return Generic(self.code, data)

    def text(self, data: bytes, origin: Name | None) -> str:
        """Native text of the octets; RdataError (or ValueError) when they are malformed."""
        return self._show(data, origin)

    def from_wire(self, data: bytes) -> Rdata:
        return Generic(self.code, data)

    def read(self, data: bytes, start: int, end: int) -> tuple[Rdata, int]:
        return self.from_wire(data[start:end]), end

    @classmethod
    def mapping_text(cls, spec: Mapping[str, Any]) -> str | None:
        return None

    @classmethod
    def from_yaml_text(cls, text: str) -> Rdata | None:
        return None
