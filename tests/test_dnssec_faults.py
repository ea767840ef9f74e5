"""DNSSEC as a validator meets it (issue 14 part 2): secure answers, and faults that make them fail.

Referees: unbound (tests/validating.py) as the validating resolver a sender asks, with the zone's
KSK as trust anchor, forwarding to `zonetool serve`: AD on secure answers (RFC 4035 3.2.3),
SERVFAIL on bogus ones (RFC 4035 5.5); `dig` reads its flags.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import require_tool
from test_dnssec_serve import _lab
from test_server_cli import Serve, serve  # noqa: F401  (the fixture)
from validating import ValidatingResolver, ksk_anchors


def _dig(port: int, *question: str) -> tuple[str, set[str], str]:
    """dig +dnssec through a resolver: (status, header flags, whole output)."""
    done = subprocess.run([require_tool("dig"), "@127.0.0.1", "-p", str(port), "+dnssec", "+tries=1", "+time=10",
                           *question], capture_output=True, text=True, timeout=60)
    for line in done.stdout.splitlines():
        if line.startswith(";; ->>HEADER<<-"):
            status = line.split("status: ")[1].split(",")[0]
        if line.startswith(";; flags:"):
            flags = set(line.split(";")[2].split(":")[1].split())
            return status, flags, done.stdout
    raise AssertionError(done.stdout + done.stderr)


def _signed_serve(tmp_path: Path, serve: list[Serve], *args: str) -> Serve:  # noqa: F811
    _lab(tmp_path, "nsec")
    server = Serve("lab.yaml", "-q", *args, cwd=tmp_path)
    serve.append(server)
    return server.started()


def test_unbound_sets_ad_on_secure_answers_positive_and_negative(tmp_path: Path, serve) -> None:  # noqa: F811
    server = _signed_serve(tmp_path, serve)
    with ValidatingResolver(server.port, ksk_anchors(tmp_path / "keys"), tmp_path / "unbound") as resolver:
        for question, want in ((("www.lab.example", "A"), "NOERROR"), (("lab.example", "MX"), "NOERROR"),
                               (("nx.lab.example", "A"), "NXDOMAIN"), (("www.lab.example", "MX"), "NOERROR")):
            status, flags, text = _dig(resolver.port, *question)
            assert status == want and "ad" in flags, (question, text, resolver.log())
        status, flags, text = _dig(resolver.port, "www.lab.example", "A")
        assert "192.0.2.1" in text and "RRSIG" in text


def test_unbound_without_the_anchor_answers_but_never_sets_ad(tmp_path: Path, serve) -> None:  # noqa: F811
    server = _signed_serve(tmp_path, serve)
    with ValidatingResolver(server.port, [], tmp_path / "unbound", zones=["lab.example"]) as resolver:
        status, flags, text = _dig(resolver.port, "www.lab.example", "A")
        assert status == "NOERROR" and "ad" not in flags and "192.0.2.1" in text, text
