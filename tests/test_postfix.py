"""A second real MTA as the sender: Postfix 3.7 (Debian bookworm's package, unpacked, not installed)
delivers one message per scenario of `mta.SCENARIO_ZONES` through `zonetool serve --smtp` in a
network namespace of the test's own, where the only DNS is zonetool on 127.0.0.1:53.

Every scenario zone is served by one `zonetool serve`, the broken ones as they are; all messages
are queued at once, then each one's fate is read from Postfix's maillog (status=sent with relay=,
status=bounced, status=deferred; "connect to ... refused" and "host ... said" lines) and from the
sinks' events. The scenarios (each zone NAME.mta.test) and what Postfix must do:

  refuse      primary accepts and resets the connection -> sent to the backup
  tempfail    451 at RCPT from the primary -> sent to the backup
  reject      550 at RCPT -> bounced; the backup never asked
  greeting    421 greeting -> sent to the backup
  groups      preferences 10 (451), 20 (reset), 30 (accepts) -> tried in that order, sent to mx3
  equal       a, b, c at preference 10 all reset, backup at 20 -> a, b, c each tried before the
                   backup, in more than one order over 8 messages (random, RFC 5321 5.1)
  multihomed  the primary has two addresses, both reset -> both tried, then the backup
  sessions    preferences 10 and 20 answer 451, the backup at 30 accepts -> deferred after two
                   sessions: Postfix's smtp_mx_session_limit (2) ends the attempt before the backup
  implicit    no MX, an A at the domain -> sent to the domain's own address
  nullmx      null MX (RFC 7505) -> bounced at once; the domain's A never connected
  cname       MX -> CNAME -> A -> the alias followed, sent there
  skip        exchangers with NODATA and NXDOMAIN addresses -> skipped, sent to the backup
  noaddress   no exchanger has an address -> bounced, no fallback to the domain's A
  servfail, refused, silent   the MX query fails (SERVFAIL / REFUSED / no answer)
                   -> deferred, no sink touched, the domain's A never connected
  big         a 14-record MX answer (about 650 octets; over 512, so a sender without EDNS gets
                   TC) -> retried over TCP, the best preference (written last) chosen
  huge        30 MX records (about 1350 octets, over zonetool's EDNS limit too) -> the same
  sub.referral  the domain is delegated away: a referral (NOERROR, no answer, AA clear) ->
                   nothing connected; Postfix takes it as "no MX", then "no A", and bounces (5.4.4)
  any.wild    a wildcard MX -> sent to the wildcard's exchanger

Postfix runs with its own config_directory (main.cf and master.cf written here, every deviation from
Debian's defaults commented with its reason), queue and maillog in a temporary folder. Needs root
and the unpacked package (`scripts/unpack-postfix.sh`, which `.ci/run` runs); skipped with the
reason locally when either is missing, a failure in CI.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import missing
from mta import SCENARIO_BEHAVIOURS, SCENARIO_ZONES, Served, errors_served, in_netns, namespace, serve, write_zones

POSTFIX = Path(os.environ.get("ZONETOOL_POSTFIX", "/opt/zonetool-postfix"))
SENDER = "sender@sender.test"
EQUAL_MESSAGES = 8
ONE_EACH = [d for d in SCENARIO_ZONES if d.split(".")[0] not in ("equal", "referral", "wild")]
RECIPIENTS = [f"user@{d}" for d in ONE_EACH] + [
    *(f"user{i}@equal.mta.test" for i in range(EQUAL_MESSAGES)),
    "user@sub.referral.mta.test",
    "user@any.wild.mta.test",
]
FATE_WAIT = 120  # seconds for every message's first attempt to end (the no-answer one takes a few)


def main_cf(state: Path) -> str:
    """Debian's main.cf (usr/share/postfix/main.cf.debian), then each deviation with its reason."""
    lib = POSTFIX / "usr/lib/postfix"
    return f"""\
# Debian's main.cf.debian
smtpd_banner = $myhostname ESMTP $mail_name (Debian/GNU)
biff = no
append_dot_mydomain = no
readme_directory = no
compatibility_level = 3.6

# --- deviations, each with its reason ---
# The package is unpacked into {POSTFIX}, not installed: its programs and libraries are found there.
daemon_directory = {lib}/sbin
command_directory = {POSTFIX}/usr/sbin
shlib_directory = {lib}
meta_directory = {POSTFIX}/etc/postfix
sendmail_path = {POSTFIX}/usr/sbin/sendmail
newaliases_path = {POSTFIX}/usr/bin/newaliases
mailq_path = {POSTFIX}/usr/bin/mailq
# ... and the daemons' RUNPATH (/usr/lib/postfix) misses them: master passes LD_LIBRARY_PATH on.
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ XAUTHORITY DISPLAY LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME
    LD_LIBRARY_PATH={lib}
# The test's own queue and state, never the system's.
queue_directory = {state}/queue
data_directory = {state}/data
# Logged to a file the test reads (Debian logs to syslog), through postlogd (master.cf).
maillog_file = {state}/maillog
maillog_file_prefixes = {state}
# One address no exchanger has: with the default (all), smtpd would bind 0.0.0.0:25, which the sinks
# on 127.0.0.10 and up hold already; and Postfix counts the addresses it listens on as "myself" and
# cuts the MX list at an exchanger that is myself.
inet_interfaces = 127.0.0.1
# The machine's host name is whatever it is (maybe not a domain name); the sender's is fixed.
myhostname = postfix.sender.test
# Nothing is delivered locally, and the host's /etc/aliases.db (Debian: hash:/etc/aliases, nis:...) is
# not this instance's: no alias lookups (else smtpd warns on every recipient).
alias_maps =
alias_database =
# Every message makes its own MX choice: with on-demand connection caching (Debian's default), a
# message may ride on the connection another message to the same domain left open to the backup
# (logged conn_use=2), and the equal-preference test would see no choice at all.
smtp_connection_cache_on_demand = no
# Written out although they are Postfix's defaults: MX lookups by DNS (not /etc/hosts), no TLS (the
# sinks offer none), DNS lookups on.
smtp_host_lookup = dns
disable_dns_lookups = no
smtp_tls_security_level = none
"""


