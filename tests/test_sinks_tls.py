"""STARTTLS at the SMTP sinks (issue 12 section 4): a real TLS client (smtplib with the test CA)
verifies each exchanger's certificate by name, and the events say TLS, version and SNI."""

from __future__ import annotations

import contextlib
import queue
import smtplib
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import http_call, require_tool, zonetool_exe

from zonetool.harness.sinks import MailSinks, free_port, parse_tls
from zonetool.harness.testca import TestCA
from zonetool.mailpolicy.dane import spki, tlsa_311, tlsa_311_text

MX1, MX2 = "127.0.0.30", "127.0.0.31"
MSG = "From: a@sender.test\r\nTo: user@example.com\r\nSubject: t\r\n\r\nhello\r\n"


@pytest.fixture
def sinks() -> Iterator[MailSinks]:
    port = free_port([MX1, MX2])
    with MailSinks(ports={25: port}) as s:
        s.add("mx1.example.com", MX1)
        s.add("alias.example.com", MX1)  # a second name on the same address: the SNI picks the certificate
        s.add("mx2.example.com", MX2)
        yield s


def send_tls(address: str, port: int, server_name: str, context: ssl.SSLContext) -> dict:  # type: ignore[type-arg]
    """STARTTLS verifying the certificate for `server_name` (sent as SNI), then one message; the
    certificate the sink presented."""
    with smtplib.SMTP(address, port, local_hostname="sender.test", timeout=10) as smtp:
        smtp._host = server_name  # type: ignore[attr-defined]  # what starttls() checks and sends as SNI
        smtp.starttls(context=context)
        assert isinstance(smtp.sock, ssl.SSLSocket)
        presented = smtp.sock.getpeercert()
        smtp.sendmail("a@sender.test", ["user@example.com"], MSG)
    assert presented is not None
    return presented


def test_starttls_verifies_each_exchangers_certificate(sinks: MailSinks) -> None:
    context = ssl.create_default_context(cadata=sinks.ca.ca_pem.decode())  # hostname checked, CA trusted
    address, port = sinks.address_of("mx1.example.com")
    for name in ("mx1.example.com", "alias.example.com"):
        presented = send_tls(address, port, name, context)
        assert ("DNS", name) in presented["subjectAltName"]
    send_tls(*sinks.address_of("mx2.example.com"), "mx2.example.com", context)
    starts = [e for e in sinks.events if e.kind == "starttls"]
    assert [(e.address, e.sni) for e in starts] == [
        (MX1, "mx1.example.com"), (MX1, "alias.example.com"), (MX2, "mx2.example.com")]
    assert all(e.tls_version in ("TLSv1.2", "TLSv1.3") and e.cipher for e in starts)
    assert [(m.tls, m.sni) for m in sinks.messages] == [
        (True, "mx1.example.com"), (True, "alias.example.com"), (True, "mx2.example.com")]
    assert sinks.messages[0].to_json()["tls_version"] == starts[0].tls_version
    assert f"over {starts[0].tls_version}" in sinks.messages[0].format()


def test_a_name_the_certificate_is_not_for_fails_verification(sinks: MailSinks) -> None:
    context = ssl.create_default_context(cadata=sinks.ca.ca_pem.decode())
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
        send_tls(*sinks.address_of("mx2.example.com"), "mx1.example.com", context)  # mx2's address, mx1's name


def test_an_untrusting_client_is_recorded_as_tls_failed(sinks: MailSinks) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        send_tls(*sinks.address_of("mx1.example.com"), "mx1.example.com", ssl.create_default_context())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not any(e.kind == "tls-failed" for e in sinks.events):
        time.sleep(0.05)
    failed = [e for e in sinks.events if e.kind == "tls-failed"]
    assert failed and "UNKNOWN_CA" in failed[0].reply.upper() and failed[0].sni == "mx1.example.com", sinks.report()
    assert sinks.messages == []


def test_a_sink_without_tls_offers_no_starttls(sinks: MailSinks) -> None:
    sinks.use_tls("mx2.example.com", False)
    with smtplib.SMTP(*sinks.address_of("mx2.example.com"), local_hostname="sender.test", timeout=10) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("starttls")
        assert smtp.has_extn("8bitmime")  # the EHLO answer is there, only STARTTLS is missing
        smtp.sendmail("a@sender.test", ["user@example.com"], MSG)
    assert [(m.host, m.tls, m.tls_version) for m in sinks.messages] == [("mx2.example.com.", False, None)]
    with smtplib.SMTP(*sinks.address_of("mx1.example.com"), local_hostname="sender.test", timeout=10) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls")  # the others still offer it


