"""`zonetool plan` and `zonetool push` against real primaries (issue 13 part 4): BIND `named` with
`allow-update { key ...; }` and Knot with an update acl, each loaded from zonetool's export.

plan shows the changes (exit 1); push applies them by signed RFC 2136 UPDATE; plan is then clean
(exit 0) and the primary's own AXFR, read by dig and parsed by dnspython, holds exactly the
compiled zone. A change made by nsupdate since the plan, or between push's read and its UPDATE,
stops the push with the server's NXRRSET and changes nothing; 3,000 TXT records go in several
messages, each guarded by the serial the one before set; a wrong key is refused by name; an apex
NS change needs --allow-apex.
"""

from __future__ import annotations

import itertools
import json
import subprocess
from pathlib import Path

import dns.rdatatype
import dns.zone
import pytest
from conftest import require_tool, zonetool_exe
from primaries import KEY, PRIMARIES, launch
from test_server_cli import dig_short
from test_server_secondary import free_port, processes, wait_until  # noqa: F401 (fixture)
from test_tsig_secondaries import keygen
from typer.testing import CliRunner

from zonetool.cli import app
from zonetool.cli import push as push_cli

ZONE = """\
origin: example.com
ttl: 1h
soa: {{serial: auto}}
nameservers: [{ns}]
mail:
  exchangers:
{mx}
records:
  ns1: {{A: 192.0.2.53}}
  ns2: {{A: 192.0.2.54}}
{records}
"""
V1 = {"ns": "ns1", "mx": "    - {host: mx1, priority: 10, addresses: [192.0.2.25]}",
      "records": '  www: {A: 192.0.2.80}\n  old: {TXT: "bye"}'}
V2 = {"ns": "ns1", "mx": "    - {host: mx1, priority: 10, addresses: [192.0.2.25]}\n"
                         "    - {host: mx2, priority: 20, addresses: [192.0.2.26]}",
      "records": '  www: {A: [192.0.2.80, 192.0.2.81], ttl: 5m}\n  new: {TXT: "hello"}'}


def write(path: Path, version: dict[str, str], extra: str = "") -> Path:
    path.write_text(ZONE.format(**version) + extra)
    return path


def zonetool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([zonetool_exe(), *args], capture_output=True, text=True, timeout=300)


class Primary:
    """A primary of example.com started from zonetool's export of `first`, with the update key."""

    def __init__(self, kind: str, tmp: Path, first: Path, processes: list[subprocess.Popen[str]]) -> None:  # noqa: F811
        self.kind, self.tmp = kind, tmp
        self.key = tmp / "update.key"
        secret = keygen(self.key, KEY)
        exported = tmp / "export" / "example.com.zone"
        exported.parent.mkdir()
        done = zonetool("export", str(first), "-o", str(exported))
        assert done.returncode == 0, done.stderr
        self.port = free_port()
        self.server = f"127.0.0.1:{self.port}"
        launch(PRIMARIES[kind](tmp, self.port, exported, secret), tmp, processes)
        dig = require_tool("dig")
        assert wait_until(lambda: "hostmaster" in dig_short(dig, self.port, "SOA", "example.com"), timeout=60), \
            f"{kind} did not start:\n{self.log()}"

    def log(self) -> str:
        return (self.tmp / "primary.log").read_text()[-3000:]

    def run(self, command: str, zone: Path, *args: str, key: Path | None = None) -> subprocess.CompletedProcess[str]:
        return zonetool(command, str(zone), "--server", self.server, "--tsig-key", str(key or self.key), *args)

    def nsupdate(self, *lines: str) -> None:
        script = "\n".join([f"server 127.0.0.1 {self.port}", "zone example.com", *lines, "send", ""])
        subprocess.run([require_tool("nsupdate"), "-k", str(self.key)], input=script, text=True, check=True,
                       capture_output=True, timeout=30)

    def axfr(self) -> set[tuple[str, str, int, str]]:
        """The primary's zone as dig transfers it, parsed by dnspython: (owner, type, TTL, data), serial 0."""
        out = subprocess.run([require_tool("dig"), "@127.0.0.1", "-p", str(self.port), "-k", str(self.key), "+tcp",
                              "AXFR", "example.com"], capture_output=True, text=True, timeout=60, check=True).stdout
        assert "Transfer failed" not in out, out
        return records(out)


def records(master_text: str) -> set[tuple[str, str, int, str]]:
    zone = dns.zone.from_text(master_text, origin="example.com.", relativize=False, check_origin=False)
    out = set()
    for name, rdataset in zone.iterate_rdatasets():
        for rd in rdataset:
            if rdataset.rdtype == dns.rdatatype.SOA:
                rd = rd.replace(serial=0)
            out.add((name.to_text().lower(), dns.rdatatype.to_text(rdataset.rdtype), rdataset.ttl, rd.to_text()))
    return out


def compiled(zone: Path, tmp: Path) -> set[tuple[str, str, int, str]]:
    """zonetool's compiled zone: its BIND export, parsed by dnspython the same way."""
    out = tmp / "compiled" / "example.com.zone"
    out.parent.mkdir(exist_ok=True)
    done = zonetool("export", str(zone), "-o", str(out))
    assert done.returncode == 0, done.stderr
    return records(out.read_text())


