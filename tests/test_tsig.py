"""TSIG (RFC 8945) in the pure core and the key file reader, with dnspython as the outside referee."""

from __future__ import annotations

import base64
import struct
import time
from pathlib import Path

import dns.message
import dns.name
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import pytest

from zonetool import tsig
from zonetool.names import Name
from zonetool.source.keyfile import KeyFileError, parse_keys, read_key_file
from zonetool.wire import parse_query, tsig_start

SECRET = base64.b64decode("9UnObHVh6ljH3PfU1qTiHyFG5CmFgev30j98Bbi4VUE=")
KEY = tsig.Key(Name.from_text("xfr.example."), "hmac-sha256", SECRET)
KEYS = {KEY.name: KEY}
RING = {dns.name.from_text("xfr.example."): dns.tsig.Key("xfr.example.", SECRET, "hmac-sha256")}


def signed_query(name: str = "example.com.", rdtype: str = "SOA", keyring: object = RING,
                 key_name: str = "xfr.example.", algorithm: str = "hmac-sha256") -> dns.message.Message:
    q = dns.message.make_query(name, rdtype)
    q.use_tsig(keyring, keyname=key_name, algorithm=algorithm)
    return q


def reply_to(request: bytes) -> bytes:
    """A plain NOERROR reply to `request` (header and question only), as the responder packs one."""
    query = parse_query(request)
    flags = 0x8400 | (query.flags & 0x0100)
    return struct.pack("!HHHHHH", query.id, flags, 1, 0, 0, 0) + request[12 : query.question_end]


def test_a_request_signed_by_dnspython_is_checked_and_the_reply_verifies_there() -> None:
    q = signed_query()
    data = q.to_wire()
    query = parse_query(data)
    assert query.tsig_at is not None
    checked = tsig.check_request(data, query.tsig_at, KEYS, now=int(time.time()))
    assert checked.error == 0 and checked.signer is not None
    reply = checked.signer.sign(reply_to(data), now=int(time.time()))
    # dnspython checks the MAC over the request MAC (raises if wrong)
    parsed = dns.message.from_wire(reply, keyring=RING, request_mac=q.mac)
    assert parsed.had_tsig and parsed.rcode() == dns.rcode.NOERROR


def test_every_message_of_a_transfer_is_signed_in_a_chain() -> None:
    """RFC 8945 5.3.1: dnspython's multi-message check (multi=True, the previous context) accepts them."""
    q = signed_query(rdtype="AXFR")
    data = q.to_wire()
    query = parse_query(data)
    now = tsig.read_tsig(data, query.tsig_at).time_signed
    signer = tsig.check_request(data, query.tsig_at, KEYS, now).signer
    assert signer is not None
    ctx = None
    for _ in range(3):
        reply = signer.sign(reply_to(data), now)
        m = dns.message.from_wire(reply, keyring=RING, request_mac=q.mac, xfr=True, tsig_ctx=ctx, multi=True)
        ctx = m.tsig_ctx
        assert m.had_tsig
    # a message signed out of the chain (as a first one) fails there
    with pytest.raises(dns.tsig.BadSignature):
        dns.message.from_wire(tsig.Signer(KEY, q.mac, q.id).sign(reply_to(data), now), keyring=RING,
                              request_mac=q.mac, xfr=True, tsig_ctx=ctx, multi=True)


def test_a_wrong_secret_is_badsig_and_an_unknown_key_is_badkey() -> None:
    other = {dns.name.from_text("xfr.example."): dns.tsig.Key("xfr.example.", b"not the secret", "hmac-sha256")}
    data = signed_query(keyring=other).to_wire()
    start = parse_query(data).tsig_at
    assert start is not None
    now = tsig.read_tsig(data, start).time_signed
    assert tsig.check_request(data, start, KEYS, now).error == tsig.BADSIG
    stranger = {dns.name.from_text("who.example."): dns.tsig.Key("who.example.", SECRET, "hmac-sha256")}
    data = signed_query(keyring=stranger, key_name="who.example.").to_wire()
    start = parse_query(data).tsig_at
    assert tsig.check_request(data, start, KEYS, now).error == tsig.BADKEY
    # the same name with another algorithm is not our key either (RFC 8945 5.2.1)
    sha1 = {dns.name.from_text("xfr.example."): dns.tsig.Key("xfr.example.", SECRET, "hmac-sha1")}
    data = signed_query(keyring=sha1, algorithm="hmac-sha1").to_wire()
    assert tsig.check_request(data, parse_query(data).tsig_at, KEYS, now).error == tsig.BADKEY


def test_a_late_request_is_badtime_with_the_servers_time_and_signed() -> None:
    q = signed_query()
    data = q.to_wire()
    start = parse_query(data).tsig_at
    signed_at = tsig.read_tsig(data, start).time_signed
    checked = tsig.check_request(data, start, KEYS, now=signed_at + 301)
    assert checked.error == tsig.BADTIME and checked.signer is not None
    assert tsig.check_request(data, start, KEYS, now=signed_at + 300).error == 0  # the fudge itself is fine
    reply = checked.signer.sign(reply_to(data), now=signed_at + 301)
    record = tsig.read_tsig(reply, tsig_start(reply))
    assert record.error == tsig.BADTIME and int.from_bytes(record.other) == signed_at + 301
    with pytest.raises(dns.tsig.PeerBadTime):  # dnspython verified the MAC, then read the error
        dns.message.from_wire(reply, keyring=RING, request_mac=q.mac)


