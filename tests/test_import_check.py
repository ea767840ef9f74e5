"""The compile-back check of `zonetool import` compares fields, not text: it must still see every difference."""

from __future__ import annotations

import pytest

from zonetool.cli.import_check import describe, rows
from zonetool.source.bind import read_zone

BASE = """$ORIGIN check.example.
$TTL 3600
@ SOA ns1 hostmaster 1 7200 1800 1209600 300
@ NS ns1
ns1 A 192.0.2.53
@ MX 10 mx1
mx1 AAAA 2001:db8::1
_sip._tcp SRV 0 5 5060 Sip
txt TXT "one" "two"
"""


def zone(text: str):  # type: ignore[no-untyped-def]
    return read_zone(text, "check.example.", "check.example.zone")


def _differences(a, b) -> list[str]:  # type: ignore[no-untyped-def]
    return describe(rows(a), rows(b))


def test_same_records_same_zone() -> None:
    assert _differences(zone(BASE), zone(BASE)) == []


def test_every_kind_of_difference_is_seen() -> None:
    cases = {
        "name case inside rdata": BASE.replace("5060 Sip", "5060 sip"),
        "owner case": BASE.replace("ns1 A", "NS1 A"),
        "ttl": BASE.replace("mx1 AAAA", "mx1 60 AAAA"),
        "address": BASE.replace("2001:db8::1", "2001:db8::2"),
        "txt strings": BASE.replace('"one" "two"', '"onetwo"'),
        "missing record": BASE.replace("@ MX 10 mx1\n", ""),
    }
    for what, other in cases.items():
        lines = _differences(zone(BASE), zone(other))
        assert lines, what
        assert all(line.startswith(("lost: ", "added: ")) for line in lines), what
    lost = _differences(zone(BASE), zone(cases["missing record"]))
    assert lost == ["lost: check.example. 3600 type 15"]


# ---------------------------------------------------------------------------
# the two-core path: head + two runs of records, the second written and checked in a child
# ---------------------------------------------------------------------------
def big_zone(count: int = 300):  # type: ignore[no-untyped-def]
    lines = [BASE, "_smtp._tcp SRV 10 0 25 mx1"]
    for i in range(count):
        lines.append(f"h{i} A 192.0.2.{i % 250}\nh{i} TXT \"host {i}\"")
        if i % 7 == 0:
            lines.append(f"s{i} CNAME h{i}\n_x{i}._tcp.h{i} SRV 1 2 {i} h{i}")
    return zone("\n".join(lines) + "\n")


@pytest.fixture
def two_cores(monkeypatch: pytest.MonkeyPatch, forks: list[int]) -> list[int]:
    """Every zone takes the forked path; the list records each child's pid."""
    from zonetool import forked

    monkeypatch.setattr(forked, "MIN_RECORDS", 0)
    return forks


def test_the_split_text_is_the_whole_text_and_checks_clean(two_cores: list[int]) -> None:
    from zonetool.cli.import_check import checked_yaml
    from zonetool.source.yaml_emit import zone_to_yaml

    z = big_zone()
    text, lost, messages = checked_yaml(z, "<import>")
    assert two_cores, "the check should have forked"
    assert text == zone_to_yaml(z) and "mail:" in text and lost == [] and messages == []


def test_a_record_lost_in_the_childs_half_is_caught(two_cores: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    from zonetool.cli.import_check import checked_yaml
    from zonetool.source import yaml_emit

    real = yaml_emit.yaml_records

    def lossy(zone, names, layout):  # type: ignore[no-untyped-def]
        text = real(zone, names, layout)
        return text.replace("    TXT: host 299\n", "")  # h299 sorts into the second half

    monkeypatch.setattr(yaml_emit, "yaml_records", lossy)
    _, lost, _ = checked_yaml(big_zone(), "<import>")
    assert two_cores and lost == ["lost: h299.check.example. 3600 type 16"]


def test_a_record_the_head_adds_is_caught(two_cores: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    from zonetool.cli.import_check import checked_yaml
    from zonetool.source import yaml_emit

    real = yaml_emit.yaml_head

    def adding(zone):  # type: ignore[no-untyped-def]
        head, layout = real(zone)
        return head.replace("nameservers: [ns1]", "nameservers: [ns1, ns9]"), layout

    monkeypatch.setattr(yaml_emit, "yaml_head", adding)
    _, lost, _ = checked_yaml(big_zone(), "<import>")
    assert "added: check.example. 3600 type 2" in lost


def test_a_failed_child_is_done_over_here(two_cores: list[int], monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from zonetool.cli import import_check

    parent = os.getpid()
    real_run = import_check._run

    def dying(*args):  # type: ignore[no-untyped-def]
        if os.getpid() != parent:
            os._exit(3)
        return real_run(*args)

    monkeypatch.setattr(import_check, "_run", dying)
    z = big_zone()
    text, lost, _ = import_check.checked_yaml(z, "<import>")
    from zonetool.source.yaml_emit import zone_to_yaml

    assert two_cores and lost == [] and text == zone_to_yaml(z)
