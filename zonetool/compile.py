"""The zone spec (plain mappings, lists, strings, ints) compiled into a Zone of records.

The compiler is part of the core: it knows no YAML, only the loaded data and the path of
keys/indices to each node, which it puts into every Finding and every Record's `Where`.
It never stops at the first problem: a bad item is reported and skipped, and the rest of
the zone is still compiled, so one run shows every finding. Its work is linear in the
size of the spec (one pass, no lookups across records: zone-wide checks are the rules').

The blocks themselves (`origin`, `soa`, `nameservers`, `mail`, `services`, `records`,
`silence`, `faults`) are registered compilers in `zonetool.blocks`; this module runs them.
"""

from __future__ import annotations

from datetime import date

from zonetool.blocks import Compiler, Path, blocks, describe, key_text, zone_block
from zonetool.blocks.context import DEFAULT_TTL
from zonetool.findings import Finding
from zonetool.zone import Zone

__all__ = ["DEFAULT_TTL", "Compiler", "Path", "compile_zone", "describe", "key_text"]


def compile_zone(data: object, file: str | None = None, today: date | None = None) -> tuple[Zone | None, list[Finding]]:
    """Compile a loaded spec; the Zone is None only when there is no usable origin."""
    c = Compiler(file, today)
    spec = c.mapping(data, zone_block(), ())
    if spec is None:
        return None, c.findings
    for b in blocks():
        b.compile(c, spec)
        if c.stopped:
            return None, c.findings
    zone = Zone(c.origin, file)
    if c.soa is not None:
        zone.add(c.soa)
        zone.auto_serial = c.auto_serial
    zone.extend(c.records)
    zone.silence = c.silence
    zone.faults_spec = c.faults_spec
    zone.dnssec = c.dnssec
    zone.mta_sts = c.mta_sts
    return zone, c.findings
