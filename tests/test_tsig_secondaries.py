"""TSIG-signed zone transfers to real secondaries (issue 13, 1): NSD, Knot and BIND `named`.

Each secondary is configured with a key made by BIND's own `tsig-keygen`; `zonetool serve` allows
transfers only to that key (`--allow-transfer key=NAME`) and signs its NOTIFY with it. A secondary
verifies every message of the AXFR (RFC 8945 5.3.1), so a 100,000-record zone that arrives whole is
the proof that each of its messages was signed right. With the wrong secret each secondary gets
nothing, and zonetool says why on stderr.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from conftest import require_tool
from secondaries import KEY, SECONDARIES, bind_conf, knot_conf, launch, nsd_conf
from test_server_cli import Serve, dig_short, start
from test_server_secondary import free_port, primaries, processes, wait_until  # noqa: F401 (fixtures)

from zonetool.atomic import write_atomic

HOSTS = 100_000  # the zone size: the transfer spans many signed messages


def zone_text(version: int, hosts: int) -> str:
    lines = [
        "origin: example.com", "ttl: 1h", "soa: {serial: auto}", "nameservers: [ns1]",
        "mail:", "  exchangers:",
        f"    - {{host: mx-{version}-a, priority: 10, addresses: [192.0.2.10]}}",
        f"    - {{host: mx-{version}-b, priority: 20, addresses: [192.0.2.11]}}",
        "  srv: true", "records:", "  ns1: {A: 192.0.2.53}", f'  version: {{TXT: "v{version}"}}',
    ]
    lines += [f"  h{i}: {{A: 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}}}" for i in range(hosts)]
    return "\n".join(lines) + "\n"


def keygen(path: Path, name: str = KEY) -> str:
    """A key file written by tsig-keygen, mode 600; returns its secret (for the secondaries' configs)."""
    text = subprocess.run([require_tool("tsig-keygen"), "-a", "hmac-sha256", name], capture_output=True,
                          text=True, check=True).stdout
    path.write_text(text)
    path.chmod(0o600)
    return text.split('secret "', 1)[1].split('"', 1)[0]


def answers(dig: str, port: int, version: int) -> list[list[str]]:
    return [sorted(dig_short(dig, port, rtype, name).splitlines()) for rtype, name in (
        ("MX", "example.com"), ("SRV", "_smtp._tcp.example.com"), ("SOA", "example.com"),
        ("TXT", "version.example.com"), ("A", f"h{HOSTS - 1}.example.com"), ("A", f"mx-{version}-a.example.com"))]


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(SECONDARIES))
def test_a_secondary_with_the_key_transfers_the_signed_zone_and_follows_signed_notify(
    kind: str, dig: str, tmp_path: Path, primaries: list[Serve], processes: list[subprocess.Popen[str]],  # noqa: F811
) -> None:
    secret = keygen(tmp_path / "xfr.key")
    zone = tmp_path / "example.com.yaml"
    write_atomic(zone, zone_text(1, HOSTS))
    port = free_port()
    primary = start(primaries, str(zone), "--quiet", "--tsig-key", str(tmp_path / "xfr.key"),
                    "--allow-transfer", f"key={KEY}", "--notify", f"127.0.0.1:{port},key={KEY}")
    assert "can be read by other users" not in "".join(primary.err_lines)  # mode 600: no warning
    launch(SECONDARIES[kind](tmp_path, port, primary.port, secret), tmp_path, processes)
    assert wait_until(lambda: "mx-1-a.example.com." in dig_short(dig, port, "MX", "example.com"), timeout=90), \
        f"{kind} never served the transferred zone:\n{(tmp_path / 'secondary.log').read_text()[-3000:]}"
    assert answers(dig, port, 1) == answers(dig, primary.port, 1)

    write_atomic(zone, zone_text(2, HOSTS))  # zonetool reloads, raises the serial, sends a signed NOTIFY
    primary.wait_err(r"NOTIFY example\.com\. to 127\.0\.0\.1:\d+: acknowledged", timeout=60)
    assert wait_until(lambda: "mx-2-a.example.com." in dig_short(dig, port, "MX", "example.com"), timeout=90), \
        f"{kind} did not transfer the new version after NOTIFY:\n{(tmp_path / 'secondary.log').read_text()[-3000:]}"
    assert answers(dig, port, 2) == answers(dig, primary.port, 2)


