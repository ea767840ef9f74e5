"""The registry is the only list of record types (issue 15 item 1).

A toy type defined and registered here, in the test only, goes through every edge: the BIND
reader, the YAML compiler (text and mapping form), the BIND writer and `export`, `import`,
and the server's wire answers. And no module outside `zonetool/rrtypes/` holds a table of types.
"""

from __future__ import annotations

import ast
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import dns.message
import dns.query
import dns.rdatatype
import pytest
import yaml
from typer.testing import CliRunner

from zonetool.cli import app
from zonetool.loader import load_text
from zonetool.names import Name
from zonetool.rrtypes import (
    REGISTRY,
    MappingContext,
    Packer,
    Rdata,
    RdataError,
    RRType,
    register,
    unregister,
)
from zonetool.rrtypes.base import NameOf, default_name_of, read_name
from zonetool.rrtypes.base import Path as SpecPath
from zonetool.rrtypes.codes import BY_NAME
from zonetool.rrtypes.text import arity, check_uint, name_text, uint
from zonetool.source.bind import read_zone, write_zone
from zonetool.source.yaml_emit import zone_to_yaml
from zonetool.testing import DNSTestServer

TOY_CODE = 65280  # RFC 6895 3.1: private use


@dataclass(frozen=True, slots=True)
class TOY(Rdata):
    """weight (u16) and a host name, uncompressed on the wire: the shape of a small real type."""

    weight: int
    host: Name
    rtype: ClassVar[str] = "TOY"
    code: ClassVar[int] = TOY_CODE
    name_fields: ClassVar[tuple[int, ...]] = (1,)
    mapping_fields: ClassVar[dict[str, tuple[str, str]]] = {"weight": ("u16", "weight"), "host": ("name", "host")}
    mapping_required: ClassVar[tuple[str, ...]] = ("weight", "host")

    def __post_init__(self) -> None:
        check_uint(self.weight, 16, "TOY weight")

    @classmethod
    def from_text(cls, tokens: list[str], origin: Name | None, name_of: NameOf | None = None) -> TOY:
        arity(tokens, 2, "TOY", "weight host")
        return cls(uint(tokens[0], 16, "TOY weight"), (name_of or default_name_of(origin))(tokens[1], "TOY host"))

    def to_text(self, origin: Name | None = None) -> str:
        return f"{self.weight} {name_text(self.host, origin)}"

    @classmethod
    def from_wire(cls, data: bytes) -> TOY:
        if len(data) < 3:
            raise RdataError("TOY wire data is truncated")
        host, end = read_name(data, 2, pointers=False)
        if end != len(data):
            raise RdataError("TOY wire data has stray octets")
        return cls(struct.unpack_from("!H", data)[0], host)

    def to_wire(self) -> bytes:
        return struct.pack("!H", self.weight) + b"".join(bytes((len(x),)) + x for x in self.host.labels) + b"\0"

    def pack(self, packer: Packer) -> None:
        packer.buf += struct.pack("!H", self.weight)
        packer.name(self.host, compress=False)

    @classmethod
    def from_mapping(cls, c: MappingContext, spec: Mapping[str, Any], path: SpecPath) -> Rdata | None:
        weight = c.integer(spec["weight"], (*path, "weight"), "TOY weight", 65535)
        host = c.host(spec["host"], (*path, "host"), "TOY host")
        return cls(weight, host) if weight is not None and host is not None else None

    @classmethod
    def mapping_text(cls, spec: Mapping[str, Any]) -> str | None:
        return f"{spec.get('weight')} {spec.get('host')}"

    def to_mapping(self, origin: Name) -> dict[str, Any] | None:
        return {"weight": self.weight, "host": self.host}


@pytest.fixture
def toy() -> Iterator[type[TOY]]:
    register(TOY)
    try:
        yield TOY
    finally:
        unregister(TOY_CODE)


ORIGIN = Name.from_text("toy.example.")
BIND = """\
$ORIGIN toy.example.
$TTL 3600
@    IN SOA ns1 hostmaster 1 3600 900 604800 300
@    IN NS  ns1
ns1  IN A   192.0.2.53
svc  IN TOY 7 target
svc  IN TOY 3 other.example.
"""
YAML = """\
origin: toy.example
soa: {primary: ns1, contact: hostmaster@toy.example, serial: 1}
nameservers: [ns1]
records:
  ns1: {A: 192.0.2.53}
  svc:
    TOY:
      - 7 target
      - {weight: 3, host: other.example.}
"""
EXPECTED = {TOY(7, Name.from_text("target.toy.example.")), TOY(3, Name.from_text("other.example."))}


def _toys(zone: Any) -> set[Rdata]:
    rrset = zone.rrset(Name.from_text("svc.toy.example."), TOY_CODE)
    return {r.rdata for r in rrset.records}


def test_toy_type_is_read_from_bind_and_written_back(toy: type[TOY]) -> None:
    zone = read_zone(BIND, ORIGIN, "toy.zone")
    assert _toys(zone) == EXPECTED
    text = write_zone(zone)
    assert "IN TOY 3 other.example." in text and "IN TOY 7 target" in text
    assert _toys(read_zone(text, ORIGIN, "again.zone")) == EXPECTED
    with pytest.raises(ValueError, match=r"TOY weight must be 0\.\.65535"):
        read_zone(BIND.replace("TOY 7", "TOY 70000"), ORIGIN, "bad.zone")


