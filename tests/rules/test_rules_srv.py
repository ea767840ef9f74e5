"""SRV: _service._proto owners, usable targets, weights, and agreement with MX."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from zonetool.rules.srv import service_name_problem

HOSTS = "xmpp1 A 192.0.2.30\nxmpp2 A 192.0.2.31\n"


def test_clean_services(findings: Callable) -> None:
    zone = (
        HOSTS
        + "_xmpp-server._tcp SRV 5 70 5269 xmpp1\n_xmpp-server._tcp SRV 5 30 5269 xmpp2\n"
        + "_imap._tcp SRV 0 0 0 .\n_sip._udp SRV 0 0 5060 sip.example.net.\n"
    )
    assert findings(zone) == []


@pytest.mark.parametrize("label", [b"xmpp-server", b"submissions", b"imaps", b"3com-tsmux", b"a", b"x" * 15])
def test_rfc6335_names_pass(label: bytes) -> None:
    assert service_name_problem(label) is None


@pytest.mark.parametrize("label", [b"", b"x" * 16, b"-smtp", b"smtp-", b"xmpp--server", b"123", b"sm_tp"])
def test_rfc6335_names_fail(label: bytes) -> None:
    assert service_name_problem(label) is not None


def test_srv_owner(findings: Callable) -> None:
    report = findings(HOSTS + "xmpp SRV 5 0 5269 xmpp1\n_xmpp._tcp.chat SRV 5 0 5269 xmpp1")
    assert report.codes() == ["srv-owner"]
    assert report.lines("srv-owner") == [3]


def test_srv_service_label(findings: Callable) -> None:
    report = findings(HOSTS + "_xmpp--server._tcp SRV 5 0 5269 xmpp1\n_this-is-far-too-long._tcp SRV 5 0 5269 xmpp1")
    assert sorted(report.lines("srv-service-label")) == [3, 4]
    assert set(report.codes()) == {"srv-service-label"}


def test_srv_proto(findings: Callable) -> None:
    assert findings(HOSTS + "_sip._sctp SRV 5 0 5060 xmpp1") == []
    report = findings(HOSTS + "_sip._tpc SRV 5 0 5060 xmpp1")
    assert report.codes() == ["srv-proto"]
    assert report.lines("srv-proto") == [3]


def test_srv_port_zero(findings: Callable) -> None:
    report = findings(HOSTS + "_imap._tcp SRV 0 0 0 xmpp1")
    assert report.codes() == ["srv-port-zero"]
    assert report.lines("srv-port-zero") == [3]


def test_srv_dot_not_alone(findings: Callable) -> None:
    report = findings(HOSTS + "_imap._tcp SRV 0 0 143 xmpp1\n_imap._tcp SRV 0 0 0 .")
    assert report.codes() == ["srv-dot-not-alone"]
    assert report.lines("srv-dot-not-alone") == [4]


def test_srv_target_cname(findings: Callable) -> None:
    report = findings(HOSTS + "chat CNAME xmpp1\n_xmpp-client._tcp SRV 5 0 5222 chat")
    assert report.codes() == ["srv-target-cname"]
    assert report.lines("srv-target-cname") == [4]


def test_srv_target_no_address(findings: Callable) -> None:
    report = findings(HOSTS + "_xmpp-client._tcp SRV 5 0 5222 xmpp3")
    assert report.codes() == ["srv-target-no-address"]
    assert report.lines("srv-target-no-address") == [3]


def test_srv_weight_zero_mixed(findings: Callable) -> None:
    # weight 0 at a different priority is fine: it is a backup
    assert findings(HOSTS + "_x._tcp SRV 5 10 80 xmpp1\n_x._tcp SRV 10 0 80 xmpp2") == []
    report = findings(HOSTS + "_x._tcp SRV 5 10 80 xmpp1\n_x._tcp SRV 5 0 80 xmpp2")
    assert report.codes() == ["srv-weight-zero-mixed"]
    assert report.lines("srv-weight-zero-mixed") == [4]


MAIL = 'mx1 A 192.0.2.10\nmx2 A 192.0.2.11\n@ TXT "v=spf1 mx -all"\n_dmarc TXT "v=DMARC1; p=none"\n'


def test_mx_srv_mismatch(findings: Callable) -> None:
    agree = "@ MX 10 mx1\n@ MX 20 mx2\n_smtp._tcp SRV 10 5 25 mx1\n_smtp._tcp SRV 20 0 25 mx2\n"
    assert findings(MAIL + agree) == []
    differ = "@ MX 10 mx1\n@ MX 20 mx2\n_smtp._tcp SRV 10 5 25 mx1\n_smtp._tcp SRV 30 0 25 mx2\n"
    report = findings(MAIL + differ)
    assert report.codes() == ["mx-srv-mismatch"]
    assert report.lines("mx-srv-mismatch") == [7]
    assert "only in MX: 20 mx2" in report[0].message and "only in SRV: 30 mx2" in report[0].message


def test_mx_srv_generated_sets_are_not_compared(zone: Callable) -> None:
    from dataclasses import replace

    from zonetool.rules import run_rules

    z = zone(MAIL + "@ MX 10 mx1\n_smtp._tcp SRV 30 0 25 mx2\n")
    for node in z.nodes.values():
        for rrset in node.values():
            rrset.records = [replace(r, origin="mail") for r in rrset.records]
    assert "mx-srv-mismatch" not in [f.code for f in run_rules(z)]
