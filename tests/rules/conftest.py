"""Build small Zones from one-line records, so each rule is tested without any source format.

A line is `owner [ttl] TYPE rdata` (names relative to example.com. unless they end in a dot);
record N of the text gets Where(line=N), so tests assert which record a finding points at.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from zonetool.findings import Finding, Where
from zonetool.names import Name
from zonetool.rrtypes import parse_rdata
from zonetool.rules import run_rules
from zonetool.zone import Record, Zone

ORIGIN = Name.from_text("example.com.")

# A zone that passes every rule: good SOA timers, two NS with addresses, no mail.
BASE = """
@    3600 SOA ns1 hostmaster 1 3600 900 1209600 300
@    3600 NS  ns1
@    3600 NS  ns2.example.net.
ns1  3600 A   192.0.2.53
"""


def build_zone(text: str, *, base: bool = True, origin: Name = ORIGIN, file: str = "test.zone") -> Zone:
    """Lines of `text` are numbered from 1 (blank lines count, so line numbers match the text)."""
    zone = Zone(origin, file=file)
    if base:
        for line in BASE.strip().splitlines():
            zone.add(_record(line, origin, Where(file, line=0)))
    for number, line in enumerate(text.strip("\n").splitlines(), start=1):
        if line.strip():
            zone.add(_record(line, origin, Where(file, line=number)))
    return zone


def _record(line: str, origin: Name, where: Where) -> Record:
    owner, *rest = line.split(None, 1)[0], line.split(None, 1)[1]
    fields = rest[0].split(None, 1)
    if fields[0].isdigit():
        ttl = int(fields[0])
        rtype, rdata = fields[1].split(None, 1)
    else:
        ttl = 3600
        rtype, rdata = fields[0], fields[1]
    return Record(Name.from_text(owner, origin), ttl, parse_rdata(rtype, rdata, origin), where)


class Report(list[Finding]):
    """The findings of one run, with the two questions the tests ask."""

    def codes(self) -> list[str]:
        return [f.code for f in self]

    def lines(self, code: str) -> list[int | None]:
        """Line numbers (in the test text) of the findings with `code`."""
        return [f.where.line for f in self if f.code == code]


def check(text: str, **kwargs: object) -> Report:
    return Report(run_rules(build_zone(text, **kwargs)))  # type: ignore[arg-type]


@pytest.fixture
def findings() -> Callable[..., Report]:
    """findings(text) -> every finding of every rule for BASE plus `text`."""
    return check


@pytest.fixture
def zone() -> Callable[..., Zone]:
    return build_zone
