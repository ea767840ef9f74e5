"""`zonetool validate` and `zonetool compile` as a user runs them: output, JSON, exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import MAIL_ZONE as GOOD
from conftest import ZONES, zonetool_exe
from typer.testing import CliRunner

from zonetool.cli import app

runner = CliRunner()

# a bad address (line 5), an unknown and a missing key (line 6), one warning (MX but no DMARC)
BAD = """\
origin: example.com
nameservers: [ns1, ns2]
mail:
  exchangers:
    - {host: mx1, priority: 10, addresses: [192.0.2.256]}
    - {hots: mx2, priority: 20}
    - {host: mx3.example.net., priority: 30}
records:
  "@": {TXT: "v=spf1 mx -all"}
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
"""
LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning) (?P<code>[a-z0-9-]+): ")


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    p = tmp_path / "bad.yaml"
    p.write_text(BAD, encoding="utf-8")
    return p


@pytest.fixture
def good(tmp_path: Path) -> Path:
    p = tmp_path / "good.yaml"
    p.write_text(GOOD, encoding="utf-8")
    return p


def test_validate_bundled_zones_clean() -> None:
    code, out, _ = invoke("validate", str(ZONES))
    assert code == 0
    assert re.fullmatch(r"\d+ zones \(\d+ records\) in \d+ files: 0 errors, 0 warnings\n", out)


def test_validate_reports_every_finding_sorted_with_positions(bad: Path) -> None:
    code, out, _ = invoke("validate", str(bad))
    assert code == 1
    lines = [m.groupdict() for m in map(LINE.match, out.splitlines()) if m]
    got = [(int(d["line"]), int(d["col"]), d["sev"], d["code"]) for d in lines]
    assert (5, 45, "error", "bad-address") in got
    assert (6, 8, "error", "unknown-key") in got
    assert (6, 7, "error", "missing-key") in got
    assert any(c == "dmarc-missing" and s == "warning" for _, _, s, c in got)
    assert got == sorted(got, key=lambda t: (t[0], t[1]))
    assert all(d["file"] == str(bad) for d in lines)
    assert "    hint: did you mean `host`?" in out
    assert out.splitlines()[-1].startswith("1 zone (")
    assert re.search(r": [1-9]\d* errors, 1 warning$", out.splitlines()[-1])


def test_validate_warnings_only_exit_0_unless_strict(good: Path) -> None:
    good.write_text(GOOD.replace('  _dmarc: {TXT: "v=DMARC1; p=reject"}\n', ""), encoding="utf-8")
    code, out, _ = invoke("validate", str(good))
    assert code == 0 and "warning dmarc-missing" in out
    code, out, _ = invoke("validate", "--strict", str(good))
    assert code == 1 and "error dmarc-missing" in out and out.rstrip().endswith("1 error, 0 warnings")


def test_validate_silenced_finding_is_shown_not_counted(good: Path) -> None:
    text = GOOD.replace('  _dmarc: {TXT: "v=DMARC1; p=reject"}\n', "") + "silence: {dmarc-missing: mail goes nowhere}\n"
    good.write_text(text, encoding="utf-8")
    code, out, _ = invoke("validate", "--strict", str(good))
    assert code == 0
    assert "silenced warning dmarc-missing" in out and "silenced because: mail goes nowhere" in out
    assert out.rstrip().endswith("0 errors, 0 warnings, 1 silenced")


def test_validate_json(bad: Path) -> None:
    code, out, _ = invoke("validate", "--format", "json", str(bad))
    assert code == 1
    doc = json.loads(out)
    assert doc["ok"] is False and doc["files"] == [str(bad)]
    assert doc["zones"][0]["origin"] == "example.com."
    first = next(f for f in doc["findings"] if f["code"] == "bad-address")
    assert (first["file"], first["line"], first["column"], first["severity"]) == (str(bad), 5, 45, "error")
    assert doc["summary"]["warnings"] == 1 and doc["summary"]["errors"] >= 3
    code, out, _ = invoke("validate", "--format", "json", str(ZONES))
    assert code == 0 and json.loads(out)["ok"] is True


def test_validate_usage_errors(tmp_path: Path) -> None:
    code, _, err = invoke("validate", str(tmp_path / "missing.yaml"))
    assert code == 2 and "missing.yaml: no such file or folder" in err
    code, _, err = invoke("validate", str(tmp_path))
    assert code == 2 and "no zone files" in err
    notyaml = tmp_path / "zone.yaml"
    notyaml.write_text("$ORIGIN example.com.\n@ 3600 IN SOA ns1 hostmaster 1 2 3 4 5\n", encoding="utf-8")
    code, out, _ = invoke("validate", str(notyaml))
    assert code == 2 and f"{notyaml}:1:1: error not-a-mapping" in out and "zonetool import" in out
    notyaml.write_text("origin: [example.com\n", encoding="utf-8")
    code, out, _ = invoke("validate", str(notyaml))
    assert code == 2 and f"{notyaml}:2:1: error yaml-syntax" in out
    code, _, _ = invoke("validate", "--format", "xml", str(ZONES))
    assert code == 2


def test_compile_text_is_deterministic_and_canonical(good: Path) -> None:
    code, out, _ = invoke("compile", str(good))
    assert code == 0
    again = invoke("compile", str(good))[1]
    assert out == again
    rows = [line.split() for line in out.splitlines() if line and not line.startswith(";")]
    assert rows[0][:4] == ["example.com.", "3600", "IN", "SOA"]
    assert ["example.com.", "3600", "IN", "MX", "10", "mx1.example.com."] in rows
    owners = [r[0] for r in rows]
    assert owners.index("_dmarc.example.com.") < owners.index("mx1.example.com.") < owners.index("ns1.example.com.")


def test_compile_output_is_a_zone_named_checkzone_accepts(good: Path, tmp_path: Path, named_checkzone: str) -> None:
    for path in [good, *sorted(ZONES.glob("*.yaml"))]:
        code, out, _ = invoke("compile", str(path))
        assert code == 0
        origin = out.splitlines()[0].split()[2]
        master = tmp_path / "compiled.zone"
        master.write_text(out, encoding="utf-8")
        run = subprocess.run([named_checkzone, origin, str(master)], capture_output=True, text=True)
        assert run.returncode == 0, run.stdout + run.stderr


def test_compile_json_has_sources(good: Path) -> None:
    code, out, _ = invoke("compile", "--format", "json", str(good))
    assert code == 0
    zone = json.loads(out)["zones"][0]
    mx = next(r for r in zone["records"] if r["type"] == "MX")
    assert mx["data"] == "10 mx1.example.com." and mx["generated_by"] == "mail"
    assert mx["source"] == {"file": str(good), "line": 5, "column": 14, "path": ["mail", "exchangers", 0, "host"]}


def test_compile_of_a_zone_with_errors_prints_what_could_be_built_then_the_findings(bad: Path) -> None:
    # issue 11 A8: it printed only "not compiled: 2 errors"
    code, out, err = invoke("compile", str(bad))
    assert code == 1
    assert "IN SOA" in out and "IN MX" in out  # what could be built
    assert f"{bad}:5:45: error bad-address" in err and "not compiled cleanly" in err
    code, out, _ = invoke("compile", str(bad), "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False and doc["zones"][0]["records"]
    assert any(f["code"] == "bad-address" for f in doc["findings"])


def _installed_zonetool() -> list[str]:
    exe = zonetool_exe()
    return [exe] if exe else [sys.executable, "-m", "zonetool.cli"]


@pytest.mark.parametrize(
    "content",
    [b"\x00\x01\xff binary", b"origin: [\n", b"- a list\n", b"origin: example.com\nttl: {a: b}\nrecords: 7\n"],
)
def test_installed_command_never_prints_a_traceback(tmp_path: Path, content: bytes) -> None:
    p = tmp_path / "input.yaml"
    p.write_bytes(content)
    for args in (["validate", str(p)], ["compile", str(p)], ["validate", "--format", "json", str(p)]):
        run = subprocess.run([*_installed_zonetool(), *args], capture_output=True, text=True, timeout=60)
        assert run.returncode in (1, 2), (args, run.stdout, run.stderr)
        assert "Traceback" not in run.stdout + run.stderr
        assert str(p) in run.stdout + run.stderr


def test_the_installed_command_finds_every_command_and_group() -> None:
    """The entry point registers only the command it is asked for (start-up); help and typos still see all."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([zonetool_exe(), *args], capture_output=True, text=True, timeout=60)

    listing = run("--help")
    assert listing.returncode == 0
    for name in ("validate", "compile", "export", "import", "serve", "route", "rules", "mx", "srv", "record", "fmt",
                 "diff", "schema"):  # fmt: skip
        assert re.search(rf"│ {name}\s", listing.stdout), name
    assert run("validate", "--help").returncode == 0 and "Usage: zonetool validate" in run("validate", "--help").stdout
    assert "Usage: zonetool mx add" in run("mx", "add", "--help").stdout
    typo = run("validat", "zones")
    assert typo.returncode == 2 and "Did you mean 'validate'?" in typo.stderr
    assert run("rules").returncode == 0 and "mx-target-cname" in run("rules").stdout


def test_one_shot_mode_ends_with_the_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """validate/export hand the loader the one-shot policy (frozen zone, forked rules); the loader
    keeps no mode of its own, so a command run in-process leaves nothing behind."""
    from zonetool import loader

    seen: list[bool] = []
    real = loader.load_listed  # what load_paths (validate) and export's staging loader both call

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        policy = args[3] if len(args) > 3 else kwargs.get("policy", loader.LONG_RUNNING)
        seen.append(policy.one_shot and policy.fork)
        return real(*args, **kwargs)

    monkeypatch.setattr(loader, "load_listed", spy)
    assert invoke("validate", str(ZONES))[0] == 0
    assert invoke("export", str(ZONES / "example.com.yaml"), "-o", str(tmp_path / "x.zone"))[0] == 0
    assert invoke("import", str(tmp_path / "x.zone"), "--origin", "example.com", "-o", str(tmp_path / "x.yaml"))[0] == 0
    assert seen == [True, True] and not hasattr(loader, "ONE_SHOT")
