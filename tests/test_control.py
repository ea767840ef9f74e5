"""zonetool.server.control: the one place runtime changes go through (no sockets: a real Responder, bytes)."""

from __future__ import annotations

import dns.message
import dns.rcode
import pytest

from zonetool.loader import load_mapping
from zonetool.server.control import Control, ControlError, NotInZone, UnknownFault
from zonetool.server.responder import Responder
from zonetool.zone import Zone


def zone(origin: str = "example.com", **records: object) -> Zone:
    spec = {
        "origin": origin,
        "nameservers": ["ns1"],
        "soa": {"serial": "auto"},
        "mail": {"exchangers": [{"host": "mx1", "priority": 10, "addresses": ["192.0.2.10"]}]},
        "records": {"ns1": {"A": "192.0.2.53"}, **records},
    }
    z, findings = load_mapping(spec, "<test>")
    assert z is not None, findings
    return z


def ask(responder: Responder, name: str, rtype: str) -> dns.message.Message:
    query = dns.message.make_query(name, rtype)
    reply = responder.respond(query.to_wire(), ("127.0.0.1", 5000), "udp")
    return dns.message.from_wire(reply.messages[0])


def answers(responder: Responder, name: str, rtype: str) -> list[str]:
    return sorted(rd.to_text() for rrset in ask(responder, name, rtype).answer for rd in rrset)


@pytest.fixture
def one() -> tuple[Control, Responder]:
    responder = Responder([zone()])
    return Control(responder), responder


def test_a_relative_name_is_in_the_only_zone(one: tuple[Control, Responder]) -> None:
    control, responder = one
    assert control.resolve("mx1").to_text() == "mx1.example.com."
    assert control.resolve("@").to_text() == "example.com."
    assert control.resolve("mx1.example.com.").to_text() == "mx1.example.com."
    control.add_record("mx9", "A", "192.0.2.19", 60)
    assert answers(responder, "mx9.example.com", "A") == ["192.0.2.19"]
    assert ask(responder, "mx9.example.com", "A").answer[0].ttl == 60


def test_a_relative_name_that_repeats_the_origin_is_refused_with_both_spellings(one: tuple[Control, Responder]) -> None:
    control, _ = one
    both = r"'mx1\.example\.com'.*mx1\.example\.com\.example\.com\..*'mx1'.*'mx1\.example\.com\.'"
    with pytest.raises(ControlError, match=both):
        control.resolve("mx1.example.com")
    with pytest.raises(ControlError, match=r"write '@'"):
        control.add_record("example.com", "TXT", '"hello"')


def test_a_relative_name_with_several_zones_is_refused() -> None:
    responder = Responder([zone(), zone("example.org")])
    control = Control(responder)
    several = r"relative .* 2 zones are served \(example\.com\., example\.org\.\)"
    with pytest.raises(ControlError, match=several) as info:
        control.add_record("mx9", "A", "192.0.2.19")
    assert info.value.field == "owner"
    with pytest.raises(ControlError, match=r"name: .*relative"):
        control.add_fault("mx1", "A", "servfail")
    control.add_record("mx9.example.org.", "A", "192.0.2.19")  # absolute names are fine
    assert answers(responder, "mx9.example.org", "A") == ["192.0.2.19"]


def test_a_name_outside_every_zone_is_refused(one: tuple[Control, Responder]) -> None:
    control, _ = one
    with pytest.raises(NotInZone, match=r"owner: no served zone contains mx1\.example\.net\.") as info:
        control.add_record("mx1.example.net.", "A", "192.0.2.1")
    assert info.value.status == 404 and isinstance(info.value, KeyError)
    with pytest.raises(ControlError, match=r"name: no served zone contains x\.example\.net\.") as fault_info:
        control.add_fault("*.x.example.net.", None, "timeout")
    assert fault_info.value.status == 400
    assert not control.faults.runtime


