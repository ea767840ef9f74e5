"""The query log's stream is written by its own thread: a reader that does not read never blocks answering."""

from __future__ import annotations

import io
import threading
import time

from zonetool.server.logstream import StreamWriter
from zonetool.server.querylog import QueryLog
from zonetool.server.responder import QueryInfo
from zonetool.server.trouble import Trouble


class Stuck(io.StringIO):
    """A stream whose writes block until `release` is set (a pipe whose reader went to lunch)."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.entered = threading.Event()

    def write(self, text: str) -> int:
        self.entered.set()
        self.release.wait(30)
        return super().write(text)


class Broken(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError(32, "Broken pipe")


def info(i: int) -> QueryInfo:
    return QueryInfo(("127.0.0.1", 40000 + i % 1000), "udp", f"q{i}.example.com.", "A", "NOERROR", 1)


def test_every_line_is_written_when_the_reader_keeps_up() -> None:
    out = io.StringIO()
    writer = StreamWriter(out)
    for i in range(20_000):
        assert writer.put(f"line {i}")
    assert writer.drain()
    lines = out.getvalue().splitlines()
    assert lines == [f"line {i}" for i in range(20_000)] and writer.dropped == 0
    writer.put("after the drain")  # a drained writer starts again
    assert writer.drain() and out.getvalue().endswith("after the drain\n")


def test_a_stuck_reader_costs_dropped_lines_never_a_blocked_put() -> None:
    out = Stuck()
    drops: list[int] = []
    writer = StreamWriter(out, limit=100, on_drop=drops.append)
    writer.put("first")
    assert out.entered.wait(5)  # the writer thread is now blocked inside write()
    started = time.monotonic()
    for i in range(5000):
        writer.put(f"line {i}")
    assert time.monotonic() - started < 5  # nothing waited on the stream (it would wait 30 s)
    assert writer.dropped == 4900 and drops[-1] == 4900 and len(drops) == 4900
    assert not writer.drain(timeout=0.2)  # the reader still does not read
    out.release.set()
    assert writer.drain()
    lines = out.getvalue().splitlines()
    assert lines == ["first"] + [f"line {i}" for i in range(100)]


def test_a_vanished_reader_stops_the_log_not_the_server() -> None:
    log = QueryLog(Broken())
    log(info(0), 5)
    deadline = time.monotonic() + 5
    while log.stream is not None and time.monotonic() < deadline:
        log(info(1), 5)
        time.sleep(0.01)
    assert log.stream is None and not log.active


def test_the_query_log_says_dropped_lines_once_per_interval() -> None:
    out = Stuck()
    lines: list[str] = []
    log = QueryLog(out)
    log.trouble = Trouble(lines.append, interval=60)
    log(info(0), 5)
    assert out.entered.wait(5)
    for i in range(20_000):
        log(info(i), 5)
    dropped = 20_000 - 8192  # the first line is in write(), the queue holds 8192
    assert log.trouble.count("query-log") == dropped
    assert lines == ["query-log: dropped 1 log lines so far: its reader is too slow (answers go on)"]
    log.trouble.clock = lambda: time.monotonic() + 61
    log.trouble.flush()
    assert lines[1].startswith(f"query-log: {dropped - 1} more in the last 60s (last: dropped {dropped} log lines")
    out.release.set()
    assert log.drain()
    assert len(out.getvalue().splitlines()) == 8193
