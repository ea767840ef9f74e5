"""The zone file's blocks are registered compilers: the registry is the only list of them (issue 15, item 2)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from zonetool.blocks import Compiler
from zonetool.blocks.registry import block, blocks, unregister, zone_block
from zonetool.compile import compile_zone
from zonetool.rrtypes import TXT
from zonetool.schema import BLOCKS

BUILT_IN_RUN_ORDER = ["origin", "nameservers", "mail", "services", "records", "soa", "silence", "faults", "dnssec"]
ZONE_KEYS = ["origin", "ttl", "soa", "nameservers", "mail", "services", "records", "silence", "faults", "dnssec"]


@pytest.fixture
def toy() -> Iterator[list[int]]:
    """A `motto:` block, registered here only: it publishes its text as a TXT record at the apex."""
    seen_before: list[int] = []

    @block("motto", keys={"motto": ("string", "a TXT record at the apex")}, order=45, position=65)
    def compile_motto(c: Compiler, spec: Mapping[str, Any]) -> None:
        seen_before.append(len(c.records))  # order 45: after records (40), before soa (50)
        if "motto" not in spec:
            return
        if not isinstance(spec["motto"], str):
            c.wrong_type("text", spec["motto"], ("motto",))
            return
        c.add(c.origin, c.ttl, TXT.from_value(spec["motto"]), ("motto",), "motto")

    yield seen_before
    unregister("motto")


def test_a_toy_block_compiles_into_records_without_touching_another_module(toy: list[int]) -> None:
    zone, findings = compile_zone({"origin": "toy.example", "nameservers": ["ns1"], "ttl": 300,
                                   "records": {"www": {"A": "192.0.2.1"}}, "motto": "hello"})
    assert findings == []
    assert zone is not None
    made = [r for r in zone.records() if r.origin == "motto"]
    assert [(r.owner.to_text(), r.ttl, r.rdata.to_text()) for r in made] == [("toy.example.", 300, '"hello"')]
    assert made[0].where.path == ("motto",)
    assert toy == [2]  # it ran after nameservers and records had added theirs
    assert "motto" in zone_block().keys


def test_a_toy_block_reports_through_the_context(toy: list[int]) -> None:
    _, findings = compile_zone({"origin": "toy.example", "nameservers": ["ns1"], "motto": 5})
    assert [(f.code, f.where.path) for f in findings] == [("wrong-type", ("motto",))]


def test_without_the_registration_the_key_is_unknown() -> None:
    _, findings = compile_zone({"origin": "toy.example", "nameservers": ["ns1"], "motto": "hello"})
    assert [(f.code, f.where.path) for f in findings] == [("unknown-key", ("motto",))]


def test_the_blocks_run_in_their_order() -> None:
    assert [b.name for b in blocks()] == BUILT_IN_RUN_ORDER


def test_soa_runs_after_records_so_an_apex_ns_there_is_the_default_primary() -> None:
    zone, findings = compile_zone({"origin": "o.example", "records": {"@": {"NS": "ns9.elsewhere.example."}}})
    assert findings == []
    assert zone is not None and zone.soa is not None
    assert zone.soa.mname.to_text() == "ns9.elsewhere.example."


def test_no_origin_stops_before_any_other_block() -> None:
    zone, findings = compile_zone({"nameservers": [5], "records": "nope"})
    assert zone is None
    assert [(f.code, f.where.path) for f in findings] == [("missing-key", ())]


def test_unknown_block_keys_are_reported_as_before() -> None:
    _, findings = compile_zone({"origin": "o.example", "nameservers": ["ns1"], "recrods": {}, "zzz": 1})
    by_path = {f.where.path: f for f in findings}
    assert set(by_path) == {("recrods",), ("zzz",)}
    assert by_path[("recrods",)].message == "unknown key `recrods` in the zone"
    assert by_path[("recrods",)].hint == "did you mean `records`?"
    assert by_path[("zzz",)].hint == "known keys: " + ", ".join(ZONE_KEYS)


def test_the_zone_key_table_is_the_schema_one() -> None:
    """The JSON Schema's top level describes exactly the registered blocks' keys."""
    table = zone_block()
    assert list(table.keys) == ZONE_KEYS
    assert table.keys == BLOCKS["zone"].keys
    assert table.required == BLOCKS["zone"].required == ("origin",)


def test_a_key_belongs_to_one_block() -> None:
    with pytest.raises(ValueError, match="belong to another block"):
        block("other", keys={"records": ("records", "twice")}, order=99, position=99)(lambda c, spec: None)
    assert [b.name for b in blocks()] == BUILT_IN_RUN_ORDER