KINDS = list(PRIMARIES)


@pytest.mark.parametrize("kind", KINDS)
def test_plan_shows_the_changes_push_applies_them_and_plan_is_then_clean(
    kind: str, tmp_path: Path, processes: list[subprocess.Popen[str]],  # noqa: F811
) -> None:
    primary = Primary(kind, tmp_path, write(tmp_path / "v1.yaml", V1), processes)
    v2 = write(tmp_path / "v2.yaml", V2)
    assert primary.axfr() == compiled(tmp_path / "v1.yaml", tmp_path)

    plan = primary.run("plan", v2)
    assert plan.returncode == 1, plan.stderr
    assert "www A\n  ~ ttl 3600 -> 300  192.0.2.80\n  + 300 192.0.2.81\n" in plan.stdout
    assert 'old TXT\n  - 3600 "bye"\n' in plan.stdout and "4 added, 1 removed, 1 TTL changed" in plan.stdout
    doc = json.loads(primary.run("plan", v2, "--format", "json").stdout)
    assert doc["differ"] is True and len(doc["changes"]) == 6 and doc["apex"] == []

    pushed = primary.run("push", v2, "--expect-serial", str(doc["serial"]))
    assert pushed.returncode == 0, pushed.stderr + primary.log()
    assert "pushed 6 changes" in pushed.stdout and "in 1 UPDATE message" in pushed.stdout

    again = primary.run("plan", v2)
    assert again.returncode == 0, again.stdout
    assert again.stdout.startswith(f"no changes: {primary.server} serves example.com.")
    assert primary.axfr() == compiled(v2, tmp_path)
    assert primary.run("push", v2).stdout.startswith("no changes")  # nothing sent twice


