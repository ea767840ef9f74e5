"""Reading BIND master files: the RFC 1035 5.1 grammar, named's extensions, errors with their place."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from zonetool.cli import app
from zonetool.compile import compile_zone
from zonetool.names import Name
from zonetool.rrtypes import MX, SOA, SRV, TXT, A, Generic
from zonetool.source import yaml as yaml_source
from zonetool.source.bind import BindSyntaxError, read_zone, read_zone_with_warnings
from zonetool.zone import Zone

BIND = Path(__file__).resolve().parent / "data" / "bind"
ORIGIN = Name.from_text("example.com.")


def n(text: str) -> Name:
    return Name.from_text(text)


def rdatas(zone: Zone, owner: str, code: int) -> list[object]:
    rrset = zone.rrset(n(owner), code)
    assert rrset is not None, f"no type {code} at {owner}"
    return [r.rdata for r in rrset.records]


def read(text: str, origin: str = "example.com.") -> Zone:
    return read_zone(text, n(origin), "t.zone")


HEAD = "$TTL 1h\n@ SOA ns1 hostmaster 1 2 3 4 5\n  NS ns1\n"


def test_real_world_file_reads_every_record() -> None:
    zone = read_zone((BIND / "example.com.zone").read_text(), ORIGIN, "example.com.zone")
    soa = zone.soa
    assert isinstance(soa, SOA)
    assert (soa.serial, soa.refresh, soa.retry, soa.expire) == (2024061501, 7200, 1800, 1209600)
    assert rdatas(zone, "example.com.", 15) == [
        MX(10, n("mx1.example.com.")),
        MX(10, n("mx2.example.com.")),
        MX(50, n("backup.example.net.")),
    ]
    apex_a = zone.rrset(ORIGIN, 1)
    assert apex_a is not None and apex_a.records[0].ttl == 300  # inherited owner, own TTL
    assert zone.rrset(n("mx2.example.com."), 1).records[0].ttl == 600  # class before TTL
    assert rdatas(zone, "_dmarc.example.com.", 16) == [TXT((b"v=DMARC1; p=reject; ", b"rua=mailto:dmarc@example.com"))]
    assert rdatas(zone, "quoted.example.com.", 16) == [
        TXT((b"semi;colon", b'quote"inside', b"back\\slash", b"tab\tchar", "été".encode(), b"unquoted"))
    ]
    assert rdatas(zone, "_imap._tcp.example.com.", 33) == [SRV(0, 0, 0, Name(()))]
    assert n(r"esc\.dot\@x.example.com.").labels[0] == b"esc.dot@x"
    assert zone.rrset(n(r"esc\.dot\@x.example.com."), 16) is not None
    assert rdatas(zone, "unk.example.com.", 1) == [A("192.0.2.1")]  # RFC 3597 form of a known type
    assert rdatas(zone, "_sip._udp.example.com.", 65534) == [Generic(65534, bytes.fromhex("abcdef"))]
    (tlsa,) = rdatas(zone, "_25._tcp.mx1.example.com.", 52)
    assert isinstance(tlsa, Generic) and tlsa.data[:3] == b"\x03\x01\x01" and len(tlsa.data) == 35
    (sshfp,) = rdatas(zone, "mail.example.com.", 44)  # hex split over a parenthesised second line
    assert isinstance(sshfp, Generic) and sshfp.data == bytes.fromhex("0101" + "0123456789abcdef" * 2 + "01234567")
    ds = rdatas(zone, "secure.example.com.", 43)
    assert {d.data[2] for d in ds} == {13}  # algorithm mnemonic ECDSAP256SHA256 read as 13
    # The owner's spelling is kept (RFC 4343), lookups ignore case.
    imap = zone.rrset(n("imap.example.com."), 1)
    assert imap is not None and imap.owner.labels[0] == b"Imap"


def test_positions_are_line_and_column() -> None:
    zone = read_zone((BIND / "example.com.zone").read_text(), ORIGIN, "example.com.zone")
    www = zone.rrset(n("www.example.com."), 5).records[0]
    assert (www.where.file, www.where.line, www.where.column) == ("example.com.zone", 24, 1)
    aaaa = zone.rrset(n("mx1.example.com."), 28).records[0]
    assert (aaaa.where.line, aaaa.where.column) == (22, 2)  # a tab-indented inherited owner


def test_ttl_semantics_without_ttl_directive() -> None:
    zone = read_zone((BIND / "odd.example.zone").read_text(), n("odd.example."), str(BIND / "odd.example.zone"))
    ttl = {str(r.owner): r.ttl for r in zone.records() if r.code == 1}
    assert ttl["NS1.odd.example."] == 3600
    assert ttl["*.wild.odd.example."] == 3600  # RFC 1035: the last stated TTL
    assert ttl["class-first.odd.example."] == 300 and ttl["ttl-first.odd.example."] == 300
    assert ttl["bare.odd.example."] == 7200  # after $TTL 2h
    soa = zone.soa_record()
    assert soa is not None and soa.ttl == 86400
    assert soa.rdata.expire == 3 * 604800 + 4 * 86400 and soa.rdata.minimum == 5400  # type: ignore[attr-defined]


def test_include_with_origin_and_generate() -> None:
    zone = read_zone((BIND / "odd.example.zone").read_text(), n("odd.example."), str(BIND / "odd.example.zone"))
    assert rdatas(zone, "lab.odd.example.", 16) == [TXT((b"included apex",))]
    assert rdatas(zone, "host.lab.odd.example.", 1) == [A("192.0.2.77")]
    assert zone.rrset(n("x.deeper.lab.odd.example."), 5) is not None
    # RFC 1035 5.1: origin and owner revert after $INCLUDE
    assert rdatas(zone, "after.odd.example.", 1) == [A("198.51.100.5")]
    assert [rdatas(zone, f"dyn-{i}.odd.example.", 1)[0] for i in range(1, 5)] == [
        A(f"198.51.100.{10 + i}") for i in range(1, 5)
    ]
    ptr = rdatas(zone, "12.rev.odd.example.", 12)[0]
    assert ptr.target == n("host-0c.odd.example.")  # type: ignore[attr-defined]


def test_include_relative_to_base_dir(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "part").write_text("mx1 A 192.0.2.10\n")
    text = HEAD + "$INCLUDE sub/part\n"
    zone = read_zone(text, ORIGIN, "main.zone", base_dir=tmp_path)
    assert rdatas(zone, "mx1.example.com.", 1) == [A("192.0.2.10")]
    with pytest.raises(BindSyntaxError, match=r"main.zone:4:10: \$INCLUDE cannot read"):
        read_zone(HEAD + "$INCLUDE missing\n", ORIGIN, "main.zone", base_dir=tmp_path)
    (tmp_path / "loop").write_text("$INCLUDE loop\n")
    with pytest.raises(BindSyntaxError, match="nested more than"):
        read_zone("$INCLUDE loop\n", ORIGIN, "main.zone", base_dir=tmp_path)


def test_origin_from_file_and_relative_origin() -> None:
    zone = read_zone("$ORIGIN example.org.\n$TTL 60\n@ SOA a b 1 2 3 4 5\n$ORIGIN sub\nwww A 192.0.2.1\n", None)
    assert zone.origin == n("example.org.")
    assert rdatas(zone, "www.sub.example.org.", 1) == [A("192.0.2.1")]


def test_no_ttl_anywhere_uses_soa_minimum() -> None:
    zone, warnings = read_zone_with_warnings("@ SOA a b 1 2 3 4 55\nwww A 192.0.2.1\n", ORIGIN)
    assert {r.ttl for r in zone.records()} == {55}
    assert [w.code for w in warnings] == ["no-default-ttl"]


def test_out_of_zone_data_is_dropped_with_a_warning() -> None:
    zone, warnings = read_zone_with_warnings(HEAD + "www.example.net. A 192.0.2.1\n", ORIGIN, "t.zone")
    assert not zone.nodes.get(n("www.example.net."))
    assert [(w.code, w.where.line) for w in warnings] == [("out-of-zone", 4)]


@pytest.mark.parametrize(
    ("text", "place", "message"),
    [
        (HEAD + "www A 192.0.2.300\n", "t.zone:4:7", "not an IPv4 address"),
        (HEAD + "www FOO 1\n", "t.zone:4:5", "unknown record type 'FOO'"),
        (HEAD + "www CH A 192.0.2.1\n", "t.zone:4:5", "class CH"),
        (HEAD + "www MX 10\n", "t.zone:4:8", "MX takes 2 fields"),
        (HEAD + 'www TXT "unterminated\n', "t.zone:4:9", "unbalanced quote"),
        (HEAD + "www TXT ( a\nb\n", "t.zone:4:9", "never closed"),
        (HEAD + "www A 192.0.2.1 )\n", "t.zone:4:17", "')' without '('"),
        (HEAD + "www 1x A 192.0.2.1\n", "t.zone:4:5", "not a TTL"),
        (HEAD + "$FOO bar\n", "t.zone:4:1", "unknown directive"),
        (HEAD + "www TYPE999 \\# 2 abcdef\n", "t.zone:4:13", "length says 2"),
        (HEAD + "www TLSA 3 1 1 xyz\n", "t.zone:4:10", "not hexadecimal"),
        (HEAD + "www SSHFP 1 1\n", "t.zone:4:11", "needs hexadecimal"),
        (HEAD + "www LOC 52 22 N\n", "t.zone:4:9", "LOC needs degrees"),
        (HEAD + "www WKS 192.0.2.1 6 smtp\n", "t.zone:4:9", "RFC 3597"),
        (HEAD + "a..b A 192.0.2.1\n", "t.zone:4:1", "empty label"),
        (HEAD + "x" * 64 + " A 192.0.2.1\n", "t.zone:4:1", "at most 63"),
        ("  A 192.0.2.1\n", "t.zone:1:3", "no owner name yet"),
        ("$TTL 1h\nwww A 192.0.2.1\n", "t.zone:2:1", "needs an $ORIGIN"),
        ("$ORIGIN example.com.\nwww A 192.0.2.1\n", "t.zone:2:1", "no TTL"),
        (HEAD + "@ SOA a b 2 2 3 4 5\n", "t.zone:4:1", "exactly one SOA"),
        (HEAD + 'www.example.com. 10 IN TXT ( "a" ; comment\n  "b" 300 )\n', "t.zone:4:", None),
    ],
)
def test_errors_have_file_line_column(text: str, place: str | None, message: str | None) -> None:
    origin = None if message == "needs an $ORIGIN" else ORIGIN
    if message is None:  # the last case is valid: comments inside parentheses
        zone = read_zone(text, origin, "t.zone")
        assert rdatas(zone, "www.example.com.", 16) == [TXT((b"a", b"b", b"300"))]
        return
    with pytest.raises(BindSyntaxError) as info:
        read_zone(text, origin, "t.zone")
    assert message in str(info.value)
    if place is not None:
        assert str(info.value).startswith(place + ":"), str(info.value)


def test_crlf_and_tabs() -> None:
    zone = read("$TTL 300\r\n@\tSOA\tns1 hm 1 2 3 4 5\r\n\tNS\tns1\r\nns1\tA\t192.0.2.1 ; note\r\n")
    assert rdatas(zone, "ns1.example.com.", 1) == [A("192.0.2.1")]


def test_escapes_in_names_and_strings() -> None:
    zone = read(HEAD + 'a\\032b\\.c TXT "\\072i" \\059semi\n')
    (txt,) = rdatas(zone, "a\\032b\\.c.example.com.", 16)
    assert txt == TXT((b"Hi", b";semi"))
    assert zone.names()[1].labels[0] == b"a b.c"


def test_agrees_with_named_checkzone_on_every_fixture(named_checkzone: str) -> None:
    """Every fixture is one that named accepts; we read it and find as many records as named loads."""
    for path in sorted(BIND.glob("*.zone")):
        origin = path.name.removesuffix(".zone") + "."
        result = subprocess.run(
            [named_checkzone, "-D", "-o", "-", origin, path.name], cwd=BIND, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr
        named_rrs = [line for line in result.stdout.splitlines() if line and not line.startswith(";")]
        zone = read_zone(path.read_text(), n(origin), str(path))
        assert len(zone) == len(named_rrs), path.name


# ---------------------------------------------------------------------------
# the import command
# ---------------------------------------------------------------------------
runner = CliRunner()


def test_import_writes_yaml_that_compiles_to_the_same_records(tmp_path: Path) -> None:
    out = tmp_path / "example.com.yaml"
    result = runner.invoke(app, ["import", str(BIND / "example.com.zone"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    zone = read_zone((BIND / "example.com.zone").read_text(), ORIGIN, "x")
    data, _findings = yaml_source.load(out.read_text(), str(out))
    again, problems = compile_zone(data, str(out))
    assert again is not None and not [p for p in problems if p.severity == "error"]
    rows = {(r.owner.to_text(), r.ttl, r.code, r.rdata.to_wire()) for r in zone.records()}
    assert rows == {(r.owner.to_text(), r.ttl, r.code, r.rdata.to_wire()) for r in again.records()}
    assert "origin: example.com" in out.read_text()


def test_import_origin_defaults(tmp_path: Path) -> None:
    # From $ORIGIN in the file ...
    result = runner.invoke(app, ["import", str(BIND / "odd.example.zone")])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("origin: odd.example\n")
    # ... else from the file name.
    f = tmp_path / "db.example.org"
    f.write_text(HEAD.replace("@", "example.org.") + "ns1 A 192.0.2.1\n".replace("ns1", "ns1.example.org."))
    result = runner.invoke(app, ["import", str(f)])
    assert result.exit_code == 0, result.output
    assert "origin: example.org" in result.stdout


def test_import_errors_exit_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zone"
    bad.write_text(HEAD + "www A 192.0.2.300\n")
    out = tmp_path / "out.yaml"
    out.write_text("keep me\n")
    result = runner.invoke(app, ["import", str(bad), "--origin", "example.com", "-o", str(out)])
    assert result.exit_code == 1
    assert f"{bad}:4:7:" in result.output and "Traceback" not in result.output
    assert out.read_text() == "keep me\n"
    missing = runner.invoke(app, ["import", str(tmp_path / "nope.zone"), "--origin", "x.example"])
    assert missing.exit_code == 2 and "no such file" in missing.output
    unnamed = tmp_path / "zonefile"
    unnamed.write_text("www 60 A 192.0.2.1\n")
    assert runner.invoke(app, ["import", str(unnamed)]).exit_code == 2


FRAGMENTS = [
    "$ORIGIN", "$TTL", "$INCLUDE", "$GENERATE", "1-3", "x$", "@", "*", "www", "a.b.", "\\", "\\0", "\\999", '"',
    '"x y"', "(", ")", ";c", "IN", "CH", "300", "1h", "A", "AAAA", "MX", "TXT", "SRV", "SOA", "TLSA", "HTTPS", "LOC",
    "NSEC", "RRSIG", "TYPE99", "\\#", "2", "abcd", "192.0.2.1", "::1", "10", "N", "E", "alpn=h2", "-", "=", "é",
]  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.lists(st.sampled_from(FRAGMENTS), max_size=9)),
        max_size=6,
    )
)
def test_any_text_reads_or_fails_with_a_place(lines: list[tuple[bool, list[str]]]) -> None:
    """Garbage in: a Zone or a BindSyntaxError with file:line:column, never another exception."""
    text = HEAD + "\n".join((" " if indent else "") + " ".join(words) for indent, words in lines) + "\n"
    try:
        read_zone(text, ORIGIN, "f.zone", base_dir=BIND)
    except BindSyntaxError as exc:
        assert exc.where.file is not None and exc.where.line is not None and exc.where.line >= 1
        assert str(exc).startswith(f"{exc.where}: ")


def test_import_groups_mx_and_smtp_srv_into_mail(tmp_path: Path) -> None:
    exported = tmp_path / "mailco.example.zone"
    assert runner.invoke(app, ["export", str(BIND / "mailco.yaml"), "-o", str(exported)]).exit_code == 0
    result = runner.invoke(app, ["import", str(exported)])
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "mail:\n  exchangers:\n    - {host: mx1, priority: 10, weight: 3}\n" in text
    assert "  srv: true\n" in text and "_smtp._tcp" not in text and "MX:" not in text
    # a hand-written SRV set that does not match the MX set stays under records
    partial = runner.invoke(app, ["import", str(BIND / "example.com.zone")])
    assert partial.exit_code == 0, partial.output
    assert "_smtp._tcp:" in partial.stdout and "srv: true" not in partial.stdout
    assert "- {host: backup.example.net., priority: 50}" in partial.stdout
    null = tmp_path / "null.zone"
    null.write_text(HEAD.replace("example.com", "x") + "@ MX 0 .\nns1 A 192.0.2.1\n")
    result = runner.invoke(app, ["import", str(null), "--origin", "example.com"])
    assert result.exit_code == 0 and 'mail:\n  "null": true\n' in result.stdout


@pytest.mark.parametrize("path", sorted(BIND.glob("*.zone")), ids=lambda p: p.name)
def test_import_command_accepts_every_fixture(path: Path) -> None:
    """The command's own check (the YAML compiles back to the same records) passes for every fixture."""
    result = runner.invoke(app, ["import", str(path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"origin: {path.name.removesuffix('.zone')}\n")
