"""The rules stay linear in zone size (issue 6: 1M records), checked by counting, not timing.

Every rule reaches the zone through `zone.nodes`; counting the lookups and the items iterated
for zones of 500 and 5000 names must give the same cost per record. A rule that scanned the
zone once per record would make the larger zone ten times dearer per record.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from zonetool.names import Name
from zonetool.rrtypes import CNAME, MX, NS, SOA, SRV, TXT, A
from zonetool.rules import run_rules
from zonetool.zone import Record, Zone

ORIGIN = Name.from_text("example.com.")


class CountingDict(dict):  # type: ignore[type-arg]
    ops = 0

    def get(self, key: Any, default: Any = None) -> Any:
        CountingDict.ops += 1
        return super().get(key, default)

    def __getitem__(self, key: Any) -> Any:
        CountingDict.ops += 1
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        CountingDict.ops += 1
        return super().__contains__(key)

    def __iter__(self) -> Iterator[Any]:
        for key in super().__iter__():
            CountingDict.ops += 1
            yield key


def _zone(n: int) -> Zone:
    zone = Zone(ORIGIN)
    zone.add(Record(ORIGIN, 3600, SOA(ORIGIN.child(b"ns1"), ORIGIN, 1, 3600, 900, 1209600, 300)))
    for i in range(2):
        zone.add(Record(ORIGIN, 3600, NS(ORIGIN.child(f"ns{i}".encode()))))
        zone.add(Record(ORIGIN.child(f"ns{i}".encode()), 3600, A(f"192.0.2.{i}")))
    zone.add(Record(ORIGIN, 3600, TXT.from_value("v=spf1 mx -all")))
    zone.add(Record(ORIGIN.child(b"_dmarc"), 3600, TXT.from_value("v=DMARC1; p=none")))
    zone.add(Record(ORIGIN.child(b"sub"), 3600, NS(Name.from_text("ns.example.net."))))
    for i in range(n):
        host = ORIGIN.child(f"h{i}".encode())
        zone.add(Record(host, 300, A(f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}")))
        # many small RRsets, as big zones have (Zone.add checks repeats per RRset)
        zone.add(Record(ORIGIN.child(f"m{i}".encode()), 300, MX(10, host)))
        zone.add(Record(ORIGIN.child(f"w{i}".encode()), 300, CNAME(host)))
        zone.add(Record(Name((b"_x", b"_tcp", f"s{i}".encode(), *ORIGIN.labels)), 300, SRV(i % 7, 1, 80, host)))
        if i < 10:
            zone.add(Record(ORIGIN, 300, MX(i, host)))
    zone.nodes = CountingDict(zone.nodes)
    for name in list(zone.nodes):
        dict.__setitem__(zone.nodes, name, CountingDict(dict.__getitem__(zone.nodes, name)))
    return zone


def _cost(n: int) -> float:
    zone = _zone(n)
    records = len(zone)
    zone.ents, zone.cuts  # noqa: B018 - the zone's own indexes are built once, outside the count
    CountingDict.ops = 0
    findings = run_rules(zone)
    assert findings == []  # the zone is clean, so the count is the rules' own work
    return CountingDict.ops / records


def test_rules_cost_per_record_does_not_grow() -> None:
    small, large = _cost(500), _cost(5000)
    assert small > 0
    assert large <= small * 1.2, (small, large)
