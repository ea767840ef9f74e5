"""Trouble is said once per kind per interval, then counted; a flush says how many more came."""

from __future__ import annotations

from zonetool.server.trouble import Trouble


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_of_one_kind_is_one_line_then_a_count() -> None:
    lines: list[str] = []
    clock = Clock()
    t = Trouble(lines.append, interval=5, clock=clock)
    for i in range(10_000):
        t.report("malformed-packet", f"from 127.0.0.1:{i}")
    assert lines == ["malformed-packet: from 127.0.0.1:0"]
    t.flush()  # the interval has not passed: still one line
    assert len(lines) == 1
    clock.now += 5
    t.flush()
    assert lines[1] == "malformed-packet: 9999 more in the last 5s (last: from 127.0.0.1:9999)"
    t.flush()
    assert len(lines) == 2  # nothing more was counted
    assert t.totals() == {"malformed-packet": 10_000}


def test_kinds_are_counted_apart_and_a_new_interval_speaks_at_once() -> None:
    lines: list[str] = []
    clock = Clock()
    t = Trouble(lines.append, interval=5, clock=clock)
    t.report("accept-failed", "too many open files")
    t.report("tcp-limit", "127.0.0.1 has 64 connections")
    t.report("accept-failed", "too many open files")
    assert lines == ["accept-failed: too many open files", "tcp-limit: 127.0.0.1 has 64 connections"]
    clock.now += 6
    t.report("accept-failed", "too many open files")  # the held-back count rides on the new line
    assert lines[-1] == "accept-failed: too many open files [1 more since the last line]"
    assert t.count("accept-failed") == 3 and t.count("nothing") == 0
