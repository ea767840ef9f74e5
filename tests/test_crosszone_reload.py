"""A reload re-runs the cross-zone rules only where the change can reach (issue 11 part B), and
finds what a full validation of the same files finds.

Each step edits, adds or removes one file of a provider's folder, reloads the server's ZoneSource,
and compares its findings with `load_paths` of the folder from scratch; a spy counts the zones the
cross-zone rules ran for.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from zonetool import crosszone
from zonetool.loader import ONE_SHOT_COMMAND, load_paths
from zonetool.rules import RULES
from zonetool.server.zonesource import ZoneSource

SHA256 = "8D02536C887482BC34FF54E41D2BA659BF50A0F5B4D5E1B2C3D4E5F60718293A"
PROVIDER = """origin: provider.example
ttl: 1h
soa: {{primary: ns1, contact: hostmaster@provider.example, serial: {serial}, refresh: 2h, retry: 30m,
      expire: 2w, negative: 5m}}
nameservers: [ns1, ns2]
records:
  "@": {{MX: "10 mx1", TXT: "v=spf1 mx -all"}}
  _spf: {{TXT: {spf}}}
  ns1: {{A: 192.0.2.53}}
  ns2: {{A: 198.51.100.53}}
  mx1: {{A: 192.0.2.25}}
  mx2: {{A: 198.51.100.25}}
{tlsa}"""
GOOD_SPF = '"v=spf1 ip4:192.0.2.0/24 -all"'
TWO_SPF = '["v=spf1 ip4:192.0.2.0/24 -all", "v=spf1 -all"]'  # a permerror for everyone who includes it


def customer(i: int, include: str = "_spf.provider.example", mx: str = "mx1", serial: int = 1) -> str:
    return f"""origin: c{i}.example
ttl: 1h
soa: {{primary: ns1.provider.example., contact: hostmaster@provider.example, serial: {serial}, refresh: 2h,
      retry: 30m, expire: 2w, negative: 5m}}
nameservers: [ns1.provider.example., ns2.provider.example.]
records:
  "@": {{A: 203.0.113.{i}, MX: "10 {mx}.provider.example.", TXT: "v=spf1 include:{include} -all"}}
  _dmarc: {{TXT: "v=DMARC1; p=none; rua=mailto:dmarc@c{i}.example"}}
"""


def provider(spf: str = GOOD_SPF, serial: int = 1, tlsa: bool = True) -> str:
    """With `tlsa`, a TLSA at mx2, which tlsa-not-exchanger checks against every zone's MX hosts."""
    return PROVIDER.format(spf=spf, serial=serial, tlsa=f'  _25._tcp.mx2: {{TLSA: "3 1 1 {SHA256}"}}\n' if tlsa else "")


