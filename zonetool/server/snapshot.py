"""serve --cache: a snapshot of the last start's compiled zones and findings, so the next start is warm.

What NSD 3 did with nsd.db and Knot does with its journal: instead of reading, compiling and judging
every file again (9 s for 10,000 zones), a start reads the snapshot, counts each file whose stat
(mtime_ns, size, inode, ctime_ns) is the one it had when it was read as already read, and hands the
rest to the reload machinery (ZoneSource.load: only changed, added and removed files are read; the
cross-zone rules re-run only where a change reaches, crosszone.Refiner), so the findings are those
of a cold start. The whole snapshot is keyed by zonetool's code, Python and the rule table: any
other key is a cold start.

A snapshot's zones unpack lazily (`SnapshotZone`): the start reads each zone's origin, SOA and the
few RRsets the start itself asks for, and the rest of a zone's records on its first question, so a
warm start of 10,000 zones costs about what NSD's does.

Pickle runs code from what it reads, so a snapshot is only read from a folder and a file that are the
user's own and nobody else's (0700, 0600); anything else is said in one line and the start is cold.
It is written after the start, in a background thread (the answers never wait for it), in one step
(zonetool.atomic): a start killed while writing leaves the old snapshot or none, never half of one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import io
import os
import pickle
import stat
import sys
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zonetool.findings import Finding
from zonetool.gcpause import paused
from zonetool.names import Name
from zonetool.rrtypes import RRType
from zonetool.zone import SOA_CODE, Zone

if TYPE_CHECKING:
    from zonetool.server.zonesource import Stat, ZoneSource

MAGIC = b"zonetool-snapshot 1"
KEEP = 8  # snapshots kept in the folder (one per set of served paths), the oldest removed first
_TXT_CODE = int(RRType.TXT)
_LOCK = threading.Lock()  # one zone is unpacked by one thread (the UDP thread and the loop may both ask)

Say = Callable[[str], None]
Entry = tuple[str, "Stat", Zone | None, list[Finding]]


def default_folder() -> Path:
    """$XDG_CACHE_HOME/zonetool, else ~/.cache/zonetool (the XDG base directory rule)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(base) if os.path.isabs(base) else Path.home() / ".cache") / "zonetool"


