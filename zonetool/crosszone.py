"""The rules that read other zones, run again once every zone of one validation is loaded (issue 12).

A zone is judged on its own while it loads (`loader.judge`): an SPF include of another domain
then counts as one lookup, a DMARC report domain is not ours to check. When several zones are
validated together, the `cross_zone` rules run again for each zone that names another one, with
the others as `peers`, and their findings replace that zone's first ones. This is an edge (it
re-reads a YAML file to place what it found), called from `loader.load_paths`.
"""

from __future__ import annotations

import re
from pathlib import Path

from zonetool.findings import Finding
from zonetool.names import Name, NameError_
from zonetool.rrtypes import RRType
from zonetool.rules import RULES, apply_silence, run_rules
from zonetool.rules.base import Peers
from zonetool.zone import Zone

TXT_CODE, TLSA_CODE = int(RRType.TXT), int(RRType.TLSA)
_DOMAIN = re.compile(rb"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+")


def refine(zones: list[Zone], findings: list[Finding]) -> list[Finding]:
    """`findings` with each cross-zone rule's findings for a zone that names another one redone
    with the other zones as peers (the same list when fewer than two zones are loaded)."""
    if len(zones) < 2:
        return findings
    cross = [code for code, r in RULES.items() if r.cross_zone]
    everyone = Peers(zones)  # one set for all zones: its indexes are built once
    redone: dict[str | None, list[Finding]] = {}
    for zone in zones:
        if not _names_a_peer(zone, everyone):
            continue
        found = apply_silence(run_rules(zone, only=cross, peers=everyone), zone.silence)
        redone[zone.file] = _place(found, zone)
    if not redone:
        return findings
    codes = set(cross)
    kept = [f for f in findings if not (f.where.file in redone and f.code in codes)]
    return kept + [f for found in redone.values() for f in found]


def _names_a_peer(zone: Zone, everyone: Peers) -> bool:
    """Cheap test: a TXT record of the zone mentions a name in another zone, or the zone has TLSA
    (whose exchanger's MX may sit in another zone). Zones that fail it would get the same findings."""
    for node in zone.nodes.values():
        if TLSA_CODE in node:
            return True
        rrset = node.get(TXT_CODE)
        if rrset is None:
            continue
        for r in rrset.records:
            for m in _DOMAIN.finditer(b"".join(getattr(r.rdata, "strings", ()))):
                if _in_peer(m.group(), zone, everyone):
                    return True
    return False


def _in_peer(text: bytes, zone: Zone, everyone: Peers) -> bool:
    try:
        labels = Name.from_text(text.decode("ascii", "replace").rstrip(".") + ".").labels
    except NameError_:
        return False
    for i in range(len(labels)):
        found = everyone.get(Name(labels[i:]))
        if found is not None:
            return found is not zone
    return False


def _place(found: list[Finding], zone: Zone) -> list[Finding]:
    """Line and column for findings of a YAML zone (BIND records carry theirs already)."""
    file = zone.file
    if not found or file is None or not file.endswith((".yaml", ".yml")):
        return found
    from zonetool.source import yaml as yaml_source

    try:
        text = yaml_source.decode(Path(file).read_bytes(), file)
    except (OSError, yaml_source.YamlSyntax):
        return found
    return yaml_source.locate(found, text, file)
