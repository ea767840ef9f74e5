"""Messages for files that cannot be read as asked (issue 16, item 13; and the BIND reader's
memory for one huge string, item 12): each says what is wrong and where, with one meaning."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import MAIL_ZONE, zonetool_exe

SOA = "$ORIGIN example.com.\n$TTL 300\n@ IN SOA ns1 host 1 2 3 4 5\n@ IN NS ns1\nns1 IN A 192.0.2.1\n"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([zonetool_exe(), *args], capture_output=True, text=True, timeout=120, cwd=cwd)
    assert "Traceback" not in proc.stdout + proc.stderr
    return proc


def test_symlink_loop_is_named(tmp_path: Path) -> None:
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop.name)
    for argv in (["validate", str(loop)], ["fmt", str(loop)], ["record", "add", str(loop), "a", "A", "192.0.2.1"]):
        proc = run(*argv)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert f"{loop}: symbolic link loop" in proc.stderr, (argv, proc.stderr)
    dangling = tmp_path / "gone.yaml"
    dangling.symlink_to("nowhere.yaml")
    proc = run("validate", str(dangling))
    assert proc.returncode == 2
    assert f"{dangling}: symbolic link to nowhere.yaml, which does not exist" in proc.stderr


def test_fmt_of_a_bind_file_is_a_usage_error(tmp_path: Path) -> None:
    zone = tmp_path / "example.com.zone"
    zone.write_text(SOA)
    proc = run("fmt", str(zone))
    assert proc.returncode == 2
    assert f"{zone}: is a BIND zone file; fmt formats YAML zones only" in proc.stderr
    assert zone.read_text() == SOA
    folder = tmp_path / "only-bind"
    folder.mkdir()
    (folder / "example.com.zone").write_text(SOA)
    proc = run("fmt", str(folder))
    assert proc.returncode == 2 and "no YAML zone files" in proc.stderr


def test_not_utf8_means_the_same_everywhere(tmp_path: Path) -> None:
    """Offset and value of the byte, and its line, in validate (YAML and BIND), import and the edits."""
    yaml_zone = tmp_path / "z.yaml"
    data = MAIL_ZONE.encode()
    cut = data.index(b"\n", 10) + 1  # the start of line 2
    yaml_zone.write_bytes(data[:cut] + b"# caf\xe9\n" + data[cut:])
    offset = cut + len(b"# caf")
    expected = f"not UTF-8 text: byte 0xe9 at offset {offset} (line 2)"
    for argv in (["validate", str(yaml_zone)], ["fmt", str(yaml_zone)], ["mx", "add", str(yaml_zone), "m", "-p", "5"]):
        proc = run(*argv)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert f"{yaml_zone}:2:6: error not-text: {expected}" in proc.stdout + proc.stderr, (argv, proc.stderr)
    bind = tmp_path / "example.com.zone"
    raw = SOA.encode() + b'www IN TXT "caf\xe9"\n'
    bind.write_bytes(raw)
    bad_at = raw.index(b"\xe9")
    bind_expected = f"not UTF-8 text: byte 0xe9 at offset {bad_at} (line 6)"
    proc = run("validate", str(bind))
    assert proc.returncode == 2  # validate: not a zone file it can read (README exit codes)
    assert f"{bind}:6:16: error not-text: {bind_expected}" in proc.stdout
    proc = run("import", str(bind))
    assert proc.returncode == 1  # import: a file it cannot read is exit 1, as a syntax error
    assert f"{bind}:6:16: error not-text: {bind_expected}" in proc.stderr


def test_include_error_names_the_including_zone(tmp_path: Path) -> None:
    zone = tmp_path / "example.com.zone"
    zone.write_text(SOA + "$INCLUDE part.inc\n")
    (tmp_path / "part.inc").write_text("www IN A 192.0.2.300\n")
    where = f"(in the file included at {zone}:6:10)"
    proc = run("validate", str(zone))
    assert proc.returncode == 1
    assert f"{tmp_path / 'part.inc'}:1:10: error bind-syntax: " in proc.stdout and where in proc.stdout
    proc = run("import", str(zone))
    assert proc.returncode == 1 and where in proc.stderr
    (tmp_path / "part.inc").write_bytes(b"www IN TXT \"\xff\"\n")
    proc = run("validate", str(zone))
    assert "not UTF-8 text: byte 0xff at offset 12 (line 1)" in proc.stdout and where in proc.stdout


PEAK = r"""
import json, resource, subprocess, sys
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"rc": proc.returncode, "out": proc.stdout + proc.stderr,
                  "kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def peak(*argv: str) -> dict[str, object]:
    """Exit code, output and peak RSS (KiB) of one command, measured by a fresh parent."""
    proc = subprocess.run([sys.executable, "-c", PEAK, *argv], capture_output=True, text=True, timeout=300)
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_bind_huge_string_memory_is_proportional(tmp_path: Path) -> None:
    """One 10 MB quoted string (and one of 2.5M escapes): the "at most 255" error, in memory a
    small multiple of the input (before: 2.0 GB, about 200 octets per octet)."""
    for name, body in (("plain", "a" * 10_000_000), ("escapes", "\\065" * 2_500_000)):
        zone = tmp_path / name / "example.com.zone"
        zone.parent.mkdir()
        zone.write_text(SOA + f'big IN TXT "{body}"\n')
        for command in ("validate", "import"):
            got = peak(zonetool_exe(), command, str(zone))
            assert got["rc"] == 1, got
            assert "255" in str(got["out"]), got["out"]
            assert int(got["kib"]) < 400 * 1024, (name, command, got["kib"])  # 10 MB in: ~80 MB measured
