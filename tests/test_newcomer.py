"""Defects a new user met in the first hour (issue 11 A), each reproduced through the real command."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import MAIL_ZONE, zonetool_exe

BIND = """$ORIGIN acme.example.
$TTL 3600
@ SOA ns1 hostmaster 1 3600 900 604800 300
@ NS ns1
@ NS ns2
@ MX 10 mx1
ns1 A 192.0.2.1
ns2 A 192.0.2.2
mx1 A 192.0.2.10
"""


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([zonetool_exe(), *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def test_import_refuses_to_replace_an_existing_file_without_force(tmp_path: Path) -> None:
    (tmp_path / "other.zone").write_text(BIND)
    keep = tmp_path / "keep.yaml"
    keep.write_text("# hand-written, with comments\norigin: keep.example\n")
    out = run("import", str(tmp_path / "other.zone"), "-o", str(keep))
    assert out.returncode == 2
    assert f"{keep}: exists" in out.stderr and "--force" in out.stderr and "Traceback" not in out.stderr
    assert keep.read_text().startswith("# hand-written")
    forced = run("import", str(tmp_path / "other.zone"), "-o", str(keep), "--force")
    assert forced.returncode == 0, forced.stderr
    assert keep.read_text().startswith("origin: acme.example")


def test_export_to_a_folder_with_a_trailing_slash_creates_it(tmp_path: Path) -> None:
    (tmp_path / "zone.yaml").write_text(MAIL_ZONE)
    out = run("export", "zone.yaml", "-o", "out/", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out").is_dir()
    written = list((tmp_path / "out").iterdir())
    assert [p.suffix for p in written] == [".zone"] and written[0].read_text().count(" SOA ") == 1


def test_import_with_the_wrong_origin_exits_1(tmp_path: Path) -> None:
    (tmp_path / "f.zone").write_text(BIND)  # its own $ORIGIN says acme.example.: every record is out of zone
    out = run("import", str(tmp_path / "f.zone"), "--origin", "wrong.example", "-o", str(tmp_path / "f.yaml"))
    assert out.returncode == 1, out.stderr
    assert "no SOA and no NS at wrong.example." in out.stderr and "--origin" in out.stderr
    assert not (tmp_path / "f.yaml").exists()


def test_diff_reads_the_bind_files_own_origin_and_compares_versions_with_rule_errors(tmp_path: Path) -> None:
    (tmp_path / "acme.zone").write_text(BIND)  # named acme.zone, says $ORIGIN acme.example.
    (tmp_path / "acme.yaml").write_text(
        "origin: acme.example\nsoa: {serial: 1, refresh: 1h, retry: 15m, expire: 1w, negative: 5m}\n"
        "nameservers: [ns1, ns2]\nmail:\n  exchangers: [{host: mx1, priority: 10}, {host: mx2, priority: 20}]\n"
        "records:\n  ns1: {A: 192.0.2.1}\n  ns2: {A: 192.0.2.2}\n  mx1: {A: 192.0.2.10}\n")  # mx2: no address
    out = run("diff", str(tmp_path / "acme.zone"), str(tmp_path / "acme.yaml"))
    assert out.returncode == 1, out.stderr  # they differ: exit 1, as diff(1)
    assert "+ @" in out.stdout or "mx2" in out.stdout
    assert "MX" in out.stdout and "mx2" in out.stdout and "Traceback" not in out.stderr


def test_notify_answers_are_printed_by_name(tmp_path: Path) -> None:
    """A secondary that does not take the NOTIFY: the rcode by name (it printed `rcode 9`)."""
    from test_server_cli import Serve, write_zone

    write_zone(tmp_path / "example.com.yaml", 1)
    other = Serve(str(tmp_path), "--quiet").started()  # zonetool itself answers NOTIFY with NOTIMP
    try:
        primary = Serve(str(tmp_path), "--quiet", "--notify", f"127.0.0.1:{other.port}").started()
        try:
            line = primary.wait_err(r"NOTIFY example\.com\. to 127\.0\.0\.1:\d+: (.*)")
            assert line.group(1) == "answered NOTIMP"
        finally:
            primary.stop()
    finally:
        other.stop()


def test_an_edit_says_which_findings_it_brings_in_and_strict_refuses_it(tmp_path: Path) -> None:
    zone = tmp_path / "z.yaml"
    zone.write_text(MAIL_ZONE)
    out = run("record", "add", str(zone), "@", "TXT", "v=spf1 -all", "--strict")
    assert out.returncode == 1 and "spf-multiple" in out.stderr and "--strict" in out.stderr
    assert zone.read_text() == MAIL_ZONE
    out = run("record", "add", str(zone), "@", "TXT", "v=spf1 -all")
    assert out.returncode == 0
    assert "warning spf-multiple" in out.stderr  # it printed only `record add @ TXT (serial ...)`
    assert zone.read_text() != MAIL_ZONE
    # an edit that brings nothing new in says nothing more than what it did
    quiet = run("record", "add", str(zone), "www", "A", "192.0.2.80")
    assert quiet.returncode == 0 and "warning" not in quiet.stderr


SUBMISSION = MAIL_ZONE.replace("records:\n", "  submission: {port: 587, hosts: [mx1]}\n  srv: true\nrecords:\n")


def test_srv_edits_change_the_mail_block_that_defines_the_name(tmp_path: Path) -> None:
    zone = tmp_path / "z.yaml"
    zone.write_text("# the mail setup\n" + SUBMISSION)
    out = run("srv", "add", str(zone), "_submission._tcp", "mx1", "--port", "587")
    assert out.returncode == 2 and "already a host of mail: submission" in out.stderr
    assert run("record", "add", str(zone), "mail2", "A", "192.0.2.26").returncode == 0
    out = run("srv", "add", str(zone), "_submission._tcp", "mail2", "--port", "587", "--weight", "5")
    assert out.returncode == 0, out.stderr
    text = zone.read_text()
    assert "submission: {port: 587, hosts: [mx1, {host: mail2, weight: 5}]}" in text, text
    assert "_submission._tcp" not in text  # not a second definition under records:
    assert text.startswith("# the mail setup\n")
    compiled = run("compile", str(zone)).stdout
    assert sorted(line.split("SRV")[1].strip() for line in compiled.splitlines() if "_submission" in line) == [
        "0 0 587 mx1.example.com.", "0 5 587 mail2.example.com."]
    assert run("srv", "set", str(zone), "_submission._tcp", "mx1", "--priority", "1").returncode == 0
    assert "hosts: [{host: mx1, priority: 1}, {host: mail2, weight: 5}]" in zone.read_text()
    assert run("srv", "remove", str(zone), "_submission._tcp", "mail2").returncode == 0
    assert "hosts: [{host: mx1, priority: 1}]" in zone.read_text()
    smtp = run("srv", "add", str(zone), "_smtp._tcp", "mx9", "--port", "25")
    assert smtp.returncode == 2 and "zonetool mx add" in smtp.stderr


def test_imported_yaml_is_already_in_fmt_layout(tmp_path: Path) -> None:
    """issue 11 A5: the YAML `import` wrote failed the tool's own `fmt --check` (quoting, nested lists)."""
    from conftest import DATA

    bind = sorted((DATA / "bind").glob("*.zone"))
    assert len(bind) >= 4
    for src in bind:
        out = tmp_path / (src.stem + ".yaml")
        assert run("import", str(src), "-o", str(out)).returncode == 0
        check = run("fmt", "--check", str(out))
        assert check.returncode == 0, (src.name, check.stdout, check.stderr)


