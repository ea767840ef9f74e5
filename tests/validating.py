"""A real validating resolver for tests: unbound, with our zones' keys as trust anchors (issue 14).

A sender on the Internet does not validate DNSSEC itself: its resolver does, and tells it with
the AD bit (RFC 4035 3.2.3) or answers SERVFAIL for bogus data (RFC 4035 5.5). So tests that
judge what a sender meets on a signed zone ask a real validator, started here:

    from validating import ValidatingResolver, ksk_anchors

    anchors = ksk_anchors(tmp_path / "keys")  # or DS lines from `zonetool ds lab.yaml`
    with ValidatingResolver(server.port, anchors, tmp_path / "unbound") as resolver:
        dig @127.0.0.1 -p {resolver.port} +dnssec www.lab.example A   # AD set on secure answers
        resolver.flush()       # forget cached answers (and bogus ones) after a fault changes
        resolver.log()         # unbound's log: with val-log-level 2 it says why an answer is bogus

`ValidatingResolver(zone_port, anchors, folder, zones=None, refuse_outside=True)`:
- `zone_port`: where `zonetool serve` (or any authoritative server) answers on 127.0.0.1.
- `anchors`: trust anchors as records in presentation form, DS or DNSKEY
  (`"lab.example. 3600 IN DS 12345 13 2 ABCD..."`); each anchor's owner is a zone unbound
  sends to `zone_port` (a stub zone: queries without RD, as to any authoritative server).
- `folder`: where unbound.conf, its log and PID file go (created if missing).
- `zones`: more zones to send to `zone_port` without an anchor (validated as insecure).
- `refuse_outside`: names outside those zones are REFUSED at once instead of sent to the
  root servers (a test machine has no Internet; a sender then sees a fast temporary failure).

`resolver.port` is its UDP/TCP port on 127.0.0.1, `resolver.conf` the configuration file
(checked with unbound-checkconf before start), `resolver.pid` the process. It stops (by its
PID) when the `with` block ends. A missing unbound skips the test locally and fails it when
ZONETOOL_REQUIRE_TOOLS is set (tests/conftest.py's `require_tool`).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import TracebackType

import dns.exception
import dns.message
import dns.query
import dns.rdatatype
from conftest import require_tool
from test_responder import free_port


def ksk_anchors(keys: Path) -> list[str]:
    """The DNSKEY records of the KSKs (flags 257) in a BIND key folder (`zonetool keygen`'s `keys/`)."""
    found = []
    for key in sorted(keys.glob("*.key")):
        for line in key.read_text().splitlines():
            fields = line.split()
            if line.startswith(";") or "DNSKEY" not in fields:
                continue
            at = fields.index("DNSKEY")
            if fields[at + 1] == "257":
                found.append(f"{fields[0]} IN DNSKEY {' '.join(fields[at + 1:])}")
    return found


def _owner(anchor: str) -> str:
    name = anchor.split()[0].lower()
    return name if name.endswith(".") else name + "."


class ValidatingResolver:
    """unbound validating the answers of an authoritative server on 127.0.0.1 (see the module's docstring)."""

    def __init__(self, zone_port: int, anchors: Sequence[str], folder: Path, zones: Iterable[str] | None = None,
                 refuse_outside: bool = True) -> None:
        self.zone_port = zone_port
        self.anchors = list(anchors)
        self.folder = Path(folder)
        names = [_owner(a) for a in self.anchors] + [_owner(z) for z in zones or ()]
        self.zones = list(dict.fromkeys(names))
        if not self.zones:
            raise ValueError("a ValidatingResolver needs at least one anchor or zone")
        self.refuse_outside = refuse_outside
        self.port = 0
        self.control_port = 0
        self.conf = self.folder / "unbound.conf"
        self.logfile = self.folder / "unbound.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def _config(self) -> str:
        d = self.folder
        lines = [
            "server:",
            "  interface: 127.0.0.1",
            f"  port: {self.port}",
            "  do-ip6: no",
            "  do-not-query-localhost: no",  # our authoritative server is on 127.0.0.1
            '  module-config: "validator iterator"',
            "  val-log-level: 2",  # the log says why an answer is bogus
            "  verbosity: 1",
            '  chroot: ""',
            '  username: ""',
            f'  directory: "{d}"',
            f'  pidfile: "{d}/unbound.pid"',
            f'  logfile: "{self.logfile}"',
            "  use-syslog: no",
            "  num-threads: 1",
            "  so-reuseport: no",
            "  qname-minimisation: no",  # ask the question a test sets a fault on, not its parents first
            "  aggressive-nsec: no",  # no NXDOMAIN made up from cached NSEC: each name is asked
            "  prefetch: no",
            "  trust-anchor-signaling: no",
            "  root-key-sentinel: no",
            "  access-control: 127.0.0.0/8 allow",
        ]
        if self.refuse_outside:
            lines.append('  local-zone: "." refuse')
        for zone in self.zones:
            if self.refuse_outside:
                lines.append(f'  local-zone: "{zone}" transparent')
            lines.append(f'  domain-insecure: "{zone}"' if not any(_owner(a) == zone for a in self.anchors) else "")
        lines += [f'  trust-anchor: "{a}"' for a in self.anchors]
        for zone in self.zones:
            lines += ["stub-zone:", f'  name: "{zone}"', f"  stub-addr: 127.0.0.1@{self.zone_port}"]
        lines += ["remote-control:", "  control-enable: yes", "  control-interface: 127.0.0.1",
                  f"  control-port: {self.control_port}", "  control-use-cert: no"]
        return "\n".join(line for line in lines if line) + "\n"

    def __enter__(self) -> ValidatingResolver:
        unbound = require_tool("unbound")
        checkconf = require_tool("unbound-checkconf")
        self.folder.mkdir(parents=True, exist_ok=True)
        for _attempt in range(5):  # another process may take a port between our check and unbound's bind
            self.port, self.control_port = free_port(), free_port()
            self.conf.write_text(self._config())
            checked = subprocess.run([checkconf, str(self.conf)], capture_output=True, text=True, timeout=30)
            if checked.returncode != 0:
                raise RuntimeError(f"unbound-checkconf {self.conf}: {checked.stdout}{checked.stderr}")
            self.proc = subprocess.Popen([unbound, "-d", "-c", str(self.conf)], stdout=subprocess.DEVNULL,
                                         stderr=(self.folder / "unbound.stderr").open("wb"))
            if self._ready():
                return self
            self._stop()
        raise RuntimeError(f"unbound did not start: {self.log()}")

    def _ready(self) -> bool:
        """Up when it answers `localhost.` (its own local data: no upstream needed)."""
        assert self.proc is not None
        probe = dns.message.make_query("localhost.", "A")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                dns.query.udp(probe, "127.0.0.1", port=self.port, timeout=0.5)
                return True
            except (dns.exception.Timeout, OSError):
                time.sleep(0.1)
        return False

    def _stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop()

    def control(self, *args: str) -> str:
        """Run `unbound-control` against this resolver (e.g. `control("flush_zone", "lab.example")`)."""
        tool = require_tool("unbound-control")
        done = subprocess.run([tool, "-c", str(self.conf), *args], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise RuntimeError(f"unbound-control {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def flush(self) -> None:
        """Forget what it learnt of our zones: answers, bogus answers, negative answers, server timings."""
        for zone in self.zones:
            self.control("flush_zone", zone)
        self.control("flush_bogus")
        self.control("flush_negative")
        self.control("flush_infra", "all")

    def log(self) -> str:
        """unbound's log so far (its log file and standard error)."""
        parts = [p.read_text(errors="replace") for p in (self.logfile, self.folder / "unbound.stderr") if p.exists()]
        return "".join(parts)

    def ask(self, name: str, qtype: str, dnssec: bool = True, timeout: float = 10) -> dns.message.Message:
        """One question over UDP (TCP if truncated), with DO unless told, as a stub resolver asks."""
        query = dns.message.make_query(name, qtype, want_dnssec=dnssec, payload=1232)
        return dns.query.udp_with_fallback(query, "127.0.0.1", port=self.port, timeout=timeout)[0]


__all__ = ["ValidatingResolver", "ksk_anchors"]
