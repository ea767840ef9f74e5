"""Record types: one module per type (or family of one shape), one registry keyed by `RRType`.

Importing the package imports every module in it, which registers every type. Add a type: one
module here that subclasses `Rdata` and is decorated with `@register` (docs/development.md,
"How to add a record type"); nothing else is edited.
"""

from __future__ import annotations

import importlib
import pkgutil

from zonetool.rrtypes import svcb as _svcb  # noqa: F401
from zonetool.rrtypes import table as _table  # noqa: F401  (registers the table-driven types)
from zonetool.rrtypes.address import AAAA, A
from zonetool.rrtypes.base import MappingContext, Packer, Rdata, WireError, name_wire, read_name
from zonetool.rrtypes.caa import CAA
from zonetool.rrtypes.codes import META, RRType
from zonetool.rrtypes.convert import from_wire, native_from_text, parse_rdata, rdata_text
from zonetool.rrtypes.generic import Generic
from zonetool.rrtypes.mx import MX
from zonetool.rrtypes.octets import OctetType
from zonetool.rrtypes.openpgpkey import OPENPGPKEY
from zonetool.rrtypes.registry import (
    HINT_TYPES,
    KNOWN_TYPE_KEYS,
    MAX_RDATA,
    MODELED,
    REGISTRY,
    check_length,
    is_type_key,
    rdata_length,
    register,
    rrset_order,
    spec_named,
    spec_of,
    type_code,
    type_from_text,
    type_mnemonic,
    type_name,
    unregister,
    yaml_spec,
)
from zonetool.rrtypes.smimea import SMIMEA
from zonetool.rrtypes.soa import SOA
from zonetool.rrtypes.srv import SRV
from zonetool.rrtypes.target import CNAME, NS, PTR, _Target
from zonetool.rrtypes.text import RdataError, quote, tokenize, uint, unescape
from zonetool.rrtypes.txt import TXT

for _module in pkgutil.iter_modules(__path__):  # a new type module registers itself by being here
    importlib.import_module(f"{__name__}.{_module.name}")

# the classes whose data may pass RDLENGTH's 65,535 octets (checked where a record is born)
LONG_RDATA = frozenset(cls for cls in (*MODELED.values(), Generic) if cls.long)

__all__ = [
    "AAAA",
    "CAA",
    "CNAME",
    "HINT_TYPES",
    "KNOWN_TYPE_KEYS",
    "LONG_RDATA",
    "MAX_RDATA",
    "META",
    "MODELED",
    "MX",
    "NS",
    "OPENPGPKEY",
    "PTR",
    "REGISTRY",
    "SMIMEA",
    "SOA",
    "SRV",
    "TXT",
    "A",
    "Generic",
    "MappingContext",
    "OctetType",
    "Packer",
    "RRType",
    "Rdata",
    "RdataError",
    "WireError",
    "_Target",
    "check_length",
    "from_wire",
    "is_type_key",
    "name_wire",
    "native_from_text",
    "parse_rdata",
    "quote",
    "rdata_length",
    "rdata_text",
    "read_name",
    "register",
    "rrset_order",
    "spec_named",
    "spec_of",
    "tokenize",
    "type_code",
    "type_from_text",
    "type_mnemonic",
    "type_name",
    "uint",
    "unescape",
    "unregister",
    "yaml_spec",
]  # fmt: skip
