"""The fault set: which questions misbehave, built from YAML data or at runtime."""

from __future__ import annotations

import threading

import pytest

from zonetool.faults import Fault, FaultSet, parse_delay_ms
from zonetool.names import Name

ORIGIN = Name.from_text("example.com.")
A, MX, AAAA = 1, 15, 28


def n(text: str) -> Name:
    return Name.from_text(text)


def test_exact_name_and_type() -> None:
    fs = FaultSet([Fault.make("mx1", "A", "servfail", origin=ORIGIN)])
    hit = fs.match(n("MX1.Example.COM."), A)
    assert hit is not None and hit.action == "servfail" and hit.rcode == 2
    assert fs.match(n("mx1.example.com."), AAAA) is None
    assert fs.match(n("mx2.example.com."), A) is None


def test_no_type_means_every_type() -> None:
    fs = FaultSet([Fault.make("@", None, "refused", origin=ORIGIN)])
    assert fs.match(ORIGIN, MX) is not None
    assert fs.match(ORIGIN, 16) is not None
    assert fs.match(n("www.example.com."), MX) is None


def test_wildcard_pattern_matches_below_not_at_parent() -> None:
    fs = FaultSet([Fault.make("*.lab", ["A", "AAAA"], "timeout", origin=ORIGIN)])
    assert fs.match(n("x.lab.example.com."), A) is not None
    assert fs.match(n("a.b.lab.example.com."), AAAA) is not None
    assert fs.match(n("lab.example.com."), A) is None
    assert fs.match(n("x.lab.example.com."), MX) is None


def test_most_specific_then_latest_wins() -> None:
    broad = Fault.make("*.example.com.", None, "servfail")
    exact = Fault.make("mx1.example.com.", None, "refused")
    fs = FaultSet([exact, broad])
    assert fs.match(n("mx1.example.com."), A) is exact
    assert fs.match(n("mx2.example.com."), A) is broad
    override = fs.add(Fault.make("mx1.example.com.", "A", "nxdomain"))
    assert fs.match(n("mx1.example.com."), A) is override
    assert fs.remove(override) == 1
    assert fs.match(n("mx1.example.com."), A) is exact


def test_remove_by_name_and_type_and_clear() -> None:
    fs = FaultSet()
    fs.add(Fault.make("mx1.example.com.", "A", "servfail"))
    fs.add(Fault.make("mx1.example.com.", "AAAA", "servfail"))
    fs.add(Fault.make("mx2.example.com.", "A", "servfail"))
    assert fs.remove(name=n("mx1.example.com."), qtype=A) == 1
    assert fs.match(n("mx1.example.com."), A) is None
    assert fs.match(n("mx1.example.com."), AAAA) is not None
    fs.clear()
    assert not fs and fs.match(n("mx2.example.com."), A) is None


def test_merge_keeps_all() -> None:
    a = FaultSet([Fault.make("a.example.com.", None, "servfail")])
    b = FaultSet([Fault.make("b.example.com.", None, "refused")])
    merged = FaultSet.merge(a, b)
    assert len(merged) == 2
    assert merged.match(n("b.example.com."), A).action == "refused"  # type: ignore[union-attr]


def test_from_spec_shapes() -> None:
    spec = [
        {"name": "mx1", "type": "A", "action": "servfail"},
        {"name": "@", "type": "MX", "action": "delay", "delay": "2000ms"},
        {"names": ["mx2", "other.example.net."], "types": ["A", "AAAA"], "action": "REFUSED"},
        {"name": "@", "type": "MX", "action": "truncate"},
        {"name": "*.lab", "action": "bad-id", "delay": "2s"},
    ]
    fs, findings = FaultSet.from_spec(spec, ORIGIN, "z.yaml")
    assert [f.code for f in findings] == ["fault-outside-zone"]
    assert findings[0].where.path == ("faults", 2, "names", 1)
    faults = list(fs)
    assert [f.action for f in faults] == ["servfail", "delay", "refused", "truncate", "bad-id"]
    assert faults[1].delay_ms == 2000 and faults[4].delay_ms == 2000
    assert faults[0].where is not None and faults[0].where.file == "z.yaml"
    assert fs.match(n("other.example.net."), AAAA) is faults[2]
    # the later truncate fault wins the tie with the delay fault on the same name and type
    assert fs.match(ORIGIN, MX) is faults[3]


def test_from_spec_reports_every_problem_with_its_place() -> None:
    spec = [
        {"name": "mx1", "action": "explode"},
        {"type": "A", "action": "servfail"},
        {"name": "mx1", "action": "delay"},
        {"name": "mx1", "type": "NOPE", "action": "servfail", "colour": "red"},
        "servfail mx1",
        {"name": "ok", "action": "timeout"},
        {"name": "a..b", "action": "timeout"},
        {"name": "mx1", "action": "delay", "delay": "soon"},
    ]
    fs, findings = FaultSet.from_spec(spec, ORIGIN, "z.yaml")
    assert len(fs) == 1 and next(iter(fs)).action == "timeout"
    paths = [f.where.path for f in findings]
    assert ("faults", 0, "action") in paths
    assert ("faults", 1) in paths
    assert ("faults", 2) in paths
    assert ("faults", 3, "type") in paths and ("faults", 3, "colour") in paths
    assert ("faults", 4) in paths
    assert ("faults", 6, "name") in paths
    assert ("faults", 7, "delay") in paths
    assert all(f.code == "fault-invalid" for f in findings)
    assert all(f.where.file == "z.yaml" for f in findings)


def test_from_spec_not_a_list() -> None:
    fs, findings = FaultSet.from_spec({"name": "x"}, ORIGIN, "z.yaml")
    assert not fs and findings[0].code == "fault-invalid"
    fs, findings = FaultSet.from_spec(None, ORIGIN, "z.yaml")
    assert not fs and not findings


