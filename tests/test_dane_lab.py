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
  bogus.dane.test   signed; a `bogus-signature` fault on the TLSA -> unbound answers SERVFAIL, deferred
                    ("TLSA lookup error"), nothing sent
  plain.dane.test   the same zone unsigned -> sent with opportunistic TLS ("Untrusted TLS connection")

exim 4.96 (Debian's exim4-daemon-light: `exim -bV` lists DANE and DNSSEC) in the same namespace,
through the same unbound, with test_exim's copy of Debian's configuration plus `hosts_require_dane = *`
on remote_smtp (Debian sets `dns_dnssec_ok = 1`; dnslookup's `dnssec_request_domains` is `*`):

  good.exim.test    signed, the sink's certificate -> delivered, `CV=dane` in the log
  wrong.exim.test   signed, a TLSA that does not match -> deferred, "DANE attempt failed", no RCPT
  bogus.exim.test   signed, a `bogus-signature` fault on the TLSA -> deferred, nothing sent
"""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import missing, require_tool, zonetool_exe
from mta import VALIDATED_RESOLV_CONF, Served, namespace, serve, validator, validator_log, write_zones, zone
from test_exim import EXIM_CONFIG, Lab, exim_config, exim_state
from test_exim_tls import TRANSPORT as EXIM_TRANSPORT
from test_postfix import POSTFIX, Fate, Postfix, await_fates, main_cf, master_cf
from test_responder import free_port
from test_server_cli import Serve

from zonetool.harness.sinks import free_port as free_smtp_port

WRONG_TLSA = "3 1 1 " + "00" * 32
SIGNED = "dnssec: {keys: ../keys}\n"
# the sink's TLSA is served with a signature that does not verify: the validator answers SERVFAIL
BOGUS_TLSA = "faults:\n  - {name: _25._tcp.mx1, type: TLSA, action: bogus-signature}\n"


def _exchanger(net: int) -> str:
    return f"mail:\n  exchangers:\n    - {{host: mx1, priority: 10, addresses: [127.0.{net}.10]}}\n"


ZONES = {
    "good.dane.test": zone("good.dane.test", _exchanger(50) + SIGNED),
    "wrong.dane.test": zone("wrong.dane.test", _exchanger(51) + SIGNED, f'  _25._tcp.mx1: {{TLSA: "{WRONG_TLSA}"}}'),
    "bogus.dane.test": zone("bogus.dane.test", _exchanger(52) + SIGNED + BOGUS_TLSA),
    "plain.dane.test": zone("plain.dane.test", _exchanger(53)),
    "good.exim.test": zone("good.exim.test", _exchanger(54) + SIGNED),
    "bogus.exim.test": zone("bogus.exim.test", _exchanger(56) + SIGNED + BOGUS_TLSA),
    "wrong.exim.test": zone("wrong.exim.test", _exchanger(55) + SIGNED, f'  _25._tcp.mx1: {{TLSA: "{WRONG_TLSA}"}}'),
}  # fmt: skip
SIGNED_ZONES = [origin for origin, text in ZONES.items() if "dnssec:" in text]
RECIPIENTS = [f"user@{domain}" for domain in ZONES if domain.endswith(".dane.test")]  # exim's: .exim.test
ZONE_PORT = 10053  # serve's port in the namespace; unbound takes 53, where resolv.conf points
FATE_WAIT = 90


def keygen(zones: Path, origins: list[str]) -> dict[str, list[str]]:
    """`zonetool keygen` for each signed zone (all at once); returns each one's DS lines as `zonetool ds`
    prints them."""
    def each(command: str) -> list[str]:
        procs = [subprocess.Popen([zonetool_exe(), command, f"{origin}.yaml"], cwd=zones, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for origin in origins]
        outs = [proc.communicate(timeout=120) for proc in procs]
        assert all(proc.returncode == 0 for proc in procs), outs
        return [out for out, _err in outs]

    each("keygen")
    return {origin: out.splitlines() for origin, out in zip(origins, each("ds"), strict=True)}


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
        probe = [require_tool("dig"), "@127.0.0.1", "-p", str(port), "+tries=1", "+time=1", "localhost.", "A"]
        while "status: NOERROR" not in subprocess.run(probe, capture_output=True, text=True, timeout=30).stdout:
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


@dataclass
class World:
    """The namespace of the MTAs: serve on 127.0.0.1:10053 (--dane, --validator-conf), unbound on :53."""

    netns: str
    state: Path
    served: Served
    unbound_conf: Path


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    """One namespace, one serve and one unbound for every MTA of the module."""
    with contextlib.ExitStack() as stack:
        netns = stack.enter_context(namespace("zt-dane", VALIDATED_RESOLV_CONF))
        state = Path(tempfile.mkdtemp(prefix="zonetool-dane-"))  # reachable by postfix's and exim's users
        stack.callback(shutil.rmtree, state, ignore_errors=True)
        state.chmod(0o755)
        zones = write_zones(state / "zones", ZONES)
        ds = keygen(zones, SIGNED_ZONES)
        unbound_conf = state / "unbound.conf"
        served = stack.enter_context(serve(netns, zones, {}, ["--dane", "--validator-conf", str(unbound_conf)],
                                           port=ZONE_PORT))
        text = unbound_conf.read_text()
        for origin, lines in ds.items():  # every signed zone anchored, as `zonetool ds` says
            assert all(f'trust-anchor: "{line}"' in text for line in lines), (origin, lines, text)
        stack.enter_context(validator(netns, unbound_conf))
        yield World(netns, state, served, unbound_conf)


@pytest.fixture(scope="module")
def lab(world: World) -> Iterator[Postfix]:
    if not (POSTFIX / "usr/sbin/postfix").exists():
        missing(f"Postfix is not unpacked in {POSTFIX} (run scripts/unpack-postfix.sh as root)")
    state = world.state / "postfix"
    state.mkdir(mode=0o755)
    conf = state / "conf"
    conf.mkdir()
    (state / "queue").mkdir()
    (conf / "main.cf").write_text(dane_main_cf(state))
    (conf / "master.cf").write_text(master_cf())
    pf = Postfix(world.netns, conf, state, world.served, {"LD_LIBRARY_PATH": str(POSTFIX / "usr/lib/postfix")})
    started = pf.postfix("start")
    assert started.returncode == 0, started.stdout + started.stderr + pf.maillog()
    try:
        yield pf
    finally:
        pf.postfix("stop")


@pytest.fixture(scope="module")
def outcome(lab: Postfix) -> dict[str, Fate]:
    lab.submit(RECIPIENTS)
    return await_fates(lab, RECIPIENTS, FATE_WAIT, settle=0.3,  # the sinks' last events may lag
                       more=lambda: validator_log(lab.state.parent / "unbound.conf").read_text())


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


def test_postfix_defers_when_the_tlsa_signature_is_bogus(lab: Postfix, outcome: dict[str, Fate]) -> None:
    """RFC 7672 2.1.1: a TLSA lookup that fails (SERVFAIL from the validator: bogus) is not "no TLSA";
    the sender must not fall back to unauthenticated TLS or clear text."""
    fate = outcome["user@bogus.dane.test"]
    assert fate.status == "deferred", fate
    log = lab.maillog()
    assert re.search(r"TLSA lookup error for mx1\.bogus\.dane\.test:25", log), log[-3000:]
    events = events_for(lab, "bogus.dane.test")
    assert not any(" rcpt " in e or " message " in e for e in events), events
    tlsa = [q for q in lab.served.queries() if "_25._tcp.mx1.bogus.dane.test. TLSA" in q]
    assert tlsa and all("fault=bogus-signature" in q for q in tlsa), tlsa  # the validator met the fault


def test_postfix_uses_opportunistic_tls_for_the_same_zone_unsigned(lab: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@plain.dane.test"]
    assert (fate.status, fate.relay) == ("sent", "mx1.plain.dane.test[127.0.53.10]:25"), fate
    log = lab.maillog()
    established = re.findall(r"(\w+) TLS connection established to mx1\.plain\.dane\.test", log)
    assert established and set(established) <= {"Untrusted", "Anonymous"}, (established, log[-3000:])
    assert any(" message " in e and " over TLSv1." in e for e in events_for(lab, "plain.dane.test"))


# --------------------------------------------------------------------------- exim doing DANE


def dane_exim_config(state: Path) -> Path:
    """test_exim's copy of Debian's configuration with DANE required on remote_smtp. Debian's sets
    `dns_dnssec_ok = 1` already, and dnslookup's `dnssec_request_domains` is `*` by default."""
    text = exim_config(state, False).read_text()
    assert EXIM_TRANSPORT in text, "Debian's remote_smtp transport changed shape"
    text = text.replace(EXIM_TRANSPORT, EXIM_TRANSPORT + "  hosts_require_dane = *\n")
    path = state / "exim-dane.conf"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def exim(world: World) -> Iterator[Lab]:
    require_tool("exim")
    if not EXIM_CONFIG.exists():
        pytest.fail(f"{EXIM_CONFIG} is missing: exim4-config did not generate Debian's configuration")
    state = exim_state()
    try:
        conf = dane_exim_config(state)
        yield Lab(world.netns, conf, conf, world.served, state)
    finally:
        shutil.rmtree(state, ignore_errors=True)


def test_exim_verifies_the_sink_by_its_tlsa_and_delivers(exim: Lab) -> None:
    verdict, events = exim.deliver_quietly("user@good.exim.test")
    assert verdict.startswith("=> user@good.exim.test R=dnslookup T=remote_smtp H=mx1.good.exim.test [127.0.54.10]"), \
        verdict
    assert re.search(r" X=TLS1\.[23]:\S+ CV=dane ", verdict), verdict  # verified by DANE (no CA given)
    assert any(" message " in e and " over TLSv1." in e for e in events), events


def test_exim_defers_when_the_tlsa_does_not_match_the_certificate(exim: Lab) -> None:
    verdict, events = exim.deliver_quietly("user@wrong.exim.test")
    assert verdict.startswith("== user@wrong.exim.test R=dnslookup T=remote_smtp"), verdict
    assert "H=mx1.wrong.exim.test [127.0.55.10]: TLS session: (certificate verification failed)" in verdict, verdict
    assert "DANE attempt failed; TLS connection to mx1.wrong.exim.test [127.0.55.10]" in exim.mainlog()
    assert [e.split()[2] for e in events][:2] == ["connect", "starttls"], events  # TLS done, then it gave up
    assert not [e for e in events if " rcpt " in e or " message " in e], events  # nothing sent, in clear or not


def test_exim_defers_when_the_tlsa_signature_is_bogus(exim: Lab) -> None:
    verdict, events = exim.deliver_quietly("user@bogus.exim.test")
    assert verdict.startswith("== user@bogus.exim.test R=dnslookup T=remote_smtp"), verdict
    assert "DANE error: tlsa lookup DEFER" in verdict, verdict
    assert events == [], events  # not even connected: without a usable TLSA there is no DANE session


def test_the_conf_is_written_again_when_a_reload_brings_a_signed_zone(tmp_path: Path) -> None:
    """No --smtp needed: any signed zone served gets its anchor; a new signed zone file (keys made first)
    is anchored after the reload, the conf replaced whole and the change said."""
    zones = tmp_path / "zones"
    zones.mkdir()
    (zones / "lab.yaml").write_text(LAB)
    keygen(zones, ["lab"])
    conf = tmp_path / "validator" / "unbound.conf"
    conf.parent.mkdir()
    server = Serve(str(zones), "-q", "--validator-conf", str(conf), "--validator-port", str(free_port()))
    try:
        server.started()
        first = conf.read_text()
        assert first.count("trust-anchor:") == 1 and 'name: "lab.example."' in first, first
        staging = tmp_path / "staging"  # keys first, so the zone is signed when serve reads it
        staging.mkdir()
        second = LAB.replace("lab.example", "second.example").replace("dnssec: true", "dnssec: {keys: ../zones/keys}")
        (staging / "second.yaml").write_text(second)
        keygen(staging, ["second"])
        (staging / "second.yaml").rename(zones / "second.yaml")
        server.wait_err(r"validator: .* written again \(the served zones changed\): restart unbound", timeout=30)
        text = conf.read_text()
        assert text.count("trust-anchor:") == 2 and 'trust-anchor: "second.example. ' in text, text
        assert 'name: "second.example."' in text and 'name: "lab.example."' in text, text
        server.wait_err(r"validator: trust anchor second\.example\. \d+ IN DS ")
        shutil.rmtree(conf.parent)  # a conf that cannot be written after a reload: said, and serving goes on
        (zones / "third.yaml").write_text(LAB.replace("lab.example", "third.example").replace("dnssec: true\n", ""))
        server.wait_err(rf"validator: cannot write {re.escape(str(conf))} again: ", timeout=30)
        assert server.proc.poll() is None and not any("Traceback" in line for line in server.err_lines)
        assert dig(server.port, "third.example", "SOA")[0] == "NOERROR"
    finally:
        server.stop()
