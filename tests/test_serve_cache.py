"""serve --cache (issue 11 B): a warm start answers and judges exactly as a cold one, and a snapshot
that cannot be trusted is said in one line and never used.

Real `zonetool serve` processes asked by dig. Each pair of starts runs with another PYTHONHASHSEED,
as two processes do by default: a snapshot must not carry one process's hashes into the next.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import require_tool
from test_server_cli import ZONETOOL, Serve, dig_short

from zonetool.atomic import write_atomic

PROVIDER = """\
origin: provider.example
soa: {primary: ns1, contact: hostmaster@provider.example, serial: 7}
nameservers: [ns1, ns2]
records:
  "@": {MX: "10 mx1", TXT: "v=spf1 mx -all"}
  _spf: {TXT: "v=spf1 ip4:192.0.2.0/24 -all"}
  ns1: {A: 192.0.2.53}
  ns2: {A: 198.51.100.53}
  mx1: {A: 192.0.2.25}
"""
# the provider without its _spf record: every customer's include of it is then an error (cross-zone)
PROVIDER_NO_SPF = PROVIDER.replace('  _spf: {TXT: "v=spf1 ip4:192.0.2.0/24 -all"}\n', "")


def customer(i: int, last: int = 80) -> str:
    return f"""\
origin: c{i}.example
soa: {{primary: ns1.provider.example., contact: hostmaster@provider.example, serial: 3}}
nameservers: [ns1.provider.example., ns2.provider.example.]
records:
  "@": {{A: 10.{i >> 8}.{i & 255}.{last}, MX: "10 mx1.provider.example.",
        TXT: "v=spf1 include:_spf.provider.example -all"}}
  _dmarc: {{TXT: "v=DMARC1; p=quarantine; rua=mailto:reports@c{i}.example"}}
  www: {{CNAME: "@"}}
  bad: {{MX: "10 nowhere"}}
