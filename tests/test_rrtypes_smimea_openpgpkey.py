"""SMIMEA (RFC 8162) and OPENPGPKEY (RFC 7929), native types in one module each.

named-checkzone and named-compilezone judge the BIND text we read and write, dig the wire
answers; the YAML text and mapping forms compile to the same records.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
from pathlib import Path

import pytest
import yaml

from zonetool.loader import load_text
from zonetool.names import Name
from zonetool.rrtypes import OPENPGPKEY, SMIMEA, RdataError, parse_rdata
from zonetool.source.bind import BindSyntaxError, read_zone, write_zone
from zonetool.source.yaml_emit import zone_to_yaml
from zonetool.testing import DNSTestServer

ORIGIN = Name.from_text("example.com.")
# RFC 8162 3 / RFC 7929 3: the owner is the SHA2-256 of the local part, truncated to 28 octets
LOCAL = hashlib.sha256(b"hugh").hexdigest()[:56]
CERT_HASH = hashlib.sha256(b"a certificate").hexdigest().upper()
KEY = base64.b64encode(bytes(range(200))).decode("ascii")
SMIMEA_OWNER = f"{LOCAL}._smimecert"
PGP_OWNER = f"{LOCAL}._openpgpkey"

BIND = f"""\
$ORIGIN example.com.
$TTL 3600
@    IN SOA ns1 hostmaster 1 3600 900 604800 300
@    IN NS  ns1
ns1  IN A   192.0.2.53
{SMIMEA_OWNER} IN SMIMEA 3 0 1 ( {CERT_HASH[:32]}
        {CERT_HASH[32:]} )
{SMIMEA_OWNER} IN SMIMEA 2 1 0 0102ABCDEF
{PGP_OWNER} IN OPENPGPKEY ( {KEY[:100]}
        {KEY[100:]} )
"""


def canonical(compilezone: str, path: Path) -> str:
    result = subprocess.run([compilezone, "-i", "none", "-s", "full", "-o", "-", "example.com.", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return "\n".join(line for line in result.stdout.splitlines() if not line.startswith("zone "))


def test_read_as_native_records() -> None:
    zone = read_zone(BIND, ORIGIN, "t.zone")
    owner = Name.from_text(f"{SMIMEA_OWNER}.example.com.")
    smimea = {r.rdata for r in zone.rrset(owner, 53).records}
    assert smimea == {SMIMEA(3, 0, 1, bytes.fromhex(CERT_HASH)), SMIMEA(2, 1, 0, bytes.fromhex("0102abcdef"))}
    (pgp,) = zone.rrset(Name.from_text(f"{PGP_OWNER}.example.com."), 61).records
    assert pgp.rdata == OPENPGPKEY(bytes(range(200)))


def test_bind_round_trip_judged_by_named(tmp_path: Path, named_checkzone: str, named_compilezone: str) -> None:
    src = tmp_path / "in.zone"
    src.write_text(BIND)
    out = tmp_path / "out.zone"
    text = write_zone(read_zone(BIND, ORIGIN, str(src)))
    out.write_text(text)
    assert f"SMIMEA     3 0 1 {CERT_HASH}" in text and f"OPENPGPKEY {KEY}" in text
    check = subprocess.run([named_checkzone, "example.com.", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert canonical(named_compilezone, out) == canonical(named_compilezone, src)
    assert "SMIMEA" in canonical(named_compilezone, src)


def test_import_then_yaml_compiles_to_the_same_records(tmp_path: Path) -> None:
    zone = read_zone(BIND, ORIGIN, "t.zone")
    yaml_text = zone_to_yaml(zone)
    assert "SMIMEA:" in yaml_text and "OPENPGPKEY:" in yaml_text and "\\#" not in yaml_text
    again, findings = load_text(yaml_text, "t.yaml")
    assert again is not None, [f.format() for f in findings]
    assert set(again.records()) == set(zone.records())


YAML = f"""\
origin: example.com
soa: {{primary: ns1, contact: hostmaster@example.com, serial: 1}}
nameservers: [ns1]
records:
  ns1: {{A: 192.0.2.53}}
  {SMIMEA_OWNER}:
    SMIMEA:
      - 3 0 1 {CERT_HASH}
      - {{usage: 2, selector: 1, matching_type: 0, certificate: 0102abcdef}}
  {PGP_OWNER}:
    OPENPGPKEY: {{key: "{KEY}"}}
"""


def test_yaml_text_and_mapping_forms() -> None:
    zone, findings = load_text(YAML, "t.yaml")
    assert zone is not None, [f.format() for f in findings]
    assert set(zone.records()) == set(read_zone(BIND, ORIGIN, "t.zone").records())


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("{usage: 256, selector: 1, matching_type: 0, certificate: 00}", ".usage must be 0..255, got 256"),
        ("{usage: 3, selector: 1, matching_type: 0, certificate: zz}", "not hexadecimal"),
        ('"3 1"', "SMIMEA takes usage, selector, matching type and hex data"),
    ],
)
def test_bad_smimea_is_refused_with_its_field(item: str, message: str) -> None:
    text = YAML.replace(f"- 3 0 1 {CERT_HASH}", f"- {item}")
    _, findings = load_text(text, "t.yaml")
    assert any(message in f.message and f.severity == "error" for f in findings), [f.format() for f in findings]


def test_bad_openpgpkey_is_refused() -> None:
    _, findings = load_text(YAML.replace(f'key: "{KEY}"', 'key: "not base64!"'), "t.yaml")
    assert any("OPENPGPKEY data is not base64" in f.message for f in findings), [f.format() for f in findings]
    with pytest.raises(BindSyntaxError, match=r"SMIMEA usage must be 0\.\.255"):
        read_zone(BIND.replace("SMIMEA 2 1 0", "SMIMEA 999 1 0"), ORIGIN, "t.zone")
    with pytest.raises(RdataError, match="OPENPGPKEY has no key"):
        OPENPGPKEY(b"")


def test_rfc3597_form_is_the_same_record() -> None:
    native = parse_rdata("SMIMEA", "3 1 1 ABCD", ORIGIN)
    assert parse_rdata("SMIMEA", "\\# 5 030101abcd", ORIGIN) == native
    assert native.to_wire() == bytes.fromhex("030101abcd")
    assert parse_rdata("TYPE61", "\\# 3 010203", ORIGIN) == OPENPGPKEY(b"\x01\x02\x03")


def test_served_answers_read_by_dig(dig: str) -> None:
    with DNSTestServer() as server:
        server.load(yaml.safe_load(YAML))
        for rtype, owner, expected in (
            ("SMIMEA", SMIMEA_OWNER, {f"3 0 1 {CERT_HASH}", "2 1 0 0102ABCDEF"}),
            ("OPENPGPKEY", PGP_OWNER, {KEY}),
        ):
            for transport in ("+notcp", "+tcp"):
                out = subprocess.run(
                    [dig, "@" + server.host, "-p", str(server.port), transport, "+short", "+norec",
                     f"{owner}.example.com.", rtype],
                    capture_output=True, text=True, timeout=10,
                ).stdout
                lines = {line for line in out.splitlines() if line}
                if rtype == "SMIMEA":  # dig splits long hex into groups
                    lines = {" ".join(line.split()[:3]) + " " + "".join(line.split()[3:]) for line in lines}
                else:
                    lines = {"".join(line.split()) for line in lines}
                assert lines == expected, out
