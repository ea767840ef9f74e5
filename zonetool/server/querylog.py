"""The query log: one line per answered question, as text or JSON, plus an in-memory record.

The transports call a `QueryLog` with the responder's `QueryInfo` and the microseconds the
answer took; where the line goes (a terminal, a pipe, a list in a test) is decided here once,
so the hot loops only make one call. Every entry carries a sequence number (rising, never
reused, so `since(seq)` pages without loss or repeats) and the wall-clock time it was logged.

The batched UDP loop answers repeated questions from raw octets without building a reply object;
when only memory keeps the log (`zonetool serve --api --quiet`, a test server), it hands those
hits over raw (`remember_raw`) and they are decoded into entries only when someone reads them,
so keeping the log costs the hot loop a tuple per query instead of the whole slow path.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TextIO

from zonetool.lookup import RCODE_NAMES
from zonetool.server.logstream import StreamWriter
from zonetool.server.trouble import Trouble


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
        from zonetool.rrtypes import type_name

        return type_name(value)
    return str(value).upper()


def _rcode_text(value: object) -> str:
    if isinstance(value, int):
        return RCODE_NAMES.get(value, f"RCODE{value}")
    return "" if value is None else str(value)


def rfc3339(ts: float) -> str:
    """UTC with microseconds, as RFC 3339 5.6 writes it: 2026-12-02T05:40:01.123456Z."""
    return _dt.datetime.fromtimestamp(ts, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def refusal_event(file: object, blockers: list[Any], *, reload: bool) -> dict[str, Any]:
    """A zone file not served, as one line of the JSON log (issue 11 A12): a program reading the log
    learns what is not served without parsing the text on stderr."""
    return {"event": "not-serving", "ts": rfc3339(time.time()), "file": str(file), "reload": reload,
            "errors": len(blockers), "codes": sorted({f.code for f in blockers}),
            "findings": [f.to_json() for f in blockers]}


@dataclass(frozen=True, slots=True)
class Entry:
    """One logged question with its outcome; `client` is (address, port), `ts` seconds since the epoch."""

    client: tuple[str, int]
    transport: str
    qname: str  # absolute, as asked (letter case kept), "" if the packet had no question
    qtype: str
    rcode: str
    answers: int
    micros: int
    fault: str | None = None
    seq: int = 0  # 1, 2, 3... in the order logged; never reused, not even after clear()
    ts: float = 0.0

    @classmethod
    def from_info(cls, info: Any, micros: int, seq: int = 0, ts: float | None = None) -> Entry:
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
            seq,
            time.time() if ts is None else ts,
        )

    def matches(self, qname: str, qtype: str | None = None, rcode: str | None = None) -> bool:
        """Case-insensitive name match, trailing dot optional; `qtype`/`rcode` None match any."""
        want = qname.lower().rstrip(".") + "."
        if self.qname.lower() != want:
            return False
        if rcode is not None and self.rcode != rcode.upper():
            return False
        return qtype is None or self.qtype == qtype.upper()

    def time_text(self) -> str:
        return rfc3339(self.ts)

    def to_text(self) -> str:
        host, port = self.client
        client = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        line = (
            f"{self.time_text()} {client} {self.transport} {self.qname or '-'} {self.qtype or '-'} {self.rcode} "
            f"answers={self.answers} {self.micros}us"
        )
        return f"{line} fault={self.fault}" if self.fault else line

    def to_json(self) -> dict[str, Any]:
        """The JSON log line and the HTTP API's entry: the first keys as before, then seq, ts and the API's names."""
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
            "seq": self.seq,
            "ts": self.time_text(),
            "name": self.qname,
            "type": self.qtype,
            "latency_us": self.micros,
        }


PeerDecoder = Callable[[bytes, int], tuple[str, int]]  # (addresses of a batch, slot) -> (host, port)


# A raw chunk is a plain list (the cheapest object to make once per UDP batch, on the hot path):
# [seq, n, ts, micros, items, peers, decode, entries or None, counted]; items are flat
# (slot, query after the ID, answer after the ID) triples, peers the batch's addresses.
_SEQ, _N, _TS, _MICROS, _ITEMS, _PEERS, _DECODE, _ENTRIES, _COUNTED = range(9)


def _raw_last(chunk: list[Any]) -> int:
    return chunk[_SEQ] + chunk[_N] - 1  # type: ignore[no-any-return]


def _raw_tally(chunk: list[Any], untallied: list[bytes]) -> None:
    """Queue a raw chunk's answers for the totals, once: a slice and an extend, no loop in Python
    (the chunk is often dropped on the UDP thread, when the log is full)."""
    if not chunk[_COUNTED]:
        chunk[_COUNTED] = True
        untallied.extend(chunk[_ITEMS][2::3])


def _raw_expand(chunk: list[Any], untallied: list[bytes]) -> list[Entry]:
    """The chunk's entries, decoded once (the octets are let go then)."""
    if chunk[_ENTRIES] is None:
        from zonetool import wire

        _raw_tally(chunk, untallied)
        seq, n, ts, micros, items, peers, decode = chunk[:_ENTRIES]
        out = []
        for i in range(n):
            slot, query, answer = items[3 * i], items[3 * i + 1], items[3 * i + 2]
            try:  # the question came from a cached answer, so it parsed once already
                q = wire.parse_query(b"\0\0" + query)
                qname, qtype = q.qname_text().lower(), _type_text(q.qtype)
            except Exception:
                qname, qtype = "", ""
            out.append(Entry(
                decode(peers, slot), "udp", qname, qtype, _rcode_text(answer[1] & 0x0F),
                int.from_bytes(answer[4:6]), micros, None, seq + i, ts,
            ))
        chunk[_ENTRIES], chunk[_ITEMS], chunk[_PEERS] = out, None, None
    return chunk[_ENTRIES]  # type: ignore[no-any-return]