def test_fault_rules(one: tuple[Control, Responder]) -> None:
    control, responder = one
    with pytest.raises(ControlError, match="delay: action delay needs a delay"):
        control.add_fault("mx1", "A", "delay")
    with pytest.raises(ControlError, match="delay: "):
        control.add_fault("mx1", "A", "servfail", "soon")
    with pytest.raises(ControlError, match="action: unknown fault action 'explode'"):
        control.add_fault("mx1", "A", "explode")
    with pytest.raises(ControlError, match="type: "):
        control.add_fault("mx1", "NOTATYPE", "servfail")
    slow = control.add_fault("mx1", "A", "delay", "2s")
    assert slow.delay_ms == 2000 and responder.respond(
        dns.message.make_query("mx1.example.com", "A").to_wire(), ("127.0.0.1", 1), "udp").delay == 2.0
    control.remove_fault(slow.id)
    fault = control.add_fault("*.example.com.", "A", "servfail")
    assert ask(responder, "mx1.example.com", "A").rcode() == dns.rcode.SERVFAIL
    assert [f["id"] for f in control.fault_list()] == [fault.id]
    with pytest.raises(UnknownFault, match="no such runtime fault"):
        control.remove_fault(fault.id + 1000)
    assert control.clear_faults() == 1
    assert ask(responder, "mx1.example.com", "A").rcode() == dns.rcode.NOERROR


def test_bad_data_names_the_field(one: tuple[Control, Responder]) -> None:
    control, _ = one
    with pytest.raises(ControlError, match=r"^data: A 'not-an-address'") as info:
        control.add_record("mx9", "A", "not-an-address")
    assert info.value.field == "data"
    with pytest.raises(ControlError, match=r"^data\[1\]: MX"):
        control.replace_rrset("@", "MX", ["10 mx1", "ten mx2"])
    with pytest.raises(ControlError, match=r"^type: "):
        control.add_record("mx9", "BOGUS", "x")
    with pytest.raises(ControlError, match=r"^ttl: "):
        control.add_record("mx9", "A", "192.0.2.1", -5)
    assert not control.edits  # nothing was half-applied


def test_every_change_is_one_swap_and_the_cached_answer_goes(one: tuple[Control, Responder]) -> None:
    control, responder = one
    assert answers(responder, "example.com", "MX") == ["10 mx1.example.com."]
    assert responder.cached() >= 1
    serial = ask(responder, "example.com", "SOA").answer[0][0].serial
    control.replace_rrset("@", "MX", ["10 mx1", "20 backup.example.net."], 300)
    assert responder.cached() == 0
    assert answers(responder, "example.com", "MX") == ["10 mx1.example.com.", "20 backup.example.net."]
    assert ask(responder, "example.com", "SOA").answer[0][0].serial > serial  # auto serial follows
    assert control.delete_record("@", "MX", "20 backup.example.net.") == 1
    assert answers(responder, "example.com", "MX") == ["10 mx1.example.com."]
    with pytest.raises(NotInZone, match="has no MX 20 backup"):
        control.delete_record("@", "MX", "20 backup.example.net.")


def test_the_overlay_is_laid_over_every_reload_until_dropped(one: tuple[Control, Responder]) -> None:
    control, responder = one
    control.add_record("mx9", "A", "192.0.2.19")
    control.delete_record("ns1", "A", "192.0.2.53")  # a file's record: stays gone after a reload
    control.add_fault("mx1", "A", "refused")
    control.set_base([zone(version={"TXT": "v2"})])  # what a reload hands over
    assert answers(responder, "version.example.com", "TXT") == ['"v2"']
    assert answers(responder, "mx9.example.com", "A") == ["192.0.2.19"]
    assert answers(responder, "ns1.example.com", "A") == []
    assert ask(responder, "mx1.example.com", "A").rcode() == dns.rcode.REFUSED  # faults survive too
    assert [e.to_json()["owner"] for e in control.edits.values()] == ["mx9.example.com.", "ns1.example.com."]
    assert control.drop_edits() == 2
    assert answers(responder, "ns1.example.com", "A") == ["192.0.2.53"]
    assert ask(responder, "mx9.example.com", "A").rcode() == dns.rcode.NXDOMAIN


def test_data_names_are_relative_to_the_owners_zone_and_any_type_parses(one: tuple[Control, Responder]) -> None:
    control, responder = one
    control.add_record("_25._tcp.mx1", "TLSA", "3 1 1 " + "ab" * 32)
    control.add_record("@", "MX", "20 backup")
    assert answers(responder, "example.com", "MX") == ["10 mx1.example.com.", "20 backup.example.com."]
    assert answers(responder, "_25._tcp.mx1.example.com", "TLSA") == ["3 1 1 " + "ab" * 32]
