"""`kill -9` of a command that writes (issue 16, item 8): its forked children die with it, and
no temporary file survives the next run; the output is the old file or the complete new one."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, zonetool_exe

from zonetool.atomic import TMP_MARK, sweep


def processes_mentioning(tag: str) -> list[tuple[int, str]]:
    """(pid, state) of every live process whose command line contains `tag` (zombies excluded)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if tag.encode() in cmdline and state != "Z":
            found.append((int(entry), state))
    return found


def temporaries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if TMP_MARK in p.name)


@pytest.mark.slow
def test_kill_9_export_at_random_moments(tmp_path: Path) -> None:
    if not Path("/proc/self/cmdline").exists():
        pytest.skip("needs /proc to find the children")  # pragma: no cover - Linux has it
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "genzone.py"), "60000", str(tmp_path / "gen")],
                   check=True, timeout=120)
    zone = tmp_path / "gen" / "bench.example.yaml"
    out = tmp_path / "out-unique-folder"
    out.mkdir()
    target = out / "bench.example.zone"
    cmd = [zonetool_exe(), "export", str(zone), "-o", f"{out}/"]
    start = time.monotonic()
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    duration = time.monotonic() - start
    complete = target.read_bytes()
    target.unlink()
    rng = random.Random(16)
    survivors: list[tuple[int, str]] = []
    with_children = 0
    for _ in range(12):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.05, duration * 1.1))
        if len(processes_mentioning(str(out))) > 1:
            with_children += 1
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 0.5  # before the fix children lived on for up to 1.35 s
        while (alive := processes_mentioning(str(out))) and time.monotonic() < deadline:
            time.sleep(0.02)
        survivors += alive
        for pid, _ in alive:  # never leave them behind, even when the test fails
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if target.exists():  # never half a file: the old one or the complete new one
            assert target.read_bytes() == complete
    assert survivors == []
    assert with_children >= 1  # some kills caught the rules or the BIND text being made in a child
    subprocess.run(cmd, check=True, capture_output=True, timeout=300)
    assert temporaries(out) == []
    assert target.read_bytes() == complete


KILLED_WRITER = r"""
import os, sys, time
from zonetool import atomic
os.fsync = lambda fd: time.sleep(600)  # hold the write between the temporary file and the rename
atomic.write_atomic(sys.argv[1], "new\n" * 100_000)
"""


def test_temporary_of_a_killed_writer_is_removed_by_the_next_write(tmp_path: Path) -> None:
    target = tmp_path / "z.zone"
    target.write_text("old\n")
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(target)])
    try:
        deadline = time.monotonic() + 60
        while not temporaries(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert temporaries(tmp_path) == [f".z.zone{TMP_MARK}{proc.pid}-0"]
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert target.read_text() == "old\n"  # the killed write changed nothing
    mine = tmp_path / f".other.zone{TMP_MARK}{os.getpid()}-999"  # a live writer's: kept
    mine.write_text("in progress")
    assert sweep(tmp_path) == [f".z.zone{TMP_MARK}{proc.pid}-0"]
    assert temporaries(tmp_path) == [mine.name]
    (tmp_path / f".z.zone{TMP_MARK}{proc.pid}-0").write_text("again")
    subprocess.run([sys.executable, "-c", "import sys; from zonetool.atomic import write_atomic; "
                    "write_atomic(sys.argv[1], 'new\\n')", str(target)], check=True, timeout=60)
    assert target.read_text() == "new\n"
    assert temporaries(tmp_path) == [mine.name]


def test_forked_child_dies_with_its_parent(tmp_path: Path) -> None:
    """A parent killed while its child works: the child is gone at once (PR_SET_PDEATHSIG),
    and with prctl unavailable the lifeline pipe ends it too."""
    script = r"""
import os, sys, time
from zonetool import forked
if sys.argv[1] == "pipe":
    forked.PR_SET_PDEATHSIG = 0  # prctl(0, ...) is refused: only the lifeline is left
child = forked.start(lambda: time.sleep(600))
print(child.pid, flush=True)
time.sleep(600)
"""
    for mode in ("prctl", "pipe"):
        proc = subprocess.Popen([sys.executable, "-c", script, mode, str(tmp_path)], stdout=subprocess.PIPE, text=True)
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        time.sleep(0.3)
        assert processes_mentioning(str(tmp_path)), "the child should be running"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 5
        while processes_mentioning(str(tmp_path)) and time.monotonic() < deadline:
            time.sleep(0.02)
        alive = processes_mentioning(str(tmp_path))
        for pid, _ in alive:  # never leave a 600 s sleeper behind, even when the test fails
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert alive == [], (mode, child)