@pytest.mark.parametrize("kind", list(SECONDARIES))
def test_a_secondary_with_the_wrong_secret_gets_nothing_and_zonetool_says_why(
    kind: str, dig: str, tmp_path: Path, primaries: list[Serve], processes: list[subprocess.Popen[str]],  # noqa: F811
) -> None:
    keygen(tmp_path / "xfr.key")
    wrong = keygen(tmp_path / "other.key")  # same key name, another secret
    zone = tmp_path / "example.com.yaml"
    write_atomic(zone, zone_text(1, 10))
    port = free_port()
    primary = start(primaries, str(zone), "--quiet", "--tsig-key", str(tmp_path / "xfr.key"),
                    "--allow-transfer", f"key={KEY}")
    launch(SECONDARIES[kind](tmp_path, port, primary.port, wrong), tmp_path, processes)
    line = primary.wait_err(r"tsig-refused|signed with key", timeout=60)
    assert line, "zonetool did not say why it refused the transfer"
    said = "".join(primary.err_lines)
    assert f"SOA example.com. signed with key {KEY}.: BADSIG" in said or \
        f"AXFR example.com. signed with key {KEY}.: BADSIG" in said, said
    assert wrong not in said  # the secret is never printed
    assert dig_short(dig, port, "MX", "example.com") == ""  # nothing transferred


def test_dig_checks_every_signed_message_and_unsigned_or_unknown_is_refused(
    dig: str, tmp_path: Path, primaries: list[Serve],  # noqa: F811
) -> None:
    keygen(tmp_path / "xfr.key")
    zone = tmp_path / "example.com.yaml"
    write_atomic(zone, zone_text(1, 3000))  # several messages
    primary = start(primaries, str(zone), "--quiet", "--tsig-key", str(tmp_path / "xfr.key"),
                    "--allow-transfer", f"127.0.0.1,key={KEY}")

    def axfr(*args: str) -> str:
        return subprocess.run([dig, "@127.0.0.1", "-p", str(primary.port), "+tcp", *args, "AXFR", "example.com"],
                              capture_output=True, text=True, timeout=60).stdout

    signed = axfr("-k", str(tmp_path / "xfr.key"))
    assert "Transfer failed" not in signed and "tsig verify failure" not in signed.lower()
    assert signed.count("\tA\t10.") == 3000 and "XFR size: 3011 records" in signed  # SOA twice, NS, ...
    assert "Transfer failed" in axfr()  # address matches, but the rule asks for the key too: REFUSED
    keygen(tmp_path / "stranger.key", "stranger.example")
    stranger = axfr("-k", str(tmp_path / "stranger.key"))
    assert "Transfer failed" in stranger or "NOTAUTH" in stranger
    primary.wait_err(r"signed with key stranger\.example\.: BADKEY")


IXFR_KINDS: dict[str, Callable[[Path, int, int, str], list[str]]] = {
    "knot": knot_conf, "bind": bind_conf,
    "nsd": lambda tmp, port, primary, secret: nsd_conf(tmp, port, primary, secret, protocol=""),  # IXFR, then AXFR
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(IXFR_KINDS))
def test_after_an_edit_a_secondary_transfers_only_the_difference(
    kind: str, dig: str, tmp_path: Path, primaries: list[Serve], processes: list[subprocess.Popen[str]],  # noqa: F811
) -> None:
    """Issue 13, 2: the first transfer is the whole zone; after an edit and NOTIFY the secondary asks
    IXFR and gets the deltas only (the query log's answer count), and ends up with zonetool's content."""
    import re

    secret = keygen(tmp_path / "xfr.key")
    zone = tmp_path / "example.com.yaml"
    write_atomic(zone, zone_text(1, 5000))
    port = free_port()
    primary = start(primaries, str(zone), "--tsig-key", str(tmp_path / "xfr.key"),
                    "--allow-transfer", f"key={KEY}", "--notify", f"127.0.0.1:{port},key={KEY}")
    launch(IXFR_KINDS[kind](tmp_path, port, primary.port, secret), tmp_path, processes)
    assert wait_until(lambda: "mx-1-a.example.com." in dig_short(dig, port, "MX", "example.com"), timeout=60)
    write_atomic(zone, zone_text(2, 5000))  # 2 exchangers and a TXT change; 5,000 hosts stay
    assert wait_until(lambda: "mx-2-a.example.com." in dig_short(dig, port, "MX", "example.com"), timeout=60), \
        f"{kind} did not follow the edit:\n{(tmp_path / 'secondary.log').read_text()[-3000:]}"
    assert answers(dig, port, 2)[:4] == answers(dig, primary.port, 2)[:4]
    assert dig_short(dig, port, "A", "h4999.example.com") == "10.0.19.135"
    assert dig_short(dig, port, "A", "mx-1-a.example.com") == ""  # the removed records went
    out = "\n".join(primary.out_lines(400, timeout=5))
    ixfrs = [int(n) for n in re.findall(r"tcp example\.com\. IXFR NOERROR answers=(\d+)", out)]
    assert ixfrs and max(ixfrs) < 100, out[-2000:]  # the deltas, not the 5,000 records
