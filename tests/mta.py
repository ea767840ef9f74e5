"""What the real-MTA tests (test_exim.py, test_postfix.py) share: a network namespace of their own
whose only DNS is one `zonetool serve --smtp` on 127.0.0.1:53, and the mail scenarios both MTAs meet.

A namespace gives the MTA its own loopback and its own resolv.conf (`/etc/netns/NAME/resolv.conf`,
bind-mounted by `ip netns exec`), so nothing on the host changes and the sinks can take port 25.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import require_tool, zonetool_exe

NS = """\
nameservers: [ns1, ns2]
records:
  ns1: {A: 127.0.0.53}
  ns2: {A: 127.0.0.54}
"""


def zone(origin: str, body: str = "", records: str = "") -> str:
    """A scenario zone: `body` (mail:, faults:) plus the two name servers and `records` (indented)."""
    return f"origin: {origin}\n{body.strip()}\n{NS}{records.rstrip()}\n".replace("\n\n", "\n")


RESOLV_CONF = "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n"
# A validating resolver on 127.0.0.1:53 (`validator`): glibc 2.31 and later clear the AD bit of its
# answers unless trust-ad says the resolver is trusted (resolv.conf(5)); a validation takes longer.
VALIDATED_RESOLV_CONF = "nameserver 127.0.0.1\noptions trust-ad timeout:5 attempts:2\n"


@contextlib.contextmanager
def namespace(prefix: str, resolv_conf: str = RESOLV_CONF) -> Iterator[str]:
    """A fresh network namespace with loopback up and a resolv.conf naming 127.0.0.1 (1 s, 1 try)."""
    require_tool("ip")
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root (ip netns add); run as root, as CI does")
    netns = f"{prefix}-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", netns], capture_output=True, text=True, check=False)
    if made.returncode != 0:
        pytest.skip(f"network namespaces are not permitted here: {made.stderr.strip()}")
    etc = Path("/etc/netns") / netns
    try:
        subprocess.run(["ip", "netns", "exec", netns, "ip", "link", "set", "lo", "up"], check=True)
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "resolv.conf").write_text(resolv_conf)
        yield netns
    finally:
        _end_processes_in(netns)
        subprocess.run(["ip", "netns", "del", netns], check=False)
        shutil.rmtree(etc, ignore_errors=True)


def _end_processes_in(netns: str) -> None:
    """Whatever still runs in our namespace (a daemon a failed test left behind) was started by this
    test: end it by its pid, TERM first, KILL after 5 s, so no process outlives the namespace."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        listed = subprocess.run(["ip", "netns", "pids", netns], capture_output=True, text=True, check=False)
        pids = [int(p) for p in listed.stdout.split()]
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 5
        while pids and time.monotonic() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.1)
        if not any(_alive(p) for p in pids):
            return


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and ") Z " not in Path(f"/proc/{pid}/stat").read_text()


def in_netns(netns: str, *argv: str) -> list[str]:
    return ["ip", "netns", "exec", netns, *argv]


@dataclass
class Served:
    """One `zonetool serve --smtp` in the namespace; its stdout (query log, sink events) read by a thread."""

    server: subprocess.Popen[str]
    output: list[str]
    errors: list[str]  # its stderr (sinks opened, reloads, findings)

    def sink_events(self) -> list[str]:
        return [line.strip() for line in list(self.output) if line.startswith("smtp ")]

    def queries(self) -> list[str]:
        # Query log lines without their leading RFC 3339 time: "127.0.0.1:PORT udp NAME TYPE RCODE ..."
        lines = (line.strip().split(" ", 1) for line in list(self.output))
        return [rest[0] for stamp, *rest in lines if rest and stamp.endswith("Z") and rest[0].startswith("127.0.0.1:")]


