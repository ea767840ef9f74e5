"""`serve --journal DIR` (issue 13, 2): the IXFR history and the auto serials survive a restart.

The round trip of the journal's form is checked in-process; then a real `zonetool serve` is
edited, stopped and started again, and an IXFR (dnspython, over TCP) from the serial served before
the edit gets the incremental answer: old SOA, removed, new SOA, added. A damaged journal file is
said on stderr with its path, without a traceback, and the server still starts and answers the
same IXFR with the whole zone.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import dns.message
import dns.query
import dns.rdatatype
import dns.rrset
from test_ixfr import version
from test_server_cli import Serve, start
from test_server_secondary import primaries  # noqa: F401 (fixture)

from zonetool import ixfr
from zonetool.atomic import write_atomic
from zonetool.names import Name
from zonetool.server.journal import Journal, file_name


def test_the_journal_form_round_trips_and_a_damaged_file_says_what_is_wrong() -> None:
    zones = [version(n, f"h{n} 300 A 192.0.2.{n}\nt{n} 300 TXT \"x y\" z\nm 300 MX {n} mx{n}\n") for n in (1, 2, 3)]
    deltas = tuple(d for old, new in itertools.pairwise(zones) if (d := ixfr.delta(old, new)) is not None)
    saved = ixfr.Saved(zones[-1].origin, 3, "sha256:abc", deltas)
    data = ixfr.encode_saved(saved)
    assert ixfr.decode_saved(data) == saved
    for damaged in (data[: len(data) // 2], b"", b"{}", data.replace(b'"serial":3', b'"serial":4'),
                    data.replace(b'"format":1', b'"format":9')):
        try:
            ixfr.decode_saved(damaged)
        except ValueError as exc:
            assert str(exc)
        else:
            raise AssertionError(f"accepted a damaged journal: {damaged[:60]!r}")


def test_restore_gives_back_the_deltas_only_to_the_version_they_lead_to(tmp_path: Path) -> None:
    v1, v2, v3 = (version(n, f"h{n} 300 A 192.0.2.{n}\n") for n in (1, 2, 3))
    deltas = (ixfr.delta(v1, v2), ixfr.delta(v2, v3))
    (tmp_path / file_name(v3.origin)).write_bytes(ixfr.encode_saved(ixfr.Saved(v3.origin, 3, "d3", deltas)))  # type: ignore[arg-type]
    said: list[str] = []
    saved = Journal(tmp_path, said.append).read()
    histories: dict[Name, ixfr.History] = {}
    assert Journal.restore(saved, [v3], lambda o: "d3", histories, limit=1) == [v3.origin]
    assert [d.old_serial for d in histories[v3.origin].deltas] == [2]  # bounded by --ixfr-history
    assert Journal.restore(saved, [v3], lambda o: "edited while down", {}, limit=20) == []
    assert Journal.restore(saved, [v2], lambda o: "d3", {}, limit=20) == []
    assert said == []


def zone_text(serial: int, hosts: range) -> str:
    return ("origin: example.com\nttl: 1h\nsoa: {serial: " + str(serial) + "}\nnameservers: [ns1]\nrecords:\n"
            "  ns1: {A: 192.0.2.53}\n" + "".join(f"  h{i}: {{A: 10.0.0.{i}}}\n" for i in hosts))


def ixfr_from(port: int, serial: int) -> list[dns.rrset.RRset]:
    """Every record of an IXFR from `serial`, one per RRset, in order (dnspython ends the transfer)."""
    messages = dns.query.xfr("127.0.0.1", "example.com.", rdtype=dns.rdatatype.IXFR, serial=serial, port=port,
                             timeout=10, relativize=False)
    return [dns.rrset.from_rdata(rrset.name, rrset.ttl, rr) for m in messages for rrset in m.answer for rr in rrset]


def serve_with_journal(primaries: list[Serve], zone: Path, journal: Path) -> Serve:  # noqa: F811
    return start(primaries, str(zone), "--quiet", "--allow-transfer", "127.0.0.1", "--journal", str(journal))


def test_after_a_restart_an_ixfr_from_before_the_edit_is_answered_incrementally(
    tmp_path: Path, primaries: list[Serve],  # noqa: F811
) -> None:
    zone, journal = tmp_path / "example.com.yaml", tmp_path / "journal"
    write_atomic(zone, zone_text(2026010101, range(50)))
    first = serve_with_journal(primaries, zone, journal)
    write_atomic(zone, zone_text(2026010102, range(1, 51)))  # h0 goes, h50 comes
    first.wait_err(r"reloaded .*example\.com\. serial 2026010102")
    first.stop()

    again = serve_with_journal(primaries, zone, journal)
    got = ixfr_from(again.port, 2026010101)
    assert [(r.rdtype, r[0].serial) for r in got if r.rdtype == dns.rdatatype.SOA] == \
        [(dns.rdatatype.SOA, s) for s in (2026010102, 2026010101, 2026010102, 2026010102)]
    assert [r.to_text() for r in got if r.rdtype == dns.rdatatype.A] == \
        ["h0.example.com. 3600 IN A 10.0.0.0", "h50.example.com. 3600 IN A 10.0.0.50"]  # removed, then added
    assert "Traceback" not in "".join(again.err_lines)


def test_an_auto_serial_continues_after_a_restart_instead_of_falling_back(
    tmp_path: Path, primaries: list[Serve],  # noqa: F811
) -> None:
    zone, journal = tmp_path / "example.com.yaml", tmp_path / "journal"
    write_atomic(zone, zone_text(1, range(3)).replace("{serial: 1}", "{serial: auto}"))
    first = serve_with_journal(primaries, zone, journal)
    write_atomic(zone, zone_text(1, range(4)).replace("{serial: 1}", "{serial: auto}"))
    bumped = int(first.wait_err(r"reloaded .*example\.com\. serial (\d+)").group(1))
    first.stop()
    again = serve_with_journal(primaries, zone, journal)
    reply = dns.query.udp(dns.message.make_query("example.com.", "SOA"), "127.0.0.1", port=again.port, timeout=3)
    assert reply.answer[0][0].serial == bumped  # the same content keeps the serial it had (not YYYYMMDD00 again)


def test_a_damaged_journal_is_said_with_its_path_and_the_server_answers_in_axfr_form(
    tmp_path: Path, primaries: list[Serve],  # noqa: F811
) -> None:
    zone, journal = tmp_path / "example.com.yaml", tmp_path / "journal"
    write_atomic(zone, zone_text(2026010101, range(50)))
    first = serve_with_journal(primaries, zone, journal)
    write_atomic(zone, zone_text(2026010102, range(1, 51)))
    first.wait_err(r"reloaded .*example\.com\. serial 2026010102")
    first.stop()
    path = journal / "example.com.ixfr"
    path.write_bytes(path.read_bytes()[:100])  # truncated, as by a full disk

    again = Serve(str(zone), "--quiet", "--allow-transfer", "127.0.0.1", "--journal", str(journal))
    primaries.append(again)
    line = again.wait_err(r"journal .*example\.com\.ixfr: damaged or truncated")
    assert str(path) in line.string
    again.started()
    got = ixfr_from(again.port, 2026010101)
    assert len(got) == 50 + 2 + 2 and got[1].rdtype != dns.rdatatype.SOA  # SOA, NS, glue, 50 hosts, SOA
    assert "Traceback" not in "".join(again.err_lines)


def test_a_journal_path_that_cannot_be_a_folder_is_refused_in_words(tmp_path: Path) -> None:
    """`--journal` on a file, or where no folder can be made: one line in the tool's wording, exit 2."""
    import subprocess

    from conftest import zonetool_exe

    zone, file = tmp_path / "example.com.yaml", tmp_path / "afile"
    write_atomic(zone, zone_text(2026010101, range(3)))
    file.write_text("")
    for where, said in ((file, "is a file, not a folder"), (file / "below", "cannot make the folder: not a folder")):
        out = subprocess.run([zonetool_exe(), "serve", "-p", "0", "--journal", str(where), str(zone)],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 2, out.stderr
        assert out.stderr == f"zonetool: --journal {where}: {said}\n"