def test_an_unsigned_error_names_the_key_and_has_no_mac() -> None:
    data = signed_query().to_wire()
    start = parse_query(data).tsig_at
    record = tsig.read_tsig(data, start)
    reply = tsig.unsigned_error(reply_to(data), record, tsig.BADSIG)
    back = tsig.read_tsig(reply, tsig_start(reply))
    assert (back.key_name, back.mac, back.error) == (KEY.name, b"", tsig.BADSIG)


def test_a_tsig_that_is_not_last_is_formerr() -> None:
    data = bytearray(signed_query().to_wire())
    # one more (empty OPT) record after the TSIG: ARCOUNT 2
    data[10:12] = (2).to_bytes(2)
    data += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    from zonetool.wire import WireError

    with pytest.raises(WireError, match="TSIG is not the last record"):
        parse_query(bytes(data))


def test_our_signed_request_verifies_at_dnspython_and_its_reply_at_ours() -> None:
    plain = dns.message.make_query("example.com.", "SOA").to_wire()
    signed, mac = tsig.sign_request(plain, KEY, now=int(time.time()))
    m = dns.message.from_wire(signed, keyring=RING)  # raises if the MAC is wrong
    assert m.had_tsig
    answer = dns.message.make_response(m)  # dnspython signs the reply with the request's key
    wire = answer.to_wire()
    assert tsig.check_reply(wire, KEY, mac)
    assert not tsig.check_reply(wire, KEY, b"\x00" * 32)


KEYFILE = """\
// written by tsig-keygen
key "xfr.example" {
\talgorithm hmac-sha256;
\tsecret "9UnObHVh6ljH3PfU1qTiHyFG5CmFgev30j98Bbi4VUE=";
};
key old.example. { algorithm HMAC-SHA1; secret "c2VjcmV0"; }; # for an old secondary
"""


def test_key_files_as_tsig_keygen_writes_them(tmp_path: Path) -> None:
    keys = parse_keys(KEYFILE, "k.key")
    assert [(k.name.to_text(), k.algorithm) for k in keys] == [("xfr.example.", "hmac-sha256"),
                                                                ("old.example.", "hmac-sha1")]
    assert keys[0].secret == SECRET
    assert "9UnO" not in repr(keys[0])  # a secret is never printed
    path = tmp_path / "k.key"
    path.write_text(KEYFILE)
    path.chmod(0o600)
    assert read_key_file(path)[1] == []
    path.chmod(0o644)
    (warning,) = read_key_file(path)[1]
    assert "can be read by other users" in warning and "9UnO" not in warning


@pytest.mark.parametrize(("text", "where", "words"), [
    ('key "a" {\n  algorithm hmac-md6;\n  secret "c2VjcmV0";\n};\n', "k:2:13", "is not one of"),
    ('key "a" {\n  algorithm hmac-sha256;\n  secret "not base64!";\n};\n', "k:3:10", "not base64"),
    ('key "a" {\n  algorithm hmac-sha256;\n};\n', "k:1:5", "has no secret"),
    ('key "a" {\n  algorithm hmac-sha256\n  secret "c2VjcmV0";\n};\n', "k:3:3", "expected ';'"),
    ('options { };\n', "k:1:1", "expected a key statement"),
    ('', "k:1:1", "no key statement"),
    ('key "a" { secret "unterminated; };\n', "k:1:18", "unterminated"),
])
def test_a_bad_key_file_is_said_with_its_place(text: str, where: str, words: str) -> None:
    with pytest.raises(KeyFileError) as caught:
        parse_keys(text, "k")
    assert str(caught.value).startswith(where + ": ") and words in str(caught.value), str(caught.value)
    assert "c2VjcmV0" not in str(caught.value)


@pytest.mark.parametrize(("args", "words"), [
    (["--tsig-key", "missing.key"], "--tsig-key missing.key: no such file or folder"),
    (["--tsig-key", "bad.key"], "--tsig-key bad.key:2:13: algorithm 'hmac-md6'"),
    (["--allow-transfer", "key=xfr.example"], "no --tsig-key file defines the key 'xfr.example'"),
    (["--tsig-key", "good.key", "--allow-transfer", "10.0.0.0/8,key=other"], "defines the key 'other'"),
    (["--tsig-key", "good.key", "--notify", "127.0.0.1:5300,key=other"], "defines the key 'other'"),
    (["--tsig-key", "good.key", "--tsig-key", "good.key"], "is defined in two files"),
])
def test_serve_says_what_is_wrong_with_keys_and_rules(tmp_path: Path, args: list[str], words: str) -> None:
    import subprocess

    from conftest import zonetool_exe

    (tmp_path / "good.key").write_text(KEYFILE)
    (tmp_path / "good.key").chmod(0o600)
    (tmp_path / "bad.key").write_text('key "a" {\n  algorithm hmac-md6;\n  secret "c2VjcmV0";\n};\n')
    (tmp_path / "z.yaml").write_text("origin: example.com\nnameservers: [ns1]\nrecords:\n  ns1: {A: 192.0.2.1}\n")
    out = subprocess.run([zonetool_exe(), "serve", "z.yaml", "--port", "0", *args], cwd=tmp_path,
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and words in out.stderr and "Traceback" not in out.stderr, out.stderr
    assert "9UnO" not in out.stderr