def seen(findings: list) -> list[tuple[str, str | None]]:  # type: ignore[type-arg]
    return [(f.format(), f.silenced) for f in findings]


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The origins the cross-zone rules run for (with peers or alone), in order."""
    ran: list[str] = []
    real = crosszone.run_rules

    def counting(zone, *args, **kwargs):  # type: ignore[no-untyped-def]
        ran.append(zone.origin.to_text())
        return real(zone, *args, **kwargs)

    monkeypatch.setattr(crosszone, "run_rules", counting)
    return ran


def step(source: ZoneSource, folder: Path, *written: Path) -> list[tuple[str, str | None]]:
    """Reload (told which files were written, as inotify tells the server, when `written`) and check
    the findings against a full validation."""
    outcome = source.load(changed={str(p.resolve()) for p in written} if written else None)
    assert outcome.zones is not None and not outcome.unstable
    fresh = load_paths([folder])
    assert seen(outcome.findings) == seen(fresh.findings)  # what a full validation finds, in its order
    return seen(outcome.findings)


def test_a_reload_reruns_cross_zone_rules_only_where_the_change_reaches(tmp_path: Path, spy: list[str]) -> None:
    (tmp_path / "provider.example.yaml").write_text(provider())
    for i in range(20):
        (tmp_path / f"c{i}.example.yaml").write_text(customer(i))
    source = ZoneSource([tmp_path])
    first = step(source, tmp_path)
    assert len([o for o in spy if o.startswith("c")]) == 20 * 2  # our load and the fresh one: every customer
    assert not [f for f in first if "spf-include-no-spf" in f[0]]

    spy.clear()  # one customer's SPF now includes a name the provider lacks: that zone alone
    (tmp_path / "c7.example.yaml").write_text(customer(7, include="_spf2.provider.example", serial=2))
    found = step(source, tmp_path, tmp_path / "c7.example.yaml")
    # c7, and the provider, whose TLSA rule reads every zone's MX hosts; then the fresh full validation
    assert spy[: len(spy) - 21] == ["c7.example.", "provider.example."]
    assert [f for f in found if "spf-include-no-spf" in f[0] and "c7.example.yaml" in f[0]]

    spy.clear()  # the provider publishes two SPF records at _spf: every customer that includes it
    (tmp_path / "provider.example.yaml").write_text(provider(TWO_SPF, serial=2))
    found = step(source, tmp_path, tmp_path / "provider.example.yaml")
    ours = spy[: len(spy) - 21]
    assert sorted(ours) == sorted(["provider.example.", *(f"c{i}.example." for i in range(20))])
    assert len([f for f in found if "spf-include-no-spf" in f[0]]) == 20

    spy.clear()  # a new zone at the name c7 includes: c7 looked there (a miss) and runs again
    (tmp_path / "_spf2.provider.example.yaml").write_text(
        "origin: _spf2.provider.example\nttl: 1h\nsoa: {primary: ns1.provider.example., contact: h@provider.example,"
        " serial: 1, refresh: 2h, retry: 30m, expire: 2w, negative: 5m}\n"
        "nameservers: [ns1.provider.example., ns2.provider.example.]\nrecords:\n  '@': {TXT: 'v=spf1 -all'}\n")
    found = step(source, tmp_path)
    assert "c7.example." in spy[: len(spy) - 22] and "c3.example." not in spy[: len(spy) - 22]
    assert not [f for f in found if "spf-include-no-spf" in f[0] and "c7.example.yaml" in f[0]]

    spy.clear()  # and when it goes, c7's finding comes back
    (tmp_path / "_spf2.provider.example.yaml").unlink()
    source.grace = 0.0
    found = step(source, tmp_path)
    assert [f for f in found if "spf-include-no-spf" in f[0] and "c7.example.yaml" in f[0]]

    spy.clear()  # the TLSA at mx2 reads every zone's MX hosts: a customer moving to mx2 reaches it
    assert [f for f in found if "tlsa-not-exchanger" in f[0]]
    (tmp_path / "c3.example.yaml").write_text(customer(3, mx="mx2", serial=3))
    found = step(source, tmp_path, tmp_path / "c3.example.yaml")
    assert "provider.example." in spy[: len(spy) - 21]
    assert not [f for f in found if "tlsa-not-exchanger" in f[0]]

    spy.clear()  # nothing changed: nothing runs again
    again = source.load()
    assert spy == [] and seen(again.findings) == found

    # a file that now holds another zone's origin: two files, one origin (the full listing's business)
    (tmp_path / "c4.example.yaml").write_text(customer(5, serial=4))
    found = step(source, tmp_path, tmp_path / "c4.example.yaml")
    assert [f for f in found if "duplicate-origin" in f[0]]
    (tmp_path / "c4.example.yaml").write_text(customer(4, serial=5))  # and back
    found = step(source, tmp_path, tmp_path / "c4.example.yaml")
    assert not [f for f in found if "duplicate-origin" in f[0]]


def test_a_reload_of_one_of_200_files_judges_one_zone_across(tmp_path: Path, spy: list[str]) -> None:
    """issue 11 B: with the provider's SPF included by 200 zones, one edited customer re-runs one zone."""
    (tmp_path / "provider.example.yaml").write_text(provider(tlsa=False))
    for i in range(200):
        (tmp_path / f"c{i}.example.yaml").write_text(customer(i))
    source = ZoneSource([tmp_path])
    source.load()
    assert len(spy) == 201 and spy.count("provider.example.") == 1  # every zone once, the provider on its own
    spy.clear()
    (tmp_path / "c150.example.yaml").write_text(customer(150, serial=5))
    outcome = source.load()
    assert spy == ["c150.example."]
    assert outcome.changed and [o.to_text() for o in outcome.changed] == ["c150.example."]


@pytest.mark.parametrize("how", ["validate", "serve"])
def test_each_cross_zone_rule_runs_once_per_zone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """issue 11 B: a zone's cross-zone rules ran while it loaded and again with its peers (52% of a cold
    load was rules); now the loader leaves them to refine, and the findings are the same."""
    (tmp_path / "provider.example.yaml").write_text(provider(TWO_SPF))
    for i in range(5):
        (tmp_path / f"c{i}.example.yaml").write_text(customer(i))
    runs: Counter[tuple[str, str]] = Counter()
    for code, r in list(RULES.items()):
        if r.cross_zone:
            def counting(ctx, check=r.check, code=code):  # type: ignore[no-untyped-def]
                runs[(code, ctx.zone.origin.to_text())] += 1
                return check(ctx)

            monkeypatch.setitem(RULES, code, replace(r, check=counting))
    if how == "validate":
        findings = load_paths([tmp_path], policy=ONE_SHOT_COMMAND).findings
    else:
        outcome = ZoneSource([tmp_path]).load()
        findings = outcome.findings
    cross = {code for code, r in RULES.items() if r.cross_zone}
    assert len(runs) == len(cross) * 6 and set(runs.values()) == {1}
    # and the peers were there: every customer includes the provider's two SPF records
    assert len([f for f in findings if f.code == "spf-include-no-spf"]) == 5
