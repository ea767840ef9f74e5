"""`serve --journal DIR`: the IXFR history and the served serials on disk, so a restart keeps both.

One file per zone (ORIGIN.ixfr, zonetool.ixfr's JSON form), replaced atomically (temp file, fsync,
rename: zonetool.atomic) by one writer thread after each reload that changed the zone, so the
answers never wait for the disk. At start the files are read before the zones are loaded: an
`auto` serial continues from the one served before the restart (the same content keeps its
serial, a change gets a higher one, never a lower one), and a zone whose loaded version is the
journal's last one gets its deltas back, so a secondary's IXFR from before the restart is
answered incrementally. A damaged file is said, with its path, and ignored: that zone's
transfers from older serials are answered in AXFR form.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from zonetool import ixfr
from zonetool.atomic import write_atomic
from zonetool.names import Name
from zonetool.zone import Zone

SUFFIX = ".ixfr"
_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-_")


def file_name(origin: Name) -> str:
    """ORIGIN.ixfr, lower case, each label's unsafe octets as %XX (a label may hold '/' or '.')."""
    labels = [
        "".join(chr(c) if c in _SAFE else f"%{c:02X}" for c in label) for label in origin.key
    ]
    return (".".join(labels) or "%root") + SUFFIX


class Journal:
    """The journal folder: `read` at start, `follow` after each reload, `close` at stop."""

    def __init__(self, folder: Path, say: Callable[[str], None]) -> None:
        self.folder = folder
        self.say = say
        self._written: dict[Name, tuple[int, str, int]] = {}  # origin -> (serial, digest, deltas) on disk
        self._queue: queue.Queue[tuple[Path, bytes | None] | None] = queue.Queue()
        self._thread: threading.Thread | None = None

    def read(self) -> dict[Name, ixfr.Saved]:
        """Every readable journal file by origin; a damaged one is said and left out."""
        saved: dict[Name, ixfr.Saved] = {}
        try:
            paths = sorted(p for p in self.folder.iterdir() if p.name.endswith(SUFFIX))
        except OSError as exc:
            self.say(f"journal {self.folder}: cannot be read ({exc.strerror or exc}); starting without history")
            return saved
        for path in paths:
            try:
                state = ixfr.decode_saved(path.read_bytes())
            except (OSError, ValueError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                self.say(f"journal {path}: damaged or truncated ({reason}); ignored, so IXFR from before "
                         "the restart is answered with the whole zone")
                continue
            if path.name != file_name(state.origin):
                self.say(f"journal {path}: holds {state.origin.to_text()}, not the zone its name says; ignored")
                continue
            saved[state.origin] = state
            self._written[state.origin] = (state.serial, state.digest, len(state.deltas))
        return saved

    @staticmethod
    def restore(saved: Mapping[Name, ixfr.Saved], zones: Iterable[Zone], digest_of: Callable[[Name], str | None],
                histories: dict[Name, ixfr.History], limit: int) -> list[Name]:
        """Give each zone whose loaded version is its journal's last one the saved deltas (at most
        `limit`); returns those origins. Another version (edited while the server was down) starts
        without history: its deltas would not lead to what is served."""
        restored = []
        for zone in zones:
            state = saved.get(zone.origin)
            if state is None or zone.soa is None or not state.deltas or not limit:
                continue
            if zone.soa.serial != state.serial or digest_of(zone.origin) != state.digest:
                continue
            history = ixfr.History(limit)
            for step in state.deltas:
                history.add(step, len(zone))
            histories[zone.origin] = history
            restored.append(zone.origin)
        return restored

    def follow(self, zones: Iterable[Zone], digest_of: Callable[[Name], str | None],
               histories: Mapping[Name, ixfr.History]) -> None:
        """Queue the files of the zones whose serial, content or history moved since last written;
        drop the files of zones no longer served."""
        served: set[Name] = set()
        for zone in zones:
            served.add(zone.origin)
            digest = digest_of(zone.origin)
            if zone.soa is None or digest is None:
                continue  # not a loaded zone (the catalog): nothing to carry over a restart
            history = histories.get(zone.origin)
            deltas = tuple(history.deltas) if history is not None else ()
            if deltas and deltas[-1].new_serial != zone.soa.serial:
                deltas = ()  # the history stops short of this version: it cannot chain to it
            key = (zone.soa.serial, digest, len(deltas))
            if self._written.get(zone.origin) == key:
                continue
            self._written[zone.origin] = key
            data = ixfr.encode_saved(ixfr.Saved(zone.origin, zone.soa.serial, digest, deltas))
            self._put(self.folder / file_name(zone.origin), data)
        for origin in [o for o in self._written if o not in served]:
            del self._written[origin]
            self._put(self.folder / file_name(origin), None)

    def _put(self, path: Path, data: bytes | None) -> None:
        if self._thread is None:  # started on first use: after `serve` forked its workers
            self._thread = threading.Thread(target=self._write, name="zonetool-journal", daemon=True)
            self._thread.start()
        self._queue.put((path, data))

    def _write(self) -> None:
        failed: set[str] = set()
        while True:
            item = self._queue.get()
            if item is None:
                return
            path, data = item
            try:
                if data is None:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                else:
                    write_atomic(path, data)
                failed.discard(str(path))
            except OSError as exc:
                if str(path) not in failed:  # said once until it works again
                    failed.add(str(path))
                    self.say(f"journal {path}: cannot be written ({exc.strerror or exc}); a restart will "
                             "answer IXFR from older serials with the whole zone")

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the writer."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)
            self._thread = None


def open_journal(folder: Path, say: Callable[[str], None]) -> Journal:
    """The journal in `folder`, created if missing (mode 700: it holds every record of every zone)."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return Journal(folder, say)