def test_leaves_are_per_host_and_stable() -> None:
    ca = TestCA()
    one, again, other = ca.leaf("MX1.Example.com."), ca.leaf("mx1.example.com"), ca.leaf("mx2.example.com")
    assert one is again and one.host == "mx1.example.com"
    assert spki(one.cert_pem) != spki(other.cert_pem)  # a key of its own per exchanger
    assert one.certificate.issuer == ca.certificate.subject


def test_tlsa_311_is_the_sha256_of_the_spki_as_openssl_computes_it(tmp_path: Path) -> None:
    """The `3 1 1` association of a certificate, against openssl (RFC 6698 2.1, RFC 7671 5.1)."""
    openssl = require_tool("openssl")
    leaf = TestCA().leaf("mx1.example.com")
    cert = tmp_path / "leaf.pem"
    cert.write_bytes(leaf.cert_pem)
    pub = subprocess.run([openssl, "x509", "-in", str(cert), "-noout", "-pubkey"], capture_output=True, check=True)
    der = subprocess.run([openssl, "pkey", "-pubin", "-outform", "DER"], input=pub.stdout, capture_output=True,
                         check=True)
    digest = subprocess.run([openssl, "dgst", "-sha256", "-hex"], input=der.stdout, capture_output=True, check=True)
    expected = digest.stdout.decode().split()[-1]
    assert tlsa_311(leaf.cert_pem).hex() == expected
    assert tlsa_311_text(leaf.certificate) == f"3 1 1 {expected.upper()}"


def test_parse_tls() -> None:
    assert parse_tls([]) == (True, {})
    assert parse_tls(["off", "mx1.example.com=on"]) == (False, {"mx1.example.com": True})
    for bad in ("maybe", "=off", "mx1=yes"):
        with pytest.raises(ValueError, match="--smtp-tls"):
            parse_tls([bad])


SERVE_ZONE = """
origin: tls.example
nameservers: [ns1, ns2]
mail:
  exchangers:
    - {host: mx1, priority: 10, addresses: [127.0.0.30]}
    - {host: plain, priority: 20, addresses: [127.0.0.31]}
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
"""