def test_toy_type_compiles_from_yaml_text_and_mapping(toy: type[TOY]) -> None:
    zone, findings = load_text(YAML, "toy.yaml")
    assert zone is not None, [f.format() for f in findings]
    assert _toys(zone) == EXPECTED
    _, bad = load_text(YAML.replace("weight: 3", "weight: 70000"), "bad.yaml")
    assert any(f.code == "out-of-range" and ".weight must be 0..65535" in f.message for f in bad), bad


def test_toy_type_exported_and_imported(toy: type[TOY], tmp_path: Path) -> None:
    runner = CliRunner()
    src = tmp_path / "toy.yaml"
    src.write_text(YAML)
    out = tmp_path / "toy.zone"
    result = runner.invoke(app, ["export", str(src), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert _toys(read_zone(out.read_text(), ORIGIN, "toy.zone")) == EXPECTED
    back = tmp_path / "back.yaml"
    result = runner.invoke(app, ["import", str(out), "-o", str(back)])
    assert result.exit_code == 0, result.output
    assert "TOY:" in back.read_text()
    zone, findings = load_text(back.read_text(), "back.yaml")
    assert zone is not None and _toys(zone) == EXPECTED, [f.format() for f in findings]
    # an RRset with two TTLs goes out in the type's own mapping form, and compiles back
    mixed = read_zone(BIND.replace("svc  IN TOY 3", "svc  60 IN TOY 3"), ORIGIN, "mixed.zone")
    emitted = zone_to_yaml(mixed)
    assert "{weight: 3, host: other.example., ttl: 1m}" in emitted, emitted
    again, findings = load_text(emitted, "mixed.yaml")
    assert again is not None and _toys(again) == EXPECTED, [f.format() for f in findings]


def test_toy_type_served_over_the_wire(toy: type[TOY]) -> None:
    with DNSTestServer() as server:
        server.load(yaml.safe_load(YAML))
        for tcp in (False, True):
            q = dns.message.make_query("svc.toy.example.", TOY_CODE)
            ask = dns.query.tcp if tcp else dns.query.udp
            reply = ask(q, server.host, port=server.port, timeout=3)
            (rrset,) = reply.answer
            assert rrset.rdtype == TOY_CODE
            assert {r.to_wire() for r in rrset} == {t.to_wire() for t in EXPECTED}


def test_unregistered_toy_is_unknown_again(toy: type[TOY]) -> None:
    assert REGISTRY[TOY_CODE] is TOY
    unregister(TOY_CODE)
    try:
        _, findings = load_text(YAML, "toy.yaml")
        assert any(f.code == "unknown-key" for f in findings)
    finally:
        register(TOY)


# ---------------------------------------------------------------------------
# the registry is the only list: no module outside rrtypes/ holds a table of types
# ---------------------------------------------------------------------------
PACKAGE = Path(__file__).resolve().parent.parent / "zonetool"
MNEMONICS = set(BY_NAME)


def _outside_rrtypes() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py")) if "rrtypes" not in p.relative_to(PACKAGE).parts]


def _type_tables(path: Path) -> list[str]:
    """Collections of two or more type mnemonics, integer type codes bound to type names, dnslib's QTYPE."""
    found = []
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        items: list[ast.expr | None] = []
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            items = list(node.elts)
        elif isinstance(node, ast.Dict):
            items = list(node.keys)
        names = [e.value for e in items if isinstance(e, ast.Constant) and e.value in MNEMONICS]
        if len(names) >= 2:
            found.append(f"{path.name}:{node.lineno}: {names}")
        if isinstance(node, ast.Assign):
            targets = [t for tg in node.targets for t in (tg.elts if isinstance(tg, ast.Tuple) else [tg])]
            values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
            for t, v in zip(targets, values, strict=False):
                if isinstance(t, ast.Name) and isinstance(v, ast.Constant) and isinstance(v.value, int):
                    base = t.id.strip("_").removesuffix("_CODE").removesuffix("_TYPE")
                    if base in MNEMONICS and v.value == BY_NAME[base]:
                        found.append(f"{path.name}:{node.lineno}: {t.id} = {v.value}")
        if isinstance(node, ast.Attribute) and node.attr == "QTYPE":
            found.append(f"{path.name}:{node.lineno}: dnslib QTYPE")
    return found


def test_no_module_outside_rrtypes_holds_a_type_table() -> None:
    found = [hit for path in _outside_rrtypes() for hit in _type_tables(path)]
    assert found == []


def test_the_check_sees_a_table_when_there_is_one(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('A, MX = 1, 15\nKINDS = {"MX": 1, "SRV": 2}\nimport dnslib\nx = dnslib.QTYPE\n')
    assert len(_type_tables(sample)) == 4
    assert RRType.MX == 15 and dns.rdatatype.MX == 15  # the enum's codes are the IANA ones
