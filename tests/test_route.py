"""The reference delivery plan (pure core): RFC 5321 5.1, RFC 7505, RFC 2782 over zones in memory."""

from __future__ import annotations

import random

import pytest

from zonetool.faults import Fault, FaultSet
from zonetool.harness.plan import (
    DEFER,
    DELIVER,
    NO_DOMAIN,
    NO_ROUTE,
    NO_SRV,
    NOT_OFFERED,
    NULL_MX,
    UNRESOLVABLE,
    Result,
    Target,
    expected_first_shares,
    parse_destination,
    plan_route,
    sample_plans,
    weighted_order,
)
from zonetool.harness.resolvers import ZoneResolver
from zonetool.names import Name
from zonetool.rrtypes import parse_rdata
from zonetool.zone import Record, Zone

ORIGIN = Name.from_text("example.com.")
BASE = """@ SOA ns1 hostmaster 1 3600 600 86400 300
@ NS ns1
ns1 A 192.0.2.53"""


def make_zone(text: str, origin: Name = ORIGIN) -> Zone:
    """A zone from `owner TYPE rdata` lines (the core is tested without files)."""
    zone = Zone(origin)
    for line in (BASE + "\n" + text).strip().splitlines():
        owner, rtype, rest = line.split(None, 2)
        zone.add(Record(Name.from_text(owner, origin), 3600, parse_rdata(rtype, rest, origin)))
    return zone


def plan(text: str, dest: str = "user@example.com", faults: list[Fault] | None = None, **kw: str):  # type: ignore[no-untyped-def]
    return plan_route(dest, ZoneResolver([make_zone(text)], FaultSet(faults or [])), **kw)


def codes(p) -> list[str]:  # type: ignore[no-untyped-def]
    return [n.code for n in p.notes]


MAIL = """@ MX 10 mx1
@ MX 10 mx2
@ MX 20 backup
@ A 192.0.2.1
mx1 A 192.0.2.10
mx1 AAAA 2001:db8::10
mx2 A 192.0.2.11
backup A 192.0.2.12"""


def test_preference_groups_in_order_with_equal_group_randomised() -> None:
    p = plan(MAIL)
    assert p.outcome == DELIVER and not p.implicit
    assert p.usable_groups() == [["mx1.example.com.", "mx2.example.com."], ["backup.example.com."]]
    assert [g.randomise for g in p.groups] == [True, False]
    mx1 = p.groups[0].targets[0]
    assert mx1.ipv4 == ["192.0.2.10"] and mx1.ipv6 == ["2001:db8::10"] and mx1.port == 25
    assert "mx-equal-preference" in codes(p) and "mx-backup" in codes(p)


def test_equal_preferences_are_shuffled_backup_always_last() -> None:
    p = plan(MAIL)
    rng = random.Random(7)
    firsts = set()
    for _ in range(200):
        order = [t.host.to_text() for t in p.attempts(rng)]
        assert order[-1] == "backup.example.com."
        firsts.add(order[0])
    assert firsts == {"mx1.example.com.", "mx2.example.com."}


def test_implicit_mx_only_without_mx() -> None:
    p = plan("@ A 192.0.2.1\n@ AAAA 2001:db8::1")
    assert p.outcome == DELIVER and p.implicit
    assert p.usable_groups() == [["example.com."]]
    assert p.groups[0].targets[0].addresses == ["2001:db8::1", "192.0.2.1"]
    assert "implicit-mx" in codes(p)


def test_no_mx_no_address_is_permanent() -> None:
    p = plan("www A 192.0.2.80")
    assert p.outcome == NO_ROUTE and "no-mail-route" in codes(p)


def test_null_mx_means_no_mail_and_no_fallback() -> None:
    p = plan("@ MX 0 .\n@ A 192.0.2.1")
    assert p.outcome == NULL_MX
    assert p.groups == [] and p.attempts() == []
    assert "null-mx" in codes(p) and "implicit-mx" not in codes(p)


def test_null_mx_beside_real_mx_is_skipped_and_noted() -> None:
    p = plan("@ MX 0 .\n@ MX 10 mx1\nmx1 A 192.0.2.10")
    assert p.outcome == DELIVER and p.usable_groups() == [["mx1.example.com."]]
    assert "null-mx-mixed" in codes(p)


@pytest.mark.parametrize("action", ["servfail", "refused", "timeout", "bad-id"])
def test_dns_error_on_mx_is_temporary_never_implicit(action: str) -> None:
    p = plan(MAIL, faults=[Fault.make("example.com.", "MX", action)])
    assert p.outcome == DEFER
    assert p.groups == [] and not p.implicit
    assert "dns-temporary" in codes(p) and "implicit-mx" not in codes(p)
    if action == "bad-id":
        assert "dns-bad-id" in codes(p)