@contextlib.contextmanager
def serving(folder: Path, *extra: str, until: str = "serving") -> Iterator[tuple[list[str], list[str]]]:
    """`zonetool serve --smtp ...` running; yields its stderr lines up to the one with `until` and its
    stdout lines (live)."""
    proc = subprocess.Popen([zonetool_exe(), "serve", str(folder), "--port", "0", "--smtp", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    errs: queue.Queue[str] = queue.Queue()
    out: list[str] = []
    threading.Thread(target=lambda: [errs.put(line) for line in proc.stderr], daemon=True).start()  # type: ignore[union-attr]
    threading.Thread(target=lambda: [out.append(line) for line in proc.stdout], daemon=True).start()  # type: ignore[union-attr]
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while not any(until in line for line in seen) and time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(queue.Empty):
                seen.append(errs.get(timeout=0.5))
        assert any(until in line for line in seen), "".join(seen)
        yield seen, out
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_serve_smtp_starttls_with_the_ca_file_it_wrote(tmp_path: Path) -> None:
    (tmp_path / "zones").mkdir()
    (tmp_path / "zones" / "tls.example.yaml").write_text(SERVE_ZONE)
    ca_file = tmp_path / "ca.pem"
    port = free_port([MX1, MX2])
    with serving(tmp_path / "zones", "--smtp-port", f"25={port}", "--tls-ca-out", str(ca_file),
                 "--smtp-tls", "plain.tls.example=off") as (seen, out):
        text = "".join(seen)
        assert f"smtp sink for plain.tls.example. on [{MX2}]:{port} (accept, no TLS)" in text, text
        assert f"senders trust it with {ca_file}" in text, text
        context = ssl.create_default_context(cafile=str(ca_file))
        send_tls(MX1, port, "mx1.tls.example", context)
        with smtplib.SMTP(MX2, port, timeout=10) as smtp:
            smtp.ehlo()
            assert not smtp.has_extn("starttls")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(" message " in line for line in out):
            time.sleep(0.05)
    log = "".join(out)
    assert "starttls mx1.tls.example. [127.0.0.30]" in log and "sni=mx1.tls.example" in log, log
    assert "(18 octets) over TLSv1." in log or "octets) over TLSv1." in log, log
    assert ca_file.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")  # the user's file is kept


def test_serve_smtp_default_ca_file_is_named_and_removed_at_stop(tmp_path: Path) -> None:
    (tmp_path / "tls.example.yaml").write_text(SERVE_ZONE)
    port = free_port([MX1, MX2])
    with serving(tmp_path, "--smtp-port", f"25={port}", "--quiet") as (seen, _out):
        line = next(line for line in seen if "senders trust it with" in line)
        ca_file = Path(line.rsplit(" ", 1)[1].strip())
        assert ca_file.is_file() and (ca_file.stat().st_mode & 0o044) == 0o044  # readable by an MTA's user
        send_tls(MX1, port, "mx1.tls.example", ssl.create_default_context(cafile=str(ca_file)))
    assert not ca_file.exists() and not ca_file.parent.exists()


def test_serve_smtp_tls_bad_options_are_clear(tmp_path: Path) -> None:
    (tmp_path / "tls.example.yaml").write_text(SERVE_ZONE)
    for extra, message in (
        (["--smtp", "--smtp-tls", "sometimes"], "expected on, off or HOST=on|off"),
        (["--smtp", "--smtp-tls", "nohost.tls.example=off"], "no sink for nohost.tls.example"),
        (["--smtp-tls", "off"], "need --smtp"),
        (["--smtp", "--tls-ca-out", str(tmp_path / "no" / "such" / "ca.pem")], "--tls-ca-out"),
    ):
        done = subprocess.run([zonetool_exe(), "serve", str(tmp_path), "--port", "0", *extra],
                              capture_output=True, text=True, timeout=30, check=False)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr


def _spki_sha256_by_openssl(der_certificate: bytes) -> str:
    """SHA-256 of the certificate's SubjectPublicKeyInfo, by openssl alone (no zonetool code)."""
    openssl = require_tool("openssl")
    pub = subprocess.run([openssl, "x509", "-inform", "DER", "-noout", "-pubkey"], input=der_certificate,
                         capture_output=True, check=True)
    der = subprocess.run([openssl, "pkey", "-pubin", "-outform", "DER"], input=pub.stdout, capture_output=True,
                         check=True)
    digest = subprocess.run([openssl, "dgst", "-sha256", "-hex"], input=der.stdout, capture_output=True, check=True)
    return digest.stdout.decode().split()[-1].lower()


def _presented_der(address: str, port: int, name: str, ca_file: Path) -> bytes:
    with smtplib.SMTP(address, port, local_hostname="sender.test", timeout=10) as smtp:
        smtp._host = name  # type: ignore[attr-defined]
        smtp.starttls(context=ssl.create_default_context(cafile=str(ca_file)))
        der = smtp.sock.getpeercert(binary_form=True)  # type: ignore[union-attr]
    assert der
    return der


DANE_ZONE = SERVE_ZONE.replace("  ns1: {A: 192.0.2.53}", """  ns1: {A: 192.0.2.53}
  _25._tcp.plain: {TLSA: "3 1 1 0000000000000000000000000000000000000000000000000000000000000000"}""")


def test_serve_dane_publishes_the_sinks_spki_hash_as_tlsa(tmp_path: Path) -> None:
    """dig asks `serve --smtp --dane` for the TLSA; it equals openssl's SPKI SHA-256 of the certificate
    the sink presents over STARTTLS. A TLSA written in the zone file is kept as it is."""
    dig = require_tool("dig")
    (tmp_path / "zones").mkdir()
    (tmp_path / "zones" / "tls.example.yaml").write_text(DANE_ZONE)
    ca_file = tmp_path / "ca.pem"
    port = free_port([MX1, MX2, "127.0.0.32"])
    with serving(tmp_path / "zones", "--smtp-port", f"25={port}", "--tls-ca-out", str(ca_file), "--dane",
                 "--quiet") as (seen, _out):
        text = "".join(seen)
        dns_port = next(line for line in seen if "serving" in line).split(" on 127.0.0.1:")[1].split()[0]

        def tlsa(name: str) -> list[str]:
            done = subprocess.run([dig, "+short", "@127.0.0.1", "-p", dns_port, "TLSA", name],
                                  capture_output=True, text=True, timeout=10, check=True)
            return [line.replace(" ", "").lower() for line in done.stdout.splitlines()]

        expected = _spki_sha256_by_openssl(_presented_der(MX1, port, "mx1.tls.example", ca_file))
        assert tlsa("_25._tcp.mx1.tls.example") == [f"311{expected}"], text
        assert f"dane: _25._tcp.mx1.tls.example. TLSA 3 1 1 {expected.upper()}" in text, text
        assert tlsa("_25._tcp.plain.tls.example") == ["311" + "0" * 64]  # the file's own, not replaced
        assert "_25._tcp.plain.tls.example. TLSA kept as the zone file has it" in text, text
        # a reload that adds an exchanger: its sink opens and its TLSA is published with it
        (tmp_path / "zones" / "tls.example.yaml").write_text(DANE_ZONE.replace(
            "    - {host: plain", "    - {host: mx2, priority: 15, addresses: [127.0.0.32]}\n    - {host: plain"))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not tlsa("_25._tcp.mx2.tls.example"):
            time.sleep(0.2)
        expected2 = _spki_sha256_by_openssl(_presented_der("127.0.0.32", port, "mx2.tls.example", ca_file))
        assert tlsa("_25._tcp.mx2.tls.example") == [f"311{expected2}"]
        assert tlsa("_25._tcp.mx1.tls.example") == [f"311{expected}"]  # the same certificate after the reload


def test_the_api_and_its_event_stream_say_tls_version_and_sni(tmp_path: Path) -> None:
    import json
    import urllib.request

    (tmp_path / "tls.example.yaml").write_text(SERVE_ZONE)
    ca_file = tmp_path / "ca.pem"
    port = free_port([MX1, MX2])
    with serving(tmp_path, "--smtp-port", f"25={port}", "--tls-ca-out", str(ca_file), "--quiet",
                 "--api", "127.0.0.1:0", until="control API on") as (seen, _out):
        api = next(line for line in seen if "control API on" in line).split("control API on ")[1].split()[0]
        send_tls(MX1, port, "mx1.tls.example", ssl.create_default_context(cafile=str(ca_file)))
        with smtplib.SMTP(MX2, port, timeout=10) as smtp:  # the same sink without STARTTLS: tls false
            smtp.sendmail("a@sender.test", ["user@example.com"], MSG)
        with urllib.request.urlopen(f"{api}/smtp/events?since=0", timeout=10) as response:
            events = json.load(response)
        status, body = http_call("PUT", f"{api}/smtp/tls/mx1.tls.example", {"tls": False})
        assert (status, body) == (200, {"host": "mx1.tls.example", "tls": False})
        with smtplib.SMTP(MX1, port, timeout=10) as smtp:
            smtp.ehlo()
            assert not smtp.has_extn("starttls")  # from the next connection on
        assert http_call("PUT", f"{api}/smtp/tls/mx1.tls.example", {"tls": "no"})[0] == 400
        assert http_call("PUT", f"{api}/smtp/tls/nowhere.tls.example", {"tls": True})[0] == 404
        assert http_call("PUT", f"{api}/smtp/tls/mx1.tls.example", {"tls": True})[0] == 200
        with smtplib.SMTP(MX1, port, timeout=10) as smtp:
            smtp.ehlo()
            assert smtp.has_extn("starttls")
    starttls = [e for e in events if e["kind"] == "starttls"]
    assert [(e["host"], e["sni"], e["tls"]) for e in starttls] == [("mx1.tls.example.", "mx1.tls.example", True)]
    assert starttls[0]["tls_version"] in ("TLSv1.2", "TLSv1.3") and starttls[0]["cipher"]
    messages = [(e["host"], e["tls"], e["tls_version"], e["sni"]) for e in events if e["kind"] == "message"]
    assert messages == [("mx1.tls.example.", True, starttls[0]["tls_version"], "mx1.tls.example"),
                        ("plain.tls.example.", False, None, None)]


def test_dane_follows_runtime_records_of_the_api(tmp_path: Path) -> None:
    """An exchanger added through the control API (a runtime MX and A) gets its sink and its TLSA."""
    dig = require_tool("dig")
    (tmp_path / "tls.example.yaml").write_text(SERVE_ZONE)
    ca_file = tmp_path / "ca.pem"
    port = free_port([MX1, MX2, "127.0.0.33"])
    with serving(tmp_path, "--smtp-port", f"25={port}", "--tls-ca-out", str(ca_file), "--quiet", "--dane",
                 "--api", "127.0.0.1:0", until="control API on") as (seen, _out):
        api = next(line for line in seen if "control API on" in line).split("control API on ")[1].split()[0]
        dns_port = next(line for line in seen if "serving" in line).split(" on 127.0.0.1:")[1].split()[0]

        def tlsa(name: str) -> list[str]:
            done = subprocess.run([dig, "+short", "@127.0.0.1", "-p", dns_port, "TLSA", name],
                                  capture_output=True, text=True, timeout=10, check=True)
            return [line.replace(" ", "").lower() for line in done.stdout.splitlines()]

        first = tlsa("_25._tcp.mx1.tls.example")
        assert len(first) == 1 and "dane: _25._tcp.mx1.tls.example. TLSA 3 1 1" in "".join(seen)
        assert http_call("POST", f"{api}/records", {"owner": "mx9.tls.example.", "type": "A",
                                                    "data": "127.0.0.33"})[0] == 201
        assert http_call("POST", f"{api}/records", {"owner": "tls.example.", "type": "MX", "data": "5 mx9"})[0] == 201
        expected = _spki_sha256_by_openssl(_presented_der("127.0.0.33", port, "mx9.tls.example", ca_file))
        assert tlsa("_25._tcp.mx9.tls.example") == [f"311{expected}"]
        assert tlsa("_25._tcp.mx1.tls.example") == first  # the others unchanged