# ---------------------------------------------------------------------------
# zones unpacked on first use
# ---------------------------------------------------------------------------
class _Unpacked:
    """`zone.nodes` / `zone.duplicates` of a SnapshotZone: the first read unpacks the zone's records;
    from then on the instance's own attribute shadows this (a non-data descriptor): no cost per read."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, zone: Any, owner: type | None = None) -> Any:
        if zone is None:
            return self
        with _LOCK:
            d = zone.__dict__
            if self.name not in d:
                _unpack(zone)
            return d[self.name]


class SnapshotZone(Zone):
    """A Zone read from a snapshot whose records stay packed until something reads them.

    Its other attributes (origin, file, silence, faults, dnssec, ...) are plain, and so are the RRsets
    the start asks every zone for (the SOA, `_dmarc` TXT), held in `_eager`; any other question
    unpacks the zone first, so it answers what the Zone it was made from answers.
    """

    nodes = _Unpacked("nodes")  # type: ignore[assignment]
    duplicates = _Unpacked("duplicates")  # type: ignore[assignment]

    def rrset(self, owner: Name, code: int) -> Any:
        d = self.__dict__
        if "nodes" not in d:
            eager = d.get("_eager") or {}
            key = (owner, code)
            if key in eager:
                return eager[key]
        return Zone.rrset(self, owner, code)


def _eager_keys(zone: Zone) -> list[tuple[Name, int]]:
    """The RRsets every start asks each zone for: its SOA (serials) and its `_dmarc` TXT (the DMARC
    report consent of blocks/mailpolicy.authorize_reports)."""
    return [(zone.origin, SOA_CODE), (Name((b"_dmarc", *zone.origin.labels)), _TXT_CODE)]


def _unpack(zone: Any) -> None:
    """Called under _LOCK. The packed form goes last, so a copy of the attributes taken meanwhile
    (the snapshot writer's) holds the records in one form or the other, never in neither."""
    d = zone.__dict__
    with paused():
        nodes, duplicates = pickle.loads(d["_blob"])
    for (owner, code), rrset in (d.get("_eager") or {}).items():  # the same objects as before unpacking
        if rrset is not None and owner in nodes and code in nodes[owner]:
            nodes[owner][code] = rrset
    d["duplicates"] = duplicates
    d["nodes"] = nodes
    del d["_blob"]


def _stub_state(zone: Zone) -> dict[str, Any]:
    """What a zone is written as: its attributes, with the records packed into one bytes object."""
    with _LOCK:  # not while another thread unpacks it
        d = dict(zone.__dict__)
    if "nodes" not in d:  # a SnapshotZone still packed: written as it was read
        return d
    nodes, duplicates = d.pop("nodes"), d.pop("duplicates", [])
    d.pop("_blob", None)
    d["_ents"], d["_cuts"] = zone.ents, zone.cuts
    d["_eager"] = {key: Zone.rrset(zone, *key) for key in _eager_keys(zone)}
    d["_blob"] = _pack((nodes, duplicates))
    return d


def _new_stub() -> SnapshotZone:
    """An empty SnapshotZone: unpickling fills its __dict__ (in C: no __init__, no __setstate__)."""
    return object.__new__(SnapshotZone)


_MAKERS: dict[type, Callable[..., Any]] = {}


def _maker(cls: type) -> Callable[..., Any]:
    """A function that builds a frozen slotted dataclass from its field values, setting each slot
    through its descriptor: ~3x faster than the dataclass's own __setstate__ (which looks up its
    fields for every object), and a snapshot holds a few of them per zone."""
    made = _MAKERS.get(cls)
    if made is None:
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        scope: dict[str, Any] = {"new": object.__new__, "C": cls}
        scope.update({f"set_{n}": getattr(cls, n).__set__ for n in names})
        body = "".join(f"    set_{n}(o, {n})\n" for n in names)
        exec(f"def make({', '.join(names)}):\n    o = new(C)\n{body}    return o\n", scope)
        made = _MAKERS[cls] = scope["make"]
    return made


def _build(cls: type, *values: Any) -> Any:
    return (_MAKERS.get(cls) or _maker(cls))(*values)


def _fast(cls: type) -> tuple[str, ...] | None:
    """The fields of a frozen dataclass with slots (pickled through `_build`), else None."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        return None
    return tuple(f.name for f in dataclasses.fields(cls))


class _Packer(pickle.Pickler):
    """Frozen slotted dataclasses (records, their data, places, findings) through `_build`."""

    def reducer_override(self, obj: Any) -> Any:
        cls = type(obj)
        fields = _FIELDS.get(cls, False)
        if fields is False:
            fields = _FIELDS[cls] = _fast(cls)
        if fields is not None:
            return _build, (cls, *(getattr(obj, n) for n in fields))  # type: ignore[union-attr]
        return NotImplemented


_FIELDS: dict[type, tuple[str, ...] | bool | None] = {}


def _pack(value: Any) -> bytes:
    buffer = io.BytesIO()
    _Packer(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


class _Writer(_Packer):
    """The snapshot: zones as SnapshotZone stubs, and every Name once (a table written first; each
    customer zone names the provider's hosts, so most of a snapshot's names are the same few)."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.names: dict[tuple[bytes, ...], int] = {}

    def persistent_id(self, obj: Any) -> int | None:
        if type(obj) is Name:
            return self.names.setdefault(obj.labels, len(self.names))
        return None


    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, Zone):
            return _new_stub, (), _stub_state(obj)
        return super().reducer_override(obj)


class _Reader(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, names: list[Name]) -> None:
        super().__init__(file)
        self.names = names

    def persistent_load(self, pid: Any) -> Name:
        return self.names[pid]