def test_the_start_line_stays_short_with_many_zones() -> None:
    from zonetool.cli.serve import origins_summary
    from zonetool.names import Name
    from zonetool.zone import Zone

    zones = [Zone(Name.from_text(f"d{i}.example.")) for i in range(10_000)]
    line = origins_summary(zones)
    assert line == "d0.example., d1.example., d2.example., d3.example., d4.example. and 9,995 more"
    assert origins_summary(zones[:2]) == "d0.example., d1.example."


def test_shell_completion_is_switched_on() -> None:
    import os

    # the script --install-completion writes (asked through the protocol: no shell detection under CI)
    source = {**os.environ, "_ZONETOOL_COMPLETE": "source_bash"}
    script = subprocess.run([zonetool_exe()], env=source, capture_output=True, text=True, timeout=60)
    assert script.returncode == 0 and "_ZONETOOL_COMPLETE" in script.stdout
    env = {**os.environ, "_ZONETOOL_COMPLETE": "complete_bash", "COMP_WORDS": "zonetool serve --st", "COMP_CWORD": "2"}
    done = subprocess.run([zonetool_exe()], env=env, capture_output=True, text=True, timeout=60)
    assert "--strict" in done.stdout.split()


@pytest.mark.parametrize("args", [
    ["validate", "{m}"], ["compile", "{m}"], ["export", "{m}"], ["import", "{m}", "--origin", "x.example"],
    ["fmt", "{m}"], ["diff", "{m}", "{m}"], ["serve", "{m}", "--port", "0"], ["route", "x.example", "--zone", "{m}"],
    ["mx", "add", "{m}", "mx1", "--priority", "10"], ["record", "add", "{m}", "www", "A", "192.0.2.1"],
])
def test_a_missing_file_is_said_the_same_way_by_every_command(tmp_path: Path, args: list[str]) -> None:
    """issue 11 A12: "no such file or folder" vs "no such file or directory" vs "no such file"."""
    missing = tmp_path / "missing.yaml"
    out = run(*(a.format(m=missing) for a in args))
    assert out.returncode == 2, out.stderr
    assert f"zonetool: {missing}: no such file or folder\n" in out.stderr and "Traceback" not in out.stderr


