"""`mail: dkim:` and an exchanger's `dane:` (issue 12 section 1): the records they compile to, keys and
certificates read from files beside the zone, each bad input at its line, the schema, named-checkzone."""

from __future__ import annotations

import base64
import datetime
import hashlib
import re
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from tests.conftest import require_tool
from zonetool import loader
from zonetool.cli import app
from zonetool.mailpolicy import dkim
from zonetool.schema import SCHEMA

PEM, SPKI = serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
DER = serialization.Encoding.DER

ZONE = """\
origin: dk.example
nameservers: [ns1, ns2]
mail:
  exchangers:
    - host: mx1
      priority: 10
      addresses: [192.0.2.10]
      dane:
        cert: certs/mx1.pem
        next: {cert: certs/mx1-next.pem}
    - {host: mx2, priority: 20, addresses: [192.0.2.11], dane: {hash: [HASH]}}
  dkim:
    - {selector: ed2026, key_file: keys/ed.pem}
    - {selector: rsa2026, key_file: keys/rsa.pem, testing: true}
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
silence: {dane-unsigned: the signer adds the DNSKEY}
"""
HASH = "ab" * 32


def _cert(path: Path, key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mx1.dk.example")])
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
               .serial_number(1).not_valid_before(start).not_valid_after(start + datetime.timedelta(days=90)))
    cert = builder.sign(key, None if isinstance(key, ed25519.Ed25519PrivateKey) else __import__(
        "cryptography.hazmat.primitives.hashes", fromlist=["SHA256"]).SHA256())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(PEM))
    return hashlib.sha256(cert.public_key().public_bytes(DER, SPKI)).digest()


@pytest.fixture
def site(tmp_path: Path) -> dict[str, object]:
    """A zone folder: the zone file, keys/ and certs/ beside it; returns what the records must hold."""
    ed = ed25519.Ed25519PrivateKey.generate()
    rs = rsa.generate_private_key(65537, 2048)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys/ed.pem").write_bytes(ed.public_key().public_bytes(PEM, SPKI))
    (tmp_path / "keys/rsa.pem").write_bytes(rs.public_key().public_bytes(PEM, SPKI))
    (tmp_path / "keys/private.pem").write_bytes(ed.private_bytes(PEM, serialization.PrivateFormat.PKCS8,
                                                                 serialization.NoEncryption()))
    now = _cert(tmp_path / "certs/mx1.pem", ed25519.Ed25519PrivateKey.generate())
    nxt = _cert(tmp_path / "certs/mx1-next.pem", ec.generate_private_key(ec.SECP256R1()))
    (tmp_path / "certs/junk.der").write_bytes(b"\x30\x03junk")
    (tmp_path / "dk.example.yaml").write_text(ZONE.replace("HASH", HASH))
    raw = ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return {"dir": tmp_path, "ed": base64.b64encode(raw).decode(), "now": now.hex(), "next": nxt.hex(),
            "rsa": base64.b64encode(rs.public_key().public_bytes(DER, SPKI)).decode()}


def _load(site: dict[str, object], text: str | None = None) -> tuple[dict[tuple[str, str], list], list]:
    path = Path(str(site["dir"])) / "dk.example.yaml"
    if text is not None:
        path.write_text(text)
    zone, findings = loader.load_file(path)
    out: dict[tuple[str, str], list] = {}
    for r in zone.records() if zone else []:
        out.setdefault((r.owner.to_text(), r.rtype), []).append(r.rdata)
    return out, findings


def _tlsa(rdatas: list) -> list[str]:
    return sorted(r.data.hex() for r in rdatas)


def test_dkim_keys_from_pem_files(site: dict[str, object]) -> None:
    records, findings = _load(site)
    assert [f.format() for f in findings if f.severity.value == "error" or f.code.startswith("dkim-")] == [
        f.format() for f in findings if f.code == "dkim-testing"]  # t=y is said, nothing else
    [ed] = records[("ed2026._domainkey.dk.example.", "TXT")]
    assert ed.joined().decode() == f"v=DKIM1; k=ed25519; p={site['ed']}"  # RFC 8463 4.2: 32 raw octets
    [rs] = records[("rsa2026._domainkey.dk.example.", "TXT")]
    assert rs.joined().decode() == f"v=DKIM1; k=rsa; t=y; p={site['rsa']}"
    assert len(rs.strings[0]) == 255 and all(len(s) <= 255 for s in rs.strings)  # split at 255
    assert dkim.decode_key("rsa", str(site["rsa"])).bits == 2048