def master_cf() -> str:
    """Debian's master.cf with chroot off (the unpacked tree is not in a chroot jail) and without the
    pipe(8) services for programs that are not installed (maildrop, uucp, ...)."""
    text = (POSTFIX / "usr/share/postfix/master.cf.dist").read_text()
    out = []
    skip = False
    for line in text.splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line[0].isspace():
            if not skip:
                out.append(line)
            continue
        fields = line.split()
        skip = fields[7] == "pipe" if len(fields) > 7 else False
        if skip:
            continue
        fields[4] = "n"  # chroot
        out.append("  ".join(fields[:8]) + (" " + " ".join(fields[8:]) if fields[8:] else ""))
    return "\n".join(out) + "\n"


@dataclass
class Postfix:
    netns: str
    conf: Path
    state: Path
    served: Served
    env: dict[str, str] = field(default_factory=dict)

    def postfix(self, command: str) -> subprocess.CompletedProcess[str]:
        """`postfix -c CONF start|stop` in the namespace."""
        return subprocess.run(
            in_netns(self.netns, str(POSTFIX / "usr/sbin/postfix"), "-c", str(self.conf), command),
            capture_output=True, text=True, timeout=60, check=False, env={**os.environ, **self.env},
        )  # fmt: skip

    def submit(self, recipients: list[str]) -> None:
        """One message per recipient, over SMTP to Postfix's smtpd on 127.0.0.1:25 in the namespace
        (its sendmail cannot be used: it runs postdrop with a cleaned environment, which loses the
        libraries' LD_LIBRARY_PATH)."""
        script = (
            "import smtplib, sys\n"
            "with smtplib.SMTP('127.0.0.1', 25, timeout=30) as s:\n"
            "    for rcpt in sys.argv[2:]:\n"
            "        head = f'From: {sys.argv[1]}\\nTo: {rcpt}\\nSubject: zonetool scenario\\n\\n'\n"
            "        s.sendmail(sys.argv[1], [rcpt], head + 'hello\\n')\n"
        )
        done = subprocess.run(
            in_netns(self.netns, sys.executable, "-c", script, SENDER, *recipients),
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr + self.maillog()

    def maillog(self) -> str:
        path = self.state / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture(scope="module")
def postfix() -> Iterator[Postfix]:
    if not (POSTFIX / "usr/sbin/postfix").exists():
        missing(f"Postfix is not unpacked in {POSTFIX} (run scripts/unpack-postfix.sh as root)")
    for account, lookup in (("user postfix", pwd.getpwnam), ("group postdrop", grp.getgrnam)):
        try:
            lookup(account.split()[1])
        except KeyError:
            missing(f"the {account} does not exist (scripts/unpack-postfix.sh creates it)")
    with contextlib.ExitStack() as stack:
        netns = stack.enter_context(namespace("zt-postfix"))
        # postfix's daemons run as the postfix user: the state must be reachable (pytest's tmp is root's)
        state = Path(tempfile.mkdtemp(prefix="zonetool-postfix-"))
        stack.callback(shutil.rmtree, state, ignore_errors=True)
        state.chmod(0o755)
        conf = state / "conf"
        conf.mkdir()
        (state / "queue").mkdir()  # Postfix creates what is inside (post-install create-missing)
        (conf / "main.cf").write_text(main_cf(state))
        (conf / "master.cf").write_text(master_cf())
        zones = write_zones(state / "zones", SCENARIO_ZONES)
        served = stack.enter_context(serve(netns, zones, SCENARIO_BEHAVIOURS))
        pf = Postfix(netns, conf, state, served, {"LD_LIBRARY_PATH": str(POSTFIX / "usr/lib/postfix")})
        started = pf.postfix("start")
        assert started.returncode == 0, started.stdout + started.stderr + pf.maillog()
        stack.callback(pf.postfix, "stop")
        yield pf


ATTEMPT = re.compile(r"(?:connect to|lost connection with|host) ([^\s\[]+)\[([^\]]+)\]")
LINE = re.compile(r"postfix/smtp\[(\d+)\]: (?:([0-9A-F]{6,}): )?(.*)$")
STATUS = re.compile(r"to=<([^>]+)>, relay=([^,]+), .*dsn=([\d.]+), status=(\w+) \((.*)\)$")


@dataclass
class Fate:
    """The first delivery attempt of one message, as the maillog tells it."""

    status: str  # sent | bounced | deferred
    relay: str  # HOST[ADDR]:PORT or none
    dsn: str
    text: str
    tried: list[tuple[str, str]]  # (host, address) in the order Postfix tried them


def fates(maillog: str) -> dict[str, Fate]:
    """Recipient -> the first attempt's fate. An smtp process handles one delivery at a time, so the
    lines it logs ("connect to X[a]: refused", "lost connection with X[a]", "host X[a] said") up to
    its status line are that delivery's tries."""
    tries: dict[str, list[tuple[str, str]]] = {}
    out: dict[str, Fate] = {}
    for line in maillog.splitlines():
        m = LINE.search(line)
        if not m:
            continue
        pid, text = m.group(1), m.group(3)
        status = STATUS.match(text)
        if status is None:
            tried = ATTEMPT.match(text)
            if tried:
                tries.setdefault(pid, []).append((tried.group(1), tried.group(2)))
            continue
        rcpt, relay, dsn, state, why = status.groups()
        tried_list = tries.pop(pid, [])
        relayed = ATTEMPT.match("host " + relay)
        if relayed and (not tried_list or tried_list[-1] != (relayed.group(1), relayed.group(2))):
            tried_list.append((relayed.group(1), relayed.group(2)))
        out.setdefault(rcpt, Fate(state, relay, dsn, why, tried_list))
    return out


@pytest.fixture(scope="module")
def outcome(postfix: Postfix) -> dict[str, Fate]:
    """Every scenario's message queued at once; returns when each one's first attempt is over."""
    postfix.submit(RECIPIENTS)
    return await_fates(postfix, RECIPIENTS, FATE_WAIT)


def await_fates(postfix: Postfix, recipients: Sequence[str], wait: float, settle: float = 0.0,
                more: Callable[[], str] = str) -> dict[str, Fate]:
    """The fates of `recipients` once each first attempt is over (`settle`: then let the sinks' reader
    threads catch up); fails after `wait` s with the mail log and `more()`."""
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        found = fates(postfix.maillog())
        if all(r in found for r in recipients):
            time.sleep(settle)
            return found
        time.sleep(0.2)
    missing = [r for r in recipients if r not in fates(postfix.maillog())]
    pytest.fail(f"no fate after {wait} s for {missing}:\n{postfix.maillog()[-5000:]}\n{more()}")


def sink_events(postfix: Postfix, domain: str) -> list[tuple[str, str, str]]:
    """(kind, host, address) of every sink event for an exchanger in `domain`, in order."""
    out = []
    for line in postfix.served.sink_events():
        _, _, kind, host, where, *_ = line.split()
        if host.rstrip(".") == domain or host.rstrip(".").endswith("." + domain):
            out.append((kind, host.rstrip("."), where[1:].split("]")[0]))
    return out


def queries(postfix: Postfix, name: str) -> list[str]:
    """`transport TYPE RCODE answers=N [fault=...]` of each query the server logged for `name`."""
    out = []
    for line in postfix.served.queries():
        _, transport, qname, qtype, rcode, answers, *rest = line.split()
        if qname.rstrip(".") == name:
            out.append(" ".join([transport, qtype, rcode, answers, *(r for r in rest if r.startswith("fault="))]))
    return out


def test_the_broken_zones_are_served_as_they_are(postfix: Postfix) -> None:
    """One `zonetool serve` for every scenario: the deliberately broken zones are reported, and served."""
    assert errors_served(postfix.served) == {
        ("cname.mta.test.yaml", "mx-target-cname"),
        ("skip.mta.test.yaml", "mx-target-no-address"),
        ("noaddress.mta.test.yaml", "mx-target-no-address"),
    }


def test_primary_refuses_then_the_backup(postfix: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@refuse.mta.test"]
    assert (fate.status, fate.relay) == ("sent", "backup.refuse.mta.test[127.0.10.11]:25"), fate
    assert fate.tried == [("mx1.refuse.mta.test", "127.0.10.10"), ("backup.refuse.mta.test", "127.0.10.11")]
    events = sink_events(postfix, "refuse.mta.test")
    assert events[0] == ("connect", "mx1.refuse.mta.test", "127.0.10.10")
    assert ("message", "backup.refuse.mta.test", "127.0.10.11") in events


def test_451_at_rcpt_then_the_backup(postfix: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@tempfail.mta.test"]
    assert (fate.status, fate.relay) == ("sent", "backup.tempfail.mta.test[127.0.11.11]:25"), fate
    assert fate.tried == [("mx1.tempfail.mta.test", "127.0.11.10"), ("backup.tempfail.mta.test", "127.0.11.11")]
    assert ("rcpt", "mx1.tempfail.mta.test", "127.0.11.10") in sink_events(postfix, "tempfail.mta.test")


def test_550_bounces_without_the_backup(postfix: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@reject.mta.test"]
    assert (fate.status, fate.dsn) == ("bounced", "5.1.1"), fate
    assert fate.tried == [("mx1.reject.mta.test", "127.0.12.10")]
    assert [e for e in sink_events(postfix, "reject.mta.test") if e[1] == "backup.reject.mta.test"] == []


def test_421_greeting_then_the_backup(postfix: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@greeting.mta.test"]
    assert (fate.status, fate.relay) == ("sent", "backup.greeting.mta.test[127.0.13.11]:25"), fate
    assert fate.tried == [("mx1.greeting.mta.test", "127.0.13.10"), ("backup.greeting.mta.test", "127.0.13.11")]
    assert "421" in postfix.maillog()  # "refused to talk to me: 421 ..."


def test_three_preference_groups_in_order(postfix: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@groups.mta.test"]
    assert (fate.status, fate.relay) == ("sent", "mx3.groups.mta.test[127.0.14.12]:25"), fate
    assert [h for h, _ in fate.tried] == ["mx1.groups.mta.test", "mx2.groups.mta.test", "mx3.groups.mta.test"]
    connects = [h for kind, h, _ in sink_events(postfix, "groups.mta.test") if kind == "connect"]
    assert connects == ["mx1.groups.mta.test", "mx2.groups.mta.test", "mx3.groups.mta.test"]


def test_equal_preferences_tried_as_a_set_in_random_order(outcome: dict[str, Fate]) -> None:
    orders = set()
    for i in range(EQUAL_MESSAGES):
        fate = outcome[f"user{i}@equal.mta.test"]
        assert (fate.status, fate.relay) == ("sent", "backup.equal.mta.test[127.0.15.13]:25"), fate
        hosts = [h for h, _ in fate.tried]
        assert sorted(hosts[:3]) == ["a.equal.mta.test", "b.equal.mta.test", "c.equal.mta.test"], fate.tried
        assert hosts[3:] == ["backup.equal.mta.test"], fate.tried  # the backup only after the whole group
        orders.add(tuple(hosts[:3]))
    assert len(orders) > 1, f"the same order for all {EQUAL_MESSAGES} messages: {orders}"


def test_multihomed_exchanger_every_address_tried(postfix: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@multihomed.mta.test"]
    assert (fate.status, fate.relay) == ("sent", "backup.multihomed.mta.test[127.0.16.12]:25"), fate
    mx1 = "mx1.multihomed.mta.test"
    assert sorted(fate.tried[:2]) == [(mx1, "127.0.16.10"), (mx1, "127.0.16.11")], fate.tried
    connected = {a for kind, h, a in sink_events(postfix, "multihomed.mta.test") if h == "mx1.multihomed.mta.test"}
    assert connected == {"127.0.16.10", "127.0.16.11"}


def test_session_limit_ends_the_attempt_before_the_backup(postfix: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@sessions.mta.test"]
    assert (fate.status, fate.dsn) == ("deferred", "4.3.0"), fate
    assert [h for h, _ in fate.tried] == ["mx1.sessions.mta.test", "mx2.sessions.mta.test"]
    assert [e for e in sink_events(postfix, "sessions.mta.test") if e[1] == "backup.sessions.mta.test"] == []


def test_implicit_mx(outcome: dict[str, Fate]) -> None:
    fate = outcome["user@implicit.mta.test"]
    assert (fate.status, fate.relay) == ("sent", "implicit.mta.test[127.0.17.10]:25"), fate


def test_null_mx_bounces_at_once(postfix: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@nullmx.mta.test"]
    assert (fate.status, fate.relay) == ("bounced", "none") and "nullMX" in fate.text, fate
    assert fate.tried == [] and sink_events(postfix, "nullmx.mta.test") == []  # the domain's A never tried


def test_mx_to_cname_is_followed(postfix: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@cname.mta.test"]
    assert (fate.status, fate.relay) == ("sent", "alias.cname.mta.test[127.0.19.10]:25"), fate
    assert ("message", "alias.cname.mta.test", "127.0.19.10") in sink_events(postfix, "cname.mta.test")


def test_exchangers_with_nodata_and_nxdomain_are_skipped(postfix: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@skip.mta.test"]
    assert (fate.status, fate.relay) == ("sent", "backup.skip.mta.test[127.0.20.10]:25"), fate
    assert fate.tried == [("backup.skip.mta.test", "127.0.20.10")]
    assert "udp A NOERROR answers=0" in queries(postfix, "ghost.skip.mta.test")
    assert "udp A NXDOMAIN answers=0" in queries(postfix, "nowhere.skip.mta.test")


def test_no_exchanger_with_an_address_bounces(postfix: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@noaddress.mta.test"]
    assert (fate.status, fate.dsn) == ("bounced", "5.4.4"), fate
    assert sink_events(postfix, "noaddress.mta.test") == []  # no fallback to the domain's own A


@pytest.mark.parametrize(("domain", "fault"), [("servfail", "SERVFAIL"), ("refused", "REFUSED"), ("silent", None)])
def test_dns_failure_defers(postfix: Postfix, outcome: dict[str, Fate], domain: str, fault: str | None) -> None:
    fate = outcome[f"user@{domain}.mta.test"]
    assert (fate.status, fate.dsn, fate.relay) == ("deferred", "4.4.3", "none"), fate
    assert "try again" in fate.text
    assert sink_events(postfix, f"{domain}.mta.test") == []  # neither the exchanger nor the domain's A
    asked = queries(postfix, f"{domain}.mta.test")
    assert asked and all(q.startswith("udp MX") for q in asked), asked  # never A: no implicit MX
    if fault:
        assert f"udp MX {fault} answers=0 fault={fault.lower()}" in asked


@pytest.mark.parametrize(("domain", "count"), [("big", 14), ("huge", 30)])
def test_mx_answer_over_512_octets_retried_over_tcp(
    postfix: Postfix, outcome: dict[str, Fate], domain: str, count: int
) -> None:
    """Postfix asks without EDNS (no DNSSEC: smtp_dns_support_level is empty), so 512 octets is the
    limit: TC over UDP, then the whole answer over TCP, and the best preference, written last, wins."""
    asked = queries(postfix, f"{domain}.mta.test")
    assert asked[:2] == ["udp MX NOERROR answers=0", f"tcp MX NOERROR answers={count}"], asked
    looked_up = {q.split()[2].rstrip(".") for q in postfix.served.queries() if q.split()[3] == "A"}
    exchangers = {f"exchanger-with-a-long-name-{i:02d}.{domain}.mta.test" for i in range(count - 1)}
    assert exchangers | {f"best.{domain}.mta.test"} <= looked_up  # every MX of the TCP answer seen
    fate = outcome[f"user@{domain}.mta.test"]
    net = {"big": 24, "huge": 29}[domain]
    assert (fate.status, fate.relay) == ("sent", f"best.{domain}.mta.test[127.0.{net}.10]:25"), fate


def test_referral_is_not_delivered(postfix: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@sub.referral.mta.test"]
    assert queries(postfix, "sub.referral.mta.test")[0] == "udp MX NOERROR answers=0"  # the referral
    assert (fate.status, fate.dsn) == ("bounced", "5.4.4"), fate  # taken as "no MX", then "no A"
    assert fate.tried == [] and sink_events(postfix, "referral.mta.test") == []


def test_wildcard_mx(postfix: Postfix, outcome: dict[str, Fate]) -> None:
    fate = outcome["user@any.wild.mta.test"]
    assert (fate.status, fate.relay) == ("sent", "mx.wild.mta.test[127.0.27.10]:25"), fate
    assert ("message", "mx.wild.mta.test", "127.0.27.10") in sink_events(postfix, "wild.mta.test")
