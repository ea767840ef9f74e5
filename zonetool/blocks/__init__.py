"""The zone file's blocks, one module each, registered with `zonetool.blocks.registry.block`.

Importing the package registers the built-in blocks; `compile_zone` runs whatever is
registered. A new block is one new module here, imported below.
"""

from zonetool.blocks import dnssec, faults, mail, nameservers, origin, records, services, silence, soa
from zonetool.blocks.context import Compiler, Path, describe, key_text
from zonetool.blocks.registry import block, blocks, zone_block

__all__ = [
    "Compiler", "Path", "block", "blocks", "describe", "dnssec", "faults", "key_text", "mail", "nameservers", "origin",
    "records", "services", "silence", "soa", "zone_block",
]