def write_zones(folder: Path, zones: Mapping[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for origin, text in zones.items():
        (folder / f"{origin}.yaml").write_text(text.lstrip())
    return folder


@contextlib.contextmanager
def serve(netns: str, zones: Path, behaviours: Mapping[str, str], extra: Sequence[str] = (),
          port: int = 53) -> Iterator[Served]:
    """Every zone in `zones` served together on 127.0.0.1:`port`, with a sink per in-zone exchanger
    (`extra`: more serve options, e.g. --smtp-tls HOST=off)."""
    argv = [zonetool_exe(), "serve", str(zones), "--port", str(port), "--smtp", *extra]
    for host, behaviour in behaviours.items():
        argv += ["--smtp-behaviour", f"{host}={behaviour}"]
    server = subprocess.Popen(in_netns(netns, *argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        output: list[str] = []
        errors: list[str] = []
        for stream, into in ((server.stdout, output), (server.stderr, errors)):  # never a full pipe
            threading.Thread(target=lambda s=stream, i=into: i.extend(iter(s.readline, "")), daemon=True).start()
        _wait_serving(server, errors)
        yield Served(server, output, errors)
    finally:
        stop(server)


def _wait_serving(server: subprocess.Popen[str], errors: list[str]) -> None:
    """Until the server's stderr (read by a thread into `errors`) says where it listens, or it dies.
    (Not select() on the pipe: readline buffers what came with a line, and select does not see it.)"""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(line.startswith("zonetool: serving ") for line in list(errors)):
            return
        if server.poll() is not None:
            time.sleep(0.2)  # its last lines are in the pipe
            break
        time.sleep(0.05)
    pytest.fail("zonetool serve did not start in the namespace:\n" + "".join(errors))


@contextlib.contextmanager
def validator(netns: str, conf: Path) -> Iterator[subprocess.Popen[bytes]]:
    """unbound in the namespace with the unbound.conf `zonetool serve --validator-conf` wrote (it listens
    on 127.0.0.1:53, where the namespace's resolv.conf points): the MTA's resolver validates. Up when it
    answers `localhost.` (its own data); stopped by its PID at the end. Its log: `validator_log(conf)`."""
    unbound = require_tool("unbound")
    checked = subprocess.run([require_tool("unbound-checkconf"), str(conf)], capture_output=True, text=True,
                             timeout=30, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr + conf.read_text()
    dig = require_tool("dig")
    with validator_log(conf).open("wb") as log:
        proc = subprocess.Popen(in_netns(netns, unbound, "-d", "-c", str(conf)), stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 20
        while True:
            probe = subprocess.run(in_netns(netns, dig, "@127.0.0.1", "+time=1", "+tries=1", "localhost.", "A"),
                                   capture_output=True, text=True, timeout=30, check=False)
            if "status: NOERROR" in probe.stdout:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"unbound did not start in the namespace:\n{validator_log(conf).read_text()}")
            time.sleep(0.1)
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM, then SIGKILL after 10 s: a test's daemon never outlives it."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def validator_log(conf: Path) -> Path:
    return conf.with_name(conf.name + ".log")


def errors_served(served: Served) -> set[tuple[str, str]]:
    """(zone file, finding code) of each error `serve` printed at start and served anyway."""
    text = "".join(served.errors)
    assert "served as they are" in text, text
    return {(m.group(1), m.group(2)) for m in re.finditer(r"([\w.-]+\.yaml):\d+:\d+: error ([\w-]+)", text)}


# ---------------------------------------------------------------------------
# The mail scenarios both MTAs meet: one zone each, every one served by one `zonetool serve`,
# the deliberately broken ones (MX -> CNAME, exchangers without addresses) as they are.
# Exchangers live on 127.0.N.x, one N per scenario, so a sink's events name their scenario.
# ---------------------------------------------------------------------------
def _mx(*hosts: str) -> str:
    return "mail:\n  exchangers:\n" + "".join(f"    - {h}\n" for h in hosts)


def _ex(host: str, priority: int, *addresses: str) -> str:
    return f"{{host: {host}, priority: {priority}" + (f", addresses: [{', '.join(addresses)}]}}" if addresses else "}")


def _with_backup(origin: str, net: int) -> str:
    """mx1 at preference 10 (its sink misbehaves), backup at 20 (accepts)."""
    return zone(origin, _mx(_ex("mx1", 10, f"127.0.{net}.10"), _ex("backup", 20, f"127.0.{net}.11")))


def _big_mx(count: int, net: int) -> str:
    """`count` MX records with long names, the best preference written last. 14 take about 650
    octets (870 with their addresses): over 512, so a sender without EDNS gets TC and no records over
    UDP and only TCP gives the list, but under 1232, so a sender with EDNS gets it whole over UDP.
    30 take about 1350: over what zonetool sends over UDP even with EDNS (1232): TCP for everyone."""
    hosts = [_ex(f"exchanger-with-a-long-name-{i:02d}", 20 + i, f"127.0.{net}.{20 + i}") for i in range(count - 1)]
    return _mx(*hosts, _ex("best", 10, f"127.0.{net}.10"))


def _failing(origin: str, net: int, action: str) -> str:
    """The MX query fails (a `faults:` action); the domain has an A a wrong sender would fall back to."""
    body = _mx(_ex("mx1", 10, f"127.0.{net}.10")) + f"faults:\n  - {{name: '@', type: MX, action: {action}}}"
    return zone(origin, body, f'  "@": {{A: 127.0.{net}.11}}')


GHOST = '  ghost: {TXT: "an exchanger without addresses"}'
SCENARIO_ZONES: dict[str, str] = {
    "refuse.mta.test": _with_backup("refuse.mta.test", 10),
    "tempfail.mta.test": _with_backup("tempfail.mta.test", 11),
    "reject.mta.test": _with_backup("reject.mta.test", 12),
    "greeting.mta.test": _with_backup("greeting.mta.test", 13),
    "groups.mta.test": zone("groups.mta.test", _mx(
        _ex("mx1", 10, "127.0.14.10"), _ex("mx2", 20, "127.0.14.11"), _ex("mx3", 30, "127.0.14.12"))),
    "equal.mta.test": zone("equal.mta.test", _mx(
        _ex("a", 10, "127.0.15.10"), _ex("b", 10, "127.0.15.11"), _ex("c", 10, "127.0.15.12"),
        _ex("backup", 20, "127.0.15.13"))),
    "multihomed.mta.test": zone("multihomed.mta.test", _mx(
        _ex("mx1", 10, "127.0.16.10", "127.0.16.11"), _ex("backup", 20, "127.0.16.12"))),
    "implicit.mta.test": zone("implicit.mta.test", records='  "@": {A: 127.0.17.10}'),
    "nullmx.mta.test": zone("nullmx.mta.test", "mail: {null: true}", '  "@": {A: 127.0.18.10}'),
    "cname.mta.test": zone("cname.mta.test", _mx(_ex("alias", 10)), "  alias: {CNAME: real}\n  real: {A: 127.0.19.10}"),
    "skip.mta.test": zone("skip.mta.test", _mx(
        _ex("ghost", 10), _ex("nowhere", 20), _ex("backup", 30, "127.0.20.10")), GHOST),
    "noaddress.mta.test": zone("noaddress.mta.test", _mx(
        _ex("ghost", 10), _ex("nowhere", 20)), GHOST + '\n  "@": {A: 127.0.21.10}'),
    "servfail.mta.test": _failing("servfail.mta.test", 22, "servfail"),
    "refused.mta.test": _failing("refused.mta.test", 23, "refused"),
    "silent.mta.test": _failing("silent.mta.test", 25, "timeout"),
    "big.mta.test": zone("big.mta.test", _big_mx(14, 24)),
    "huge.mta.test": zone("huge.mta.test", _big_mx(30, 29)),
    "referral.mta.test": zone("referral.mta.test", records="  sub: {NS: [ns1.sub]}\n  ns1.sub: {A: 127.0.26.53}"),
    "wild.mta.test": zone("wild.mta.test", records='  "*": {MX: "10 mx"}\n  mx: {A: 127.0.27.10}'),
    "sessions.mta.test": zone("sessions.mta.test", _mx(
        _ex("mx1", 10, "127.0.28.10"), _ex("mx2", 20, "127.0.28.11"), _ex("backup", 30, "127.0.28.12"))),
}  # fmt: skip

# how the sinks misbehave (the others accept)
SCENARIO_BEHAVIOURS: dict[str, str] = {
    "mx1.refuse.mta.test": "refuse",
    "mx1.tempfail.mta.test": "tempfail",
    "mx1.reject.mta.test": "reject",
    "mx1.greeting.mta.test": "tempfail-greeting",
    "mx1.groups.mta.test": "tempfail",
    "mx2.groups.mta.test": "refuse",
    "a.equal.mta.test": "refuse",
    "b.equal.mta.test": "refuse",
    "c.equal.mta.test": "refuse",
    "mx1.multihomed.mta.test": "refuse",
    "mx1.sessions.mta.test": "tempfail",
    "mx2.sessions.mta.test": "tempfail",
}
