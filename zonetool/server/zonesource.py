"""Where the served zones come from: files loaded and validated, watched for changes, serials kept rising.

A reload builds the whole new zone set away from the serving path and hands it over only if it
is valid, so a half-edited file never reaches a client: the server keeps the last good version
and reports the findings instead.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zonetool.findings import Finding
from zonetool.names import Name
from zonetool.zone import Zone

Signature = tuple[tuple[str, int, int, int], ...]


@dataclass(slots=True)
class Outcome:
    """The result of one load: `zones` is None when the files had errors (nothing was swapped)."""

    zones: list[Zone] | None
    findings: list[Finding]
    changed: list[Name] = field(default_factory=list)  # origins whose content or serial moved
    files: list[Path] = field(default_factory=list)


class SerialBook:
    """Remembers each auto-serial zone's (serial, content digest) so a changed zone gets a higher serial.

    RFC 1982 serial arithmetic is `zonetool.serial`'s business; this only carries the state from
    one version of a zone to the next, as a server that outlives its files must.
    """

    def __init__(self) -> None:
        self._seen: dict[Name, tuple[int, str]] = {}

    def stamp(self, zones: Iterable[Zone], today: _dt.date | None = None) -> list[Name]:
        """Give each auto zone its next serial in place; returns the origins that differ from before."""
        from zonetool.serial import content_digest, next_serial

        changed: list[Name] = []
        for zone in zones:
            soa = zone.soa
            if soa is None:
                continue
            digest = content_digest(zone)
            prev = self._seen.get(zone.origin)
            serial = soa.serial
            if zone.auto_serial and prev is not None:
                serial = next_serial(prev[0], prev[1], digest, today)
                if serial != soa.serial:
                    zone.set_serial(serial)
            if prev is None or prev != (serial, digest):
                changed.append(zone.origin)
            self._seen[zone.origin] = (serial, digest)
        return changed

    def forget(self) -> None:
        self._seen.clear()


class ZoneSource:
    """Zone files (or directories of them) given on the command line, loaded through `zonetool.loader`."""

    def __init__(self, paths: Sequence[str | os.PathLike[str]]) -> None:
        self.paths = [Path(p) for p in paths]
        self.serials = SerialBook()
        self.files: list[Path] = []
        self.loaded_signature: Signature | None = None  # what the files looked like when last read

    def load(self) -> Outcome:
        """Load and validate every path; on errors return the findings and no zones."""
        from zonetool.loader import has_errors, load_paths

        # Taken before reading: a write during the load shows up as a change and is read again.
        # Recorded even if the load fails (a file vanished), so the watcher waits for the next change.
        self.loaded_signature = self.signature()
        loaded: Any = load_paths(self.paths)
        files = [Path(f) for f in getattr(loaded, "files", []) or []]
        if set(files) != set(self.files):  # first load, or a file appeared: look again with the full list
            self.files = files
            self.loaded_signature = self.signature()
        findings = list(loaded.findings)
        if has_errors(findings):
            return Outcome(None, findings, files=self.files)
        zones = list(loaded.zones)
        changed = self.serials.stamp(zones)
        return Outcome(zones, findings, changed, self.files)

    def signature(self) -> Signature:
        """What the files look like now: a change in any of them (or a file appearing) shows here."""
        seen: list[tuple[str, int, int, int]] = []
        candidates: set[Path] = set(self.files)
        for path in self.paths:
            if path.is_dir():
                candidates.update(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".zone"))
            else:
                candidates.add(path)
        for path in sorted(candidates):
            try:
                st = path.stat()
            except OSError:
                seen.append((str(path), -1, -1, -1))
                continue
            seen.append((str(path), st.st_mtime_ns, st.st_size, st.st_ino))
        return tuple(seen)