def _dump(snap: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    writer = _Writer(buffer)
    writer.dump(snap)
    return pickle.dumps(list(writer.names), protocol=pickle.HIGHEST_PROTOCOL) + buffer.getvalue()


def _load(body: bytes) -> Any:
    stream = io.BytesIO(body)
    # frozen: the collector would walk these ~30 objects per zone at every full collection for as
    # long as the server runs; they are acyclic, so reference counting still frees them when a
    # reload replaces them (gcpause: the one place a long-running process freezes)
    with paused(freeze=True):
        names = [Name(labels) for labels in pickle.load(stream)]
        snap = _Reader(stream, names).load()
    return snap


# ---------------------------------------------------------------------------
# the key
# ---------------------------------------------------------------------------
def code_key() -> str:
    """What a snapshot depends on besides the files: zonetool's version and code, Python, the rule table.

    The code counts by each module's size and mtime (a checkout edited without a new version number
    must not reuse what the old code built); reading them costs a stat per module (~200).
    """
    import zonetool
    from zonetool.rules import RULES

    h = hashlib.sha256()
    h.update(f"{zonetool.__version__}\0{sys.version}\0{sys.implementation.cache_tag}\0".encode())
    for code, rule in sorted(RULES.items()):
        h.update(f"{code}:{rule.severity}:{rule.cross_zone}:{rule.unservable}\0".encode())
    root = Path(zonetool.__file__).parent
    for path in sorted(root.rglob("*.py")):
        with contextlib.suppress(OSError):
            st = path.stat()
            h.update(f"{path.relative_to(root)}:{st.st_size}:{st.st_mtime_ns}\0".encode())
    return h.hexdigest()


def _today() -> str:
    return datetime.now(UTC).date().isoformat()  # the day `serial: auto` compiles to (zonetool.serial)


# ---------------------------------------------------------------------------
# the cache folder
# ---------------------------------------------------------------------------
@dataclass
class Restored:
    """What a snapshot gave, said once the first load is done."""

    path: Path
    total: int  # files in the snapshot

    def summary(self, source: ZoneSource) -> str:
        read = source.read_count()
        kept = len(source.listed()) - read
        return f"warm start from {self.path}: {kept:,} of {self.total:,} file(s) as they were, {read:,} read"


class Cache:
    """The snapshot of one set of served paths in `folder` (its name: a hash of the paths and the cwd)."""

    def __init__(self, folder: Path, paths: list[Path], say: Say) -> None:
        self.folder = folder
        self.paths = [str(p) for p in paths]
        key = hashlib.sha256("\0".join([os.getcwd(), *self.paths]).encode()).hexdigest()[:24]
        self.path = folder / f"snapshot-{key}.pickle"
        self.say = say
        self.usable = True  # False once the folder was refused: no write there either
        self._key: str | None = None
        self._restored: list[str] | None = None  # files taken from the snapshot, in its order
        self.thread: threading.Thread | None = None

    @property
    def key(self) -> str:
        if self._key is None:
            self._key = code_key()
        return self._key

    def _refuse(self, why: str, writing: bool = False) -> None:
        self.say(f"cache: {why}; " + ("no snapshot written" if writing else "starting cold"))

    def _folder_ok(self, make: bool) -> bool:
        """The folder exists (made if `make`), is a folder, and is ours alone; else said once, False."""
        if not self.usable:
            return False
        folder = self.folder
        try:
            if make:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            st = os.stat(folder)
        except FileNotFoundError:
            return False
        except OSError as exc:
            self.usable = False
            self._refuse(f"{folder}: {exc.strerror or exc}", writing=make)
            return False
        problem = _not_private(st, folder, "folder", 0o700)
        if problem:
            self.usable = False
            self._refuse(problem, writing=make)
            return False
        return True

    # -- reading ------------------------------------------------------------------
    def restore(self, source: ZoneSource) -> Restored | None:
        """Hand the snapshot to `source` (before its first load); None, and a line said if it was
        there but not usable, when the start is cold."""
        if not self._folder_ok(make=False):
            return None
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._refuse(f"{self.path}: {exc.strerror or exc}")
            return None
        with os.fdopen(fd, "rb") as fh:
            problem = _not_private(os.fstat(fh.fileno()), self.path, "file", 0o600)
            if problem:
                self._refuse(problem)
                return None
            data = fh.read()
        try:
            payload = self._payload(data)
        except _Unusable as exc:
            self._refuse(f"{self.path}: {exc}")
            return None
        entries, zones, judged, total = payload
        source.restore(entries, zones, judged)
        self._restored = [entry[0] for entry in entries]
        return Restored(self.path, total)

    def _payload(self, data: bytes) -> tuple[list[Entry], list[Zone], list[Any], int]:
        head, newline, body = data.partition(b"\n")
        parts = head.split(b" ")
        if not newline or b" ".join(parts[:2]) != MAGIC or len(parts) != 5:
            raise _Unusable("not a zonetool snapshot (damaged?)")
        key, length, crc = parts[2].decode("ascii", "replace"), parts[3], parts[4]
        if key != self.key:
            raise _Unusable("made by another zonetool, Python or rule set")
        if not length.isdigit() or int(length) != len(body):
            raise _Unusable(f"damaged: {len(body)} of {length.decode('ascii', 'replace')} octets (truncated?)")
        if f"{zlib.crc32(body):08x}".encode() != crc:
            raise _Unusable("damaged: its checksum does not match")
        try:
            snap = _load(body)
            paths, entries, zones, judged = snap["paths"], snap["entries"], snap["zones"], snap["judged"]
        except Exception as exc:  # a damaged pickle raises about anything
            raise _Unusable(f"damaged: {type(exc).__name__}") from None
        if paths != self.paths:
            raise _Unusable("made for other zone paths")
        today = _today()
        # a `serial: auto` zone compiled on another day would have another serial than a cold start's
        kept = [(file, st, zone, findings) for file, st, day, zone, findings in entries if day in (None, today)]
        return kept, zones, judged, len(entries)

    # -- writing ------------------------------------------------------------------
    def needed(self, source: ZoneSource) -> bool:
        """False when the start read no file and found the snapshot's files: it would be written again as is."""
        return (self._restored is None or source.read_count() > 0
                or set(self._restored) != set(source.listed()))

    def write_later(self, source: ZoneSource, done: Callable[[], None] | None = None) -> None:
        """Write the snapshot of `source`'s last load in a background thread (a daemon: a stop does
        not wait for it, and the atomic write leaves no half file when the process ends mid-write)."""
        built = source.built()
        zones, judged = source.refiner_state()

        def work() -> None:
            try:
                t0 = time.monotonic()
                if self.write(built, zones, judged):
                    self.say(f"cache: snapshot of {len(built):,} zone file(s) written to {self.path} "
                             f"in {time.monotonic() - t0:.1f} s")
            except Exception as exc:  # a full disk, a folder removed: said, and the next start is cold
                self.say(f"cache: not written: {exc}")
            finally:
                if done is not None:
                    done()

        self.thread = threading.Thread(target=work, name="zonetool-snapshot", daemon=True)
        self.thread.start()

    def write(self, built: list[Entry], zones: list[Zone], judged: list[Any]) -> bool:
        """The snapshot written in one step (False: the folder is refused, as said)."""
        from zonetool.atomic import write_atomic

        if not self._folder_ok(make=True):
            return False
        today = _today()
        entries = []
        for file, st, zone, findings in built:
            if file.endswith(".zone") and _includes(file):
                continue  # a BIND file's $INCLUDE can change behind its stat: always read again
            day = today if zone is not None and zone.auto_serial else None
            entries.append((file, st, day, zone, findings))
        body = _dump({"paths": self.paths, "entries": entries, "zones": zones, "judged": judged})
        head = b" ".join([MAGIC, self.key.encode(), str(len(body)).encode(), f"{zlib.crc32(body):08x}".encode()])
        write_atomic(self.path, head + b"\n" + body, mode=0o600)
        self._prune()
        return True

    def _prune(self) -> None:
        """Keep the KEEP newest snapshots (one per set of served paths: tests make many)."""
        with contextlib.suppress(OSError):
            found = sorted((p for p in self.folder.glob("snapshot-*.pickle") if p != self.path),
                           key=lambda p: p.stat().st_mtime_ns, reverse=True)
            for old in found[KEEP - 1:]:
                with contextlib.suppress(OSError):
                    old.unlink()


class _Unusable(Exception):
    """A snapshot that is there but cannot be used: why, in words."""


def _not_private(st: os.stat_result, path: Path, what: str, mode: int) -> str | None:
    """Why `path` is not safe to unpickle from (not ours, or others may write or read it), or None."""
    kind = stat.S_ISDIR if what == "folder" else stat.S_ISREG
    if not kind(st.st_mode):
        return f"{path} is not a {what}"
    if st.st_uid != os.getuid():
        return f"{path} belongs to user {st.st_uid}, not to us ({os.getuid()}): not read"
    if st.st_mode & 0o077:
        return (f"{path} is open to others (mode {stat.S_IMODE(st.st_mode):04o}): not read "
                f"(chmod {mode:o} {path})")
    return None


def _includes(file: str) -> bool:
    try:
        return b"$INCLUDE" in Path(file).read_bytes()
    except OSError:
        return True
