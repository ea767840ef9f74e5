"""Text and wire octets to rdata of any type, and rdata to the text BIND reads: through the registry."""

from __future__ import annotations

from zonetool.names import Name
from zonetool.rrtypes.base import NameOf, Rdata
from zonetool.rrtypes.generic import Generic
from zonetool.rrtypes.registry import REGISTRY, type_code
from zonetool.rrtypes.text import RdataError, tokenize


def parse_rdata(rtype: str, text: str | list[str], origin: Name | None, name_of: NameOf | None = None) -> Rdata:
    """Build rdata of `rtype` from presentation text (or tokens): native, or RFC 3597 for any type."""
    tokens = tokenize(text) if isinstance(text, str) else text
    code = type_code(rtype)
    spec = REGISTRY.get(code)
    if tokens and tokens[0] == "\\#":
        generic = Generic.from_generic(code, tokens)
        return spec.from_wire(generic.data) if spec is not None else generic
    if spec is None:
        raise RdataError(
            f"type {rtype} is passed through only in RFC 3597 form (\\# LENGTH HEX); "
            f"native {rtype} syntax is not supported"
        )
    return spec.from_text(tokens, origin, name_of)


def from_wire(code: int, data: bytes) -> Rdata:
    """Uncompressed wire octets of any type to its rdata (`Generic` when the type has no entry)."""
    spec = REGISTRY.get(code)
    return Generic(code, data) if spec is None else spec.from_wire(data)


def rdata_text(rdata: Rdata, origin: Name | None) -> tuple[str, str]:
    """(type mnemonic, rdata text) as BIND reads them back to the same octets."""
    if isinstance(rdata, Generic):
        code = rdata.number
        spec = REGISTRY.get(code)
        if spec is not None and hasattr(spec, "text"):
            try:
                return spec.rtype, spec.text(rdata.data, origin)
            except (RdataError, ValueError, IndexError):
                pass
        return f"TYPE{code}", rdata.to_text(origin)
    return rdata.rtype, rdata.to_text(origin)


def native_from_text(code: int, tokens: list[str], origin: Name | None) -> Rdata | None:
    """Native text of a registered type; None when the type has no native form."""
    spec = REGISTRY.get(code)
    return None if spec is None else spec.from_text(tokens, origin)
