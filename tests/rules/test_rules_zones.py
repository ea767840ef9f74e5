"""The bundled zones are the examples people copy: every rule passes on them, warnings included."""

from __future__ import annotations

from pathlib import Path

import pytest

from zonetool import loader

ZONES = sorted((Path(__file__).resolve().parents[2] / "zones").glob("*.yaml"))


@pytest.mark.parametrize("path", ZONES, ids=[p.name for p in ZONES])
def test_bundled_zone_has_no_findings(path: Path) -> None:
    zone, findings = loader.load_file(path)
    assert zone is not None
    assert [f.format() for f in findings if f.silenced is None] == []


def test_bundled_zones_exercise_the_mail_rules() -> None:
    """Between them the zones hold MX, SRV and a null MX, so the rules above were really tried."""
    kinds = set()
    for path in ZONES:
        zone, _ = loader.load_file(path)
        assert zone is not None
        for r in zone.records():
            if r.rtype == "MX":
                kinds.add("null-mx" if r.rdata.targets() == () else "mx")
            elif r.rtype == "SRV":
                kinds.add("srv")
    assert {"mx", "null-mx", "srv"} <= kinds
