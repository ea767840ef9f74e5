"""DNSSEC signing (issue 14 part 1): the `dnssec:` block, keys shared with BIND, DS, the signed export.

Every signed zone is checked three ways: dnspython's dns.dnssec validates each RRSIG against the
zone's DNSKEYs (the RRsets signed are compared with what RFC 4035 2 says must be signed), and the
real referees dnssec-verify (bind9-utils) and ldns-verify-zone (ldnsutils) accept the file.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import dns.dnssec
import dns.name
import dns.rdatatype
import dns.zone
import pytest

from tests.conftest import ZONES, require_tool, zonetool_exe
from zonetool.compile import compile_zone
from zonetool.dnssec import Policy, ds_rdata, generate, sign_zone, window
from zonetool.dnssec.canonical import canonical_rdata, lower_wire
from zonetool.dnssec.keys import SEP, ZONE_KEY
from zonetool.dnssec.sign import nsec3_hash
from zonetool.loader import load_file
from zonetool.names import Name
from zonetool.rrtypes import parse_rdata
from zonetool.source.bind import write_zone
from zonetool.source.dnskeys import file_stem, read_key, read_keys, write_key

ALGORITHMS = [13, 15, 8]
DENIALS = ["nsec", "nsec3"]
NOW = int(time.time())

# wildcards, a secure and an insecure delegation with glue (also deep glue), empty non-terminals,
# a CNAME with upper-case letters, an MX, an SRV: every case signing treats differently
LAB = """\
origin: lab.example
nameservers: [ns1, ns2]
mail:
  exchangers:
    - {host: MX1, priority: 10, addresses: [192.0.2.25]}
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
  "*.wild": {A: 192.0.2.9, TXT: hello}
  "*": {TXT: "catch all"}
  a.b.c.ent: {A: 192.0.2.10}
  _sip._tcp.voice: {SRV: "10 5 5060 Www.Lab.Example."}
  secure: {NS: [ns.secure], DS: "12345 13 2 0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"}
  ns.secure: {A: 192.0.2.77}
  insecure: {NS: [ns.insecure, ns.elsewhere.example.]}
  ns.insecure: {A: 192.0.2.78}
  deep.glue.insecure: {A: 192.0.2.79}
  Upper: {CNAME: Www.Lab.Example.}
  www: {A: 192.0.2.1, AAAA: "2001:db8::1"}
