"""The mail block's policy keys (issue 12 section 1): spf:, dmarc:, tls_rpt: build the TXT records,
the schema accepts what the compiler accepts, and the mail rules point at the key that made a record."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
import yaml

from zonetool import loader
from zonetool.schema import SCHEMA

ZONE = """\
origin: blk.example
nameservers: [ns1, ns2]
mail:
  exchangers:
    - {host: mx1, priority: 10, addresses: [192.0.2.10]}
  spf:
    mechanisms:
      - ip4:198.51.100.0/24   # the newsletter service
      - include:_spf.blk.example
    all: softfail
  dmarc: {policy: reject, subdomain_policy: quarantine, adkim: strict, rua: [dmarc@blk.example], fo: "1"}
  tls_rpt: {rua: [tls@blk.example, "https://reports.blk.example/tls"]}
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
  _spf: {TXT: "v=spf1 ip4:203.0.113.0/24 -all"}
"""


def _load(tmp_path: Path, text: str) -> tuple[dict[str, list[str]], list]:
    path = tmp_path / "blk.example.yaml"
    path.write_text(text)
    zone, findings = loader.load_file(path)
    records: dict[str, list[str]] = {}
    for r in zone.records() if zone else []:
        if r.rtype == "TXT":
            records.setdefault(r.owner.to_text(), []).append(r.rdata.joined().decode())
    return records, findings


def test_policy_keys_build_the_records(tmp_path: Path) -> None:
    records, findings = _load(tmp_path, ZONE)
    assert [f.format() for f in findings] == []
    assert records["blk.example."] == ["v=spf1 mx ip4:198.51.100.0/24 include:_spf.blk.example ~all"]
    assert records["_dmarc.blk.example."] == [
        "v=DMARC1; p=reject; sp=quarantine; adkim=s; fo=1; rua=mailto:dmarc@blk.example"]
    assert records["_smtp._tls.blk.example."] == [
        "v=TLSRPTv1; rua=mailto:tls@blk.example,https://reports.blk.example/tls"]
    jsonschema.validate(yaml.safe_load(ZONE), SCHEMA)


def test_a_long_spf_is_split_into_255_octet_strings(tmp_path: Path) -> None:
    nets = "".join(f"      - ip4:198.51.{i}.0/24\n" for i in range(30))
    text = ZONE.replace("      - ip4:198.51.100.0/24   # the newsletter service\n", nets)
    path = tmp_path / "blk.example.yaml"
    path.write_text(text)
    zone, _findings = loader.load_file(path)
    assert zone is not None
    spf = next(r for r in zone.records() if r.rtype == "TXT" and r.owner == zone.origin)
    assert [len(s) for s in spf.rdata.strings[:2]] == [255, 255] and len(spf.rdata.strings) == 3


@pytest.mark.parametrize(("bad", "code", "line"), [
    ("    all: reject", "bad-value", 10),
    ("    colour: red", "unknown-key", 10),
    ("    mechanisms: ip4:1.2.3.4/8\n    mx: sometimes", "wrong-type", 11),
])
def test_bad_policy_keys_are_refused_at_their_line(tmp_path: Path, bad: str, code: str, line: int) -> None:
    text = ZONE.replace("    all: softfail", bad)
    _records, findings = _load(tmp_path, text)
    assert (code, line) in [(f.code, f.where.line) for f in findings]


def test_schema_refuses_what_the_compiler_refuses() -> None:
    data = yaml.safe_load(ZONE)
    data["mail"]["dmarc"]["policy"] = "block"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)


def test_the_rules_judge_built_records_at_their_key(tmp_path: Path) -> None:
    """A mechanism the rules refuse points at the spf: key that built the record."""
    text = ZONE.replace("      - include:_spf.blk.example\n", "      - ipv4:192.0.2.1\n")
    _records, findings = _load(tmp_path, text)
    hits = [f for f in findings if f.code == "spf-unknown-mechanism"]
    assert [f.where.line for f in hits] == [7]  # the spf: mapping (its first key)
    text = ZONE.replace("rua: [dmarc@blk.example]", "rua: ['http://x.blk.example/']")
    _records, findings = _load(tmp_path, text)
    assert [f.where.line for f in findings if f.code == "dmarc-report-uri"] == [11]
