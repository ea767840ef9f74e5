"""The rules as a user meets them: the real `zonetool validate` process, its exit code and output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ZONE = """\
origin: example.com
nameservers: [ns1, ns2]
mail:
  exchangers:
    - {host: mail, priority: 10}
records:
  ns1: {A: 192.0.2.53}
  ns2: {A: 192.0.2.54}
  mail: {CNAME: ns1}
  "@": {TXT: "v=spf1 mx -all"}
  _dmarc: {TXT: "v=DMARC1; p=none"}
"""


def _validate(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "zonetool"
    return subprocess.run([str(exe), "validate", *args], capture_output=True, text=True, check=False, timeout=60)


def test_rule_error_exits_1_with_place_and_hint(tmp_path: Path) -> None:
    path = tmp_path / "example.com.yaml"
    path.write_text(ZONE)
    run = _validate(str(path))
    assert run.returncode == 1
    assert f"{path}:5:14: error mx-target-cname: MX exchange mail is a CNAME" in run.stdout + run.stderr
    assert "hint: name the canonical host name ns1 instead" in run.stdout + run.stderr


def test_json_and_silencing(tmp_path: Path) -> None:
    path = tmp_path / "example.com.yaml"
    fixed = ZONE.replace("  mail: {CNAME: ns1}\n", "  mail: {A: 192.0.2.25}\n").replace(
        '  "@": {TXT: "v=spf1 mx -all"}\n', ""
    )
    path.write_text(fixed + "silence:\n  spf-missing: receives only test mail\n")
    run = _validate("--format", "json", "--strict", str(path))
    assert run.returncode == 0, run.stdout + run.stderr
    findings = json.loads(run.stdout)["findings"]
    assert [(f["code"], f["line"], f["silenced"]) for f in findings] == [("spf-missing", 5, "receives only test mail")]
    path.write_text(fixed)  # not silenced: a warning, which --strict makes fatal
    run = _validate(str(path))
    assert run.returncode == 0 and f"{path}:5:14: warning spf-missing" in run.stdout + run.stderr
    run = _validate("--strict", str(path))
    assert run.returncode == 1 and "spf-missing" in run.stdout + run.stderr


def test_rules_command_lists_the_registry() -> None:
    from zonetool.rules import RULES

    exe = Path(sys.executable).parent / "zonetool"
    run = subprocess.run([str(exe), "rules", "--format", "json"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    listed = json.loads(run.stdout)
    assert [r["code"] for r in listed] == list(RULES)
    cname = next(r for r in listed if r["code"] == "mx-target-cname")
    assert (cname["severity"], cname["family"], cname["rfc"]) == ("error", "mx", "RFC 2181 10.3")
    text = subprocess.run([str(exe), "rules"], capture_output=True, text=True, timeout=60).stdout
    assert len(text.splitlines()) == len(RULES) and "srv-weight-zero-mixed" in text
    wrong = subprocess.run([str(exe), "rules", "mx-target-cnam"], capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 2 and "did you mean 'mx-target-cname'" in wrong.stderr
    assert "Traceback" not in wrong.stderr
