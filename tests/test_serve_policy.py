"""What is served (issue 10): rule findings never stop `serve`, a reload or `DNSTestServer.load()`;
only zones that cannot be built, or that NSD itself refuses to load, are not served.

And how a reload reads files (issue 16): a file is read only once it has held still, and a file
that vanishes is served for a grace period, so half-written files and an editor's delete-then-write
never reach a client.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import dns.rcode
import pytest
from conftest import require_tool
from test_server_cli import Serve, ask, start

from zonetool.loader import load_file, load_mapping, serving_blockers
from zonetool.rules import RULES
from zonetool.testing import DNSTestServer, ZoneFindingsWarning, ZoneLoadError

HEAD = """$ORIGIN {origin}.
$TTL 3600
@ SOA ns1 hostmaster 1 3600 900 604800 300
@ NS ns1
@ NS ns2
ns1 A 192.0.2.1
ns2 A 192.0.2.2
"""

# One broken thing each; the left column is the rule code zonetool reports for it.
SCENARIOS: dict[str, tuple[str, str]] = {
    "mx-cname": ("mx-target-cname", "@ MX 10 alias\nalias CNAME ns1"),
    "mx-no-address": ("mx-target-no-address", "@ MX 10 ghost\nghost TXT nothing"),
    "mx-all-without-address": ("mx-target-no-address", "@ MX 10 ghost1\n@ MX 20 ghost2\nghost1 TXT x\nghost2 TXT y"),
    "mx-address": ("target-is-address", "@ MX 10 192.0.2.1"),
    "mx-underscore": ("target-not-hostname", "@ MX 10 _mx"),
    "null-mx-mixed": ("null-mx-not-alone", "@ MX 0 .\n@ MX 10 ns1"),
    "null-mx-pref": ("null-mx-preference", "@ MX 10 ."),
    "srv-owner": ("srv-owner", "srv SRV 0 0 25 ns1"),
    "srv-port-zero": ("srv-port-zero", "_smtp._tcp SRV 0 0 0 ns1"),
    "srv-cname": ("srv-target-cname", "_smtp._tcp SRV 0 0 25 alias\nalias CNAME ns1"),
    "cname-loop": ("cname-loop", "a CNAME b\nb CNAME a"),
    "ns-cname": ("ns-target-cname", "sub NS alias\nalias CNAME ns1"),
    "glue-missing": ("glue-missing", "sub NS ns.sub"),
    "caa-iodef": ("caa-iodef", '@ CAA 0 iodef "nope"'),
    "cname-and-other": ("cname-and-other-data", "www CNAME ns1\nwww TXT x"),
    "cname-multiple": ("cname-multiple", "www CNAME ns1\nwww CNAME ns2"),
    "cname-apex": ("cname-at-apex", "@ CNAME other.example."),
    "cname-beside-ns": ("cname-and-other-data", "sub NS ns1\nsub CNAME x"),
}
# NSD refuses a zone file with out-of-zone data, named drops the records with a warning; zonetool's
# BIND reader does as named, so the case is judged on a YAML zone (owner-outside-origin) below.
OUTSIDE = "x.other.example. A 192.0.2.9"


def write_scenarios(folder: Path) -> dict[str, Path]:
    files = {}
    for name, (_code, body) in SCENARIOS.items():
        origin = f"{name}.test"
        path = folder / f"{origin}.zone"
        path.write_text(HEAD.format(origin=origin) + body + "\n")
        files[name] = path
    no_soa = folder / "no-soa.test.zone"
    no_soa.write_text("$ORIGIN no-soa.test.\n$TTL 3600\n@ NS ns1\nns1 A 192.0.2.1\n")
    files["no-soa"] = no_soa
    return files


def nsd_loads(nsd_checkzone: str, origin: str, path: Path) -> bool:
    out = subprocess.run([nsd_checkzone, origin, str(path)], capture_output=True, text=True, timeout=30)
    return out.returncode == 0


def test_zonetool_serves_exactly_the_zones_nsd_loads(tmp_path: Path) -> None:
    nsd_checkzone = require_tool("nsd-checkzone")
    files = write_scenarios(tmp_path)
    refused_codes: set[str] = set()
    for name, path in files.items():
        _zone, findings = load_file(path)
        expected = SCENARIOS[name][0] if name in SCENARIOS else "soa-missing"
        assert expected in {f.code for f in findings}, (name, [f.code for f in findings])
        blockers = serving_blockers(findings)
        assert (not blockers) == nsd_loads(nsd_checkzone, path.name[: -len(".zone")], path), (name, blockers)
        refused_codes |= {f.code for f in blockers}
    outside = tmp_path / "outside.test.zone"
    outside.write_text(HEAD.format(origin="outside.test") + OUTSIDE + "\n")
    assert not nsd_loads(nsd_checkzone, "outside.test", outside)
    _zone, findings = load_mapping({"origin": "outside.test", "nameservers": ["ns1", "ns2"], "records": {
        "ns1": {"A": "192.0.2.1"}, "ns2": {"A": "192.0.2.2"}, "x.other.example.": {"A": "192.0.2.9"}}})
    refused_codes |= {f.code for f in serving_blockers(findings)}
    # every rule marked unservable was seen refused by NSD above, and no other rule was
    assert refused_codes == {code for code, r in RULES.items() if r.unservable}


def test_serve_answers_for_broken_zones_and_refuses_only_what_nsd_refuses(tmp_path: Path, procs: list[Serve]) -> None:
    write_scenarios(tmp_path)
    p = start(procs, str(tmp_path), "--quiet")
    err = "\n".join(p.err_lines)
    for name in ("cname-and-other", "cname-multiple", "cname-apex", "cname-beside-ns", "no-soa"):
        assert f"not serving {tmp_path / (name + '.test.zone')}" in err, name
    assert "served as they are" in err
    assert f"{tmp_path / 'mx-cname.test.zone'}:8:" in err  # the finding with its place
    mx = ask(p.port, "mx-cname.test", "MX")
    assert mx.rcode() == dns.rcode.NOERROR and [r.to_text() for r in mx.answer[0]] == ["10 alias.mx-cname.test."]
    ghosts = ask(p.port, "mx-all-without-address.test", "MX")
    assert sorted(r.to_text() for r in ghosts.answer[0]) == [
        "10 ghost1.mx-all-without-address.test.", "20 ghost2.mx-all-without-address.test."]
    assert ask(p.port, "ghost1.mx-all-without-address.test", "A").answer == []  # NODATA, as NSD
    assert ask(p.port, "a.cname-loop.test", "A").rcode() == dns.rcode.NOERROR
    assert ask(p.port, "www.cname-and-other.test", "A").rcode() == dns.rcode.REFUSED  # not served at all


def test_serve_strict_refuses_every_error(tmp_path: Path) -> None:
    write_scenarios(tmp_path)
    from test_server_cli import ZONETOOL

    out = subprocess.run([*ZONETOOL, "serve", str(tmp_path), "--port", "0", "--strict"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert "not serving:" in out.stderr and "(--strict)" in out.stderr
    assert "mx-target-cname" in out.stderr and "Traceback" not in out.stderr


YAML = """origin: example.com
nameservers: [ns1]
mail:
  exchangers: [{{host: mx1, priority: 10}}]