def test_nxdomain_is_permanent() -> None:
    p = plan(MAIL, dest="user@nowhere.example.com")
    assert p.outcome == NO_DOMAIN and "nxdomain" in codes(p)
    p = plan(MAIL, faults=[Fault.make("example.com.", "MX", "nxdomain")])
    assert p.outcome == NO_DOMAIN


def test_mx_to_cname_is_followed_and_noted() -> None:
    p = plan("@ MX 10 alias\nalias CNAME real\nreal A 192.0.2.30")
    t = p.groups[0].targets[0]
    assert t.usable and t.ipv4 == ["192.0.2.30"] and t.cname == Name.from_text("real.example.com.")
    assert "mx-cname" in codes(p)


def test_domain_cname_is_processed_as_its_target() -> None:
    text = "mail CNAME target\ntarget MX 10 mx1\nmx1 A 192.0.2.10"
    p = plan(text, dest="user@mail.example.com")
    assert p.usable_groups() == [["mx1.example.com."]]
    assert "domain-cname" in codes(p)


def test_exchange_without_address_is_skipped() -> None:
    p = plan("@ MX 10 ghost\n@ MX 20 mx2\nmx2 A 192.0.2.11")
    assert p.outcome == DELIVER
    assert [t.status for t in p.targets] == ["no-address", "usable"]
    assert p.usable_groups() == [["mx2.example.com."]]
    assert "no-address" in codes(p)


def test_no_exchange_has_address_is_permanent_without_implicit_fallback() -> None:
    p = plan("@ MX 10 ghost\n@ A 192.0.2.1")
    assert p.outcome == NO_ROUTE and not p.implicit
    assert "no-usable-exchange" in codes(p)


def test_exchange_outside_served_zones_is_unresolvable() -> None:
    p = plan("@ MX 10 mx.example.net.\n@ MX 20 mx2\nmx2 A 192.0.2.11")
    assert [t.status for t in p.targets] == ["unresolvable", "usable"]
    assert "outside" in codes(p)
    p = plan("@ MX 10 mx.example.net.")
    assert p.outcome == UNRESOLVABLE


def test_address_failure_of_only_exchange_defers() -> None:
    p = plan("@ MX 10 mx1\nmx1 A 192.0.2.10", faults=[Fault.make("mx1.example.com.", None, "servfail")])
    assert p.outcome == DEFER and p.targets[0].status == "temporary"
    assert "address-temporary" in codes(p)


def test_address_failure_of_one_family_keeps_the_other() -> None:
    p = plan("@ MX 10 mx1\nmx1 A 192.0.2.10", faults=[Fault.make("mx1.example.com.", "AAAA", "timeout")])
    assert p.outcome == DELIVER and p.targets[0].ipv4 == ["192.0.2.10"]
    assert "address-partial" in codes(p)


def test_truncate_and_delay_faults_explained_but_answer_used() -> None:
    faults = [Fault.make("example.com.", "MX", "truncate"), Fault.make("mx1.example.com.", "A", "delay", 1500)]
    p = plan(MAIL, faults=faults)
    assert p.outcome == DELIVER
    assert "dns-truncated" in codes(p) and "dns-delay" in codes(p) and "fault" in codes(p)


SRV = """_smtp._tcp SRV 10 3 2525 mx1
_smtp._tcp SRV 10 1 2526 mx2
_smtp._tcp SRV 20 0 25 backup
_submission._tcp SRV 0 0 587 mx1
_imap._tcp SRV 0 0 0 .
mx1 A 192.0.2.10
mx2 A 192.0.2.11
backup A 192.0.2.12
@ MX 10 mx1"""


def test_srv_priorities_weights_and_ports() -> None:
    p = plan(SRV, service="smtp")
    assert p.mode == "srv" and p.outcome == DELIVER
    assert p.owner == Name.from_text("_smtp._tcp.example.com.")
    assert p.usable_groups() == [["mx1.example.com.", "mx2.example.com."], ["backup.example.com."]]
    assert [(t.host.to_text(), t.port, t.weight) for t in p.groups[0].targets] == [
        ("mx1.example.com.", 2525, 3),
        ("mx2.example.com.", 2526, 1),
    ]
    assert expected_first_shares(p) == {"mx1.example.com.": 0.75, "mx2.example.com.": 0.25}
    assert "srv-weights" in codes(p)


def test_srv_dot_target_means_not_offered() -> None:
    p = plan(SRV, service="imap")
    assert p.outcome == NOT_OFFERED and p.attempts() == [] and "srv-not-offered" in codes(p)


def test_srv_absent_smtp_falls_back_to_mx_others_report_none() -> None:
    p = plan("@ MX 10 mx1\nmx1 A 192.0.2.10", service="smtp")
    assert p.mode == "mx" and p.usable_groups() == [["mx1.example.com."]] and "srv-fallback" in codes(p)
    p = plan(SRV, service="pop3s")
    assert p.outcome == NO_SRV


