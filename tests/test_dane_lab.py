"""The DANE lab (issue 14 part 3): `zonetool serve --smtp --dane --validator-conf FILE` on signed zones,
a real validating unbound started with the FILE it wrote, and real MTAs doing DANE (RFC 7672) through it.

First without an MTA: the unbound.conf serve writes makes a real unbound validate the served zones
(AD on the sink's TLSA, the anchors the same as `zonetool ds` prints, the unsigned zone insecure).

Then Postfix (the unpacked Debian package of test_postfix.py) in a network namespace of its own
(tests/mta.py) whose resolv.conf names 127.0.0.1 with `options trust-ad` (glibc 2.31+ clears the AD
bit without it). There unbound listens on 127.0.0.1:53 with the conf serve wrote, and serve itself
on 127.0.0.1:10053. Postfix runs with test_postfix's main.cf, but

  smtp_tls_security_level = dane    DANE where the TLSA is secure, opportunistic TLS where not (RFC 7672 2.2)
  smtp_dns_support_level = dnssec   ask with DO and believe the AD bit of the (local) resolver
  dnssec_probe = ns:good.dane.test  its start-up check that the resolver validates asks the lab (the
                                    default, the root's NS, is not reachable in the namespace)

and the zones, one exchanger each:

  good.dane.test    signed; the sink's certificate as TLSA -> sent, "Verified TLS connection established"
  wrong.dane.test   signed; the zone file's own TLSA, which --dane keeps and the certificate does not
                    match -> deferred, the sink saw STARTTLS and no RCPT (nothing sent in clear)
  plain.dane.test   the same zone unsigned -> sent with opportunistic TLS ("Untrusted TLS connection")
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import missing, require_tool, zonetool_exe
from mta import VALIDATED_RESOLV_CONF, namespace, serve, validator, validator_log, write_zones, zone
from test_postfix import POSTFIX, Fate, Postfix, fates, main_cf, master_cf
from test_responder import free_port
from test_server_cli import Serve

from zonetool.harness.sinks import free_port as free_smtp_port

WRONG_TLSA = "3 1 1 " + "00" * 32
SIGNED = "dnssec: {keys: ../keys}\n"


def _exchanger(net: int) -> str:
    return f"mail:\n  exchangers:\n    - {{host: mx1, priority: 10, addresses: [127.0.{net}.10]}}\n"


ZONES = {
    "good.dane.test": zone("good.dane.test", _exchanger(50) + SIGNED),
    "wrong.dane.test": zone("wrong.dane.test", _exchanger(51) + SIGNED, f'  _25._tcp.mx1: {{TLSA: "{WRONG_TLSA}"}}'),
    "plain.dane.test": zone("plain.dane.test", _exchanger(53)),
}  # fmt: skip
SIGNED_ZONES = [origin for origin, text in ZONES.items() if "dnssec:" in text]
RECIPIENTS = [f"user@{domain}" for domain in ZONES]
ZONE_PORT = 10053  # serve's port in the namespace; unbound takes 53, where resolv.conf points
FATE_WAIT = 90


def keygen(zones: Path, origins: list[str]) -> dict[str, list[str]]:
    """`zonetool keygen` for each signed zone; returns each one's DS lines as `zonetool ds` prints them."""
    out = {}
    for origin in origins:
        made = subprocess.run([zonetool_exe(), "keygen", f"{origin}.yaml"], cwd=zones, capture_output=True,
                              text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        ds = subprocess.run([zonetool_exe(), "ds", f"{origin}.yaml"], cwd=zones, capture_output=True, text=True,
                            timeout=60)
        assert ds.returncode == 0, ds.stderr
        out[origin] = ds.stdout.splitlines()
    return out


def dig(port: int, *question: str) -> tuple[str, set[str], str]:
    """dig +dnssec through a resolver: (status, header flags, whole output)."""
    done = subprocess.run([require_tool("dig"), "@127.0.0.1", "-p", str(port), "+dnssec", "+tries=1", "+time=10",
                           *question], capture_output=True, text=True, timeout=60)
    status = re.search(r"status: (\w+)", done.stdout)
    flags = re.search(r"^;; flags: ([^;]*);", done.stdout, re.M)
    assert status and flags, done.stdout + done.stderr
    return status.group(1), set(flags.group(1).split()), done.stdout


# --------------------------------------------------------------------------- the conf, with a real unbound


LAB = """\
origin: lab.example
nameservers: [ns1, ns2]
mail:
  exchangers:
    - {host: mx1, priority: 10, addresses: [127.0.0.61]}
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
dnssec: true
"""
PLAIN = LAB.replace("lab.example", "plain.example").replace("dnssec: true\n", "")


@contextlib.contextmanager
def unbound_with(conf: Path) -> Iterator[subprocess.Popen[bytes]]:
    """unbound started in the foreground with the conf serve wrote, as the README says to."""
    unbound = require_tool("unbound")
    checked = subprocess.run([require_tool("unbound-checkconf"), str(conf)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with validator_log(conf).open("wb") as log:
        proc = subprocess.Popen([unbound, "-d", "-c", str(conf)], stdout=log, stderr=log)
    try:
        port = int(re.search(r"^  port: (\d+)$", conf.read_text(), re.M).group(1))  # type: ignore[union-attr]
        deadline = time.monotonic() + 20
        while dig(port, "localhost.", "A")[0] != "NOERROR":
            assert proc.poll() is None and time.monotonic() < deadline, validator_log(conf).read_text()
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_validator_conf_makes_a_real_unbound_validate_the_sinks_tlsa(tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").write_text(LAB)
    (tmp_path / "plain.yaml").write_text(PLAIN)
    made = subprocess.run([zonetool_exe(), "keygen", "lab.yaml"], cwd=tmp_path, capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    ds = subprocess.run([zonetool_exe(), "ds", "lab.yaml"], cwd=tmp_path, capture_output=True, text=True)
    conf, vport = tmp_path / "unbound.conf", free_port()
    server = Serve("lab.yaml", "plain.yaml", "-q", "--smtp", "--smtp-port", f"25={free_smtp_port(['127.0.0.61'])}",
                   "--dane", "--validator-conf", str(conf), "--validator-port", str(vport), cwd=tmp_path)
    try:
        server.started()
        _check_validating(server, conf, vport, ds.stdout.strip())
    finally:
        server.stop()


def _check_validating(server: Serve, conf: Path, vport: int, ds: str) -> None:
    said = "\n".join(server.err_lines)
    # the anchors printed are the KSK's DS as `zonetool ds` makes it (another code path) and its DNSKEY
    assert ds and f"zonetool: validator: trust anchor {ds}" in said, said
    assert re.search(r"validator: trust anchor lab\.example\. \d+ IN DNSKEY 257 3 13 \S+", said), said
    assert f"validator: {conf} written: `unbound -d -c {conf}` answers on 127.0.0.1:{vport}" in said, said
    assert "options trust-ad" in said, said
    text = conf.read_text()
    assert f'trust-anchor: "{ds}"' in text, text
    assert f"stub-addr: 127.0.0.1@{server.port}" in text and 'domain-insecure: "plain.example."' in text, text
    assert 'domain-insecure: "lab.example."' not in text, text  # a signed zone is validated, never waved through
    hashed = re.search(r"dane: _25\._tcp\.mx1\.lab\.example\. TLSA 3 1 1 (\w+)", said)
    assert hashed, said
    with unbound_with(conf):
        status, flags, answer = dig(vport, "_25._tcp.mx1.lab.example", "TLSA")
        assert status == "NOERROR" and "ad" in flags, answer + validator_log(conf).read_text()
        assert hashed.group(1) in answer.replace(" ", "").upper(), answer
        status, flags, answer = dig(vport, "nothing.lab.example", "A")
        assert status == "NXDOMAIN" and "ad" in flags, answer  # the denial validated too
        status, flags, answer = dig(vport, "mx1.plain.example", "A")
        assert status == "NOERROR" and "ad" not in flags and "127.0.0.61" in answer, answer  # insecure, answered


def test_validator_conf_errors_are_said_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "lab.yaml").write_text(PLAIN)
    for args, words in (
        (["--port", "10999", "--validator-port", "10999", "--validator-conf", "u.conf"],
         "--validator-port 10999 is serve's own --port on 127.0.0.1"),
        (["--port", "0", "--validator-port", "0", "--validator-conf", "u.conf"], "--validator-port must be 1..65535"),
        (["--port", "0", "--validator-port", "10998", "--validator-conf", "missing/u.conf"],
         "--validator-conf missing/u.conf: "),
    ):
        done = subprocess.run([zonetool_exe(), "serve", "lab.yaml", "-q", *args],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 2 and words in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr and not (tmp_path / "u.conf").exists(), done.stderr


# --------------------------------------------------------------------------- Postfix doing DANE


def dane_main_cf(state: Path) -> str:
    """test_postfix's main.cf with DANE instead of no TLS."""
    text = main_cf(state)
    assert "smtp_tls_security_level = none\n" in text
    return text.replace("smtp_tls_security_level = none\n", """\
# DANE (RFC 7672): TLSA from DNSSEC-validated answers; where there are none, opportunistic TLS.
smtp_tls_security_level = dane
smtp_dns_support_level = dnssec
smtp_tls_loglevel = 1
# Postfix checks at start that its resolver validates by asking for the root's NS: the namespace has
# no Internet, so it asks a signed name of the lab instead.
dnssec_probe = ns:good.dane.test
""")


@pytest.fixture(scope="module")
def lab() -> Iterator[Postfix]:
    if not (POSTFIX / "usr/sbin/postfix").exists():
        missing(f"Postfix is not unpacked in {POSTFIX} (run scripts/unpack-postfix.sh as root)")
    with contextlib.ExitStack() as stack:
        netns = stack.enter_context(namespace("zt-dane", VALIDATED_RESOLV_CONF))
        state = Path(tempfile.mkdtemp(prefix="zonetool-dane-"))
        stack.callback(shutil.rmtree, state, ignore_errors=True)
        state.chmod(0o755)
        conf = state / "conf"
        conf.mkdir()
        (state / "queue").mkdir()
        (conf / "main.cf").write_text(dane_main_cf(state))
        (conf / "master.cf").write_text(master_cf())
        zones = write_zones(state / "zones", ZONES)
        ds = keygen(zones, SIGNED_ZONES)
        unbound_conf = state / "unbound.conf"
        served = stack.enter_context(serve(netns, zones, {}, ["--dane", "--validator-conf", str(unbound_conf)],
                                           port=ZONE_PORT))
        text = unbound_conf.read_text()
        for origin, lines in ds.items():  # every signed zone anchored, as `zonetool ds` says
            assert all(f'trust-anchor: "{line}"' in text for line in lines), (origin, lines, text)
        stack.enter_context(validator(netns, unbound_conf))
        pf = Postfix(netns, conf, state, served, {"LD_LIBRARY_PATH": str(POSTFIX / "usr/lib/postfix")})
        started = pf.postfix("start")
        assert started.returncode == 0, started.stdout + started.stderr + pf.maillog()
        stack.callback(pf.postfix, "stop")
        yield pf


@pytest.fixture(scope="module")
def outcome(lab: Postfix) -> dict[str, Fate]:
    lab.submit(RECIPIENTS)
    deadline = time.monotonic() + FATE_WAIT
    while time.monotonic() < deadline:
        found = fates(lab.maillog())
        if all(r in found for r in RECIPIENTS):
            time.sleep(0.3)  # the sink's last events are in the pipe; the reader thread may lag
            return found
        time.sleep(0.2)
    pytest.fail(f"no fate after {FATE_WAIT} s:\n{lab.maillog()[-5000:]}\n{validator_log(lab.state / 'unbound.conf')}")


def events_for(postfix: Postfix, domain: str) -> list[str]:
    return [e for e in postfix.served.sink_events() if f".{domain}. [" in e]


def test_postfix_verifies_the_sink_by_its_tlsa_and_delivers(lab: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@good.dane.test"]
    assert (fate.status, fate.relay) == ("sent", "mx1.good.dane.test[127.0.50.10]:25"), fate
    log = lab.maillog()
    assert "Verified TLS connection established to mx1.good.dane.test[127.0.50.10]:25" in log, log[-3000:]
    events = events_for(lab, "good.dane.test")
    starttls = [e for e in events if " starttls " in e]  # with DANE Postfix sends the MX name as SNI
    assert len(starttls) == 1 and "sni=mx1.good.dane.test" in starttls[0], events
    message = [e for e in events if " message " in e]
    assert len(message) == 1 and " over TLSv1." in message[0], events  # the sink took it over TLS


def test_postfix_defers_when_the_tlsa_does_not_match_the_certificate(lab: Postfix,
                                                                      outcome: dict[str, Fate]) -> None:
    fate = outcome["user@wrong.dane.test"]
    assert fate.status == "deferred", fate
    assert (fate.dsn, fate.text) == ("4.7.5", "Server certificate not verified"), fate
    assert "server certificate verification failed for mx1.wrong.dane.test[127.0.51.10]:25: num=65:no matching " \
           "DANE TLSA records" in lab.maillog(), lab.maillog()[-3000:]
    events = events_for(lab, "wrong.dane.test")
    assert [e.split()[2] for e in events][:2] == ["connect", "starttls"], events  # TLS done, then it gave up
    assert not any(" rcpt " in e or " message " in e for e in events), events  # nothing sent, in clear or not
    assert "dane: _25._tcp.mx1.wrong.dane.test. TLSA kept as the zone file has it" in "".join(lab.served.errors)


def test_postfix_uses_opportunistic_tls_for_the_same_zone_unsigned(lab: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@plain.dane.test"]
    assert (fate.status, fate.relay) == ("sent", "mx1.plain.dane.test[127.0.53.10]:25"), fate
    log = lab.maillog()
    established = re.findall(r"(\w+) TLS connection established to mx1\.plain\.dane\.test", log)
    assert established and set(established) <= {"Untrusted", "Anonymous"}, (established, log[-3000:])
    assert any(" message " in e and " over TLSv1." in e for e in events_for(lab, "plain.dane.test"))