def test_dkim_key_given_as_base64(site: dict[str, object]) -> None:
    spki = base64.b64encode(ed25519.Ed25519PublicKey.from_public_bytes(base64.b64decode(str(site["ed"])))
                            .public_bytes(DER, SPKI)).decode()
    text = ZONE.replace("HASH", HASH).replace("key_file: keys/ed.pem", f"key: {spki}").replace(
        "key_file: keys/rsa.pem, testing: true", f"key: {site['rsa']}, type: rsa")
    records, findings = _load(site, text)
    assert [f for f in findings if f.severity.value == "error"] == []
    assert records[("ed2026._domainkey.dk.example.", "TXT")][0].joined().decode().endswith(f"p={site['ed']}")
    assert records[("rsa2026._domainkey.dk.example.", "TXT")][0].joined().decode() == (
        f"v=DKIM1; k=rsa; p={site['rsa']}")
    jsonschema.validate(yaml.safe_load(text), SCHEMA)


def test_key_paths_are_relative_to_the_zone_file(site: dict[str, object], tmp_path_factory: pytest.TempPathFactory,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path_factory.mktemp("elsewhere"))
    records, findings = _load(site)
    assert ("ed2026._domainkey.dk.example.", "TXT") in records
    assert [f for f in findings if f.severity.value == "error"] == []


def test_a_short_rsa_key_is_judged_at_its_key(site: dict[str, object]) -> None:
    (Path(str(site["dir"])) / "keys/rsa.pem").write_bytes(
        rsa.generate_private_key(65537, 1024).public_key().public_bytes(PEM, SPKI))
    _records, findings = _load(site)
    assert [(f.where.line, f.where.column) for f in findings if f.code == "dkim-rsa-weak"] == [(14, 37)]


@pytest.mark.parametrize(("old", "new", "code", "line", "says"), [
    ("key_file: keys/ed.pem", "key_file: keys/none.pem", "bad-key-file", 13, "No such file"),
    ("key_file: keys/ed.pem", "key_file: keys", "bad-key-file", 13, "cannot read"),
    ("key_file: keys/ed.pem", "key_file: keys/private.pem", "bad-key", 13, "private key"),
    ("key_file: keys/ed.pem", "key_file: certs/mx1.pem", "bad-key", 13, "no PEM public key"),
    ("key_file: keys/ed.pem", "key_file: keys/ed.pem, type: rsa", "bad-key", 13, "type says rsa"),
    ("key_file: keys/ed.pem", "key: QUJD", "bad-key", 13, "no public key"),
    ("key_file: keys/ed.pem", "key: '!!'", "bad-key", 13, "no public key"),
    ("key_file: keys/ed.pem", "key_file: keys/ed.pem, key: QUJD", "bad-value", 13, "one of them"),
    ("key_file: keys/ed.pem", "type: ed25519", "missing-key", 13, "one of them"),
    ("selector: ed2026", "selector: ed_2026", "bad-value", 13, "RFC 6376 3.1"),
    ("key_file: keys/ed.pem", "key_file: keys/ed.pem, type: dsa", "bad-value", 13, "rsa, ed25519"),
    ("key_file: keys/ed.pem", "key_file: keys/ed.pem, testing: maybe", "wrong-type", 13, "true or false"),
    ("cert: certs/mx1.pem", "cert: certs/none.pem", "bad-key-file", 9, "certificate file"),
    ("cert: certs/mx1.pem", "cert: keys/ed.pem", "bad-certificate", 9, "holds no certificate"),
    ("cert: certs/mx1.pem", "cert: certs/junk.der", "bad-certificate", 9, "is no X.509 certificate"),
    ("{cert: certs/mx1-next.pem}", "{cert: certs/junk.der}", "bad-certificate", 10, "is no X.509 certificate"),
    ("dane: {hash: [HASH]}", "dane: {hash: [abcd]}", "bad-value", 11, "64 hex digits"),
    ("dane: {hash: [HASH]}", "dane: {hash: HASH, cert: certs/mx1.pem}", "bad-value", 11, "one of them"),
    ("dane: {hash: [HASH]}", "dane: {usage: 3}", "missing-key", 11, "one of them"),
    ("dane: {hash: [HASH]}", "dane: {hash: HASH, usage: 1}", "bad-value", 11, "RFC 7672 3.1"),
    ("{host: mx2, priority: 20, addresses: [192.0.2.11],", "{host: mx.other.example., priority: 20,",
     "tlsa-not-in-zone", 11, "outside dk.example."),
])
def test_bad_input_is_reported_at_its_line(site: dict[str, object], old: str, new: str, code: str, line: int,
                                           says: str) -> None:
    text = ZONE.replace(old, new).replace("HASH", HASH)
    _records, findings = _load(site, text)
    hits = [f for f in findings if f.code == code]
    assert [f.where.line for f in hits] == [line], [f.format() for f in findings]
    assert says in hits[0].message
    assert hits[0].where.column is not None


