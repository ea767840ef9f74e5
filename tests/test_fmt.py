"""zonetool fmt: one canonical layout, every comment kept, idempotent; --check for CI and pre-commit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML
from typer.testing import CliRunner

from zonetool.cli import app
from zonetool.diff import diff_zones
from zonetool.loader import load_text
from zonetool.source.yaml_fmt import EditError, comments_of, format_text

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "edit"
FILES = [DATA / "commented.yaml", DATA / "messy.yaml", *sorted((ROOT / "zones").glob("**/*.yaml"))]
runner = CliRunner()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_fmt_is_idempotent_keeps_comments_and_records(path: Path) -> None:
    text = path.read_text()
    once = format_text(text)
    assert format_text(once) == once
    assert not comments_of(text) - comments_of(once)
    before, _ = load_text(text, str(path))
    after, _findings = load_text(once, str(path))
    assert before is not None and after is not None
    assert diff_zones(before, after, ignore_serial=False) == []


def test_messy_zone_gets_the_canonical_layout() -> None:
    assert format_text((DATA / "messy.yaml").read_text()) == (
        "# messy but valid\n"
        "origin: example.org\n"
        "soa:\n"
        "  primary: ns1\n"
        "  serial: 7     # manual\n"
        "nameservers: [ns1]\n"
        "mail:\n"
        "  exchangers:\n"
        "    - {host: mx1, priority: 10, addresses: [192.0.2.10]}\n"
        "  srv: true\n"
        "records:\n"
        '  www: {CNAME: "@"}\n'
        "  ns1:\n"
        "    A: 192.0.2.53\n"
    )


def test_commented_block_items_stay_block_and_targets_are_reordered() -> None:
    text = (DATA / "commented.yaml").read_text()
    out = format_text(text)
    assert "      - host: sip          # the SIP proxy\n        port: 5060\n        priority: 0\n" in out
    assert "- {host: xmpp2, port: 5269, priority: 5, weight: 30}" in out
    # the comment that introduces records: stays right above it
    assert "# --- everything else ---\nrecords:" in out


def test_long_items_stay_in_block_style() -> None:
    text = "origin: example.org\nmail:\n  exchangers:\n    - host: mx1\n      priority: 10\n      addresses:\n"
    text += "".join(f"        - 192.0.2.{n}\n" for n in range(1, 7))
    out = format_text(text)
    assert "    - host: mx1\n      priority: 10\n      addresses: [" in out
    assert format_text(out) == out


def test_unparseable_yaml_is_an_error_not_a_crash(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("origin: [unclosed\n")
    result = runner.invoke(app, ["fmt", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2:1: error yaml-syntax: " in result.output  # the same message and place as validate
    with pytest.raises(EditError):
        format_text("- just\n- a list\n")


def test_cli_check_lists_files_and_exits_1_then_fmt_fixes_them(tmp_path: Path) -> None:
    messy = tmp_path / "messy.yaml"
    messy.write_text((DATA / "messy.yaml").read_text())
    tidy = tmp_path / "tidy.yaml"
    tidy.write_text(format_text((DATA / "commented.yaml").read_text()))
    before = messy.read_bytes()
    result = runner.invoke(app, ["fmt", "--check", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip() == f"would reformat {messy}"
    assert messy.read_bytes() == before
    mode = 0o640
    messy.chmod(mode)
    result = runner.invoke(app, ["fmt", str(messy), str(tidy)])
    assert result.exit_code == 0 and f"reformatted {messy}" in result.output
    assert messy.stat().st_mode & 0o777 == mode
    assert runner.invoke(app, ["fmt", "--check", str(tmp_path)]).exit_code == 0


def test_pre_commit_hooks_run_validate_and_fmt_check() -> None:
    hooks = YAML(typ="safe").load((ROOT / ".pre-commit-hooks.yaml").read_text())
    entries = {h["id"]: h["entry"] for h in hooks}
    assert entries == {"zonetool-validate": "zonetool validate", "zonetool-fmt": "zonetool fmt --check"}
    for hook in hooks:
        assert hook["language"] == "python"
        assert re.search(hook["files"], "zones/example.com.yaml")
        assert not re.search(hook["files"], "zones/example.com.zone")