def test_srv_error_is_temporary() -> None:
    p = plan(SRV, service="submission", faults=[Fault.make("_submission._tcp.example.com.", "SRV", "servfail")])
    assert p.outcome == DEFER and "dns-temporary" in codes(p)


def test_weighted_order_zero_weights_last_and_exact_shares() -> None:
    n = Name.from_text
    ts = [Target(n("z."), 0, 1, weight=0), Target(n("a."), 0, 1, weight=1), Target(n("b."), 0, 1, weight=3)]
    rng = random.Random(1)
    first = {"a.": 0, "b.": 0}
    for _ in range(4000):
        order = weighted_order(ts, rng)
        assert order[-1].host == n("z.")
        first[order[0].host.to_text()] += 1
    assert 0.70 < first["b."] / 4000 < 0.80


def test_sample_report_counts_and_shares() -> None:
    p = plan(SRV, service="smtp")
    report = sample_plans(p, 2000, random.Random(42))
    assert sum(report.first.values()) == 2000
    assert set(report.first) == {"mx1.example.com.", "mx2.example.com."}
    stat, df = report.chi_square()
    assert df == 1 and stat < 10.83  # chi-square 0.001 critical value, 1 degree of freedom
    data = report.to_json()
    assert {h["host"] for h in data["hosts"]} == {"mx1.example.com.", "mx2.example.com."}


def test_parse_destination() -> None:
    assert parse_destination("User@Example.COM") == (Name.from_text("example.com."), None)
    assert parse_destination("example.com.") == (Name.from_text("example.com."), None)
    assert parse_destination("u@[192.0.2.1]") == (None, "192.0.2.1")
    assert parse_destination("u@[IPv6:2001:db8::1]") == (None, "2001:db8::1")
    with pytest.raises(ValueError):
        parse_destination("u@[not-an-ip]")
    with pytest.raises(ValueError):
        parse_destination("u@")


def test_address_literal_needs_no_dns() -> None:
    p = plan_route("u@[192.0.2.9]", ZoneResolver([]))
    assert p.outcome == DELIVER and p.attempts()[0].ipv4 == ["192.0.2.9"]


def test_result_kinds() -> None:
    assert Result(0, ()).kind == "nodata"
    assert Result(3).kind == "nxdomain"
    assert Result(None).kind == "temporary" and Result(None).failure == "no answer (timeout)"
    assert Result(2, error="servfail").kind == "temporary" and Result(2, error="servfail").failure == "SERVFAIL"


# -- judging a sender against the plan ----------------------------------------------------
def test_check_attempts_accepts_compliant_orders() -> None:
    from zonetool.harness.grade import check_attempts

    p = plan(MAIL)
    assert check_attempts(p, ["mx2.example.com.", "mx1.example.com", "backup.example.com."]) == []
    assert check_attempts(p, ["mx1.example.com."]) == []  # stopped at the first success
    assert check_attempts(p, []) == []


def test_check_attempts_flags_each_kind_of_mistake() -> None:
    from zonetool.harness.grade import check_attempts

    p = plan(MAIL)
    (skip,) = check_attempts(p, ["mx1.example.com.", "backup.example.com."])
    assert "before mx2.example.com" in skip and "preference 20" in skip
    (stranger,) = check_attempts(p, ["example.com."])  # the domain's own address though MX exist
    assert "not a usable host" in stranger
    deferred = plan(MAIL, faults=[Fault.make("example.com.", "MX", "servfail")])
    (defer,) = check_attempts(deferred, ["example.com."])
    assert "defer" in defer
    null = plan("@ MX 0 .\n@ A 192.0.2.1")
    assert "null-mx" in check_attempts(null, ["example.com."])[0]


def test_first_choice_report_and_matches_shares() -> None:
    from zonetool.harness.grade import first_choice_report, matches_shares

    p = plan(SRV, service="smtp")
    fair = first_choice_report(p, ["mx1.example.com"] * 300 + ["mx2.example.com."] * 100)
    assert fair.first == {"mx1.example.com.": 300, "mx2.example.com.": 100}
    assert matches_shares(fair)
    uniform = first_choice_report(p, ["mx1.example.com."] * 200 + ["mx2.example.com."] * 200)
    assert not matches_shares(uniform)
    stray = first_choice_report(p, ["mx1.example.com."] * 3 + ["backup.example.com."])
    assert not matches_shares(stray)  # a first choice outside the best group is always wrong


def test_plan_sample_is_sample_plans() -> None:
    p = plan(MAIL)
    a = p.sample(300, random.Random(5))
    b = sample_plans(p, 300, random.Random(5))
    assert a.first == b.first and sum(a.first.values()) == 300
    assert a.expected == {"mx1.example.com.": 0.5, "mx2.example.com.": 0.5}