def test_a_bad_key_file_fails_validate_with_its_place(site: dict[str, object]) -> None:
    path = Path(str(site["dir"])) / "dk.example.yaml"
    path.write_text(ZONE.replace("HASH", HASH).replace("keys/ed.pem", "keys/none.pem"))
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code == 1
    assert f"{path}:13:36: error bad-key-file: cannot read the DKIM key file" in result.output
    assert "Traceback" not in result.output


def test_dane_records_from_certificates_and_hashes(site: dict[str, object]) -> None:
    records, findings = _load(site)
    assert [f for f in findings if f.code.startswith(("tlsa", "bad"))] == []
    # RFC 6698 2.1: usage 3 (DANE-EE), selector 1 (SPKI), matching type 1 (SHA-256); the next key beside it
    assert _tlsa(records[("_25._tcp.mx1.dk.example.", "TLSA")]) == sorted(
        ["030101" + str(site["now"]), "030101" + str(site["next"])])
    assert _tlsa(records[("_25._tcp.mx2.dk.example.", "TLSA")]) == ["030101" + HASH]
    text = ZONE.replace("HASH", HASH).replace("dane: {hash: [HASH]}".replace("HASH", HASH),
                                              f"dane: {{usage: 2, hash: {HASH}, next: {{hash: [{'cd' * 32}]}}}}")
    records, _ = _load(site, text)
    assert _tlsa(records[("_25._tcp.mx2.dk.example.", "TLSA")]) == ["020101" + HASH, "020101" + "cd" * 32]
    jsonschema.validate(yaml.safe_load(text), SCHEMA)


def test_dane_digest_is_what_openssl_computes(site: dict[str, object]) -> None:
    """The outside referee: openssl's SHA-256 of the certificate's public key (RFC 7672 3.1.1's recipe)."""
    openssl = require_tool("openssl")
    cert = Path(str(site["dir"])) / "certs/mx1.pem"
    pub = subprocess.run([openssl, "x509", "-in", str(cert), "-pubkey", "-noout"], capture_output=True, check=True)
    der = subprocess.run([openssl, "pkey", "-pubin", "-outform", "DER"], input=pub.stdout, capture_output=True,
                         check=True)
    records, _ = _load(site)
    assert "030101" + hashlib.sha256(der.stdout).hexdigest() in _tlsa(records[("_25._tcp.mx1.dk.example.", "TLSA")])


def test_schema(site: dict[str, object]) -> None:
    data = yaml.safe_load(ZONE.replace("HASH", HASH))
    jsonschema.validate(data, SCHEMA)
    for where, change in ((("dkim", 0), {"key": "QUJD"}), (("dkim", 0), {"type": "dsa"}),
                          (("exchangers", 1, "dane"), {"hash": ["abcd"]}), (("exchangers", 1, "dane"), {"usage": 1}),
                          (("exchangers", 1, "dane"), {"cert": "x.pem"})):
        bad = yaml.safe_load(ZONE.replace("HASH", HASH))
        node = bad["mail"]
        for key in where:
            node = node[key]
        node.update(change)
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, SCHEMA)


def test_named_checkzone_accepts_the_export(site: dict[str, object], tmp_path: Path, named_checkzone: str) -> None:
    out = tmp_path / "dk.example.zone"
    result = CliRunner().invoke(app, ["export", str(Path(str(site["dir"])) / "dk.example.yaml"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert re.search(r"^_25\._tcp\.mx1 +IN TLSA 3 1 1 [0-9A-F]{64}$", text, re.M)
    assert re.search(r'^rsa2026\._domainkey +IN TXT +"v=DKIM1; k=rsa; t=y; p=[^"]{232}" "', text, re.M)
    check = subprocess.run([named_checkzone, "dk.example.", str(out)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