records:
  ns1: {{A: 192.0.2.53}}
  version: {{TXT: "v{v}"}}
{extra}"""


def version(port: int) -> str:
    reply = ask(port, "version.example.com", "TXT")
    return reply.answer[0][0].strings[0].decode() if reply.answer else dns.rcode.to_text(reply.rcode())


def test_a_reload_to_an_unservable_version_keeps_that_file_and_updates_the_others(
    tmp_path: Path, procs: list[Serve]
) -> None:
    a = tmp_path / "example.com.yaml"
    b = tmp_path / "other.yaml"
    a.write_text(YAML.format(v=1, extra=""))
    b.write_text(YAML.format(v=1, extra="").replace("example.com", "other.example"))
    p = start(procs, str(tmp_path), "--quiet", "--settle", "0.3")
    # a CNAME beside other data: NSD would not load it, so the last good version stays
    a.write_text(YAML.format(v=2, extra="  www: {CNAME: ns1, TXT: x}\n"))
    b.write_text(YAML.format(v=2, extra="").replace("example.com", "other.example"))
    p.wait_err(r"the new version has errors; still serving the previous version \(.*example\.com\.yaml\)")
    p.wait_err(r"reloaded \(file change\)")
    assert version(p.port) == "v1"
    reply = ask(p.port, "version.other.example", "TXT")
    assert reply.answer[0][0].strings[0] == b"v2"
    # an MX without an address is served at once: a rule finding, not a reason to refuse
    a.write_text(YAML.format(v=3, extra=""))
    p.wait_err(r"reloaded \(file change\): example\.com\. serial \d+; \d+ error\(s\)")
    assert version(p.port) == "v3"


def test_dns_test_server_serves_broken_zones_with_findings_and_one_warning() -> None:
    zone = {"origin": "example.com", "nameservers": ["ns1"], "records": {"ns1": {"A": "192.0.2.53"}},
            "mail": {"exchangers": [{"host": "alias", "priority": 10}]}}
    zone["records"]["alias"] = {"CNAME": "ns1"}  # type: ignore[index]
    with DNSTestServer() as server:
        with pytest.warns(ZoneFindingsWarning, match=r"error\(s\) served as they are") as caught:
            server.load(zone)
        assert len(caught) == 1
        assert "mx-target-cname" in {f.code for f in server.findings}
        reply = ask(server.port, "example.com", "MX")
        assert [r.to_text() for r in reply.answer[0]] == ["10 alias.example.com."]
        # what NSD refuses is refused here too, and nothing changes
        with pytest.raises(ZoneLoadError, match=r"cname-and-other-data"):
            server.load({**zone, "records": {**zone["records"], "www": {"CNAME": "ns1", "TXT": "x"}}})  # type: ignore[dict-item]
        assert ask(server.port, "www.example.com", "TXT").answer == []
    with DNSTestServer(strict=True) as strict:
        with pytest.raises(ZoneLoadError, match=r"mx-target-cname"):
            strict.load(zone)
        assert strict.zones == {}
    with DNSTestServer() as quiet, warnings.catch_warnings():
        warnings.simplefilter("error")  # a zone with warnings only is served without a Python warning
        quiet.load({"origin": "example.org", "nameservers": ["ns1"], "records": {"ns1": {"A": "192.0.2.53"}}})


# ---------------------------------------------------------------------------
# half-written files and delete-then-write (issue 16)
# ---------------------------------------------------------------------------
BIG = "origin: example.com\nnameservers: [ns1]\nrecords:\n  ns1: {A: 192.0.2.53}\n"


def names_zone(count: int, tag: str) -> str:
    return BIG + "".join(f"  h{i}: {{TXT: {tag}}}\n" for i in range(count))


class Watcher:
    """Asks for names in a loop and counts answers that are not NOERROR with data."""

    def __init__(self, port: int, names: list[str]) -> None:
        self.port, self.names = port, names
        self.bad: list[str] = []
        self.asked = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        while not self.stop.is_set():
            for name in self.names:
                reply = ask(self.port, name, "TXT")
                self.asked += 1
                if reply.rcode() != dns.rcode.NOERROR or not reply.answer:
                    self.bad.append(f"{name}: {dns.rcode.to_text(reply.rcode())}")

    def done(self) -> None:
        self.stop.set()
        self.thread.join(10)


@pytest.mark.parametrize("watch", [[], ["--poll"]], ids=["inotify", "poll"])
def test_a_file_written_in_two_halves_is_never_served_half(
    tmp_path: Path, procs: list[Serve], watch: list[str]
) -> None:
    zone = tmp_path / "example.com.yaml"
    zone.write_text(names_zone(40, "old"))
    p = start(procs, str(tmp_path), "--quiet", *watch)
    watcher = Watcher(p.port, [f"h{i}.example.com" for i in range(20, 40)])  # names of the second half
    try:
        text = names_zone(40, "new")
        cut = text.index("  h20:")
        with zone.open("w") as f:  # a generator that pauses mid-file
            f.write(text[:cut])
            f.flush()
            time.sleep(0.8)
            f.write(text[cut:])
        p.wait_err(r"reloaded \(file change\)")
        time.sleep(0.3)
    finally:
        watcher.done()
    assert watcher.asked > 50
    assert watcher.bad == []
    assert ask(p.port, "h39.example.com", "TXT").answer[0][0].strings == (b"new",)


@pytest.mark.parametrize("watch", [[], ["--poll"]], ids=["inotify", "poll"])
def test_delete_then_write_keeps_the_zone_and_a_lasting_delete_drops_it(
    tmp_path: Path, procs: list[Serve], watch: list[str]
) -> None:
    zone = tmp_path / "example.com.yaml"
    zone.write_text(names_zone(5, "old"))
    p = start(procs, str(tmp_path), "--quiet", "--settle", "0.3", "--grace", "3", *watch)
    watcher = Watcher(p.port, ["h1.example.com"])
    try:
        zone.unlink()  # an editor: delete, then write a while later
        time.sleep(1.5)
        zone.write_text(names_zone(5, "new"))
        p.wait_err(r"reloaded \(file change\): example\.com\. serial")
        time.sleep(0.3)
    finally:
        watcher.done()
    assert watcher.bad == [] and watcher.asked > 20
    assert ask(p.port, "h1.example.com", "TXT").answer[0][0].strings == (b"new",)
    zone.unlink()  # this time for good: served through the grace period, then dropped
    time.sleep(1.0)
    assert ask(p.port, "h1.example.com", "TXT").rcode() == dns.rcode.NOERROR
    p.wait_err(r"reloaded \(a vanished file's grace period is over\)", timeout=10)
    assert ask(p.port, "h1.example.com", "TXT").rcode() == dns.rcode.REFUSED


def test_route_plans_over_the_zones_serve_serves(tmp_path: Path, procs: list[Serve]) -> None:
    """`route --zone` judges zones as `serve` does, so --zone and --server give the same plan."""
    from test_server_cli import ZONETOOL

    files = write_scenarios(tmp_path)
    p = start(procs, str(tmp_path), "--quiet")
    plans = []
    for where in (["--zone", str(files["mx-cname"])], ["--server", f"127.0.0.1:{p.port}"]):
        out = subprocess.run([*ZONETOOL, "route", "user@mx-cname.test", *where, "--format", "json"],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        plans.append(out.stdout)
    assert plans[0] == plans[1]
    assert "mx-cname" in json.loads(plans[0])["notes"][0]["code"]
    refused = subprocess.run([*ZONETOOL, "route", "cname-multiple.test", "--zone", str(files["cname-multiple"])],
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 1 and "cname-multiple" in refused.stderr


def test_a_reload_reads_only_the_files_that_changed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """issue 11 B: with 10,000 zones, one edited file must not cost a reload of all of them."""
    from zonetool import loader
    from zonetool.server.zonesource import ZoneSource

    for i in range(50):
        (tmp_path / f"z{i}.yaml").write_text(YAML.format(v=1, extra="").replace("example.com", f"z{i}.example"))
    source = ZoneSource([tmp_path])
    first = source.load()
    assert first.zones is not None and len(first.zones) == 50
    reads: list[str] = []
    real = loader.load_file
    monkeypatch.setattr(loader, "load_file", lambda p, *policy: (reads.append(str(p)), real(p, *policy))[1])
    again = source.load()
    assert reads == [] and again.changed == []
    assert again.zones is not None and {id(z) for z in again.zones} == {id(z) for z in first.zones}
    (tmp_path / "z7.yaml").write_text(YAML.format(v=22, extra="").replace("example.com", "z7.example"))
    edited = source.load()
    assert reads == [str(tmp_path / "z7.yaml")]
    assert [o.to_text() for o in edited.changed] == ["z7.example."]
    assert edited.zones is not None and len(edited.zones) == 50
    reads.clear()
    source.load(full=True)  # SIGHUP: everything again (a BIND $INCLUDE may have changed unseen)
    assert len(reads) == 50


def watched(tmp_path: Path, between: str | None = None) -> tuple[Path, Any]:
    """An in-process Server on a folder of one zone, polling once a minute (so only inotify can see
    an edit); `between` is written after the first load and before the server runs."""
    from zonetool.server.responder import Responder
    from zonetool.server.runner import Server
    from zonetool.server.zonesource import ZoneSource

    zone = tmp_path / "example.com.yaml"
    zone.write_text(names_zone(3, "old"))
    source = ZoneSource([tmp_path])
    outcome = source.load()
    assert outcome.zones is not None
    if between is not None:
        zone.write_text(between)
    return zone, Server(Responder(outcome.zones), source=source, poll_interval=60)


def test_the_watcher_uses_inotify_and_sees_a_closed_file_at_once(tmp_path: Path) -> None:
    """issue 11 B: an edit is seen when its writer closes the file, not at the next poll of every file."""
    zone, server = watched(tmp_path)
    with server:
        deadline = time.monotonic() + 5
        while server.watching == "" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.watching == "inotify"
        written = time.monotonic()
        with zone.open("w") as f:
            f.write(names_zone(3, "new"))
            f.flush()
            time.sleep(0.5)  # held open: not read yet
            assert server.reloads == 0
        while server.reloads == 0 and time.monotonic() < deadline + 5:
            time.sleep(0.01)
        assert server.reloads == 1  # a poll every 60 s could not have seen it
        assert time.monotonic() - written < 0.5 + 3  # the 0.5 s it was held open, then promptly
        assert ask(server.port, "h1.example.com", "TXT").answer[0][0].strings == (b"new",)


def test_an_edit_right_after_start_is_not_lost(tmp_path: Path) -> None:
    """The watches exist before start() returns, and a change made since the first load is seen."""
    zone, server = watched(tmp_path, between=names_zone(3, "between"))  # after the load, before the server runs
    with server:
        deadline = time.monotonic() + 10
        while server.reloads == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ask(server.port, "h1.example.com", "TXT").answer[0][0].strings == (b"between",)
        zone.write_text(names_zone(3, "after"))  # and at once after start
        while server.reloads < 2 and time.monotonic() < deadline + 10:
            time.sleep(0.01)
        assert ask(server.port, "h1.example.com", "TXT").answer[0][0].strings == (b"after",)


def test_a_reload_told_what_changed_does_not_look_at_the_other_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """issue 11 B: with inotify's list of written files, one edit of 50 costs one stat and one read,
    not a listing and a stat of every file; a file the listing lacks (a new one) lists again."""
    from zonetool import loader
    from zonetool.server import zonesource
    from zonetool.server.zonesource import ZoneSource

    for i in range(50):
        (tmp_path / f"z{i}.yaml").write_text(YAML.format(v=1, extra="").replace("example.com", f"z{i}.example"))
    source = ZoneSource([tmp_path])
    assert source.load().zones is not None
    listings: list[object] = []
    stats: list[str] = []
    real_list, real_stat = loader.zone_names, zonesource._stat_of
    monkeypatch.setattr(loader, "zone_names", lambda *a, **k: (listings.append(a), real_list(*a, **k))[1])
    monkeypatch.setattr(zonesource, "_stat_of", lambda p: (stats.append(p), real_stat(p))[1])
    asked: list[str] = []
    real_load = source._load_file
    monkeypatch.setattr(source, "_load_file", lambda p: (asked.append(str(p)), real_load(p))[1])
    edited = tmp_path / "z7.yaml"
    edited.write_text(YAML.format(v=22, extra="").replace("example.com", "z7.example"))
    outcome = source.load(changed={str(edited.resolve())})
    assert listings == [] and stats == [str(edited)] * 2  # its stat now, and again after reading it
    assert asked == [str(edited)]  # the other 49 files' zones are taken as they were, not asked for
    assert [o.to_text() for o in outcome.changed] == ["z7.example."] and outcome.zones is not None
    assert len(outcome.zones) == 50
    assert source.loaded_signature == source.signature()  # the same picture a full look gives

    stats.clear()
    new = tmp_path / "z50.yaml"
    new.write_text(YAML.format(v=1, extra="").replace("example.com", "z50.example"))
    outcome = source.load(changed={str(new.resolve())})
    assert len(listings) == 1 and outcome.zones is not None and len(outcome.zones) == 51


def test_the_inotify_watcher_tells_the_reload_which_files_were_written(tmp_path: Path) -> None:
    zone, server = watched(tmp_path)
    told: list[object] = []
    real = server.source.load
    server.source.load = lambda full=False, changed=None: (told.append(changed), real(full, changed))[1]
    with server:
        deadline = time.monotonic() + 5
        while server.watching == "" and time.monotonic() < deadline:
            time.sleep(0.01)
        zone.write_text(names_zone(3, "new"))
        while server.reloads == 0 and time.monotonic() < deadline + 5:
            time.sleep(0.01)
        assert ask(server.port, "h1.example.com", "TXT").answer[0][0].strings == (b"new",)
    assert told == [{str(zone.resolve())}]
