"""The query log: one line per answered question, as text or JSON, plus an in-memory record.

The transports call a `QueryLog` with the responder's `QueryInfo` and the microseconds the
answer took; where the line goes (a terminal, a pipe, a list in a test) is decided here once,
so the hot loops only make one call.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from zonetool.server.logstream import StreamWriter
from zonetool.server.trouble import Trouble

RCODE_NAMES = {
    0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
    9: "NOTAUTH", 16: "BADVERS",
}  # RFC 1035 4.1.1, RFC 6891 9


def _name_text(value: object) -> str:
    """Names as the client asked them, absolute with a trailing dot ('' when unparsed)."""
    if value is None:
        return ""
    text = value.to_text() if hasattr(value, "to_text") else str(value)
    return text if text.endswith(".") or not text else text + "."


def _type_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        from zonetool.records import type_name

        return type_name(value)
    return str(value).upper()


def _rcode_text(value: object) -> str:
    if isinstance(value, int):
        return RCODE_NAMES.get(value, f"RCODE{value}")
    return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Entry:
    """One logged question with its outcome; `client` is (address, port)."""

    client: tuple[str, int]
    transport: str
    qname: str  # absolute, as asked (letter case kept), "" if the packet had no question
    qtype: str
    rcode: str
    answers: int
    micros: int
    fault: str | None = None

    @classmethod
    def from_info(cls, info: Any, micros: int) -> Entry:
        client = tuple(info.client)[:2] if info.client else ("", 0)
        fault = getattr(info, "fault", None)
        if fault is not None and not isinstance(fault, str):
            fault = getattr(fault, "action", None) or str(fault)
        return cls(
            (str(client[0]), int(client[1])),
            str(info.transport),
            _name_text(info.qname),
            _type_text(info.qtype),
            _rcode_text(info.rcode),
            int(info.answers or 0),
            micros,
            fault,
        )

    def matches(self, qname: str, qtype: str | None = None) -> bool:
        """Case-insensitive name match, trailing dot optional; `qtype` None matches any type."""
        want = qname.lower().rstrip(".") + "."
        if self.qname.lower() != want:
            return False
        return qtype is None or self.qtype == qtype.upper()

    def to_text(self) -> str:
        host, port = self.client
        client = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        line = (
            f"{client} {self.transport} {self.qname or '-'} {self.qtype or '-'} {self.rcode} "
            f"answers={self.answers} {self.micros}us"
        )
        return f"{line} fault={self.fault}" if self.fault else line

    def to_json(self) -> dict[str, Any]:
        return {
            "client": self.client[0],
            "port": self.client[1],
            "transport": self.transport,
            "qname": self.qname,
            "qtype": self.qtype,
            "rcode": self.rcode,
            "answers": self.answers,
            "micros": self.micros,
            "fault": self.fault,
        }


class QueryLog:
    """Where answered questions go: an optional stream (text or JSON lines) and/or a memory list.

    Thread-safe: the UDP thread and the TCP event loop both append. `("example.com", "MX") in log`
    asks whether that question was seen (case-insensitive, trailing dot optional).
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        fmt: str = "text",
        keep: bool = False,
        limit: int = 100_000,
    ) -> None:
        if fmt not in ("text", "json"):
            raise ValueError(f"log format must be text or json, got {fmt!r}")
        self.stream = stream
        self.fmt = fmt
        self.keep = keep
        self.limit = limit  # bounded memory: the oldest half goes when the list is full
        self._entries: list[Entry] = []
        self._lock = threading.Lock()
        self.listeners: list[Callable[[Entry], None]] = []
        # The stream is written by a thread of its own, so a reader that does not read never stops
        # the answers (issue 16); lines it cannot take are dropped and said once per interval here.
        self.trouble: Trouble | None = None
        self._writer: StreamWriter | None = None

    @property
    def active(self) -> bool:
        """False when nothing would be recorded: the hot loop then skips building entries."""
        return self.stream is not None or self.keep or bool(self.listeners)

    def __call__(self, info: Any, micros: int) -> None:
        entry = Entry.from_info(info, micros)
        if self.keep:
            with self._lock:
                if len(self._entries) >= self.limit:
                    del self._entries[: self.limit // 2]
                self._entries.append(entry)
        for listener in self.listeners:
            listener(entry)
        stream = self.stream
        if stream is not None:
            line = json.dumps(entry.to_json(), separators=(",", ":")) if self.fmt == "json" else entry.to_text()
            if not self._writer_for(stream).put(line):  # the reader went away (`| head`): keep serving, stop logging
                self.stream = None

    def _writer_for(self, stream: TextIO) -> StreamWriter:
        writer = self._writer
        if writer is None or writer.stream is not stream:  # `stream` was set after construction
            with self._lock:
                writer = self._writer
                if writer is None or writer.stream is not stream:
                    writer = self._writer = StreamWriter(stream, on_drop=self._dropped)
        return writer

    def _dropped(self, total: int) -> None:
        trouble = self.trouble
        if trouble is None:  # not inside a Server: still said once per interval, on stderr
            trouble = self.trouble = Trouble(lambda line: print(f"zonetool: {line}", file=sys.stderr))
        trouble.report("query-log", f"dropped {total} log lines so far: its reader is too slow (answers go on)")

    def drain(self, timeout: float = 5.0) -> bool:
        """Write out the queued lines (the server's stop calls it); False if the reader still does not read."""
        writer = self._writer
        return writer.drain(timeout) if writer is not None else True

    # -- reading (tests) ----------------------------------------------------------------
    @property
    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def count(self, qname: str, qtype: str | None = None) -> int:
        return sum(1 for e in self.entries if e.matches(qname, qtype))

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return self.count(item) > 0
        if isinstance(item, tuple) and len(item) == 2:
            return self.count(str(item[0]), str(item[1])) > 0
        return item in self.entries

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __repr__(self) -> str:
        return f"<QueryLog {len(self)} queries>"