@pytest.mark.parametrize("kind", KINDS)
def test_a_change_made_since_the_plan_or_during_the_push_stops_it_and_changes_nothing(
    kind: str, tmp_path: Path, processes: list[subprocess.Popen[str]], monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    primary = Primary(kind, tmp_path, write(tmp_path / "v1.yaml", V1), processes)
    v2 = write(tmp_path / "v2.yaml", V2)
    serial = json.loads(primary.run("plan", v2, "--format", "json").stdout)["serial"]

    primary.nsupdate("update add sneaky.example.com. 300 A 192.0.2.99")  # between plan and push
    before = primary.axfr()
    stale = primary.run("push", v2, "--expect-serial", str(serial))
    assert stale.returncode == 2
    assert f"changed since the plan: serial {serial} is now" in stale.stderr and "nothing was sent" in stale.stderr
    assert primary.axfr() == before

    # between push's own read and its first UPDATE: the server's NXRRSET on the SOA prerequisite
    real_live = push_cli._live

    def read_then_someone_edits(*args, **kwargs):  # type: ignore[no-untyped-def]
        zone = real_live(*args, **kwargs)
        primary.nsupdate("update add racer.example.com. 300 TXT \"me first\"")
        return zone

    monkeypatch.setattr(push_cli, "_live", read_then_someone_edits)
    raced = CliRunner().invoke(app, ["push", str(v2), "--server", primary.server, "--tsig-key", str(primary.key)])
    assert raced.exit_code == 2, raced.output
    said = " ".join(raced.output.split())
    assert "changed on the server while pushing" in said and "(NXRRSET on part 1 of 1)" in said, said
    assert "nothing was changed" in said and 'racer TXT + 300 "me first"' in said  # it names the change
    after = primary.axfr()
    assert after - before == {("racer.example.com.", "TXT", 300, '"me first"')}  # only the other edit landed
    assert before - after == set()


@pytest.mark.parametrize("kind", KINDS)
def test_a_push_over_64k_is_split_into_guarded_parts_and_lands_whole(
    kind: str, tmp_path: Path, processes: list[subprocess.Popen[str]],  # noqa: F811
) -> None:
    primary = Primary(kind, tmp_path, write(tmp_path / "v1.yaml", V1), processes)
    txt = "".join(f'  t{i}: {{TXT: "{i:05d} {"x" * 80}"}}\n' for i in range(3000))
    big = write(tmp_path / "big.yaml", V2, txt)
    dry = primary.run("push", big, "--dry-run", "--format", "json")
    assert dry.returncode == 0, dry.stderr
    parts = json.loads(dry.stdout)["parts"]
    assert len(parts) >= 4 and sum(p["records"] for p in parts) > 3000
    for before, part in itertools.pairwise(parts):
        assert part["expected_serial"] == before["serial"]  # each part expects the serial the one before set
    assert all(p["octets"] <= 65535 for p in parts)
    assert primary.axfr() == compiled(tmp_path / "v1.yaml", tmp_path)  # a dry run sends nothing

    pushed = primary.run("push", big)
    assert pushed.returncode == 0, pushed.stderr + primary.log()
    assert f"in {len(parts)} UPDATE messages" in pushed.stdout
    assert primary.run("plan", big).returncode == 0
    assert primary.axfr() == compiled(big, tmp_path)


@pytest.mark.parametrize("kind", KINDS)
def test_a_wrong_key_is_refused_by_name_and_changes_nothing(
    kind: str, tmp_path: Path, processes: list[subprocess.Popen[str]], capsys: pytest.CaptureFixture[str],  # noqa: F811
) -> None:
    import typer

    from zonetool.names import Name
    from zonetool.source.axfr import fetch_zone
    from zonetool.source.keyfile import read_key_file
    from zonetool.update import build_update

    primary = Primary(kind, tmp_path, write(tmp_path / "v1.yaml", V1), processes)
    v2 = write(tmp_path / "v2.yaml", V2)
    before = primary.axfr()
    wrong = keygen(tmp_path / "wrong.key", KEY)  # the same name, another secret
    keygen(tmp_path / "stranger.key", "stranger.example")
    bad = primary.run("push", v2, key=tmp_path / "wrong.key")
    assert bad.returncode == 2 and "BADSIG" in bad.stderr and wrong not in bad.stderr + bad.stdout
    stranger = primary.run("plan", v2, key=tmp_path / "stranger.key")
    assert stranger.returncode == 2 and "refused the key stranger.example." in stranger.stderr
    assert "BADKEY" in stranger.stderr

    # the UPDATE itself signed with the wrong secret (the transfer read with the right one)
    live = fetch_zone("127.0.0.1", primary.port, Name.from_text("example.com."), key=read_key_file(primary.key)[0][0])
    from zonetool.cli.edit import _zone_from

    parts = build_update(live, _zone_from(str(v2), None, 5.0), reserve=200)
    with pytest.raises(typer.Exit):
        push_cli._send(primary.server, parts, read_key_file(tmp_path / "wrong.key")[0][0], 10.0, live)
    said = capsys.readouterr().err
    assert f"refused the key {KEY}.: BADSIG" in said and "nothing was changed" in said, said
    assert primary.axfr() == before


@pytest.mark.parametrize("kind", KINDS)
def test_an_apex_ns_change_is_refused_without_allow_apex(
    kind: str, tmp_path: Path, processes: list[subprocess.Popen[str]],  # noqa: F811
) -> None:
    primary = Primary(kind, tmp_path, write(tmp_path / "v1.yaml", V1), processes)
    two_ns = write(tmp_path / "ns.yaml", {**V1, "ns": "ns1, ns2"})
    before = primary.axfr()
    plan = primary.run("plan", two_ns)
    assert plan.returncode == 1 and "NS at the apex change: push refuses them without --allow-apex" in plan.stdout
    refused = primary.run("push", two_ns)
    assert refused.returncode == 2 and "without --allow-apex" in refused.stderr and "+ 3600 ns2" in refused.stderr
    assert primary.axfr() == before
    allowed = primary.run("push", two_ns, "--allow-apex")
    assert allowed.returncode == 0, allowed.stderr
    assert primary.run("plan", two_ns).returncode == 0
    assert primary.axfr() == compiled(two_ns, tmp_path)


def test_push_without_a_key_or_with_a_bad_server_is_a_clear_refusal(tmp_path: Path) -> None:
    zone = write(tmp_path / "v1.yaml", V1)
    no_key = zonetool("push", str(zone), "--server", "127.0.0.1:1")
    assert no_key.returncode == 2 and "push needs --tsig-key FILE" in no_key.stderr
    bad = zonetool("plan", str(zone), "--server", "nowhere", "--format", "json")
    assert bad.returncode == 2 and "expected HOST:PORT" in bad.stderr
    assert json.loads(bad.stdout)["ok"] is False
    closed = zonetool("plan", str(zone), "--server", f"127.0.0.1:{free_port()}")
    assert closed.returncode == 2 and "cannot transfer from 127.0.0.1" in closed.stderr
    assert "Traceback" not in no_key.stderr + bad.stderr + closed.stderr


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_a_100000_record_zone_is_planned_and_pushed_whole(
    kind: str, tmp_path: Path, processes: list[subprocess.Popen[str]],  # noqa: F811
) -> None:
    """Issue 13's size: 100,000 hosts added to a live zone in guarded parts, each transfer verified."""
    primary = Primary(kind, tmp_path, write(tmp_path / "v1.yaml", V1), processes)
    hosts = "".join(f"  h{i}: {{A: 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}}}\n" for i in range(100_000))
    big = write(tmp_path / "big.yaml", V1, hosts)
    plan = primary.run("plan", big, "--format", "json")
    assert plan.returncode == 1 and len(json.loads(plan.stdout)["changes"]) == 100_000
    pushed = primary.run("push", big, "--format", "json", "--timeout", "120")
    assert pushed.returncode == 0, pushed.stderr + primary.log()
    parts = json.loads(pushed.stdout)["parts"]
    assert len(parts) > 20 and sum(p["records"] for p in parts) == 100_000
    assert primary.run("plan", big, "--timeout", "120").returncode == 0
    assert primary.axfr() == compiled(big, tmp_path)
