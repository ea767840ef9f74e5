"""`mail: mta_sts:` (issue 12 section 1): the policy, its `_mta-sts` id, the policy host, the
coverage rule, `export --mta-sts`, the schema, and each bad input at its line."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from checkdmarc.mta_sts import parse_mta_sts_policy
from typer.testing import CliRunner

from zonetool import loader
from zonetool.cli import app
from zonetool.mailpolicy import mtasts
from zonetool.schema import SCHEMA

ZONE = """\
origin: sts.example
nameservers: [ns1, ns2]
mail:
  exchangers:
    - {host: mx1, priority: 10, addresses: [192.0.2.10]}
    - {host: mx.provider.example., priority: 20}
  mta_sts:
    mode: enforce
    max_age: 1d
    addresses: [192.0.2.80]
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
"""
POLICY = "version: STSv1\r\nmode: enforce\r\nmx: mx1.sts.example\r\nmx: mx.provider.example\r\nmax_age: 86400\r\n"


def _load(tmp_path: Path, text: str) -> tuple[object, list]:
    path = tmp_path / "sts.example.yaml"
    path.write_text(text)
    return loader.load_file(path)


def _records(zone: object) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for r in zone.records():  # type: ignore[attr-defined]
        out.setdefault((r.owner.to_text(), r.rtype), []).append(r.rdata.to_text(None) if r.rtype != "TXT"
                                                                  else r.rdata.joined().decode())
    return out


def test_the_block_builds_policy_record_and_host(tmp_path: Path) -> None:
    zone, findings = _load(tmp_path, ZONE)
    assert [f.format() for f in findings if f.code.startswith("mta-sts")] == []
    assert zone.mta_sts.text == POLICY  # type: ignore[union-attr]
    assert mtasts.policies([zone]) == {"sts.example": POLICY}
    records = _records(zone)
    ident = mtasts.policy_id(POLICY)
    assert records[("_mta-sts.sts.example.", "TXT")] == [f"v=STSv1; id={ident}"]
    assert mtasts.problems(mtasts.parse(f"v=STSv1; id={ident}")) == []  # 1-32 letters and digits
    assert records[("mta-sts.sts.example.", "A")] == ["192.0.2.80"]
    # an outside parser of policy files reads ours as we meant it (RFC 8461 3.2)
    parsed = parse_mta_sts_policy(POLICY)
    assert parsed["warnings"] == []
    assert parsed["policy"] == {"version": "STSv1", "mode": "enforce", "max_age": 86400,
                                "mx": ["mx1.sts.example", "mx.provider.example"]}
    jsonschema.validate(yaml.safe_load(ZONE), SCHEMA)


def test_the_id_follows_the_policy_text(tmp_path: Path) -> None:
    """Stable while the policy does not change (RFC 8461 3.1), different as soon as it does."""
    zone1, _ = _load(tmp_path, ZONE)
    zone2, _ = _load(tmp_path, ZONE.replace("  ns2: {A: 192.0.2.54}\n", "  ns2: {A: 192.0.2.55}\n"))
    zone3, _ = _load(tmp_path, ZONE.replace("mode: enforce", "mode: testing"))
    ids = [_records(z)[("_mta-sts.sts.example.", "TXT")] for z in (zone1, zone2, zone3)]
    assert ids[0] == ids[1] != ids[2]


def test_given_patterns_and_a_cname_host(tmp_path: Path) -> None:
    text = ZONE.replace("    addresses: [192.0.2.80]\n",
                        "    mx: [mx1, '*.provider.example.']\n    cname: web.hosting.example.\n")
    zone, findings = _load(tmp_path, text)
    assert [f.format() for f in findings if f.code.startswith("mta-sts")] == []
    assert zone.mta_sts.mx == ("mx1.sts.example", "*.provider.example")  # type: ignore[union-attr]
    assert _records(zone)[("mta-sts.sts.example.", "CNAME")] == ["web.hosting.example."]
    jsonschema.validate(yaml.safe_load(text), SCHEMA)


def test_mode_none_needs_no_exchangers(tmp_path: Path) -> None:
    text = "origin: sts.example\nnameservers: [ns1.x.example.]\nmail:\n  mta_sts: {mode: none, cname: web.x.example.}\n"
    zone, findings = _load(tmp_path, text)
    assert [f for f in findings if f.severity.value == "error"] == []
    assert zone.mta_sts.text == "version: STSv1\r\nmode: none\r\nmax_age: 604800\r\n"  # type: ignore[union-attr]


def test_coverage_rule_uses_the_block_policy(tmp_path: Path) -> None:
    """An MX the policy's patterns miss is refused by senders in enforce mode (RFC 8461 4.1)."""
    text = ZONE.replace("    addresses: [192.0.2.80]\n", "    mx: [mx1]\n    addresses: [192.0.2.80]\n")
    _zone, findings = _load(tmp_path, text)
    hits = [(f.where.line, f.message) for f in findings if f.code == "mta-sts-mx-coverage"]
    assert len(hits) == 1 and hits[0][0] == 10 and "mx.provider.example" in hits[0][1]
    # a wildcard covers exactly one label
    text = ZONE.replace("    addresses: [192.0.2.80]\n", "    mx: [mx1, '*.example.']\n    addresses: [192.0.2.80]\n")
    _zone, findings = _load(tmp_path, text)
    assert [f.where.line for f in findings if f.code == "mta-sts-mx-coverage"] == [10]
    text = ZONE.replace("    addresses: [192.0.2.80]\n",
                        "    mx: [mx1, '*.provider.example.']\n    addresses: [192.0.2.80]\n")
    _zone, findings = _load(tmp_path, text)
    assert [f for f in findings if f.code == "mta-sts-mx-coverage"] == []


