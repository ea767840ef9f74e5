"""A real MTA over TLS (issue 12 section 4): Postfix told to trust the test CA of `zonetool serve
--smtp` delivers over STARTTLS to the sinks, and defers when a sink offers no TLS.

Postfix (the unpacked Debian package, as in test_postfix.py) runs in a network namespace of its own
whose only DNS is `zonetool serve --smtp --tls-ca-out CA` on 127.0.0.1:53, with

  smtp_tls_security_level = encrypt      TLS is mandatory for every destination (RFC 3207)
  smtp_tls_CAfile = CA                   the test CA, so the sinks' certificates are trusted
  smtp_tls_servername = hostname         the MX host name sent as SNI (RFC 6066 3)
  smtp_tls_policy_maps                   verified.mta.test at `secure match=hostname`: the
                                         certificate must also name the exchanger

and the scenarios:

  tls.mta.test        a TLS sink                 -> sent; "Trusted TLS connection established";
                                                    the sink saw STARTTLS, TLSv1.3, SNI = the MX name
  verified.mta.test   a TLS sink, secure policy  -> sent; "Verified TLS connection established"
  nexthop.mta.test    `secure match=nexthop`: the certificate must name the domain, the sink's names
                      the exchanger -> deferred, "Server certificate not verified"; nothing sent
  notls.mta.test      mx1 without TLS, the backup also without -> deferred: "TLS is required, but
                                                    was not offered"; nothing delivered at either
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import missing
from mta import namespace, serve, write_zones, zone
from test_postfix import POSTFIX, Fate, Postfix, await_fates, main_cf, master_cf

ZONES = {
    "tls.mta.test": zone("tls.mta.test",
                         "mail:\n  exchangers:\n    - {host: mx1, priority: 10, addresses: [127.0.40.10]}"),
    "verified.mta.test": zone("verified.mta.test",
                              "mail:\n  exchangers:\n    - {host: mx1, priority: 10, addresses: [127.0.42.10]}"),
    "nexthop.mta.test": zone("nexthop.mta.test",
                             "mail:\n  exchangers:\n    - {host: mx1, priority: 10, addresses: [127.0.43.10]}"),
    "notls.mta.test": zone("notls.mta.test", "mail:\n  exchangers:\n"
                           "    - {host: mx1, priority: 10, addresses: [127.0.41.10]}\n"
                           "    - {host: backup, priority: 20, addresses: [127.0.41.11]}"),
}  # fmt: skip
NO_TLS = ("mx1.notls.mta.test", "backup.notls.mta.test")
RECIPIENTS = [f"user@{domain}" for domain in ZONES]
FATE_WAIT = 90


def tls_main_cf(state: Path, ca: Path) -> str:
    """test_postfix's main.cf with mandatory TLS instead of none."""
    text = main_cf(state)
    assert "smtp_tls_security_level = none\n" in text
    return text.replace("smtp_tls_security_level = none\n", f"""\
# TLS is mandatory, and the test CA of zonetool serve --smtp is the only one trusted.
smtp_tls_security_level = encrypt
smtp_tls_CAfile = {ca}
smtp_tls_servername = hostname
smtp_tls_loglevel = 1
smtp_tls_policy_maps = inline:{{ {{verified.mta.test = secure match=hostname}},
    {{nexthop.mta.test = secure match=nexthop}} }}
""")


@pytest.fixture(scope="module")
def postfix_tls() -> Iterator[Postfix]:
    if not (POSTFIX / "usr/sbin/postfix").exists():
        missing(f"Postfix is not unpacked in {POSTFIX} (run scripts/unpack-postfix.sh as root)")
    with contextlib.ExitStack() as stack:
        netns = stack.enter_context(namespace("zt-pftls"))
        state = Path(tempfile.mkdtemp(prefix="zonetool-postfix-tls-"))
        stack.callback(shutil.rmtree, state, ignore_errors=True)
        state.chmod(0o755)
        conf = state / "conf"
        conf.mkdir()
        (state / "queue").mkdir()
        ca = state / "ca.pem"  # written by zonetool serve before it says "serving"; readable by postfix's user
        (conf / "main.cf").write_text(tls_main_cf(state, ca))
        (conf / "master.cf").write_text(master_cf())
        zones = write_zones(state / "zones", ZONES)
        extra = ["--tls-ca-out", str(ca), *(a for host in NO_TLS for a in ("--smtp-tls", f"{host}=off"))]
        served = stack.enter_context(serve(netns, zones, {}, extra))
        assert ca.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
        pf = Postfix(netns, conf, state, served, {"LD_LIBRARY_PATH": str(POSTFIX / "usr/lib/postfix")})
        started = pf.postfix("start")
        assert started.returncode == 0, started.stdout + started.stderr + pf.maillog()
        stack.callback(pf.postfix, "stop")
        yield pf


