"""A small sender (dnspython + smtplib) with known bugs switched on and off: the harness
(route over the wire + SMTP sinks + DNS faults) must pass the correct sender and catch each bug."""

from __future__ import annotations

import random
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field

import dns.exception
import dns.resolver
import pytest

from zonetool.harness.grade import check_attempts, first_choice_report, matches_shares
from zonetool.harness.plan import DEFER, DELIVER, NULL_MX, Plan, plan_route
from zonetool.harness.resolvers import WireResolver

MSG = "From: a@sender.test\r\nTo: user@example.com\r\nSubject: harness\r\n\r\nhello\r\n"


@dataclass
class Bugs:
    no_backup: bool = False  # only the best preference is ever tried
    implicit_after_error: bool = False  # SERVFAIL/timeout on MX taken as "no MX": falls back to A
    ignore_weights: bool = False  # SRV targets of one priority in uniform random order
    ignore_null_mx: bool = False  # null MX treated as "no MX": falls back to A
    no_shuffle: bool = False  # equal preferences always in the same (alphabetical) order


@dataclass
class TinySender:
    """Just enough of an MTA: MX (or SRV) lookup, ordering, SMTP attempts, one outcome per message."""

    dns_host: str
    dns_port: int
    port_for: Callable[[int], int]
    bugs: Bugs = field(default_factory=Bugs)
    rng: random.Random = field(default_factory=lambda: random.Random(1))

    def _resolver(self) -> dns.resolver.Resolver:
        r = dns.resolver.Resolver(configure=False)
        r.nameservers = [self.dns_host]
        r.port = self.dns_port
        r.timeout = r.lifetime = 1.0
        r.retry_servfail = False
        return r

    def _addresses(self, host: str) -> list[str]:
        out = []
        for rtype in ("A", "AAAA"):
            try:
                out.extend(r.address for r in self._resolver().resolve(host, rtype))
            except dns.exception.DNSException:
                continue
        return out

    def _groups(self, domain: str) -> list[list[tuple[str, int]]] | str:
        """[[(host, port), ...], ...] best group first, or an outcome word."""
        try:
            answer = list(self._resolver().resolve(domain, "MX"))
        except dns.resolver.NXDOMAIN:
            return "bounced"
        except dns.resolver.NoAnswer:
            answer = []
        except (dns.resolver.NoNameservers, dns.exception.Timeout):
            if not self.bugs.implicit_after_error:
                return "deferred"
            answer = []
        if len(answer) == 1 and answer[0].exchange == dns.name.root:
            if not self.bugs.ignore_null_mx:
                return "bounced"
            answer = []
        if not answer:
            return [[(domain, 25)]]
        by_pref: dict[int, list[tuple[str, int]]] = {}
        for r in answer:
            by_pref.setdefault(r.preference, []).append((r.exchange.to_text(), 25))
        groups = [by_pref[p] for p in sorted(by_pref)]
        for g in groups:
            if self.bugs.no_shuffle:
                g.sort()
            else:
                self.rng.shuffle(g)
        return groups[:1] if self.bugs.no_backup else groups

    def _srv_groups(self, domain: str) -> list[list[tuple[str, int]]] | str:
        try:
            answer = list(self._resolver().resolve(f"_smtp._tcp.{domain}", "SRV"))
        except dns.exception.DNSException:
            return "deferred"
        by_prio: dict[int, list[tuple[int, str, int]]] = {}
        for r in answer:
            by_prio.setdefault(r.priority, []).append((r.weight, r.target.to_text(), r.port))
        groups = []
        for prio in sorted(by_prio):
            items = sorted(by_prio[prio])
            order = []
            while items:
                total = sum(w for w, _, _ in items)
                if self.bugs.ignore_weights or total == 0:
                    pick = self.rng.randrange(len(items))
                else:
                    x, pick = self.rng.randrange(total), 0
                    while x >= items[pick][0]:
                        x -= items[pick][0]
                        pick += 1
                _, host, port = items.pop(pick)
                order.append((host, port))
            groups.append(order)
        return groups

    def send(self, rcpt: str, srv: bool = False) -> str:
        domain = rcpt.rsplit("@", 1)[1]
        groups = self._srv_groups(domain) if srv else self._groups(domain)
        if isinstance(groups, str):
            return groups
        for group in groups:
            for host, port in group:
                for address in self._addresses(host):
                    outcome = self._deliver(address, self.port_for(port), rcpt)
                    if outcome != "temp":
                        return outcome
        return "deferred"

    def _deliver(self, address: str, port: int, rcpt: str) -> str:
        try:
            with smtplib.SMTP(address, port, local_hostname="sender.test", timeout=2) as smtp:
                smtp.sendmail("a@sender.test", [rcpt], MSG)
            return "sent"
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0]
            return "bounced" if code >= 500 else "temp"
        except (OSError, smtplib.SMTPException):
            return "temp"


# ---------------------------------------------------------------------------
# scenarios: each returns what the harness says about the sender
# ---------------------------------------------------------------------------
BASE = {
    "origin": "example.com",
    "nameservers": ["ns1", "ns2"],
    "records": {"ns1": {"A": "127.0.0.53"}, "ns2": {"A": "127.0.0.54"}},
}


def zone(**extra: object) -> dict[str, object]:
    data = {**BASE, **extra}
    data["records"] = {**BASE["records"], **extra.get("records", {})}  # type: ignore[dict-item]
    return data


def reference(dns_server) -> Plan:  # type: ignore[no-untyped-def]
    """The plan, asked over the wire from the same server the sender uses."""
    return plan_route("user@example.com", WireResolver(dns_server.host, dns_server.port, timeout=1.0))


