"""With `--format json`, a refused command prints one JSON document too (issue 11 A12).

A program that asked for JSON must not have to parse an English sentence on stderr to learn why
nothing happened: stdout holds `{"ok": false, "error": ..., "exit": N}` (plus the findings where
there are some), stderr keeps the same one line a person reads, and the exit code is unchanged.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import zonetool_exe

ZONE = """\
origin: acme.example.
nameservers: [ns1.acme.example.]
records:
  ns1: {A: 192.0.2.53}
  "@": {TXT: "v=spf1 -all"}
"""

BIND = """\
$ORIGIN other.example.
$TTL 3600
@ IN SOA ns1 hostmaster 1 3600 900 604800 300
@ IN NS ns1
ns1 IN A 192.0.2.53
"""


def zonetool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([zonetool_exe(), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def here(tmp_path: Path) -> Path:
    (tmp_path / "acme.yaml").write_text(ZONE)
    (tmp_path / "other.zone").write_text(BIND)
    (tmp_path / "keep.yaml").write_text("# hand-written\n" + ZONE)
    return tmp_path


CASES = {
    "validate a missing file": (["validate", "nope.yaml"], "no such file or folder"),
    "compile a missing file": (["compile", "nope.yaml"], "no such file or folder"),
    "export a missing file": (["export", "nope.yaml"], "no such file or folder"),
    "import at the wrong origin": (["import", "other.zone", "--origin", "wrong.example"], "no SOA and no NS"),
    "import over a kept file": (["import", "other.zone", "--origin", "other.example", "-o", "keep.yaml"],
                                "give --force"),
    "diff with one zone": (["diff", "acme.yaml"], "give either OLD NEW"),
    "fmt of a BIND file": (["fmt", "other.zone"], "fmt formats YAML zones only"),
    "an edit that brings in a finding, strict": (
        ["record", "add", "acme.yaml", "@", "TXT", "v=spf1 mx -all", "--strict"], "--strict"),
    "an unknown rule": (["rules", "no-such-rule"], "no rule has the code"),
    "route with nothing to read": (["route", "acme.example."], "give the zones to read"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_refusal_is_a_json_document(here: Path, name: str) -> None:
    args, words = CASES[name]
    plain = zonetool(*args, cwd=here)
    as_json = zonetool(*args, "--format", "json", cwd=here)
    assert plain.returncode != 0, plain
    assert as_json.returncode == plain.returncode, (as_json.stdout, as_json.stderr)
    doc = json.loads(as_json.stdout)  # exactly one document, nothing else on stdout
    assert doc["ok"] is False
    assert doc["exit"] == plain.returncode
    assert words in doc["error"], doc
    assert "Traceback" not in as_json.stderr
    # the person reading stderr sees the same line as without --format json
    assert plain.stderr.strip().splitlines()[-1] in as_json.stderr
    assert (here / "keep.yaml").read_text().startswith("# hand-written")


def test_findings_that_led_to_a_refusal_are_in_the_document(here: Path) -> None:
    result = zonetool("record", "add", "acme.yaml", "@", "TXT", "v=spf1 mx -all", "--strict", "--format", "json",
                      cwd=here)
    doc = json.loads(result.stdout)
    assert [f["code"] for f in doc["findings"]], doc
    assert all(f["file"] == "acme.yaml" for f in doc["findings"])


def test_text_mode_prints_no_json(here: Path) -> None:
    result = zonetool("validate", "nope.yaml", cwd=here)
    assert result.stdout == ""
    assert result.stderr.startswith("zonetool: nope.yaml: no such file or folder")
