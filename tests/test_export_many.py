"""`export` of many zones writes every file atomically with one sync, not two fsyncs per file
(issue 11 B: 10,000 zones took 30 s of fsyncs), and a failure midway replaces nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from zonetool import atomic
from zonetool.cli.app import app

ZONE = """origin: z{i}.example
ttl: 1h
soa: {{primary: ns1, contact: hostmaster@z{i}.example, serial: 1, refresh: 2h, retry: 30m, expire: 2w, negative: 5m}}
nameservers: [ns1, ns2]
records:
  ns1: {{A: 192.0.2.1}}
  ns2: {{A: 192.0.2.2}}
  www: {{A: 192.0.2.{i}}}
"""


def count_syncs(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    calls = {"fsync": 0, "sync": 0}
    real_fsync, real_sync = os.fsync, os.sync

    def fsync(fd: int) -> None:
        calls["fsync"] += 1
        real_fsync(fd)

    def sync() -> None:
        calls["sync"] += 1
        real_sync()

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "sync", sync)
    return calls


def test_export_of_200_zones_syncs_once_and_writes_every_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src, out = tmp_path / "zones", tmp_path / "out"
    src.mkdir()
    for i in range(200):
        (src / f"z{i}.example.yaml").write_text(ZONE.format(i=i))
    calls = count_syncs(monkeypatch)
    result = CliRunner().invoke(app, ["export", str(src), "-o", f"{out}/"])
    assert result.exit_code == 0, result.output
    assert calls == {"fsync": 1, "sync": 1}  # the folder once, the files' data once
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(f"z{i}.example.zone" for i in range(200))  # no temporary file left
    assert "www" in (out / "z7.example.zone").read_text() and "192.0.2.7" in (out / "z7.example.zone").read_text()


def test_a_failure_midway_replaces_nothing_and_leaves_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    targets = [tmp_path / f"f{i}.zone" for i in range(5)]
    for t in targets:
        t.write_text("old\n")
    real = atomic._temporary
    made = []

    def failing(path: Path, folder: Path, data: bytes, sync: bool) -> Path:
        if len(made) == 3:
            raise OSError(28, "No space left on device")
        made.append(path)
        return real(path, folder, data, sync)

    monkeypatch.setattr(atomic, "_temporary", failing)
    with pytest.raises(OSError):
        atomic.write_atomic_many([(t, "new\n") for t in targets])
    assert [t.read_text() for t in targets] == ["old\n"] * 5
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(t.name for t in targets)


def test_modes_are_kept_as_write_atomic_keeps_them(tmp_path: Path) -> None:
    old, new = tmp_path / "old.zone", tmp_path / "new.zone"
    old.write_text("old\n")
    old.chmod(0o640)
    atomic.write_atomic_many([(old, "a\n"), (new, b"b\n")])
    assert old.read_text() == "a\n" and new.read_text() == "b\n"
    assert old.stat().st_mode & 0o777 == 0o640
    single = tmp_path / "single.zone"
    atomic.write_atomic(single, "c\n")
    assert new.stat().st_mode & 0o777 == single.stat().st_mode & 0o777


def test_a_late_error_leaves_no_file_no_temporary_and_no_new_folder(tmp_path: Path) -> None:
    """Files are staged as each zone is judged; a zone with an error at the end still means nothing is written."""
    src, out, old = tmp_path / "zones", tmp_path / "new" / "out", tmp_path / "old"
    src.mkdir()
    old.mkdir()
    for i in range(60):
        (src / f"z{i:02d}.example.yaml").write_text(ZONE.format(i=i))
        (old / f"z{i:02d}.example.zone").write_text("old\n")
    (src / "z99.example.yaml").write_text(ZONE.format(i=99).replace("192.0.2.99", "192.0.2.999"))
    for target in (out, old):
        result = CliRunner().invoke(app, ["export", str(src), "-o", f"{target}/"])
        assert result.exit_code == 1, result.output
        assert "nothing was written" in result.output
    assert not (tmp_path / "new").exists()  # the folders staging made are gone again
    assert sorted(p.name for p in old.iterdir()) == sorted(f"z{i:02d}.example.zone" for i in range(60))
    assert {p.read_text() for p in old.iterdir()} == {"old\n"}


def test_the_background_writer_makes_the_temporary_files_in_its_own_process(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    targets = [tmp_path / f"f{i}.zone" for i in range(50)]
    with atomic.Batch(background=True) as batch:
        batch.stage(targets[0], "first\n")
        assert batch._writer is not None and batch._writer.pid != os.getpid()

        def here(*args: object, **kwargs: object) -> Path:
            raise AssertionError("made in this process")

        monkeypatch.setattr(atomic, "_temporary", here)  # the writer, forked before, keeps the real one
        for i, target in enumerate(targets[1:], 1):
            batch.stage(target, f"text {i}\n")
        batch.commit()
    assert [t.read_text() for t in targets] == ["first\n", *(f"text {i}\n" for i in range(1, 50))]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(t.name for t in targets)


def test_a_writer_that_dies_leaves_its_files_to_the_commit(tmp_path: Path) -> None:
    import signal

    targets = [tmp_path / f"f{i}.zone" for i in range(40)]
    with atomic.Batch(background=True) as batch:
        for i, target in enumerate(targets[:20]):
            batch.stage(target, f"text {i}\n")
        assert batch._writer is not None
        os.kill(batch._writer.pid, signal.SIGKILL)
        for i, target in enumerate(targets[20:], 20):
            batch.stage(target, f"text {i}\n")
        batch.commit()
    assert [t.read_text() for t in targets] == [f"text {i}\n" for i in range(40)]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(t.name for t in targets)


def test_an_error_in_the_writer_is_raised_by_commit_and_replaces_nothing(tmp_path: Path) -> None:
    targets = [tmp_path / f"f{i}.zone" for i in range(40)]
    for t in targets:
        t.write_text("old\n")
    batch = atomic.Batch(background=True)
    for i, target in enumerate(targets):
        batch.stage(target, "new\n")
        if i == 10:
            batch.stage(tmp_path / "no-such-folder" / "x.zone", "new\n")
    with pytest.raises(FileNotFoundError) as caught:
        batch.commit()
    assert "no-such-folder" in str(caught.value)
    assert [t.read_text() for t in targets] == ["old\n"] * 40
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(t.name for t in targets)


def test_abort_removes_the_temporary_files_and_the_folders_it_made(tmp_path: Path) -> None:
    for background in (False, True):
        folder = tmp_path / "a" / "b"
        batch = atomic.Batch(background=background)
        for i in range(40):
            batch.stage(folder / f"f{i}.zone", "new\n", make_folder=True)
        batch.abort()
        assert list(tmp_path.iterdir()) == [], background