def test_diff_speaks_json_for_programs(tmp_path: Path) -> None:
    import json

    old, new = tmp_path / "a.yaml", tmp_path / "b.yaml"
    old.write_text(MAIL_ZONE)
    new.write_text(MAIL_ZONE.replace("  ns2: {A: 192.0.2.54}\n", "  ns2: {A: 192.0.2.55}\n"))
    out = run("diff", str(old), str(new), "--format", "json")
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert doc["origin"] == "example.com." and doc["differ"] is True
    assert {(c["change"], c["owner"], c["type"], c["data"]) for c in doc["changes"]} == {
        ("removed", "ns2.example.com.", "A", "192.0.2.54"), ("added", "ns2.example.com.", "A", "192.0.2.55")}
    same = run("diff", str(old), str(old), "-f", "json")
    assert same.returncode == 0
    assert json.loads(same.stdout) == {"origin": "example.com.", "differ": False, "changes": []}


def test_edits_speak_json_for_programs(tmp_path: Path) -> None:
    import json

    zone = tmp_path / "z.yaml"
    zone.write_text(MAIL_ZONE)
    dry = run("record", "add", str(zone), "@", "TXT", "v=spf1 -all", "--dry-run", "--format", "json")
    doc = json.loads(dry.stdout)
    assert dry.returncode == 0 and doc["changed"] is True and doc["written"] is False
    assert [f["code"] for f in doc["findings"]] == ["spf-multiple"] and doc["diff"].startswith("---")
    assert zone.read_text() == MAIL_ZONE and dry.stderr == ""  # the findings are in the document only
    done = json.loads(run("mx", "add", str(zone), "mx2", "--priority", "20", "-a", "192.0.2.26", "-f", "json").stdout)
    assert (done["edit"], done["changed"], done["written"], done["findings"]) == ("mx add mx2", True, True, [])
    again = json.loads(run("mx", "set", str(zone), "mx2", "--priority", "20", "-f", "json").stdout)
    assert again["changed"] is False and again["written"] is False


def test_fmt_speaks_json_for_programs(tmp_path: Path) -> None:
    import json

    (tmp_path / "a.yaml").write_text(MAIL_ZONE)
    (tmp_path / "b.yaml").write_text(MAIL_ZONE.replace('{TXT: "v=DMARC1; p=reject"}', "{TXT: 'v=DMARC1; p=reject'}"))
    (tmp_path / "c.yaml").write_text("origin: [unclosed\n")
    out = run("fmt", str(tmp_path), "--check", "--format", "json")
    doc = json.loads(out.stdout)
    assert out.returncode == 2 and doc["check"] is True  # a file it cannot parse: usage, as in text
    assert {(Path(f["file"]).name, f["changed"]) for f in doc["files"]} >= {("a.yaml", False), ("b.yaml", True)}
    assert len(doc["problems"]) == 1 and "c.yaml" in doc["problems"][0]