"""


def _lab_zone(text: str = LAB):  # type: ignore[no-untyped-def]
    import yaml

    zone, findings = compile_zone(yaml.safe_load(text))
    assert zone is not None and not [f for f in findings if f.severity == "error"]
    zone.set_serial(2026120201)
    return zone


def _validate(text: str, origin: str, when: int = NOW) -> dict[tuple[str, str], int]:
    """Every RRSIG of the zone text validated by dnspython; returns (owner, covered type) -> signatures."""
    z = dns.zone.from_text(text, origin, relativize=False, check_origin=True)
    apex = dns.name.from_text(origin)
    keys = {apex: z.find_rdataset(apex, "DNSKEY")}
    signed: dict[tuple[str, str], int] = {}
    for name, node in z.nodes.items():
        for rds in node.rdatasets:
            if rds.rdtype != dns.rdatatype.RRSIG:
                continue
            for sig in rds:
                covered = node.get_rdataset(dns.rdataclass.IN, sig.type_covered)
                assert covered is not None, f"RRSIG over a missing {sig.type_covered!r} at {name}"
                dns.dnssec.validate_rrsig((name, covered), sig, keys, now=when)  # raises if bogus
                key = (name.to_text().lower(), dns.rdatatype.to_text(sig.type_covered))
                signed[key] = signed.get(key, 0) + 1
    return signed


def _referees(path: Path, origin: str, csk: bool = False) -> None:
    verify = require_tool("dnssec-verify")
    ldns = require_tool("ldns-verify-zone")
    checkzone = require_tool("named-checkzone")
    for cmd in ([verify, *(["-z"] if csk else []), "-o", origin, str(path)], [ldns, str(path)],
                [checkzone, "-q", origin, str(path)]):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{cmd[0]} refused {path}:\n{done.stdout}\n{done.stderr}"


# -- the block ----------------------------------------------------------------------------------------
def test_the_block_gives_a_policy_with_documented_defaults() -> None:
    zone = _lab_zone(LAB + "dnssec: true\n")
    assert zone.dnssec == Policy(13, "nsec", 14 * 86400, 7 * 86400, "keys", 3600)
    settings = "{algorithm: ed25519, denial: nsec3, validity: 30d, refresh: 1d, keys: k, ttl: 5m}"
    zone = _lab_zone(LAB + f"dnssec: {settings}\n")
    assert zone.dnssec == Policy(15, "nsec3", 30 * 86400, 86400, "k", 300)
    assert _lab_zone(LAB + "dnssec: {algorithm: 8}\n").dnssec.algorithm == 8
    assert _lab_zone().dnssec is None and _lab_zone(LAB + "dnssec: false\n").dnssec is None


@pytest.mark.parametrize(("setting", "at", "words"), [
    ("algorithm: RSASHA1", "RSASHA1", "not one zonetool signs with"),
    ("denial: nsec5", "nsec5", "must be nsec or nsec3"),
    ("validity: 2x", "2x", "dnssec.validity"),
    ("refresh: 20d", "20d", "below dnssec.validity"),
    ("keyz: k", "keyz", "unknown key `keyz`"),
])
def test_bad_settings_are_findings_at_file_line_column(tmp_path: Path, setting: str, at: str, words: str) -> None:
    path = tmp_path / "lab.yaml"
    line = f"dnssec: {{{setting}}}"
    path.write_text(LAB + line + "\n")
    _, findings = load_file(path)
    errors = [f for f in findings if f.severity == "error"]
    assert len(errors) == 1 and words in errors[0].message
    where = f"{path}:{LAB.count(chr(10)) + 1}:{line.index(at) + 1}:"
    assert errors[0].format().startswith(where), errors[0].format()


# -- canonical form ------------------------------------------------------------------------------------
def test_canonical_rdata_lowers_names_of_the_rfc_4034_list_only_and_never_compresses() -> None:
    origin = Name.from_text("Example.COM.")
    soa = parse_rdata("SOA", "NS1 HostMaster 1 2 3 4 5", origin)
    assert canonical_rdata(soa) == (b"\x03ns1\x07example\x03com\x00\x0ahostmaster\x07example\x03com\x00"
                                    + bytes.fromhex("0000000100000002000000030000000400000005"))
    assert canonical_rdata(parse_rdata("MX", "10 MX.Example.com.", origin)) == b"\x00\x0a\x02mx\x07example\x03com\x00"
    assert canonical_rdata(parse_rdata("DNAME", "Target.Example.", origin)) == b"\x06target\x07example\x00"
    assert canonical_rdata(parse_rdata("NSEC", "Next.Example. A", origin)).startswith(b"\x04Next")  # RFC 6840 5.1
    assert canonical_rdata(parse_rdata("TXT", '"MiXed"', origin)) == b"\x05MiXed"


def test_nsec3_hash_matches_rfc_5155_appendix_a() -> None:
    # RFC 5155 Appendix A: example, salt aabbccdd, 12 iterations -> 0p9mhaveqvm6t7vbl5lop2u3t2rp3tom
    import base64

    digest = nsec3_hash(Name.from_text("example."), bytes.fromhex("aabbccdd"), 12)
    assert base64.b32hexencode(digest).decode().lower().rstrip("=") == "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"


# -- keys -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_keys_written_are_read_back_and_dnssec_keygen_keys_are_read(tmp_path: Path, algorithm: int) -> None:
    origin = Name.from_text("lab.example.")
    key = generate(algorithm, ZONE_KEY | SEP)
    public, private = write_key(tmp_path, origin, key, NOW)
    assert public.name == f"{file_stem(origin, key)}.key" and private.stat().st_mode & 0o777 == 0o600
    again = read_key(public, origin)
    assert (again.tag, again.flags, again.public) == (key.tag, key.flags, key.public)
    keygen = require_tool("dnssec-keygen")
    made = subprocess.run([keygen, "-q", "-K", str(tmp_path / "bind"), "-a", str(algorithm), *(
        ["-b", "2048"] if algorithm == 8 else []), "lab.example"], capture_output=True, text=True, check=False,
        cwd=tmp_path) if (tmp_path / "bind").mkdir() is None else None
    assert made is not None and made.returncode == 0, made.stderr if made else ""
    stem = made.stdout.strip()
    theirs = read_key(tmp_path / "bind" / f"{stem}.key", origin)
    assert stem == file_stem(origin, theirs)  # the key tag (RFC 4034 B) zonetool computes is BIND's
    assert [(k.tag, k.public) for k in read_keys(tmp_path / "bind", origin)] == [(theirs.tag, theirs.public)]


def test_ds_matches_dnssec_dsfromkey(tmp_path: Path) -> None:
    origin = Name.from_text("lab.example.")
    for algorithm in ALGORITHMS:
        key = generate(algorithm)
        public, _ = write_key(tmp_path, origin, key, NOW)
        out = subprocess.run([require_tool("dnssec-dsfromkey"), "-2", str(public)], capture_output=True, text=True,
                             check=True).stdout.split()
        tag, alg, digest_type, digest = out[-4:]
        ours = ds_rdata(lower_wire(origin), key)
        assert (int(tag), int(alg), int(digest_type)) == (key.tag, algorithm, 2)
        assert ours[4:].hex().upper() == digest


# -- signing ----------------------------------------------------------------------------------------------
def _expected_signed(zone, policy: Policy) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """RFC 4035 2.2: every authoritative RRset; at a cut only DS; no glue; plus DNSKEY and the chain."""
    out = set()
    for name, node in zone.nodes.items():
        if zone.is_occluded(name):
            continue
        at_cut = name in zone.cuts
        for code in node:
            if not at_cut or code == 43:
                out.add((name.to_text().lower(), dns.rdatatype.to_text(code)))
        if policy.denial == "nsec":
            out.add((name.to_text().lower(), "NSEC"))
    out.add((zone.origin.to_text(), "DNSKEY"))
    if policy.denial == "nsec3":
        out.add((zone.origin.to_text(), "NSEC3PARAM"))
    return out


@pytest.mark.parametrize("denial", DENIALS)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_signed_lab_zone_validates_and_the_referees_accept_it(tmp_path: Path, algorithm: int, denial: str) -> None:
    zone = _lab_zone()
    policy = Policy(algorithm, denial)
    keys = [generate(algorithm, ZONE_KEY | SEP), generate(algorithm, ZONE_KEY)]
    signed = sign_zone(zone, keys, policy, window(policy, NOW), 3600)
    text = write_zone(signed)
    path = tmp_path / "lab.example.zone"
    path.write_text(text)
    got = _validate(text, "lab.example.")
    nsec3 = {k for k in got if k[1] == "NSEC3"}
    assert {k for k in got if k[1] != "NSEC3"} == _expected_signed(zone, policy)
    assert ("lab.example.", "DNSKEY") in got and got[("lab.example.", "DNSKEY")] == 1  # the KSK signs DNSKEY only
    assert ("ns.secure.lab.example.", "A") not in got and ("insecure.lab.example.", "NS") not in got
    if denial == "nsec3":
        # one NSEC3 per name: the authoritative names and cuts plus the ENTs c.ent, b.c.ent, ent, wild,
        # voice, _tcp.voice (glue-only names have none)
        names = {n for n in zone.nodes if not zone.is_occluded(n)}
        assert len(nsec3) == len(names) + 6
        assert "NSEC" not in {k[1] for k in got}
    _referees(path, "lab.example")


def test_signing_twice_in_one_refresh_period_gives_the_same_bytes() -> None:
    zone = _lab_zone()
    policy = Policy()
    keys = [generate(13, ZONE_KEY | SEP), generate(13, ZONE_KEY)]
    first = write_zone(sign_zone(zone, keys, policy, window(policy, NOW), 3600))
    later = NOW - NOW % policy.refresh + policy.refresh - 1  # the last second of the same period
    assert write_zone(sign_zone(zone, keys, policy, window(policy, later), 3600)) == first
    assert write_zone(sign_zone(zone, keys, policy, window(policy, later + 1), 3600)) != first
    win = window(policy, NOW)
    assert win.inception < NOW and win.expiration - NOW >= policy.validity - policy.refresh


# -- the commands -------------------------------------------------------------------------------------------
def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([zonetool_exe(), *args], capture_output=True, text=True, cwd=cwd, timeout=300)


@pytest.mark.parametrize("denial", DENIALS)
def test_bundled_zones_signed_by_export_pass_the_referees(tmp_path: Path, denial: str) -> None:
    for src in sorted(ZONES.glob("*.yaml")):
        path = tmp_path / src.name
        path.write_text(src.read_text() + f"\ndnssec: {{denial: {denial}}}\n")
        assert _run("keygen", path.name, cwd=tmp_path).returncode == 0
    done = _run("export", ".", "-o", "out/", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for out in sorted((tmp_path / "out").glob("*.zone")):
        origin = out.name.removesuffix(".zone")
        assert set(_validate(out.read_text(), origin + "."))
        _referees(out, origin)


def test_export_without_keys_says_how_to_make_them_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").write_text(LAB + "dnssec: {keys: lab-keys}\n")
    done = _run("export", "lab.yaml", "-o", "lab.zone", cwd=tmp_path)
    assert done.returncode == 1 and not (tmp_path / "lab.zone").exists()
    assert "no ECDSAP256SHA256 key for lab.example. in lab-keys/" in done.stderr
    assert "zonetool keygen lab.yaml" in done.stderr and "Traceback" not in done.stderr


def test_export_is_stable_and_a_new_window_gets_a_new_auto_serial(tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").write_text(LAB + "soa: {serial: auto}\ndnssec: {refresh: 1d, validity: 3d}\n")
    made = _run("keygen", "lab.yaml", cwd=tmp_path)
    assert made.returncode == 0 and re.search(r"KSK \d+ -> keys/Klab\.example\.\+013\+\d{5}", made.stdout)
    day = "20261201120000"
    assert _run("export", "lab.yaml", "-o", "lab.zone", "--sign-time", day, cwd=tmp_path).returncode == 0
    first = (tmp_path / "lab.zone").read_text()
    assert _run("export", "lab.yaml", "-o", "lab.zone", "--sign-time", "20261201230000", cwd=tmp_path).returncode == 0
    assert (tmp_path / "lab.zone").read_text() == first  # same period, same keys: byte for byte
    assert _run("export", "lab.yaml", "-o", "lab.zone", "--sign-time", "20261202010000", cwd=tmp_path).returncode == 0
    second = (tmp_path / "lab.zone").read_text()
    serial = re.compile(r"(\d+)\s+; serial")
    assert int(serial.search(second).group(1)) == int(serial.search(first).group(1)) + 1  # type: ignore[union-attr]
    assert " 20261205000000 20261201230000 " in second  # expiration = period start + 3d, inception = start - 1h
    _validate(second, "lab.example.", when=1764700000 + 86400 * 366)  # 2026-12-03: no wall clock in it
    assert _run("export", "lab.yaml", "--sign-time", "yesterday", cwd=tmp_path).returncode == 2


def test_ds_command_matches_dnssec_dsfromkey_and_keygen_csk(tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").write_text(LAB + "dnssec: {algorithm: ED25519}\n")
    made = _run("keygen", "--csk", "lab.yaml", cwd=tmp_path)
    assert made.returncode == 0 and made.stdout.startswith("CSK ")
    keys = sorted((tmp_path / "keys").glob("*.key"))
    assert len(keys) == 1
    theirs = subprocess.run([require_tool("dnssec-dsfromkey"), "-2", str(keys[0])], capture_output=True, text=True,
                            check=True).stdout.split()
    ours = _run("ds", "lab.yaml", cwd=tmp_path)
    assert ours.returncode == 0
    assert ours.stdout.split()[-4:] == theirs[-4:] and ours.stdout.split()[:4] == ["lab.example.", "3600", "IN", "DS"]
    assert _run("export", "lab.yaml", "-o", "lab.zone", cwd=tmp_path).returncode == 0
    _referees(tmp_path / "lab.zone", "lab.example", csk=True)  # dnssec-verify -z: one key signs everything


def test_keygen_refuses_settings_with_errors_and_makes_no_key(tmp_path: Path) -> None:
    """A `dnssec:` block keygen cannot honour (an unknown algorithm) makes no key of another algorithm;
    an error elsewhere in the zone does not stop it (the keys need only the origin and the settings)."""
    (tmp_path / "bad.yaml").write_text(LAB + "dnssec: {algorithm: 99}\n")
    made = _run("keygen", "bad.yaml", cwd=tmp_path)
    assert made.returncode == 1 and "Traceback" not in made.stderr
    assert "bad.yaml:" in made.stderr and "bad-dnssec" in made.stderr and "dnssec: has errors" in made.stderr
    assert not (tmp_path / "keys").exists()
    (tmp_path / "other.yaml").write_text(LAB + "  mx9: {MX: 10 nowhere}\ndnssec: {algorithm: ED25519}\n")
    assert _run("validate", "other.yaml", cwd=tmp_path).returncode == 1
    assert _run("keygen", "other.yaml", cwd=tmp_path).returncode == 0
    assert len(list((tmp_path / "keys").glob("*+015+*.key"))) == 2


def test_dnssec_keygen_keys_sign_in_zonetool_and_zonetool_keys_sign_in_dnssec_signzone(tmp_path: Path) -> None:
    keygen, signzone = require_tool("dnssec-keygen"), require_tool("dnssec-signzone")
    (tmp_path / "bind").mkdir()
    for extra in (["-f", "KSK"], []):
        subprocess.run([keygen, "-q", "-a", "ECDSAP256SHA256", *extra, "lab.example"], cwd=tmp_path / "bind",
                       check=True, capture_output=True)
    (tmp_path / "lab.yaml").write_text(LAB + "dnssec: {keys: bind, denial: nsec3}\n")
    done = _run("export", "lab.yaml", "-o", "lab.zone", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    _referees(tmp_path / "lab.zone", "lab.example")
    # the other way: zonetool's keys, BIND's signer, over zonetool's unsigned export
    (tmp_path / "plain.yaml").write_text(LAB)
    assert _run("export", "plain.yaml", "-o", "plain.zone", cwd=tmp_path).returncode == 0
    (tmp_path / "k.yaml").write_text(LAB + "dnssec: {keys: ours}\n")
    assert _run("keygen", "k.yaml", cwd=tmp_path).returncode == 0
    signed = subprocess.run([signzone, "-q", "-K", "ours", "-S", "-o", "lab.example", "-f", "bind-signed.zone",
                             "plain.zone"], cwd=tmp_path, capture_output=True, text=True)
    assert signed.returncode == 0, signed.stderr
    tags = {int(p.name.split("+")[2].split(".")[0]) for p in (tmp_path / "ours").glob("*.key")}
    bind = dns.zone.from_text((tmp_path / "bind-signed.zone").read_text(), "lab.example.", relativize=False)
    assert {rd.key_tag for _, _, rd in bind.iterate_rdatas() if rd.rdtype == dns.rdatatype.RRSIG} == tags
    _referees(tmp_path / "bind-signed.zone", "lab.example")
    shutil.rmtree(tmp_path / "ours")


def test_a_parent_exported_with_its_signed_child_publishes_the_childs_ds(tmp_path: Path) -> None:
    parent = LAB.replace("  insecure: {NS: [ns.insecure, ns.elsewhere.example.]}",
                         "  insecure: {NS: [ns.insecure, ns.elsewhere.example.]}\n  kid: {NS: [ns1.kid]}\n"
                         "  ns1.kid: {A: 192.0.2.90}")
    (tmp_path / "lab.yaml").write_text(parent + "dnssec: true\n")
    (tmp_path / "kid.yaml").write_text("origin: kid.lab.example\nnameservers: [ns1, ns2.lab.example.]\n"
                                       "records: {ns1: {A: 192.0.2.90}, www: {A: 192.0.2.91}}\ndnssec: true\n")
    for name in ("lab.yaml", "kid.yaml"):
        assert _run("keygen", name, cwd=tmp_path).returncode == 0
    done = _run("export", "lab.yaml", "kid.yaml", "-o", "out/", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lab = dns.zone.from_text((tmp_path / "out" / "lab.example.zone").read_text(), "lab.example.", relativize=False)
    kid = dns.zone.from_text((tmp_path / "out" / "kid.lab.example.zone").read_text(), "kid.lab.example.",
                             relativize=False)
    kid_name = dns.name.from_text("kid.lab.example.")
    ksks = [k for k in kid.find_rdataset(kid_name, "DNSKEY") if k.flags == 257]
    published = set(lab.find_rdataset(kid_name, "DS"))
    assert published == {dns.dnssec.make_ds(kid_name, k, "SHA256") for k in ksks} and len(published) == 1
    printed = _run("ds", "kid.yaml", cwd=tmp_path).stdout.split()
    assert printed[-1] == next(iter(published)).digest.hex().upper()
    signed = _validate((tmp_path / "out" / "lab.example.zone").read_text(), "lab.example.")
    assert ("kid.lab.example.", "DS") in signed and ("kid.lab.example.", "NS") not in signed
    _referees(tmp_path / "out" / "lab.example.zone", "lab.example")