"""


QUESTIONS = [("c0.example", "MX"), ("c1.example", "A"), ("www.c2.example", "A"), ("_dmarc.c3.example", "TXT"),
             ("provider.example", "TXT"), ("_spf.provider.example", "TXT"), ("c4.example", "SOA"),
             ("nothing.c0.example", "A"), ("c9.example", "A")]
WARM = r"warm start from (\S+): ([\d,]+) of ([\d,]+) file\(s\) as they were, ([\d,]+) read"


@pytest.fixture(scope="module")
def dig() -> str:
    return require_tool("dig")


def zones(folder: Path, count: int = 8) -> Path:
    folder.mkdir()
    (folder / "provider.example.yaml").write_text(PROVIDER)
    for i in range(count):
        (folder / f"c{i}.example.yaml").write_text(customer(i))
    return folder


class Run:
    """One `zonetool serve` from its start to its stop: what it said before serving, what it answered."""

    def __init__(self, args: list[str], seed: int, cwd: Path) -> None:
        os.environ["PYTHONHASHSEED"] = str(seed)  # Serve copies the environment
        try:
            self.serve = Serve(*args, cwd=cwd)
        finally:
            del os.environ["PYTHONHASHSEED"]
        self.serve.started()
        lines = self.serve.err_lines
        self.findings = sorted(x for x in lines[:-1] if not x.startswith("zonetool: "))
        self.said = [x for x in lines if x.startswith("zonetool: ")]

    def answers(self, dig: str) -> list[str]:
        return [dig_short(dig, self.serve.port, "+norec", name, qtype) + f" / {name} {qtype}"
                for name, qtype in QUESTIONS]

    def wait_written(self) -> None:
        self.serve.wait_err(r"cache: snapshot of .* written to ", timeout=60)

    def stop(self) -> list[str]:
        self.serve.stop()
        rest = []
        while not self.serve.err.empty():
            rest.append(self.serve.err.get())
        return self.serve.err_lines + rest


def cold_and_warm(tmp_path: Path) -> tuple[Path, list[str]]:
    folder = zones(tmp_path / "zones")
    cache = tmp_path / "cache"
    return folder, ["zones", "--cache", str(cache), "--quiet"]


def test_a_warm_start_answers_and_judges_as_a_cold_one(tmp_path: Path, dig: str) -> None:
    _, args = cold_and_warm(tmp_path)
    cold = Run(args, 1, tmp_path)
    assert not any("warm start" in x for x in cold.said)
    cold_answers = cold.answers(dig)
    cold.wait_written()
    cold.stop()
    assert any("mx-target-no-address" in f for f in cold.findings) and any("dmarc-missing" in f for f in cold.findings)
    snapshot = next((tmp_path / "cache").glob("snapshot-*.pickle"))
    assert snapshot.stat().st_mode & 0o777 == 0o600 and snapshot.parent.stat().st_mode & 0o777 == 0o700

    warm = Run(args, 2, tmp_path)
    said = " ".join(warm.said)
    match = re.search(WARM, said)
    assert match and match.group(2) == match.group(3) == "9" and match.group(4) == "0", warm.said
    assert warm.answers(dig) == cold_answers
    assert warm.findings == cold.findings
    assert not any("cache:" in x for x in warm.stop())  # nothing changed: nothing to write again


def test_files_edited_added_and_removed_while_stopped_are_seen(tmp_path: Path, dig: str) -> None:
    folder, args = cold_and_warm(tmp_path)
    first = Run(args, 3, tmp_path)
    first.wait_written()
    first.stop()
    write_atomic(folder / "c1.example.yaml", customer(1, last=99))  # edited
    (folder / "c9.example.yaml").write_text(customer(9))  # added
    (folder / "c5.example.yaml").unlink()  # removed
    (folder / "provider.example.yaml").write_text(PROVIDER_NO_SPF)  # reaches every customer's findings
    # an edit that keeps the size and the mtime (cp -p, rsync -t): the ctime still tells
    c2 = folder / "c2.example.yaml"
    st = c2.stat()
    c2.write_text(customer(2).replace("10.0.2.80", "10.0.2.81"))
    os.utime(c2, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert c2.stat().st_size == st.st_size and c2.stat().st_mtime_ns == st.st_mtime_ns

    warm = Run(args, 4, tmp_path)
    match = re.search(WARM, " ".join(warm.said))
    assert match and match.group(2) == "5" and match.group(3) == "9" and match.group(4) == "4", warm.said
    answers = warm.answers(dig)
    warm.wait_written()  # files were read: a new snapshot
    warm.stop()
    cold = Run([*args[:1], "--no-cache", "--quiet"], 5, tmp_path)
    assert answers == cold.answers(dig)
    cold.stop()
    assert warm.findings == cold.findings
    assert any("spf-include-no-spf" in f for f in warm.findings)
    assert "10.0.1.99" in answers[1] and "10.0.2.81" in answers[2] and answers[8].startswith("10.0.9.80")

    again = Run(args, 6, tmp_path)  # the new snapshot holds the new versions
    match = re.search(WARM, " ".join(again.said))
    assert match and match.group(4) == "0", again.said
    assert again.answers(dig) == answers and again.findings == cold.findings
    again.stop()


def _corrupt(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 16] = bytes(b ^ 0x5A for b in data[middle:middle + 16])
    path.write_bytes(bytes(data))


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size * 2 // 3])


def _foreign(path: Path) -> None:
    head, _, body = path.read_bytes().partition(b"\n")
    parts = head.split(b" ")
    parts[2] = b"0" * len(parts[2])  # another zonetool, Python or rule set
    path.write_bytes(b" ".join(parts) + b"\n" + body)


def _not_a_snapshot(path: Path) -> None:
    path.write_bytes(b"hello\n")


def _file_open_to_others(path: Path) -> None:
    path.chmod(0o644)


def _folder_open_to_others(path: Path) -> None:
    path.parent.chmod(0o755)


BAD = {
    "corrupted": (_corrupt, "damaged: its checksum does not match"),
    "truncated": (_truncate, "damaged: .* octets \\(truncated\\?\\)"),
    "foreign": (_foreign, "made by another zonetool, Python or rule set"),
    "not-a-snapshot": (_not_a_snapshot, "not a zonetool snapshot"),
    "file-mode": (_file_open_to_others, "is open to others \\(mode 0644\\): not read \\(chmod 600 "),
    "folder-mode": (_folder_open_to_others, "is open to others \\(mode 0755\\): not read \\(chmod 700 "),
}


@pytest.mark.parametrize("damage", sorted(BAD))
def test_a_snapshot_that_cannot_be_trusted_is_one_line_and_a_cold_start(tmp_path: Path, dig: str,
                                                                        damage: str) -> None:
    _, args = cold_and_warm(tmp_path)
    first = Run(args, 7, tmp_path)
    expected = first.answers(dig)
    first.wait_written()
    first.stop()
    snapshot = next((tmp_path / "cache").glob("snapshot-*.pickle"))
    spoil, why = BAD[damage]
    spoil(snapshot)

    run = Run(args, 8, tmp_path)
    cache_lines = [x for x in run.said if "cache:" in x]
    assert len(cache_lines) == 1 and re.search(why, cache_lines[0]) and cache_lines[0].endswith("; starting cold"), \
        run.said
    assert not any("warm start" in x for x in run.said)
    assert run.answers(dig) == expected and run.findings == first.findings
    if damage == "folder-mode":  # a folder others can write to is not written to either
        time.sleep(1)
        lines = run.stop()
        assert not any("written" in x for x in lines)
    else:  # the cold start puts a good snapshot in its place
        run.wait_written()
        run.stop()
        again = Run(args, 9, tmp_path)
        assert re.search(WARM, " ".join(again.said)), again.said
        again.stop()
    assert not any("Traceback" in x for x in run.serve.err_lines)


def test_a_start_killed_while_writing_leaves_the_old_snapshot_or_none(tmp_path: Path, dig: str) -> None:
    """SIGKILL at several moments of the background write: the next start is warm or plainly cold,
    never 'damaged' (zonetool.atomic: temporary file, then rename)."""
    folder = zones(tmp_path / "zones", count=300)
    args = ["zones", "--cache", str(tmp_path / "cache"), "--quiet"]
    outcomes = set()
    for k, delay in enumerate((0.0, 0.05, 0.15, 0.3, 0.6)):
        (folder / "c0.example.yaml").write_text(customer(0, last=k))  # a change: every start writes
        run = Run(args, 10 + k, tmp_path)
        time.sleep(delay)
        run.serve.proc.send_signal(signal.SIGKILL)
        run.serve.proc.wait(10)
        lines = run.stop()
        outcomes.add(any("written" in x for x in lines))
        after = Run(args, 20 + k, tmp_path)
        assert not any("cache:" in x and "starting cold" in x for x in after.said), after.said
        assert dig_short(dig, after.serve.port, "+norec", "c0.example", "A") == f"10.0.0.{k}"
        warm = re.search(WARM, " ".join(after.said))
        if warm is None or warm.group(4) != "0":  # it read c0 again: it writes (and sweeps) before it stops
            after.wait_written()
        after.stop()
    # one snapshot, and no killed writer's temporary file: the next write in the folder sweeps them
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [snapshot.name for snapshot in
                                                               (tmp_path / "cache").glob("snapshot-*.pickle")]
    assert len(list((tmp_path / "cache").glob("snapshot-*.pickle"))) == 1
    assert False in outcomes  # at least one start was killed before its snapshot was out


def test_no_cache_writes_nothing(tmp_path: Path) -> None:
    zones(tmp_path / "zones")
    home = tmp_path / "xdg"
    env = {**os.environ, "XDG_CACHE_HOME": str(home)}
    proc = subprocess.Popen([*ZONETOOL, "serve", "zones", "--no-cache", "--quiet", "--port", "0"], cwd=tmp_path,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "serving" in line:
                break
        time.sleep(1)
    finally:
        proc.terminate()
        proc.wait(10)
    assert not home.exists()


def test_a_cache_folder_that_cannot_be_is_one_line(tmp_path: Path, dig: str) -> None:
    zones(tmp_path / "zones")
    (tmp_path / "file").write_text("not a folder\n")
    run = Run(["zones", "--cache", str(tmp_path / "file" / "cache"), "--quiet"], 30, tmp_path)
    assert run.answers(dig)[0].startswith("10 mx1.provider.example.")
    time.sleep(1)
    lines = [x for x in run.stop() if "cache:" in x]
    assert len(lines) == 1 and "Not a directory; starting cold" in lines[0], lines
