"""tsig.ReplyVerifier: a client checking every reply to its signed request (RFC 8945 5.3.1).

The replies here are signed by zonetool's own `Signer` (what `serve` sends) or, for the unsigned
intermediate messages the RFC allows, by hand; the proof against BIND and Knot is tests/test_push.py
(their signed AXFRs and UPDATE answers).
"""

from __future__ import annotations

import struct

import pytest

from zonetool import tsig
from zonetool.names import Name
from zonetool.tsig import BADKEY, BADSIG, BADTIME, Key, ReplyError, ReplyVerifier, Signer, sign_request

KEY = Key(Name.from_text("k.example."), "hmac-sha256", b"0123456789abcdef0123456789abcdef")
NOW = 1_800_000_000


def message(qid: int, n: int) -> bytes:
    """A reply header and nothing else, different for each n (the MAC covers every octet)."""
    return struct.pack("!HHHHHH", qid, 0x8400 | n, 0, 0, 0, 0)


def request() -> tuple[bytes, bytes]:
    return sign_request(message(7, 0), KEY, NOW)


def test_every_signed_message_of_a_chain_verifies_and_a_changed_octet_does_not() -> None:
    _, mac = request()
    signer = Signer(KEY, mac, 7)
    replies = [signer.sign(message(7, n), NOW) for n in range(1, 4)]
    verifier = ReplyVerifier(KEY, mac)
    for reply in replies:
        verifier.check(reply, NOW + 1)
    verifier.finish()
    assert verifier.signed == 3

    tampered = bytearray(replies[1])
    tampered[3] ^= 1
    verifier = ReplyVerifier(KEY, mac)
    verifier.check(replies[0], NOW)
    with pytest.raises(ReplyError, match="does not verify") as caught:
        verifier.check(bytes(tampered), NOW)
    assert caught.value.error == BADSIG


def test_the_first_reply_must_be_over_our_request_mac() -> None:
    _, mac = request()
    _, other = sign_request(message(8, 0), KEY, NOW)
    reply = Signer(KEY, other, 7).sign(message(7, 1), NOW)
    with pytest.raises(ReplyError, match="does not verify"):
        ReplyVerifier(KEY, mac).check(reply, NOW)


def test_unsigned_messages_between_signed_ones_are_covered_by_the_next_mac() -> None:
    _, mac = request()
    first = Signer(KEY, mac, 7).sign(message(7, 1), NOW)
    first_mac = tsig.read_tsig(first, tsig.tsig_start(first)).mac  # type: ignore[arg-type]
    middle, last = message(7, 2), message(7, 3)
    # RFC 8945 5.3.1: prior MAC, the unsigned messages, the signed one without its TSIG, the timers
    covered = tsig._prior(first_mac) + middle + last + tsig._timers(NOW, 300)
    signed_last = tsig._append(last, KEY.name, KEY.algorithm_name, NOW, 300, KEY.mac(covered), 7, 0, b"")
    verifier = ReplyVerifier(KEY, mac)
    verifier.check(first, NOW)
    verifier.check(middle, NOW)
    with pytest.raises(ReplyError, match="last message of the reply is not signed"):
        verifier.finish()
    verifier.check(signed_last, NOW)
    verifier.finish()


def test_an_unsigned_first_reply_the_servers_verdict_and_a_late_reply_are_errors() -> None:
    _, mac = request()
    with pytest.raises(ReplyError, match="not signed"):
        ReplyVerifier(KEY, mac).check(message(7, 1), NOW)
    refused = tsig.unsigned_error(message(7, 9), tsig.read_tsig(*_signed_request()), BADKEY)
    with pytest.raises(ReplyError, match="answered BADKEY") as caught:
        ReplyVerifier(KEY, mac).check(refused, NOW)
    assert caught.value.error == BADKEY
    late = Signer(KEY, mac, 7).sign(message(7, 1), NOW)
    with pytest.raises(ReplyError, match="BADTIME") as caught:
        ReplyVerifier(KEY, mac).check(late, NOW + 301)
    assert caught.value.error == BADTIME


def _signed_request() -> tuple[bytes, int]:
    signed, _ = request()
    return signed, tsig.tsig_start(signed)  # type: ignore[return-value]
