"""The loading pipeline: files and folders -> zones, rules, silence, positions, usage errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import MAIL_ZONE as VALID
from conftest import ZONES, zonetool_exe

from zonetool.findings import Severity, Where, error, warning
from zonetool.loader import (
    LoadError,
    has_errors,
    load_file,
    load_mapping,
    load_paths,
    load_text,
    record_positions,
    zone_files,
)


def write(tmp: Path, name: str, text: str) -> Path:
    p = tmp / name
    p.write_text(text, encoding="utf-8")
    return p


def test_bundled_zones_validate_clean() -> None:
    loaded = load_paths([ZONES])
    assert len(loaded.zones) >= 3
    assert loaded.findings == [], [f.format() for f in loaded.findings]
    origins = {z.origin.to_text() for z in loaded.zones}
    assert {"example.com.", "example.org.", "example.net."} <= origins


def test_bundled_zones_pass_named_checkzone(tmp_path: Path, named_checkzone: str) -> None:
    from zonetool.source.bind import write_zone

    for zone in load_paths([ZONES]).zones:
        out = tmp_path / "z.zone"
        out.write_text(write_zone(zone), encoding="utf-8")
        run = subprocess.run([named_checkzone, zone.origin.to_text(), str(out)], capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr


def test_valid_zone_has_no_findings(tmp_path: Path) -> None:
    zone, findings = load_file(write(tmp_path, "ok.yaml", VALID))
    assert zone is not None and findings == []


def test_rule_findings_get_line_and_column(tmp_path: Path) -> None:
    text = VALID.replace("addresses: [192.0.2.25]", "weight: 1")
    zone, findings = load_file(write(tmp_path, "r.yaml", text))
    assert zone is not None
    f = next(f for f in findings if f.code == "mx-target-no-address")
    assert (f.where.file, f.where.line, f.where.column) == (str(tmp_path / "r.yaml"), 5, 14)


def test_silence_keeps_the_finding_visible_and_uncounted(tmp_path: Path) -> None:
    text = VALID.replace('  _dmarc: {TXT: "v=DMARC1; p=reject"}\n', "") + "silence: {dmarc-missing: lab zone}\n"
    _, findings = load_file(write(tmp_path, "s.yaml", text))
    f = next(f for f in findings if f.code == "dmarc-missing")
    assert f.silenced == "lab zone" and f.where.line is not None
    assert not has_errors(findings, strict=True)
    assert "silenced warning dmarc-missing" in f.format() and "lab zone" in f.format()
    _, unsilenced = load_file(write(tmp_path, "u.yaml", text.replace("silence: {dmarc-missing: lab zone}\n", "")))
    assert has_errors(unsilenced, strict=True) and not has_errors(unsilenced)


def test_silence_of_unknown_code_is_warned_with_hint(tmp_path: Path) -> None:
    _, findings = load_file(write(tmp_path, "s.yaml", VALID + "silence:\n  dmarc-mising: typo\n"))
    f = next(f for f in findings if f.code == "unknown-code")
    assert (f.where.line, f.where.column) == (12, 3)
    assert f.hint == "did you mean `dmarc-missing`?"


def test_has_errors() -> None:
    w = warning("w", "m", Where())
    e = error("e", "m", Where())
    assert not has_errors([w]) and has_errors([w], strict=True) and has_errors([e])
    from dataclasses import replace

    assert not has_errors([replace(e, silenced="ok")], strict=True)


def test_load_mapping_has_paths_not_lines() -> None:
    zone, findings = load_mapping({"origin": "example.com", "nameservers": ["ns1"], "ttl": "x"}, "m.yaml")
    assert zone is not None
    f = next(f for f in findings if f.code == "bad-ttl")
    assert f.where == Where("m.yaml", path=("ttl",))


@pytest.mark.parametrize(
    ("text", "code", "position"),
    [
        ("", "not-a-mapping", (1, 1)),
        ("- a\n- b\n", "not-a-mapping", (1, 1)),
        ("$ORIGIN example.com.\n@ IN SOA ns1 h 1 2 3 4 5\n", "not-a-mapping", (1, 1)),
        ("origin: [\n", "yaml-syntax", (2, 1)),
    ],
)
def test_files_that_are_not_yaml_zones(text: str, code: str, position: tuple[int, int]) -> None:
    zone, findings = load_text(text, "n.yaml")
    assert zone is None
    assert [(f.code, (f.where.line, f.where.column)) for f in findings] == [(code, position)]
    assert findings[0].severity is Severity.ERROR


def test_bind_looking_yaml_gets_an_import_hint() -> None:
    _, findings = load_text("$ORIGIN example.com.\n@ IN SOA ns1 h 1 2 3 4 5\n", "n.yaml")
    assert findings[0].hint is not None and "zonetool import" in findings[0].hint


def test_folders_and_usage_errors(tmp_path: Path) -> None:
    write(tmp_path, "b.yaml", VALID.replace("example.com", "b.example"))
    write(tmp_path, "a.yml", VALID.replace("example.com", "a.example"))
    write(tmp_path, "notes.txt", "not a zone")
    write(tmp_path, ".hidden.yaml", "junk: [")
    assert [p.name for p in zone_files([tmp_path])] == ["a.yml", "b.yaml"]
    loaded = load_paths([tmp_path])
    assert [z.origin.to_text() for z in loaded.zones] == ["a.example.", "b.example."]
    assert loaded.files == [str(tmp_path / "a.yml"), str(tmp_path / "b.yaml")]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LoadError, match="no zone files"):
        load_paths([empty])
    with pytest.raises(LoadError, match="no such file"):
        load_paths([tmp_path / "missing.yaml"])


def test_same_origin_twice_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "one.yaml", VALID)
    write(tmp_path, "two.yaml", "# the same zone again\n" + VALID)
    loaded = load_paths([tmp_path])
    f = next(f for f in loaded.findings if f.code == "duplicate-origin")
    assert (f.where.file, f.where.line, f.where.column) == (str(tmp_path / "two.yaml"), 2, 9)


def test_bind_zone_file_in_a_folder(tmp_path: Path) -> None:
    write(
        tmp_path,
        "bind.example.zone",
        "$TTL 1h\n@ IN SOA ns1 hostmaster 1 2h 30m 2w 1h\n  IN NS ns1\n  IN NS ns2\nns1 IN A 192.0.2.1\n"
        "ns2 IN A 192.0.2.2\n",
    )
    loaded = load_paths([tmp_path])
    assert [z.origin.to_text() for z in loaded.zones] == ["bind.example."]
    assert len(loaded.zones[0]) == 5
    write(tmp_path, "broken.example.zone", "@ IN SOA ns1\n")
    loaded = load_paths([tmp_path / "broken.example.zone"])
    assert loaded.zones == [] and [f.code for f in loaded.findings] == ["bind-syntax"]
    assert loaded.findings[0].where.line == 1


def test_record_positions(tmp_path: Path) -> None:
    zone, _ = load_file(write(tmp_path, "p.yaml", VALID))
    assert zone is not None
    positions = record_positions(zone)
    mx = next(r for r in zone.records() if r.rtype == "MX")
    assert positions[mx.where.path] == (5, 14)


def test_bind_file_origin_from_its_origin_line_and_non_utf8(tmp_path: Path) -> None:
    text = "$ORIGIN other.example.\n$TTL 1h\n@ IN SOA ns1 hostmaster 1 2h 30m 2w 1h\n  IN NS ns1\n  IN NS ns2\n"
    p = write(tmp_path, "db.zone", text + "ns1 IN A 192.0.2.1\nns2 IN A 192.0.2.2\n")
    zone, findings = load_file(p)
    assert zone is not None and zone.origin.to_text() == "other.example."
    p.write_bytes(text.encode() + b"x IN TXT \xe9\n")
    zone, findings = load_file(p)
    assert zone is None and [(f.code, f.where.line) for f in findings] == [("not-text", 6)]


def test_a_missing_soa_is_reported_once(tmp_path: Path) -> None:
    """No echo findings: the compiler's missing-key explains the missing SOA in YAML; in a BIND file
    the soa-missing rule does, not also the reader's import warning."""
    _zone, findings = load_text("origin: x.test\n", "x.yaml")
    assert sorted(f.code for f in findings) == ["missing-key", "ns-apex-missing"]
    bind = tmp_path / "x.test.zone"
    bind.write_text("$ORIGIN x.test.\n$TTL 300\n@ NS ns1\nns1 A 192.0.2.1\nns2 A 192.0.2.2\n@ NS ns2\n")
    _zone, findings = load_file(bind)
    assert [f.code for f in findings] == ["soa-missing"]
    result = subprocess.run(
        [zonetool_exe(), "import", str(bind)], capture_output=True, text=True, check=True
    )  # import still says the YAML gets the format's default SOA
    assert "no-soa" in result.stderr and "nameservers: [ns1, ns2]" in result.stdout
