"""zonetool.dnssec.verify: the signature check `route --server` makes, for each algorithm zonetool signs with."""

from __future__ import annotations

import time

import pytest

from zonetool.dnssec.keys import generate
from zonetool.dnssec.policy import Window
from zonetool.dnssec.sign import Signer
from zonetool.dnssec.verify import Rrsig, check
from zonetool.names import Name
from zonetool.rrtypes import RRType
from zonetool.rrtypes.address import A

ORIGIN, WWW = Name.from_text("example.org."), Name.from_text("www.example.org.")
A_CODE = int(RRType.A)


@pytest.mark.parametrize("algorithm", [8, 13, 15])
def test_a_good_signature_holds_and_each_way_of_breaking_it_is_named(algorithm: int) -> None:
    key, other = generate(algorithm), generate(algorithm)
    now = int(time.time())
    rdatas = [A("192.0.2.1"), A("192.0.2.2")]

    def sigs(win: Window) -> list[Rrsig]:
        return [Rrsig.parse(r.data) for r in Signer(ORIGIN, [key], win).rrsigs(WWW, A_CODE, 300, rdatas)]

    good = sigs(Window(now - 3600, now + 3600))
    keys = [key.dnskey()]
    assert check(WWW, A_CODE, rdatas, good, keys, now) is None
    assert check(WWW, A_CODE, list(reversed(rdatas)), good, keys, now) is None  # canonical order (RFC 4034 6.3)
    assert check(WWW, A_CODE, rdatas[:1], good, keys, now) == "corrupt"  # the data changed
    assert check(WWW, A_CODE, rdatas, good, [other.dnskey()], now) == "corrupt"  # another zone's key
    assert check(WWW, A_CODE, rdatas, sigs(Window(now - 7200, now - 3600)), keys, now) == "expired"
    assert check(WWW, A_CODE, rdatas, [], keys, now) == "strip"


def test_a_wildcard_signature_holds_for_the_name_it_was_expanded_to() -> None:
    key = generate(13)
    now = int(time.time())
    rdatas = [A("192.0.2.9")]
    wild = Name.from_text("*.example.org.")
    made = Signer(ORIGIN, [key], Window(now - 60, now + 60)).rrsigs(wild, A_CODE, 60, rdatas)
    sig = Rrsig.parse(made[0].data)
    assert sig.labels == 2 and sig.signer == ORIGIN
    assert check(Name.from_text("a.b.example.org."), A_CODE, rdatas, [sig], [key.dnskey()], now) is None