class QueryLog:
    """Where answered questions go: an optional stream (text or JSON lines) and/or a bounded memory.

    Thread-safe: the UDP thread and the TCP event loop both append. Reading (tests, the HTTP API):
    iterate, `filter(name=, type=, rcode=)`, `count(...)`, `since(seq)`, `wait_for(name, type,
    timeout)`, `clear()`; `("example.com", "MX") in log` asks whether that question was seen
    (case-insensitive, trailing dot optional).
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
        self.limit = limit  # bounded memory: the oldest half goes when the log is full
        self._chunks: deque[Any] = deque()  # Entry, or a raw chunk (a list, see _raw_expand)
        self._count = 0
        self._next = 0  # the last number given
        self._last = 0  # the last number kept
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._waiting = 0
        self._totals: dict[tuple[str, str], int] = {}  # (transport, rcode) -> queries, since the start
        self._untallied: list[bytes] = []  # answers of raw UDP hits not in _totals yet (see _tally)
        self.listeners: list[Callable[[Entry], None]] = []
        # The stream is written by a thread of its own, so a reader that does not read never stops
        # the answers (issue 16); lines it cannot take are dropped and said once per interval here.
        self.trouble: Trouble | None = None
        self._writer: StreamWriter | None = None

    @property
    def active(self) -> bool:
        """False when nothing would be recorded: the hot loop then skips building entries."""
        return self.stream is not None or self.keep or bool(self.listeners)

    @property
    def raw_ok(self) -> bool:
        """True when entries are only kept in memory, so the UDP loop may hand cache hits over raw."""
        return self.keep and self.stream is None and not self.listeners

    def __call__(self, info: Any, micros: int) -> None:
        entry = self._remember(info, micros)
        stream = self.stream
        if stream is not None:
            line = json.dumps(entry.to_json(), separators=(",", ":")) if self.fmt == "json" else entry.to_text()
            if not self._writer_for(stream).put(line):  # the reader went away (`| head`): keep serving, stop logging
                self.stream = None

    def event(self, doc: dict[str, Any]) -> None:
        """A server event as a line of the JSON log, through the same writer as the queries (lines never
        interleave); the text log has no such lines (its events are said on stderr)."""
        stream = self.stream
        if stream is not None and self.fmt == "json":
            self._writer_for(stream).put(json.dumps(doc, separators=(",", ":"), ensure_ascii=False))

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

    # -- the memory ------------------------------------------------------------------
    def _remember(self, info: Any, micros: int) -> Entry:
        """Number the entry, keep it (if asked), tell the listeners; numbers rise in the order kept."""
        with self._lock:
            self._next += 1
            entry = Entry.from_info(info, micros, self._next)
            self._count_entry(entry)
            if self.keep:
                self._add(entry, 1)
        for listener in self.listeners:
            listener(entry)
        return entry

    def remember_raw(self, items: list[Any], micros: int, peers: bytes, decode: PeerDecoder) -> None:
        """Cache hits answered from octets: flat (slot, query, answer) triples, `peers` the batch's
        addresses, `decode(peers, slot)` -> (host, port); decoded only when read. Kept to a list and
        a few stores: it runs once per UDP batch."""
        n = len(items) // 3
        with self._lock:
            seq = self._next + 1
            self._next += n
            if self._count + n > self.limit:
                self._trim(n)
            self._chunks.append([seq, n, time.time(), micros, items, peers, decode, None, False])
            self._count += n
            self._last = seq + n - 1
            if self._waiting:
                self._changed.notify_all()

    def _count_entry(self, entry: Entry) -> None:
        key = (entry.transport, entry.rcode)
        self._totals[key] = self._totals.get(key, 0) + 1

    def _tally(self) -> None:
        """Count the queued raw answers into the totals (under self._lock). Repeated questions share
        one cached answer object, so Counter (in C) groups them and each group reads one rcode octet."""
        for answer, n in Counter(self._untallied).items():
            key = ("udp", _rcode_text(answer[1] & 0x0F))
            self._totals[key] = self._totals.get(key, 0) + n
        self._untallied.clear()

    def totals(self) -> dict[str, dict[str, int]]:
        """Queries answered since the start (clear() does not reset it), by transport and by rcode."""
        with self._lock:
            for chunk in self._chunks:  # hits kept raw are counted from their rcode octet
                if not isinstance(chunk, Entry):
                    _raw_tally(chunk, self._untallied)
            self._tally()
            by_transport: dict[str, int] = {}
            by_rcode: dict[str, int] = {}
            for (transport, rcode), n in self._totals.items():
                by_transport[transport] = by_transport.get(transport, 0) + n
                by_rcode[rcode or "-"] = by_rcode.get(rcode or "-", 0) + n
            return {"transport": by_transport, "rcode": by_rcode, "total": {"queries": sum(by_transport.values())}}

    def _trim(self, n: int) -> None:
        """Room for `n` more: the oldest half goes (under self._lock)."""
        while self._chunks and self._count + n > self.limit // 2:
            old = self._chunks.popleft()
            if isinstance(old, Entry):
                self._count -= 1
            else:
                _raw_tally(old, self._untallied)  # counted in the totals before it goes (no decoding)
                self._count -= old[_N]
        if len(self._untallied) > self.limit:
            self._tally()

    def _add(self, entry: Entry, n: int) -> None:
        # under self._lock
        if self._count + n > self.limit:
            self._trim(n)
        self._chunks.append(entry)
        self._count += n
        self._last = entry.seq
        if self._waiting:
            self._changed.notify_all()

    # -- reading (tests, the HTTP API) --------------------------------------------------
    @property
    def entries(self) -> list[Entry]:
        return self.since(0)

    @property
    def last_seq(self) -> int:
        """The newest entry's number (0: none yet); `since(last_seq)` is what comes after now."""
        with self._lock:
            return self._last

    def since(self, seq: int = 0, limit: int | None = None) -> list[Entry]:
        """Entries numbered above `seq`, oldest first (at most `limit`: page with the last one's seq)."""
        with self._lock:
            picked: list[Any] = []
            for chunk in reversed(self._chunks):
                if (chunk.seq if isinstance(chunk, Entry) else _raw_last(chunk)) <= seq:
                    break
                picked.append(chunk)
            out: list[Entry] = []
            for chunk in reversed(picked):
                if isinstance(chunk, Entry):
                    out.append(chunk)
                else:
                    out.extend(e for e in _raw_expand(chunk, self._untallied) if e.seq > seq)
        return out if limit is None else out[:limit]

    def filter(
        self,
        name: str | None = None,
        type: str | None = None,  # the DNS word
        rcode: str | None = None,
        *,
        transport: str | None = None,
        fault: str | None = None,
        since: int = 0,
    ) -> list[Entry]:
        """Entries matching every criterion given (name case-insensitive, trailing dot optional)."""
        out = []
        for e in self.since(since):
            if name is not None and not e.matches(name):
                continue
            if type is not None and e.qtype != type.upper():
                continue
            if rcode is not None and e.rcode != rcode.upper():
                continue
            if transport is not None and e.transport != transport:
                continue
            if fault is not None and e.fault != fault:
                continue
            out.append(e)
        return out

    def count(self, name: str | None = None, type: str | None = None, rcode: str | None = None) -> int:
        """How many questions were seen (for `name`, `type`, `rcode`, each optional)."""
        return len(self.filter(name, type, rcode))

    def wait_for(
        self,
        name: str,
        type: str | None = None,
        timeout: float = 5.0,
        *,
        rcode: str | None = None,
        since: int = 0,
    ) -> Entry:
        """The first entry after `since` for `name` (and `type`, `rcode`), waiting up to `timeout` seconds for it.

        Raises TimeoutError listing what was asked meanwhile, so a failing test says why.
        """
        deadline = time.monotonic() + timeout
        seen = since
        while True:
            for e in self.since(seen):
                if e.matches(name, type, rcode):
                    return e
                seen = max(seen, e.seq)
            left = deadline - time.monotonic()
            if left <= 0:
                asked = self.since(since)[-10:]
                lines = "\n".join("  " + e.to_text() for e in asked) or "  nothing"
                want = " ".join(x for x in (name, type, rcode) if x)
                raise TimeoutError(f"no query for {want} within {timeout}s; the last ones asked:\n{lines}")
            with self._lock:
                self._waiting += 1
                try:
                    if self._last <= seen:
                        self._changed.wait(min(left, 0.5))
                finally:
                    self._waiting -= 1

    def clear(self) -> None:
        """Forget every entry (numbers keep rising, so a reader's `since` stays valid)."""
        with self._lock:
            for chunk in self._chunks:  # counted in the totals before they go
                if not isinstance(chunk, Entry):
                    _raw_tally(chunk, self._untallied)
            self._chunks.clear()
            self._count = 0

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
            return self._count

    def __repr__(self) -> str:
        entries = self.entries
        if not entries:
            return "<QueryLog: no queries>"
        shown = entries[-5:]
        head = f"<QueryLog {len(entries)} queries" + (", the last 5" if len(entries) > 5 else "") + ":"
        return head + "".join(f"\n  #{e.seq} {e.to_text()}" for e in shown) + ">"