def test_coverage_counts_mx_records_written_by_hand(tmp_path: Path) -> None:
    text = ZONE + '  "@": {MX: 30 backup.other.example.}\n'
    _zone, findings = _load(tmp_path, text)
    hits = [f for f in findings if f.code == "mta-sts-mx-coverage"]
    assert len(hits) == 1 and "backup.other.example" in hits[0].message
    assert hits[0].where.line == 8  # the mta_sts mapping


def test_matching() -> None:
    assert mtasts.matches("*.example.net", "mx1.example.net")
    assert not mtasts.matches("*.example.net", "a.mx1.example.net")
    assert not mtasts.matches("*.example.net", "example.net")
    assert mtasts.matches("MX1.example.net", "mx1.example.NET.")


@pytest.mark.parametrize(("old", "new", "code", "line"), [
    ("mode: enforce", "mode: strict", "bad-value", 8),
    ("max_age: 1d", "max_age: 400d", "bad-duration", 9),
    ("max_age: 1d", "max_age: soon", "bad-duration", 9),
    ("max_age: 1d", "mx: ['mx_1!']", "bad-value", 9),
    ("max_age: 1d", "mx: ['a..b']", "bad-name", 9),
    ("max_age: 1d", "mx: ['*.*.example.']", "bad-value", 9),
    ("max_age: 1d", "cname: web.example.", "bad-value", 9),
    ("mode: enforce", "colour: red", "unknown-key", 8),
    ("    addresses: [192.0.2.80]", "    addresses: [192.0.2.800]", "bad-address", 10),
])
def test_bad_input_is_reported_at_its_line(tmp_path: Path, old: str, new: str, code: str, line: int) -> None:
    _zone, findings = _load(tmp_path, ZONE.replace(old, new))
    assert (code, line) in [(f.code, f.where.line) for f in findings], [f.format() for f in findings]


def test_no_exchangers_no_patterns(tmp_path: Path) -> None:
    text = "origin: sts.example\nnameservers: [ns1.x.example.]\nmail:\n  mta_sts: {mode: enforce}\n"
    _zone, findings = _load(tmp_path, text)
    assert ("missing-key", 4) in [(f.code, f.where.line) for f in findings]


def test_schema_refuses_what_the_compiler_refuses() -> None:
    for change in ({"mode": "strict"}, {"cname": "web.example.", "addresses": ["192.0.2.1"]}, {"color": 1}):
        data = yaml.safe_load(ZONE)
        data["mail"]["mta_sts"].update(change)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(data, SCHEMA)


def test_export_writes_each_policy_and_named_checkzone_accepts_the_zone(tmp_path: Path, named_checkzone: str) -> None:
    (tmp_path / "sts.example.yaml").write_text(ZONE)
    (tmp_path / "two.example.yaml").write_text(ZONE.replace("sts.example", "two.example")
                                                .replace("mode: enforce", "mode: testing"))
    runner = CliRunner()
    result = runner.invoke(app, ["export", str(tmp_path / "sts.example.yaml"), str(tmp_path / "two.example.yaml"),
                                 "-o", str(tmp_path / "out") + "/", "--mta-sts", str(tmp_path / "www"),
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert sorted(p["domain"] for p in report["mta_sts"]) == ["sts.example", "two.example"]
    assert (tmp_path / "www/sts.example/.well-known/mta-sts.txt").read_bytes() == POLICY.encode()
    two = (tmp_path / "www/two.example/.well-known/mta-sts.txt").read_bytes().decode()
    assert "mode: testing\r\n" in two and "mx: mx1.two.example\r\n" in two
    assert not list((tmp_path / "www").rglob(".*zonetool-tmp*"))  # atomic writes leave no temp file
    check = subprocess.run([named_checkzone, "sts.example.", str(tmp_path / "out/sts.example.zone")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_export_refuses_a_file_as_the_policy_folder(tmp_path: Path) -> None:
    (tmp_path / "sts.example.yaml").write_text(ZONE)
    (tmp_path / "www").write_text("")
    result = CliRunner().invoke(app, ["export", str(tmp_path / "sts.example.yaml"), "--mta-sts", str(tmp_path / "www")])
    assert result.exit_code == 2 and "needs a folder" in result.output
