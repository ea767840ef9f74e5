"""The editing commands as a user runs them: validation before writing, untouched files on refusal."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import zonetool_exe
from typer.testing import CliRunner

from zonetool.cli import app

ROOT = Path(__file__).resolve().parent.parent
COMMENTED = Path(__file__).resolve().parent / "data" / "edit" / "commented.yaml"
ZONES = [COMMENTED, *sorted((ROOT / "zones").glob("**/*.yaml"))]
runner = CliRunner()
_SERIAL = re.compile(r"^(\s*serial:\s*)\d+", re.M)


def unserial(text: str) -> str:
    return _SERIAL.sub(r"\1N", text)


def comment_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.lstrip().startswith("#")]


@pytest.fixture
def zone(tmp_path: Path) -> Path:
    path = tmp_path / "example.net.yaml"
    shutil.copyfile(COMMENTED, path)
    return path


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.parametrize("source", ZONES, ids=lambda p: p.name)
@pytest.mark.parametrize(
    ("forward", "back"),
    [
        (
            ["record", "add", "{z}", "cli-test", "TXT", "made by the test"],
            ["record", "remove", "{z}", "cli-test", "TXT"],
        ),
        (
            ["srv", "add", "{z}", "_cli._tcp", "t.example.invalid.", "--port", "99"],
            ["srv", "remove", "{z}", "_cli._tcp", "t.example.invalid."],
        ),
    ],
    ids=["record", "srv"],
)
def test_cli_edit_and_inverse_give_back_the_file(
    tmp_path: Path, source: Path, forward: list[str], back: list[str]
) -> None:
    path = tmp_path / source.name
    shutil.copyfile(source, path)
    original = path.read_text()
    code, out = invoke(*[a.replace("{z}", str(path)) for a in forward])
    assert code == 0, out
    changed = path.read_text()
    assert changed != original
    assert comment_lines(changed) == comment_lines(original)
    code, out = invoke(*[a.replace("{z}", str(path)) for a in back])
    assert code == 0, out
    assert unserial(path.read_text()) == unserial(original)


def test_mx_add_writes_bumps_serial_and_keeps_mode(zone: Path) -> None:
    zone.chmod(0o640)
    code, out = invoke("mx", "add", str(zone), "mx3", "--priority", "30", "--address", "192.0.2.13")
    assert code == 0, out
    assert "serial 2026010101 -> " in out
    text = zone.read_text()
    assert "    - {host: mx3, priority: 30, addresses: [192.0.2.13]}\n    # end of the exchangers list" in text
    assert zone.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in zone.parent.iterdir()) == [zone.name]  # no temp file left behind
    serial = int(re.search(r"serial: (\d+)", text).group(1))  # type: ignore[union-attr]
    assert serial > 2026010101


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["record", "add", "{z}", "www", "A", "192.0.2.9"], "cname-and-other-data"),
        (["record", "add", "{z}", "bad", "MX", "10 a..b"], "bad-name"),
        (["mx", "set", "{z}", "mx1", "--address", "300.0.0.1"], "{z}:"),
        (["record", "set", "{z}", "@", "A", "not-an-address"], "{z}:"),
    ],
)
def test_edit_that_makes_the_zone_invalid_changes_nothing(zone: Path, args: list[str], message: str) -> None:
    before = zone.read_bytes()
    stat = zone.stat()
    code, out = invoke(*[a.replace("{z}", str(zone)) for a in args])
    assert code == 1, out
    assert message.replace("{z}", str(zone)) in out
    assert "the file was not changed" in out
    assert zone.read_bytes() == before
    assert zone.stat().st_mtime_ns == stat.st_mtime_ns
    assert re.search(rf"{re.escape(str(zone))}:\d+:\d+: error", out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["mx", "remove", "{z}", "nosuch"], "not an exchanger"),
        (["mx", "add", "{z}", "mx1", "--priority", "5"], "already an exchanger"),
        (["mx", "add", "{z}", "mx9"], "--priority is required"),
        (["srv", "add", "{z}", "_x._tcp", "h"], "--port is required"),
        (["record", "remove", "{z}", "nobody", "A"], "no owner"),
        (["record", "add", "{z}", "@", "SOA", "x"], "SOA"),
        (["record", "add", "{z}", "h", "A", "192.0.2.1", "--ttl", "1y"], "--ttl"),
    ],
)
def test_edit_that_cannot_be_made_is_a_usage_error(zone: Path, args: list[str], message: str) -> None:
    before = zone.read_bytes()
    code, out = invoke(*[a.replace("{z}", str(zone)) for a in args])
    assert code == 2, out
    assert message in out
    assert "Traceback" not in out
    assert zone.read_bytes() == before


def test_dry_run_prints_a_diff_and_writes_nothing(zone: Path) -> None:
    before = zone.read_bytes()
    code, out = invoke("srv", "set", str(zone), "_sip._udp", "sip", "--weight", "10", "--dry-run")
    assert code == 0, out
    assert f"--- a/{zone}" in out and f"+++ b/{zone}" in out
    assert "-        weight: 5\n+        weight: 10\n" in out
    assert re.search(r"^\+  serial: \d+ +# YYYYMMDDnn", out, re.M)
    assert zone.read_bytes() == before


def test_no_change_is_not_a_write(zone: Path) -> None:
    before = zone.stat().st_mtime_ns
    code, out = invoke("mx", "set", str(zone), "mx1", "--priority", "10")
    assert code == 0 and "nothing changed" in out
    assert zone.stat().st_mtime_ns == before


def test_zone_without_mail_block_gets_apex_mx(tmp_path: Path) -> None:
    path = tmp_path / "z.yaml"
    path.write_text(
        "origin: example.org\nsoa: {serial: auto}  # keep auto\nnameservers: [ns1.example.com.]\n"
        "records:\n  mx1: {A: 192.0.2.1}\n"
    )
    code, out = invoke("mx", "add", str(path), "mx1", "-p", "10")
    assert code == 0, out
    assert path.read_text().endswith('  mx1: {A: 192.0.2.1}\n  "@": {MX: 10 mx1}\n')
    assert "serial: auto" in path.read_text()
    code, out = invoke("mx", "set", str(path), "mx1.example.org.", "-p", "20")
    assert code == 0 and '"@": {MX: 20 mx1}' in path.read_text()


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    code, out = invoke("mx", "add", str(tmp_path / "none.yaml"), "mx1", "-p", "1")
    assert code == 2 and "no such file" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text("origin: [\n")
    code, out = invoke("record", "add", str(bad), "a", "A", "192.0.2.1")
    assert code == 2 and f"{bad}:2:1: error yaml-syntax: " in out and "Traceback" not in out


def test_real_subprocess_edit(zone: Path) -> None:
    exe = zonetool_exe()
    done = subprocess.run(
        [exe, "record", "add", str(zone), "www2", "CNAME", "www"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "  www2: {CNAME: www}\n" in zone.read_text()
    bad = subprocess.run(
        [exe, "record", "add", str(zone), "www2", "A", "192.0.2.1"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 1
    assert "cname-and-other-data" in bad.stderr