@pytest.fixture(scope="module")
def outcome(postfix_tls: Postfix) -> dict[str, Fate]:
    postfix_tls.submit(RECIPIENTS)
    return await_fates(postfix_tls, RECIPIENTS, FATE_WAIT, settle=0.3)  # the sinks' last events may lag


def events_for(postfix: Postfix, domain: str) -> list[str]:
    return [e for e in postfix.served.sink_events() if f".{domain}. [" in e]


def test_the_sinks_without_tls_say_so_at_start(postfix_tls: Postfix) -> None:
    text = "".join(postfix_tls.served.errors)
    for host, address in (("mx1.notls.mta.test", "127.0.41.10"), ("backup.notls.mta.test", "127.0.41.11")):
        assert f"smtp sink for {host}. on [{address}]:25 (accept, no TLS)" in text, text
    assert "smtp sink for mx1.tls.mta.test. on [127.0.40.10]:25 (accept)" in text, text


def test_postfix_delivers_over_tls_with_the_test_ca(postfix_tls: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@tls.mta.test"]
    assert (fate.status, fate.relay) == ("sent", "mx1.tls.mta.test[127.0.40.10]:25"), fate
    log = postfix_tls.maillog()
    assert re.search(r"Trusted TLS connection established to mx1\.tls\.mta\.test\[127\.0\.40\.10\]:25: TLSv1\.[23]",
                     log), log[-3000:]
    events = events_for(postfix_tls, "tls.mta.test")
    starttls = [e for e in events if " starttls " in e]
    assert len(starttls) == 1 and "sni=mx1.tls.mta.test" in starttls[0] and " TLSv1." in starttls[0], events
    version = starttls[0].split("]:25 ")[1].split()[0]
    assert version in log  # the same protocol on both sides
    message = [e for e in events if " message " in e]
    assert len(message) == 1 and message[0].endswith(f"over {version}"), events


def test_postfix_secure_policy_verifies_the_exchangers_name(postfix_tls: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@verified.mta.test"]
    assert (fate.status, fate.relay) == ("sent", "mx1.verified.mta.test[127.0.42.10]:25"), fate
    assert "Verified TLS connection established to mx1.verified.mta.test[127.0.42.10]:25" in postfix_tls.maillog()
    assert any("sni=mx1.verified.mta.test" in e for e in events_for(postfix_tls, "verified.mta.test"))


def test_postfix_defers_when_no_sink_offers_tls(postfix_tls: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@notls.mta.test"]
    assert fate.status == "deferred", fate
    assert "TLS is required, but was not offered by host" in fate.text, fate
    events = events_for(postfix_tls, "notls.mta.test")
    assert not any(" message " in e or " rcpt " in e for e in events), events  # nothing sent in clear
    connected = {e.split()[3] for e in events if " connect " in e}
    assert connected == {"mx1.notls.mta.test.", "backup.notls.mta.test."}, events  # both tried, both refused TLS



def test_postfix_defers_when_the_certificate_does_not_match(postfix_tls: Postfix, outcome: dict[str, Fate]) -> None:
    """The handshake completes, Postfix finds the name wrong (4.7.5) and quits; the sink saw STARTTLS and
    no RCPT: what a DANE sender does with a TLSA that does not match (issue 14's lab)."""
    fate = outcome["user@nexthop.mta.test"]
    assert fate.status == "deferred" and "Server certificate not verified" in fate.text, fate
    events = events_for(postfix_tls, "nexthop.mta.test")
    assert not any(" rcpt " in e or " message " in e for e in events), events
    assert (fate.dsn, fate.relay) == ("4.7.5", "mx1.nexthop.mta.test[127.0.43.10]:25"), fate
    assert [e.split()[2] for e in events] == ["connect", "starttls"], events  # TLS done, then it gave up
