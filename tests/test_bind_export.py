"""Exporting YAML zones as BIND master files, judged by named-checkzone."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zonetool.cli import app
from zonetool.loader import load_file, load_paths
from zonetool.names import Name
from zonetool.rrtypes import MX, SRV, TXT, A
from zonetool.serial import content_digest
from zonetool.source.bind import DIGEST_PREFIX, read_zone, write_zone
from zonetool.zone import Record, Zone

ROOT = Path(__file__).resolve().parent.parent
BIND = Path(__file__).resolve().parent / "data" / "bind"
runner = CliRunner()


def valid_yaml_zones() -> list[Path]:
    """Every YAML zone under zones/ and tests/data that loads without errors."""
    paths = sorted((ROOT / "zones").glob("*.yaml")) + sorted((ROOT / "tests" / "data").rglob("*.yaml"))
    out = []
    for p in paths:
        zone, findings = load_file(p)
        if zone is not None and not any(f.severity == "error" and f.silenced is None for f in findings):
            out.append(p)
    return out


ZONES = valid_yaml_zones()


def test_there_are_zones_to_export() -> None:
    assert {p.name for p in ZONES} >= {"mailco.yaml", "sendonly.yaml"}


@pytest.mark.parametrize("path", ZONES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_valid_zone_passes_named_checkzone(path: Path, tmp_path: Path, named_checkzone: str) -> None:
    out = tmp_path / "out.zone"
    result = runner.invoke(app, ["export", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    zone, _ = load_file(path)
    assert zone is not None
    check = subprocess.run([named_checkzone, zone.origin.to_text(), str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr + out.read_text()
    assert "loaded serial" in check.stdout


def _zone() -> Zone:
    origin = Name.from_text("example.com.")
    zone = Zone(origin)

    def add(owner: str, rdata: object, ttl: int = 3600) -> None:
        zone.add(Record(Name.from_text(owner, origin), ttl, rdata))  # type: ignore[arg-type]

    from zonetool.rrtypes import NS, SOA

    add("zz", A("192.0.2.9"))
    add("@", MX(20, Name.from_text("b.example.net.")))
    add("@", MX(10, Name.from_text("z.example.com.")))
    add("@", MX(10, Name.from_text("a.example.com.")))
    add("_smtp._tcp", SRV(10, 1, 25, Name.from_text("mx2.example.com.")))
    add("_smtp._tcp", SRV(10, 3, 25, Name.from_text("mx1.example.com.")))
    add("_smtp._tcp", SRV(5, 0, 25, Name.from_text("mx3.example.com.")))
    add("a", A("192.0.2.2"), ttl=300)
    add("a", A("192.0.2.1"), ttl=300)
    add("@", NS(Name.from_text("ns1.example.com.")))
    add("@", SOA(Name.from_text("ns1.example.com."), Name.from_text("hostmaster.example.com."), 7, 1, 2, 3, 4))
    add("b.a", TXT((b"x",)))
    add("*.a", TXT((b"wild",)))
    return zone


def test_layout_for_people() -> None:
    text = write_zone(_zone())
    lines = text.splitlines()
    assert lines[:3] == ["$ORIGIN example.com.", "$TTL 3600", "@ IN SOA ns1 hostmaster ("]
    body = [line for line in lines if " IN " in line and "SOA" not in line]
    # apex first (NS before the rest), then names in RFC 4034 6.1 canonical order, owners written once
    assert [line.split()[0] if not line.startswith(" ") else "" for line in body] == [
        "", "", "", "", "_smtp._tcp", "", "", "a", "", "*.a", "b.a", "zz",
    ]  # fmt: skip
    mx = [line.split("MX")[1].strip() for line in body if " MX " in line]
    assert mx == ["10 a", "10 z", "20 b.example.net."]  # preference, then exchange
    srv = [line.split("SRV")[1].strip() for line in body if " SRV " in line]
    assert srv == ["5 0 25 mx3", "10 1 25 mx2", "10 3 25 mx1"]  # priority, then weight
    assert next(line for line in body if "192.0.2.1" in line).split()[0] == "a"  # TTL column only where it differs
    assert "300 IN A" in " ".join(body[7].split())
    # aligned columns: the type column starts at the same place on every record line
    assert len({line.index(" IN ") for line in body}) == 1


def test_export_is_deterministic_and_reads_back() -> None:
    zone = _zone()
    assert write_zone(zone) == write_zone(_zone())
    again = read_zone(write_zone(zone), None, "x.zone")
    rows = {(r.owner, r.ttl, r.rdata) for r in zone.records()}
    assert rows == {(r.owner, r.ttl, r.rdata) for r in again.records()}


def test_most_common_ttl_becomes_default() -> None:
    zone = _zone()
    for i in range(15):
        zone.add(Record(Name.from_text(f"h{i}.example.com."), 60, A(f"192.0.2.{i + 10}")))
    assert "$TTL 60" in write_zone(zone).splitlines()


@pytest.fixture(params=["in-process", "early-child"])
def render_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, forks: list[int]):  # type: ignore[no-untyped-def]
    """Each export test twice: rendered after the rules, and (as for big zones) in a child forked
    while the rules run; either way no child is left behind."""
    from zonetool import forked

    if request.param == "early-child":
        monkeypatch.setattr(forked, "MIN_RECORDS", 0)
    yield request.param
    if request.param == "early-child":
        assert forks, "the export should have forked its render"
    import os

    for pid in forks:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # reaped already


@pytest.mark.usefixtures("render_mode")
def test_cli_export_twice_same_bytes_and_auto_serial(tmp_path: Path) -> None:
    src = tmp_path / "auto.yaml"
    src.write_text((BIND / "mailco.yaml").read_text())
    out = tmp_path / "auto.zone"
    assert runner.invoke(app, ["export", str(src), "-o", str(out)]).exit_code == 0
    first = out.read_bytes()
    assert runner.invoke(app, ["export", str(src), "-o", str(out)]).exit_code == 0
    assert out.read_bytes() == first
    header = first.decode().splitlines()[0]
    zone, _ = load_file(src)
    assert zone is not None and header == DIGEST_PREFIX + content_digest(zone)
    serial = read_zone(first.decode(), None).soa.serial  # type: ignore[union-attr]
    today = date.today()
    assert str(serial).startswith(f"{today.year:04d}")  # YYYYMMDDnn
    # content changes -> a higher serial; stdout export of the same content shows the date serial
    src.write_text(src.read_text().replace("192.0.2.53", "192.0.2.54"))
    assert runner.invoke(app, ["export", str(src), "-o", str(out)]).exit_code == 0
    changed = read_zone(out.read_text(), None).soa.serial  # type: ignore[union-attr]
    assert changed > serial
    assert out.read_text().splitlines()[0] != header
    assert runner.invoke(app, ["export", str(src), "-o", str(out)]).exit_code == 0
    assert read_zone(out.read_text(), None).soa.serial == changed  # type: ignore[union-attr]


@pytest.mark.usefixtures("render_mode")
def test_export_json_gives_the_serial_the_file_has(tmp_path: Path) -> None:
    """A big zone's text is rendered in a child, which also picks its auto serial; the report must
    still name the serial written (it named the parent's unbumped one)."""
    import json

    src = tmp_path / "auto.yaml"
    src.write_text((BIND / "mailco.yaml").read_text())
    out = tmp_path / "auto.zone"
    for _ in range(2):  # the second time the content changed: the serial goes up
        result = runner.invoke(app, ["export", str(src), "-o", str(out), "--format", "json"])
        assert result.exit_code == 0, result.output
        (written,) = json.loads(result.stdout)["written"]
        assert written["serial"] == read_zone(out.read_text(), None).soa.serial  # type: ignore[union-attr]
        src.write_text(src.read_text().replace("192.0.2.53", "192.0.2.54"))


@pytest.mark.usefixtures("render_mode")
def test_fixed_serial_is_kept(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", str(BIND / "sendonly.yaml")])
    assert result.exit_code == 0
    assert re.search(r"^\s+2024010101\s+; serial$", result.stdout, re.M)
    assert not result.stdout.startswith(DIGEST_PREFIX)


@pytest.mark.usefixtures("render_mode")
def test_several_zones_go_to_a_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, ["export", str(BIND / "mailco.yaml"), str(BIND / "sendonly.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["mailco.example.zone", "sendonly.example.zone"]
    # several zones and no -o: a usage error, nothing on stdout
    result = runner.invoke(app, ["export", str(BIND / "mailco.yaml"), str(BIND / "sendonly.yaml")])
    assert result.exit_code == 2 and "-o" in result.output


BAD = """origin: bad.example
nameservers: [ns1]
mail:
  exchangers:
    - {host: mx1, priority: 10}
records:
  ns1: {A: 192.0.2.1}
  www: {CNAME: "@", A: 192.0.2.2}
"""


@pytest.mark.usefixtures("render_mode")
def test_invalid_zone_is_never_exported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD)
    out = tmp_path / "bad.zone"
    out.write_bytes(b"; the previous export, byte for byte\n\x00\xff")
    before = out.stat()
    result = runner.invoke(app, ["export", str(bad), "-o", str(out)])
    assert result.exit_code == 1
    assert "bad.yaml:" in result.output and "error" in result.output and "Traceback" not in result.output
    assert out.read_bytes() == b"; the previous export, byte for byte\n\x00\xff"
    assert out.stat().st_mtime_ns == before.st_mtime_ns
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.yaml", "bad.zone"]  # no temp file left
    # with a good zone alongside, still nothing is written
    folder = tmp_path / "out"
    result = runner.invoke(app, ["export", str(BIND / "mailco.yaml"), str(bad), "-o", str(folder)])
    assert result.exit_code == 1 and not folder.exists()


def test_usage_errors(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    (tmp_path / "notyaml.yaml").write_text("{{{\n")
    assert runner.invoke(app, ["export", str(tmp_path / "notyaml.yaml")]).exit_code == 2


def test_exported_files_load_back_through_the_loader(tmp_path: Path) -> None:
    out = tmp_path / "mailco.example.zone"
    assert runner.invoke(app, ["export", str(BIND / "mailco.yaml"), "-o", str(out)]).exit_code == 0
    loaded = load_paths([out])
    assert not loaded.has_errors(), [f.format() for f in loaded.findings]
    (zone,) = loaded.zones
    original, _ = load_file(BIND / "mailco.yaml")
    assert original is not None
    assert content_digest(zone) == content_digest(original)


def test_auto_serial_never_goes_below_an_existing_file(tmp_path: Path) -> None:
    src = tmp_path / "mailco.yaml"
    src.write_text((BIND / "mailco.yaml").read_text())
    out = tmp_path / "mailco.zone"
    out.write_text("$TTL 300\n@ SOA ns1 hostmaster 4000000000 1 2 3 4\n  NS ns1\nns1 A 192.0.2.1\n")
    assert runner.invoke(app, ["export", str(src), "-o", str(out)]).exit_code == 0
    assert read_zone(out.read_text(), None).soa.serial == 4000000001  # type: ignore[union-attr]


def test_quote_of_plain_text_is_the_escaping_loops_own() -> None:
    """quote() takes a shortcut for text with nothing to escape; every octet and mix reads the same."""
    import random

    from zonetool.rrtypes import text

    def slow(data: bytes) -> str:
        out = ['"']
        for c in data:
            out.append("\\" + chr(c) if c in (0x22, 0x5C) else chr(c) if 0x20 <= c <= 0x7E else f"\\{c:03d}")
        return "".join(out) + '"'

    rng = random.Random(5)
    cases = [bytes([c]) for c in range(256)] + [b"", b"v=spf1 include:_spf.example -all", b'say "hi"', b"a\\b"]
    cases += [bytes(rng.randrange(256) if rng.random() < 0.1 else rng.randrange(0x20, 0x7F) for _ in range(40))
              for _ in range(300)]
    for data in cases:
        assert text.quote(data) == slow(data), data
    assert text.quote(b"\x7f") == '"\\127"' and text.quote(b'"') == '"\\""'


def test_ns_cname_ptr_sort_by_their_wire_form_as_every_other_type() -> None:
    """The names' own sort key is the base class's (the record's uncompressed wire form), built without dnslib."""
    from zonetool.rrtypes.base import Rdata
    from zonetool.rrtypes.target import CNAME, NS, PTR

    for text in ("ns1.Example.COM.", ".", "a\\.b.example.", "\\200x.example.", "*.wild.example.", "b.example.", "B."):
        for cls in (NS, CNAME, PTR):
            record = cls(Name.from_text(text))
            assert record.order_key() == Rdata.order_key(record) == record.to_wire(), (cls, text)
