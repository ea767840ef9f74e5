"""Hostile files (issue 16): every command that reads YAML refuses alias bombs and absurd
nesting with one placed message, quickly, without a traceback; folders, FIFOs and links."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest
from conftest import MAIL_ZONE, zonetool_exe

from zonetool.source import yaml as yaml_source

PLACED = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): error yaml-limit: ", re.M)


def billion_laughs() -> str:
    """9 levels of 9 aliases each: 9^9 (387 million) strings once expanded."""
    lines = ["origin: example.com", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    lines += ["records:", "  www:", "    TXT: *a9"]
    return "\n".join(lines) + "\n"


def deep(levels: int = 10_000) -> str:
    """A valid zone whose `records:` holds a mapping `levels` deep (block style needs no
    flow-level scanner; libyaml's own limit is 1000 levels, ours is far lower)."""
    return "origin: example.com\nrecords:\n  x:\n" + "".join(f"{'  ' * (i + 2)}k:\n" for i in range(levels)) + \
        f"{'  ' * (levels + 2)}v\n"


def deep_flow(levels: int = 10_000) -> str:
    return "origin: example.com\nrecords: " + "[" * levels + "]" * levels + "\n"


HOSTILE = {"bomb": billion_laughs(), "deep": deep(), "deep-flow": deep_flow()}

# (name, argv with FILE for the hostile zone's path, expected exit code: the command's README code
# for a file that is not a usable zone)
COMMANDS = [
    ("validate", ["validate", "FILE"], 2),
    ("compile", ["compile", "FILE"], 2),
    ("export", ["export", "FILE", "-o", "OUT"], 2),
    ("diff", ["diff", "FILE", "FILE"], 2),
    ("route", ["route", "--zone", "FILE", "postmaster@example.com"], 1),
    ("serve", ["serve", "--port", "0", "FILE"], 1),
    ("fmt", ["fmt", "FILE"], 2),
    ("fmt --check", ["fmt", "--check", "FILE"], 2),
    ("mx add", ["mx", "add", "FILE", "mx9", "--priority", "90"], 2),
    ("srv add", ["srv", "add", "FILE", "_sip._tcp", "sip", "--priority", "1", "--weight", "1", "--port", "5060"], 2),
    ("record add", ["record", "add", "FILE", "www", "A", "192.0.2.1"], 2),
]


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize(("name", "argv", "exit_code"), COMMANDS, ids=[c[0] for c in COMMANDS])
def test_hostile_yaml_refused(tmp_path: Path, kind: str, name: str, argv: list[str], exit_code: int) -> None:
    path = tmp_path / f"{kind}.yaml"
    path.write_text(HOSTILE[kind], encoding="utf-8")
    before = path.read_bytes()
    args = [str(path) if a == "FILE" else str(tmp_path / "out.zone") if a == "OUT" else a for a in argv]
    start = time.monotonic()
    proc = subprocess.run([zonetool_exe(), *args], capture_output=True, text=True, timeout=60)
    elapsed = time.monotonic() - start
    assert proc.returncode == exit_code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr + proc.stdout
    out = proc.stdout + proc.stderr
    placed = PLACED.findall(out)
    assert len(placed) == 1, out  # one message, with file:line:col
    assert PLACED.search(out).group("file") == str(path)  # type: ignore[union-attr]
    assert elapsed < 20, elapsed  # seconds, on a loaded 2-core machine; before the fix: > 120 s or a crash
    assert path.read_bytes() == before
    assert not (tmp_path / "out.zone").exists()


def test_limits_messages_and_positions() -> None:
    with pytest.raises(yaml_source.YamlSyntax) as bomb:
        yaml_source.check_limits(billion_laughs(), "z.yaml")
    f = bomb.value.finding
    assert (f.code, f.where.file) == ("yaml-limit", "z.yaml")
    assert "100,000 nodes" in f.message
    # the alias that crosses the limit: a1..a4 expand to 74,718 nodes, a5's first *a4 adds 66,430
    assert (f.where.line, f.where.column) == (7, 10)
    with pytest.raises(yaml_source.YamlSyntax) as nested:
        yaml_source.check_limits(deep(100), "z.yaml")
    assert nested.value.finding.where.line == 3 + yaml_source.MAX_DEPTH - 1
    with pytest.raises(yaml_source.YamlSyntax) as recursive:
        yaml_source.load("origin: example.com\nx: &a [1, *a]\n", "z.yaml")
    assert "recursive" in recursive.value.finding.message


def test_limits_leave_real_zones_alone(tmp_path: Path) -> None:
    """Aliases a zone really uses (a shared list of exchangers) and nesting at the limit are fine."""
    text = MAIL_ZONE + "\nx-shared: &addrs [192.0.2.10, 192.0.2.11]\n"
    yaml_source.check_limits(text)
    yaml_source.check_limits(deep(yaml_source.MAX_DEPTH - 3))  # 3 containers above the chain
    data, findings = yaml_source.load(text)
    assert data["x-shared"] == ["192.0.2.10", "192.0.2.11"] and not findings


def test_fifo_given_by_name_is_read(tmp_path: Path) -> None:
    """`zonetool validate <(generate)`: process substitution, a FIFO by name, is read."""
    zone = tmp_path / "z.yaml"
    zone.write_text(MAIL_ZONE, encoding="utf-8")
    proc = subprocess.run(["bash", "-c", f'"{zonetool_exe()}" validate <(cat "{zone}")'],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "1 zone (" in proc.stdout
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    writer = subprocess.Popen(["bash", "-c", f'cat "{zone}" > "{fifo}"'])
    try:
        proc = subprocess.run([zonetool_exe(), "validate", str(fifo)], capture_output=True, text=True, timeout=60)
    finally:
        writer.wait(timeout=30)
    assert proc.returncode == 0, proc.stderr
    assert "1 zone (" in proc.stdout


def test_fifo_in_folder_skipped_with_note(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MAIL_ZONE, encoding="utf-8")
    os.mkfifo(tmp_path / "b.yaml")  # nobody writes it: reading it would hang the scan
    (tmp_path / "c.yaml").symlink_to("c.yaml")  # a loop
    proc = subprocess.run([zonetool_exe(), "validate", str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{tmp_path / 'b.yaml'}: warning skipped-file: skipped: not a regular file" in proc.stdout
    assert f"{tmp_path / 'c.yaml'}: warning skipped-file: skipped: symbolic link loop" in proc.stdout
    assert "1 zone (" in proc.stdout


def test_fmt_of_a_folder_notes_what_it_skips(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(MAIL_ZONE, encoding="utf-8")
    os.mkfifo(tmp_path / "b.yaml")
    proc = subprocess.run([zonetool_exe(), "fmt", "--check", str(tmp_path)], capture_output=True, text=True,
                          timeout=60)
    assert f"{tmp_path / 'b.yaml'}: warning skipped-file: skipped: not a regular file" in proc.stderr
    assert "Traceback" not in proc.stderr
