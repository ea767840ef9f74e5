"""exim over TLS (issue 12 section 4): exim 4 with Debian's configuration plus `hosts_require_tls = *`
(its REMOTE_SMTP_HOSTS_REQUIRE_TLS macro) and the test CA of `zonetool serve --smtp --tls-ca-out`
as `tls_verify_certificates` for every host (`tls_verify_hosts = *`, `tls_sni = $host`) delivers
over TLS with the certificate verified (its log says CV=yes), and defers at a sink without TLS.

Its own network namespace and `zonetool serve` (tests/mta.py), as test_exim.py's lab; the delivery
and log reading are that lab's.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import require_tool
from mta import namespace, serve, write_zones, zone
from test_exim import EXIM_CONFIG, Lab, exim_config, exim_state

ZONES = {
    "tls.exim.test": zone("tls.exim.test",
                          "mail:\n  exchangers:\n    - {host: mx1, priority: 10, addresses: [127.0.3.10]}"),
    "notls.exim.test": zone("notls.exim.test",
                            "mail:\n  exchangers:\n    - {host: mx1, priority: 10, addresses: [127.0.3.20]}"),
}  # fmt: skip
TRANSPORT = 'remote_smtp:\n  debug_print = "T: remote_smtp for $local_part@$domain"\n  driver = smtp\n'


def tls_config(state: Path, ca: Path) -> Path:
    """test_exim's copy of Debian's configuration, TLS required and verified against the test CA."""
    text = exim_config(state, False).read_text()
    assert TRANSPORT in text, "Debian's remote_smtp transport changed shape"
    text = "REMOTE_SMTP_HOSTS_REQUIRE_TLS = *\n" + text.replace(TRANSPORT, TRANSPORT + (
        f"  tls_verify_certificates = {ca}\n  tls_verify_hosts = *\n  tls_sni = $host\n"))
    path = state / "exim-tls.conf"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    require_tool("exim")
    if not EXIM_CONFIG.exists():
        pytest.fail(f"{EXIM_CONFIG} is missing: exim4-config did not generate Debian's configuration")
    with contextlib.ExitStack() as stack:
        netns = stack.enter_context(namespace("zt-eximtls"))
        state = exim_state()
        stack.callback(shutil.rmtree, state, ignore_errors=True)
        ca = state / "ca.pem"  # readable by exim's own user (the state folder is 0755)
        zones = write_zones(tmp_path_factory.mktemp("exim-tls") / "zones", ZONES)
        served = stack.enter_context(serve(netns, zones, {}, ["--tls-ca-out", str(ca),
                                                              "--smtp-tls", "mx1.notls.exim.test=off"]))
        conf = tls_config(state, ca)
        yield Lab(netns, conf, conf, served, state)


def test_exim_delivers_over_tls_with_the_certificate_verified(lab: Lab) -> None:
    verdict, events = lab.deliver_quietly("user@tls.exim.test")
    assert verdict.startswith("=> user@tls.exim.test R=dnslookup T=remote_smtp H=mx1.tls.exim.test [127.0.3.10]"), \
        verdict
    assert re.search(r" X=TLS1\.[23]:\S+ CV=yes ", verdict), verdict  # encrypted, certificate verified
    starttls = [e for e in events if " starttls " in e]
    assert len(starttls) == 1 and "sni=mx1.tls.exim.test" in starttls[0], events
    assert any(" message " in e and " over TLSv1." in e for e in events), events


def test_exim_defers_at_a_sink_without_tls(lab: Lab) -> None:
    verdict, events = lab.deliver_quietly("user@notls.exim.test")
    assert verdict.startswith("== user@notls.exim.test R=dnslookup T=remote_smtp"), verdict
    assert "H=mx1.notls.exim.test [127.0.3.20]: a TLS session is required, but the server did not offer TLS support" \
        in verdict, verdict
    assert [e for e in events if " connect " in e] and not [e for e in events if " rcpt " in e or " message " in e]