def test_bad_constructor_values() -> None:
    with pytest.raises(ValueError, match="unknown fault action"):
        Fault.make("a.example.com.", None, "melt")
    with pytest.raises(ValueError):
        Fault.make("a.example.com.", "NOTATYPE", "servfail")


@pytest.mark.parametrize(("text", "ms"), [(1500, 1500), ("1500ms", 1500), ("2s", 2000), ("250", 250), ("1m", 60000)])
def test_parse_delay(text: str | int, ms: int) -> None:
    assert parse_delay_ms(text) == ms


def test_describe_names_action_and_types() -> None:
    f = Fault.make("mx1.example.com.", ["AAAA", "A"], "delay", delay_ms=300)
    assert f.describe() == "fault delay 300ms for mx1.example.com. A,AAAA"
    assert f.to_json()["types"] == ["A", "AAAA"]


def test_changes_while_matching_never_break_a_reader() -> None:
    fs = FaultSet([Fault.make("stable.example.com.", None, "servfail")])
    stop = threading.Event()
    errors: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            if fs.match(n("stable.example.com."), A) is None:
                errors.append("lost the stable fault")

    t = threading.Thread(target=reader)
    t.start()
    for i in range(2000):
        f = fs.add(Fault.make(f"h{i}.example.com.", None, "refused"))
        fs.remove(f)
    stop.set()
    t.join()
    assert not errors


# -- faults declared in zones, as a server applies them ---------------------------------
def _zone(faults: list[dict[str, object]]):  # type: ignore[no-untyped-def]
    from zonetool.loader import load_mapping

    zone, findings = load_mapping(
        {
            "origin": "example.com",
            "nameservers": ["ns1", "ns2"],
            "mail": {"exchangers": [{"host": "mx1", "priority": 10, "addresses": ["192.0.2.10"]}]},
            "records": {"ns1": {"A": "192.0.2.53"}, "ns2": {"A": "192.0.2.54"}},
            "faults": faults,
        }
    )
    assert zone is not None, findings
    return zone


def test_zone_faults_follow_the_served_zones() -> None:
    from zonetool.faults import ZoneFaults

    served = [(_zone([{"name": "@", "type": "MX", "action": "servfail"}]),)]
    zf = ZoneFaults(lambda: served[0])
    assert zf and zf.match(ORIGIN, MX).action == "servfail"  # type: ignore[union-attr]
    served[0] = (_zone([]),)  # a reload without the fault
    assert not zf and zf.match(ORIGIN, MX) is None
    served[0] = (_zone([{"name": "mx1", "action": "timeout"}]),)
    assert zf.match(n("mx1.example.com."), A).action == "timeout"  # type: ignore[union-attr]


def test_zone_faults_runtime_wins_ties_exact_beats_pattern() -> None:
    from zonetool.faults import ZoneFaults

    zones = (_zone([{"name": "mx1", "type": "A", "action": "servfail"}, {"name": "*", "action": "refused"}]),)
    zf = ZoneFaults(lambda: zones)
    extra = zf.runtime.add(Fault.make("mx1.example.com.", "A", "nxdomain"))
    assert zf.match(n("mx1.example.com."), A) is extra
    zf.runtime.add(Fault.make("*.example.com.", "A", "timeout"))
    assert zf.match(n("other.example.com."), A).action == "timeout"  # type: ignore[union-attr]
    zf.runtime.clear()
    assert zf.match(n("mx1.example.com."), A).action == "servfail"  # type: ignore[union-attr]
    assert zf.match(n("other.example.com."), A).action == "refused"  # type: ignore[union-attr]
    assert len(list(zf)) == 2


def test_responder_applies_zone_faults_and_keeps_answering_others() -> None:
    import dns.message
    import dns.rcode

    from zonetool.faults import ZoneFaults
    from zonetool.server.responder import Responder

    responder = Responder([_zone([{"name": "@", "type": "MX", "action": "servfail"}])])
    responder.faults = ZoneFaults(lambda: responder.zones)

    def ask(qname: str, qtype: str) -> dns.message.Message:
        query = dns.message.make_query(qname, qtype)
        reply = responder.respond(query.to_wire(), ("127.0.0.1", 5000), "udp")
        assert reply.info.fault in (None, "servfail", "refused")
        return dns.message.from_wire(reply.messages[0])

    assert ask("example.com.", "MX").rcode() == dns.rcode.SERVFAIL
    ok = ask("mx1.example.com.", "A")
    assert ok.rcode() == dns.rcode.NOERROR and ok.answer[0][0].address == "192.0.2.10"
    responder.faults.runtime.add(Fault.make("mx1.example.com.", "A", "refused"))
    assert ask("mx1.example.com.", "A").rcode() == dns.rcode.REFUSED


def test_bad_faults_are_reported_by_the_loader_with_line_and_column(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from zonetool.loader import has_errors, load_paths

    zone = tmp_path / "example.com.yaml"
    zone.write_text(
        "origin: example.com\n"
        "nameservers: [ns1, ns2]\n"
        "records:\n"
        "  ns1: {A: 192.0.2.53}\n"
        "  ns2: {A: 192.0.2.54}\n"
        "faults:\n"
        "  - {name: mx1, type: A, action: servfail}\n"
        "  - {name: mx1, type: A, action: explode}\n"
    )
    loaded = load_paths([zone])
    (bad,) = [f for f in loaded.findings if f.code.startswith("fault")]
    assert (bad.where.file, bad.where.line, bad.where.column) == (str(zone), 8, 34)  # at "explode"
    assert has_errors(loaded.findings)