def test_export_and_import_speak_json_for_programs(tmp_path: Path) -> None:
    import json

    (tmp_path / "z.yaml").write_text(MAIL_ZONE)
    out = run("export", str(tmp_path / "z.yaml"), "-o", str(tmp_path / "out/"), "--format", "json")
    doc = json.loads(out.stdout)
    assert out.returncode == 0 and doc["ok"] is True and doc["findings"] == []
    [written] = doc["written"]
    assert written["origin"] == "example.com." and written["records"] > 5 and Path(written["file"]).exists()
    back = run("import", written["file"], "-f", "json")
    imported = json.loads(back.stdout)
    assert back.returncode == 0 and imported["origin"] == "example.com." and imported["file"] is None
    assert imported["records"] == written["records"] and imported["yaml"].startswith("origin: example.com")
    (tmp_path / "bad.yaml").write_text(MAIL_ZONE.replace("192.0.2.53", "192.0.2.300"))
    bad = run("export", str(tmp_path / "bad.yaml"), "-f", "json")
    refused = json.loads(bad.stdout)
    assert bad.returncode == 1 and refused["ok"] is False and refused["findings"][0]["code"] == "bad-address"


def test_a_dash_is_standard_input_and_output(tmp_path: Path) -> None:
    """issue 11 A12: `-` where a file is read or written, so zonetool sits in a pipe."""
    def piped(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([zonetool_exe(), *args], input=stdin, capture_output=True, text=True, timeout=60)

    assert piped("validate", "-", stdin=MAIL_ZONE).returncode == 0
    bad = piped("validate", "-", stdin=MAIL_ZONE.replace("192.0.2.53", "192.0.2.300"))
    assert bad.returncode == 1 and re.search(r"^-:\d+:\d+: error bad-address", bad.stdout, re.M)
    bind = piped("export", "-", "-o", "-", stdin=MAIL_ZONE)
    assert bind.returncode == 0 and "$ORIGIN example.com." in bind.stdout
    yaml = piped("import", "-", "-o", "-", stdin=bind.stdout)  # its $ORIGIN names the zone
    assert yaml.returncode == 0 and yaml.stdout.startswith("origin: example.com")
    assert piped("validate", "-", stdin=yaml.stdout).returncode == 0
    ugly = MAIL_ZONE.replace('"@": {TXT: "v=spf1 mx -all"}', "'@': {TXT: 'v=spf1 mx -all'}")
    pretty = piped("fmt", "-", stdin=ugly)
    assert pretty.returncode == 0 and pretty.stdout == MAIL_ZONE
    (tmp_path / "a.yaml").write_text(MAIL_ZONE)
    same = piped("diff", str(tmp_path / "a.yaml"), "-", stdin=MAIL_ZONE)
    assert same.returncode == 0 and same.stdout.strip() == "no differences"


def test_an_edit_of_dash_is_a_filter() -> None:
    def piped(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([zonetool_exe(), *args], input=stdin, capture_output=True, text=True, timeout=60)

    out = piped("record", "add", "-", "www", "A", "192.0.2.80", stdin="# kept\n" + MAIL_ZONE)
    assert out.returncode == 0 and out.stdout.startswith("# kept\n") and "www: {A: 192.0.2.80}" in out.stdout
    same = piped("record", "set", "-", "ns1", "A", "192.0.2.53", stdin=MAIL_ZONE)
    assert same.returncode == 0 and same.stdout == MAIL_ZONE  # already so: passed through unchanged
    bad = piped("mx", "add", "-", "mx9", "--priority", "10", stdin=MAIL_ZONE)
    assert bad.returncode == 1 and bad.stdout == "" and "mx-target-no-address" in bad.stderr


BROKEN = ("origin: broken.example\nnameservers: [ns1]\nrecords:\n  ns1: {A: 192.0.2.1}\n"
          "  www: {CNAME: ns1, A: 192.0.2.2}\n")


def test_serves_json_log_says_which_zone_file_it_refused(tmp_path: Path) -> None:
    """issue 11 A12: with --log-format json, a zone file refused at start is a JSON line of the log too
    (it was only the text line `not serving FILE: ...` on stderr)."""
    import json

    from test_server_cli import Serve, ask, write_zone

    write_zone(tmp_path / "example.com.yaml", 1)
    bad = tmp_path / "broken.example.yaml"
    bad.write_text(BROKEN)  # a CNAME beside other data: NSD refuses the zone, so does serve
    p = Serve(str(tmp_path), "--log-format", "json").started()
    try:
        assert any(f"not serving {bad}" in line for line in p.err_lines)  # people still read it on stderr
        event = json.loads(p.out_lines(1)[0])
        assert (event["event"], event["file"], event["errors"], event["codes"]) == (
            "not-serving", str(bad), 1, ["cname-and-other-data"])
        assert [(f["code"], f["line"], f["severity"]) for f in event["findings"]] == [
            ("cname-and-other-data", 5, "error")]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", event["ts"])
        assert len(ask(p.port, "example.com", "MX").answer[0]) == 2
        query = json.loads(p.out_lines(1)[0])  # the query log goes on after it
        assert (query["name"], query["rcode"]) == ("example.com.", "NOERROR") and "event" not in query
    finally:
        p.stop()
    text = Serve(str(tmp_path)).started()  # the text log has no such line: its first line is a query
    try:
        ask(text.port, "example.com", "MX")
        assert re.match(r"\d{4}-.* udp example\.com\. MX NOERROR", text.out_lines(1)[0])
    finally:
        text.stop()
    # --strict refuses every file with an error, and says so in the JSON log too before it exits 1
    strict = run("serve", str(tmp_path), "--strict", "--log-format", "json", "--port", "0")
    assert strict.returncode == 1 and "(--strict)" in strict.stderr
    (line,) = strict.stdout.splitlines()
    assert json.loads(line)["file"] == str(bad) and json.loads(line)["codes"] == ["cname-and-other-data"]


def test_serves_json_log_says_which_zone_file_a_reload_refused(tmp_path: Path) -> None:
    """issue 11 A12: a file refused at a reload is a JSON line of the log too, with `"reload": true`,
    and the previous version goes on being served."""
    import json
    import time

    from test_server_cli import Serve, ask, write_zone

    write_zone(tmp_path / "example.com.yaml", 1)
    good = tmp_path / "broken.example.yaml"
    good.write_text(BROKEN.replace("  www: {CNAME: ns1, A: 192.0.2.2}\n", "  www: {A: 192.0.2.2}\n"))
    p = Serve(str(tmp_path), "--log-format", "json").started()
    try:
        assert ask(p.port, "www.broken.example", "A").answer[0][0].to_text() == "192.0.2.2"
        good.write_text(BROKEN)  # now NSD would refuse it: the reload keeps the previous version
        deadline = time.monotonic() + 20
        event: dict[str, object] = {}
        while time.monotonic() < deadline and event.get("event") != "not-serving":
            lines = p.out_lines(1, timeout=max(0.1, deadline - time.monotonic()))
            event = json.loads(lines[0]) if lines else {}
        assert (event["event"], event["file"], event["codes"], event["reload"]) == (
            "not-serving", str(good), ["cname-and-other-data"], True)
        assert ask(p.port, "www.broken.example", "A").answer[0][0].to_text() == "192.0.2.2"
    finally:
        p.stop()


@pytest.mark.parametrize("option", ["--tls-ca-out", "--journal"])
def test_a_path_serve_cannot_write_is_said_in_the_tools_words(tmp_path: Path, option: str) -> None:
    """issue 11 A12 for the paths serve writes: the tool's "no such file or folder", never the system's."""
    zone = tmp_path / "z.yaml"
    zone.write_text(MAIL_ZONE)
    where = tmp_path / "afile"
    where.write_text("")
    out = run("serve", str(zone), "--port", "0", "--smtp", option, str(where / "below"))
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and "directory" not in out.stderr.lower()
    assert out.stderr.startswith(f"zonetool: {option} {where / 'below'}: "), out.stderr
    assert out.stderr.rstrip().endswith("not a folder"), out.stderr
