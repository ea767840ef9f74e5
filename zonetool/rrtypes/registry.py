"""The one table of record types, keyed by type code (`RRType`), and the look-ups everyone uses.

A type module registers its class (or an `OctetType`) with `@register`; nothing else in
zonetool lists types. Codes without an entry are RFC 3597 data (`Generic`) only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Protocol

from zonetool.names import Name
from zonetool.rrtypes.base import NameOf, Rdata
from zonetool.rrtypes.codes import BY_NAME, META, RRType
from zonetool.rrtypes.text import RdataError


class RRTypeSpec(Protocol):
    """What a registered type offers: an `Rdata` subclass or an `OctetType`."""

    code: int
    rtype: str
    name_fields: tuple[int, ...]
    host_fields: bool
    mapping_doc: str | None
    mapping_fields: dict[str, tuple[str, str]]
    mapping_required: tuple[str, ...]
    hint: str | None
    long: bool

    def from_text(self, tokens: list[str], origin: Name | None, name_of: NameOf | None = None) -> Rdata: ...

    def from_wire(self, data: bytes) -> Rdata: ...

    def read(self, data: bytes, start: int, end: int) -> tuple[Rdata, int]: ...


REGISTRY: dict[int, Any] = {}  # RRType (or a private code) -> its RRTypeSpec
_CODES: dict[str, int] = dict(BY_NAME)  # mnemonic -> code, registered types included
_NAMES: dict[int, str] = {int(t): t.name for t in RRType}
MODELED: dict[str, type[Rdata]] = {}  # mnemonic -> class, for the types that are classes
# The types a hint names for an unknown type key ("known keys: A, AAAA, ..."); every registered one is accepted.
HINT_TYPES = ("A", "AAAA", "CNAME", "MX", "SRV", "TXT", "NS", "PTR", "CAA")


def register(spec: Any) -> Any:
    """Add a type (class decorator, or called with an OctetType); the last registration wins."""
    REGISTRY[spec.code] = spec
    _CODES[spec.rtype] = spec.code
    _NAMES[spec.code] = spec.rtype
    if isinstance(spec, type):
        MODELED[spec.rtype] = spec
    _forget()
    return spec


def unregister(code: int) -> None:
    """Undo a registration (tests that register a toy type)."""
    spec = REGISTRY.pop(code)
    MODELED.pop(spec.rtype, None)
    if code in _NAMES and spec.rtype not in BY_NAME:
        del _NAMES[code], _CODES[spec.rtype]
    _forget()


def spec_of(code: int) -> Any | None:
    return REGISTRY.get(code)


def spec_named(mnemonic: str) -> Any | None:
    code = _CODES.get(mnemonic.upper())
    return None if code is None else REGISTRY.get(code)


# Caches of the YAML compiler's look-ups by type key, emptied whenever a type is (un)registered.
KNOWN_TYPE_KEYS: dict[str, bool] = {}  # "MX" -> True, "FOO" -> False
YAML_SPECS: dict[str, Any] = {}  # "MX" -> its spec; a key without one -> the `Rdata` defaults


def _forget() -> None:
    KNOWN_TYPE_KEYS.clear()
    YAML_SPECS.clear()


def is_type_key(rtype: str) -> bool:
    """Is `rtype` a type the YAML format accepts (a mnemonic we know, or TYPEnnn)?"""
    known = KNOWN_TYPE_KEYS.get(rtype)
    if known is None:
        try:
            type_code(rtype)
            known = True
        except RdataError:
            known = False
        KNOWN_TYPE_KEYS[rtype] = known
    return known


def yaml_spec(rtype: str) -> Any:
    """The spec of a known type key (`Rdata` itself, whose hooks are the defaults, for one without)."""
    spec = YAML_SPECS.get(rtype)
    if spec is None:
        try:
            spec = REGISTRY.get(type_code(rtype)) or Rdata
        except RdataError:
            spec = Rdata
        YAML_SPECS[rtype] = spec
    return spec


def type_code(name: str) -> int:
    """Type mnemonic or TYPEnnn (RFC 3597 5) to its number; RdataError if neither."""
    upper = name.upper()
    code = _CODES.get(upper)
    if code is not None:
        return code
    if upper.startswith("TYPE") and upper[4:].isdigit():
        value = int(upper[4:])
        if value > 0xFFFF:
            raise RdataError(f"type number must be 0..65535, got {value}")
        return value
    raise RdataError(f"unknown record type {name!r}")


def type_name(code: int) -> str:
    """The mnemonic of a code (query types included), else TYPEnnn."""
    return _NAMES.get(code) or f"TYPE{code}"


def type_mnemonic(code: int) -> str:
    """The name BIND prints for a record type: a mnemonic when we can print its native text, else TYPEnnn."""
    spec = REGISTRY.get(code)
    return spec.rtype if spec is not None else f"TYPE{code}"


def type_from_text(token: str) -> int | None:
    """A master file's type token (never a query-only type), or None."""
    upper = token.upper()
    code = _CODES.get(upper)
    if code is not None:
        return None if code in META else code
    if upper.startswith("TYPE") and upper[4:].isdigit():
        value = int(upper[4:])
        return value if value <= 0xFFFF else None
    return None


_YAML_TYPE_KEY = re.compile(r"^(?:[A-Z][A-Z0-9]*|TYPE[0-9]+)$")


def yaml_type_key(rdata: Rdata) -> str:
    """The key a YAML zone writes the type under: its mnemonic when that reads back as this type, else TYPEnnn."""
    code = rdata.type_code
    mnemonic = type_mnemonic(code)
    if _YAML_TYPE_KEY.match(mnemonic) and _CODES.get(mnemonic) == code:
        return mnemonic
    return f"TYPE{code}"


def _order_key(record: Any) -> Any:
    return record.rdata.order_key()


def rrset_order(code: int) -> Callable[[Any], object]:
    """Sort key of records within an RRset (each type's `order_key`: MX by preference, SRV by priority...)."""
    return _order_key


# RFC 1035 3.2.1: RDLENGTH is 16 bits, and 4.2.2: a TCP message is at most 65,535 octets.
MAX_RDATA = 0xFFFF


def check_length(rdata: Rdata) -> None:
    """Refuse RDATA that no DNS message can carry (RdataError), where the record is born.

    Only types marked `long` (TXT, CAA, RFC 3597 data) can be that long (names stop at 255
    octets), so the other types, most of a big zone, cost one attribute look-up."""
    if not rdata.long:
        return
    size = rdata.wire_length()
    if size > MAX_RDATA:
        raise RdataError(f"the record data is {size:,} octets; RDLENGTH allows at most {MAX_RDATA:,} "
                         "(RFC 1035 3.2.1)")


def rdata_length(rdata: Rdata) -> int:
    """Octets of a record's RDATA on the wire, names uncompressed (an upper bound when packed)."""
    return rdata.wire_length()
