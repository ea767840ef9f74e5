"""DMARC external report authorization (RFC 7489 7.1) across the zones zonetool builds together: the
`dmarc:` key's report domain gets its `<domain>._report._dmarc.<other>` consent record generated;
a hand-written DMARC record gets the absence reported instead."""

from __future__ import annotations

import subprocess
from pathlib import Path

from typer.testing import CliRunner

from zonetool import loader
from zonetool.cli import app

SENDER = """\
origin: a.example
nameservers: [ns1.reports.example., ns2.reports.example.]
mail:
  exchangers: [{host: mx1, priority: 10, addresses: [192.0.2.1]}]
  spf: {}
  dmarc: {policy: reject, rua: [dmarc@reports.example], ruf: [forensic@eu.reports.example]}
"""
HAND = """\
origin: b.example
nameservers: [ns1.reports.example., ns2.reports.example.]
mail:
  exchangers: [{host: mx1, priority: 10, addresses: [192.0.2.2]}]
  spf: {}
records:
  _dmarc: {TXT: "v=DMARC1; p=reject; rua=mailto:dmarc@reports.example"}
"""
REPORTS = """\
origin: reports.example
nameservers: [ns1, ns2]
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
"""


def _write(tmp_path: Path, **zones: str) -> Path:
    for name, text in zones.items():
        (tmp_path / f"{name}.yaml").write_text(text)
    return tmp_path


def _consent(zone: object) -> dict[str, list[str]]:
    return {r.owner.to_text(): [r.rdata.joined().decode()] for r in zone.records()  # type: ignore[attr-defined]
            if b"_report" in r.owner.labels}


def test_the_report_domain_gets_the_consent_record(tmp_path: Path) -> None:
    _write(tmp_path, a=SENDER, b=HAND, reports=REPORTS)
    loaded = loader.load_paths([tmp_path])
    zones = {z.origin.to_text(): z for z in loaded.zones}
    # one record per sending domain and report domain, both rua and ruf (eu.reports.example is in that zone)
    assert _consent(zones["reports.example."]) == {
        "a.example._report._dmarc.reports.example.": ["v=DMARC1"],
        "a.example._report._dmarc.eu.reports.example.": ["v=DMARC1"],
    }
    external = [(Path(str(f.where.file)).name, f.where.line) for f in loaded.findings if f.code ==
                "dmarc-external-report"]
    assert external == [("b.yaml", 7)]  # the hand-written record: its absence is reported, nothing generated
    assert "add to zone reports.example.: b.example._report._dmarc.reports.example." in next(
        f.hint for f in loaded.findings if f.code == "dmarc-external-report")


def test_the_loaded_zone_itself_is_not_changed(tmp_path: Path) -> None:
    """A server caches what it built per file: the consent goes into a copy, so reloads never pile up."""
    _write(tmp_path, a=SENDER, reports=REPORTS)
    alone, _ = loader.load_file(tmp_path / "reports.yaml")
    cache = {str(tmp_path / "reports.yaml"): (alone, [])}

    def load(path: Path) -> tuple[object, list]:
        return cache.get(str(path)) or loader.load_file(path)

    for _ in range(2):
        loaded = loader.load_paths([tmp_path], load)  # type: ignore[arg-type]
        reports = next(z for z in loaded.zones if z.origin.to_text() == "reports.example.")
        assert reports is not alone and len(_consent(reports)) == 2 and not reports.duplicates
    assert _consent(alone) == {}


def test_no_consent_for_the_same_organisation_or_an_unmanaged_domain(tmp_path: Path) -> None:
    text = SENDER.replace("rua: [dmarc@reports.example], ruf: [forensic@eu.reports.example]",
                          "rua: [dmarc@a.example, dmarc@elsewhere.example]")
    _write(tmp_path, a=text, reports=REPORTS)
    loaded = loader.load_paths([tmp_path])
    assert all(_consent(z) == {} for z in loaded.zones)
    assert [f for f in loaded.findings if f.code == "dmarc-external-report"] == []


def test_a_consent_written_by_hand_is_kept(tmp_path: Path) -> None:
    reports = REPORTS + '  a.example._report._dmarc: {TXT: "v=DMARC1"}\n'
    _write(tmp_path, a=SENDER.replace(", ruf: [forensic@eu.reports.example]", ""), reports=reports)
    loaded = loader.load_paths([tmp_path])
    zone = next(z for z in loaded.zones if z.origin.to_text() == "reports.example.")
    assert len(_consent(zone)) == 1 and not zone.duplicates


def test_export_writes_it_and_named_checkzone_accepts_it(tmp_path: Path, named_checkzone: str) -> None:
    (tmp_path / "src").mkdir()
    src = _write(tmp_path / "src", a=SENDER, reports=REPORTS)
    result = CliRunner().invoke(app, ["export", str(src), "-o", str(tmp_path / "out") + "/"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out/reports.example.zone").read_text()
    assert 'a.example._report._dmarc IN TXT "v=DMARC1"' in " ".join(text.split())
    check = subprocess.run([named_checkzone, "reports.example.", str(tmp_path / "out/reports.example.zone")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_a_reload_of_one_file_keeps_the_consent_record(tmp_path: Path) -> None:
    """A server told by inotify which file changed patches its last load; the report domain's served
    copy must still carry the consent record (it lost it: the patch skipped authorize_reports)."""
    from zonetool.server.zonesource import ZoneSource

    _write(tmp_path, a=SENDER, b=HAND, reports=REPORTS)
    source = ZoneSource([tmp_path])
    first = source.load()
    assert first.zones is not None
    served = {z.origin.to_text(): z for z in first.zones}
    reports = served["reports.example."]
    assert "a.example._report._dmarc.reports.example." in _consent(reports)
    (tmp_path / "b.yaml").write_text(HAND.replace("192.0.2.2", "192.0.2.3"))  # an unrelated zone is edited
    again = source.load(changed=[str((tmp_path / "b.yaml").resolve())])
    assert again.zones is not None and source.read_count() == 1  # the patched path: one file read
    served = {z.origin.to_text(): z for z in again.zones}
    assert served["reports.example."] is reports  # the same copy: nothing that reads it is judged again
    assert [o.to_text() for o in again.changed] == ["b.example."]  # the report domain's serial stays