def sender(dns_server, smtp_sinks, bugs: Bugs, seed: int = 1) -> TinySender:  # type: ignore[no-untyped-def]
    return TinySender(dns_server.host, dns_server.port, smtp_sinks.port_for, bugs, random.Random(seed))


def backup_scenario(dns_server, smtp_sinks, bugs: Bugs) -> list[str]:  # type: ignore[no-untyped-def]
    dns_server.load(
        zone(
            mail={
                "exchangers": [
                    {"host": "mx1", "priority": 10, "addresses": ["127.0.0.10"]},
                    {"host": "backup", "priority": 20, "addresses": ["127.0.0.12"]},
                ]
            }
        )
    )
    smtp_sinks.add_zones(dns_server.zones.values(), behaviours={"mx1.example.com": "tempfail-greeting"})
    plan = reference(dns_server)
    assert plan.outcome == DELIVER and plan.usable_groups() == [["mx1.example.com."], ["backup.example.com."]]
    outcome = sender(dns_server, smtp_sinks, bugs).send("user@example.com")
    problems = check_attempts(plan, smtp_sinks.hosts_tried())
    # the primary fails at the greeting, the backup accepts: a compliant sender delivers there
    if smtp_sinks.delivered_to() != ["backup.example.com."]:
        problems.append(f"not delivered to the backup (outcome {outcome}); sinks:\n{smtp_sinks.report()}")
    return problems


def servfail_scenario(dns_server, smtp_sinks, bugs: Bugs) -> list[str]:  # type: ignore[no-untyped-def]
    dns_server.load(
        zone(
            mail={"exchangers": [{"host": "mx1", "priority": 10, "addresses": ["127.0.0.10"]}]},
            records={"@": {"A": "127.0.0.20"}},
            faults=[{"name": "@", "type": "MX", "action": "servfail"}],
        )
    )
    smtp_sinks.add_zones(dns_server.zones.values())
    plan = reference(dns_server)
    assert plan.outcome == DEFER and not plan.implicit
    outcome = sender(dns_server, smtp_sinks, bugs).send("user@example.com")
    problems = check_attempts(plan, smtp_sinks.hosts_tried())
    if outcome != "deferred":
        problems.append(f"a DNS error must defer the message, the sender says {outcome}")
    return problems


def null_mx_scenario(dns_server, smtp_sinks, bugs: Bugs) -> list[str]:  # type: ignore[no-untyped-def]
    dns_server.load(zone(mail={"null": True}, records={"@": {"A": "127.0.0.21"}}))
    smtp_sinks.add_zones(dns_server.zones.values())
    plan = reference(dns_server)
    assert plan.outcome == NULL_MX
    outcome = sender(dns_server, smtp_sinks, bugs).send("user@example.com")
    problems = check_attempts(plan, smtp_sinks.hosts_tried())
    if outcome != "bounced":
        problems.append(f"a null MX must bounce at once, the sender says {outcome}")
    return problems


def first_choices(dns_server, smtp_sinks, bugs: Bugs, n: int, srv: bool) -> list[str]:  # type: ignore[no-untyped-def]
    s = sender(dns_server, smtp_sinks, bugs, seed=20261128)
    firsts = []
    for _ in range(n):
        before = len(smtp_sinks.attempts)
        assert s.send("user@example.com", srv=srv) == "sent"
        firsts.append(smtp_sinks.attempts[before].host)
    return firsts


def weights_scenario(dns_server, smtp_sinks, bugs: Bugs) -> list[str]:  # type: ignore[no-untyped-def]
    dns_server.load(
        zone(
            mail={
                "srv": True,
                "exchangers": [
                    {"host": "heavy", "priority": 10, "weight": 9, "addresses": ["127.0.0.30"]},
                    {"host": "light", "priority": 10, "weight": 1, "addresses": ["127.0.0.31"]},
                ],
            }
        )
    )
    smtp_sinks.add_zones(dns_server.zones.values())
    plan = plan_route("example.com", WireResolver(dns_server.host, dns_server.port), service="smtp")
    report = first_choice_report(plan, first_choices(dns_server, smtp_sinks, bugs, 150, srv=True))
    return (
        [] if matches_shares(report) else [f"first choices {report.first} do not match the weights {report.expected}"]
    )


def shuffle_scenario(dns_server, smtp_sinks, bugs: Bugs) -> list[str]:  # type: ignore[no-untyped-def]
    dns_server.load(
        zone(
            mail={
                "exchangers": [
                    {"host": "mxa", "priority": 10, "addresses": ["127.0.0.40"]},
                    {"host": "mxb", "priority": 10, "addresses": ["127.0.0.41"]},
                ]
            }
        )
    )
    smtp_sinks.add_zones(dns_server.zones.values())
    plan = reference(dns_server)
    report = first_choice_report(plan, first_choices(dns_server, smtp_sinks, bugs, 100, srv=False))
    return [] if matches_shares(report) else [f"equal preferences not shuffled: first choices {report.first}"]


SCENARIOS = {
    "no_backup": backup_scenario,
    "implicit_after_error": servfail_scenario,
    "ignore_null_mx": null_mx_scenario,
    "ignore_weights": weights_scenario,
    "no_shuffle": shuffle_scenario,
}


@pytest.mark.parametrize("bug", list(SCENARIOS))
def test_correct_sender_passes(bug: str, dns_server, smtp_sinks) -> None:  # type: ignore[no-untyped-def]
    assert SCENARIOS[bug](dns_server, smtp_sinks, Bugs()) == []


@pytest.mark.parametrize("bug", list(SCENARIOS))
def test_each_bug_is_caught(bug: str, dns_server, smtp_sinks) -> None:  # type: ignore[no-untyped-def]
    problems = SCENARIOS[bug](dns_server, smtp_sinks, Bugs(**{bug: True}))
    assert problems, f"the harness did not notice the {bug} bug"
