"""The running server: sockets, the UDP thread, the TCP event loop, reloads and NOTIFY, start and stop.

The same `Server` runs under `zonetool serve` and inside a test (`zonetool.testing`): it owns
threads and sockets and gives all of them back on `stop()`. Answers come from a `Responder`
(pure bytes in, bytes out); reloads hand it a complete new zone set through `Responder.swap`,
so every query sees either the old version or the new one, never a mix.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from typing import Any

from zonetool.loader import ZONE_SUFFIXES
from zonetool.lookup import RCODE_NAMES
from zonetool.server.notify import ReplyCheck, Target, send_notify
from zonetool.server.querylog import refusal_event
from zonetool.server.rrl import RateLimiter, ResponseRateLimit
from zonetool.server.sockets import bind_pair
from zonetool.server.tcp import IDLE_TIMEOUT, TCPLimits, TCPServer
from zonetool.server.trouble import Trouble
from zonetool.server.udp import UDPServer
from zonetool.server.zonesource import Outcome, ZoneSource, served_findings

log = logging.getLogger("zonetool.server")

POLL_INTERVAL = 0.2  # seconds between looks at the zone files, when polling
SETTLE = 1.0  # polling: seconds a changed file must hold still before it is read (a writer pausing mid-file)
SETTLE_INOTIFY = 0.2  # inotify: seconds of quiet after the writer closed the file
TICK = 0.05  # inotify: how often the event queue is read
WRITER_TIMEOUT = 10.0  # a file written to and never closed for this long is read anyway
EventSink = Callable[[str], None]


def _ignore(_: str) -> None:
    pass


class Server:
    """UDP and TCP on one address and port, answering from `responder`, reloading from `source`."""

    def __init__(
        self,
        responder: Any,
        *,
        address: str = "127.0.0.1",
        port: int = 0,
        querylog: Callable[[Any, int], None] | None = None,
        source: ZoneSource | None = None,
        notify: Sequence[Target] = (),
        tcp_idle: float = IDLE_TIMEOUT,
        events: EventSink | None = None,
        poll_interval: float = POLL_INTERVAL,
        settle: float | None = None,
        watch: bool = True,
        inotify: bool = True,
        reuseport: bool = False,
        trouble: Trouble | None = None,
        tcp_limits: TCPLimits | None = None,
        rrl: RateLimiter | None = None,
    ) -> None:
        self.responder = responder
        self.address = address
        self.requested_port = port
        self.querylog = querylog
        self.source = source
        self.notify_targets = list(notify)
        self.notify_replies = ReplyCheck(lambda m: self.events(m))  # signed NOTIFY answers checked, said once
        # what hostile TCP clients may hold (issue 16); `tcp_idle` stays for callers that set only that
        limits = tcp_limits or TCPLimits()
        if tcp_limits is None or tcp_idle != IDLE_TIMEOUT:
            limits = dataclasses.replace(limits, idle_timeout=tcp_idle)
        self.tcp_limits = limits
        self.events = events or _ignore
        self.poll_interval = poll_interval
        self.settle = settle  # None: SETTLE_INOTIFY with inotify, SETTLE when polling
        self.use_inotify = inotify
        self.watching = ""  # "inotify" or "polling" once the watcher runs (for the start line and tests)
        self.watch = watch and source is not None
        self.reuseport = reuseport
        self.rrl = rrl  # response-rate limiting of UDP answers (rrl.py); None: off
        # every kind of trouble (bad packets, accept errors, limits hit): one line per kind per interval
        self.trouble = trouble if trouble is not None else Trouble(self.events)
        # Bad packets and dropped log lines are trouble too. The newest Server owns them: a forked
        # worker's Server, or a DNSTestServer started again, counts in its own Trouble.
        for part in (responder, querylog):
            if hasattr(part, "trouble"):
                part.trouble = self.trouble  # type: ignore[union-attr]
        self.port = 0
        self.reloads = 0  # successful reloads, for tests and status lines
        self.after_reload: list[Callable[[], None]] = []  # e.g. tell worker processes or SMTP sinks to follow
        # Where a reload's zones go: the responder, or a Control that lays its runtime overlay over them first.
        self.swap: Callable[[Sequence[Any]], None] = responder.swap
        self._udp_sock: socket.socket | None = None
        self._tcp_sock: socket.socket | None = None
        self._udp: UDPServer | None = None
        self._tcp: TCPServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._reload_lock: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- lifecycle ----------------------------------------------------------------------
    def bind(self) -> None:
        """Take the sockets now (so a busy port is reported before anything else starts)."""
        if self._udp_sock is None:
            self._udp_sock, self._tcp_sock = bind_pair(self.address, self.requested_port, reuseport=self.reuseport)
            self.port = self._udp_sock.getsockname()[1]

    def start(self) -> Server:
        self.bind()
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run_loop, args=(ready,), name="zonetool-loop", daemon=True)
        self._thread.start()
        try:
            ready.result(timeout=10)
        except BaseException:
            self.stop()
            raise
        assert self._loop is not None and self._udp_sock is not None
        loop = self._loop

        def schedule(delay: float, fn: Callable[[], None]) -> None:
            with contextlib.suppress(RuntimeError):  # loop already closed at shutdown: drop the late reply
                loop.call_soon_threadsafe(loop.call_later, delay, fn)

        make = getattr(self.responder, "udp_fast_paths", None)
        table, cached = make() if make is not None else (None, None)
        limit = None
        if self.rrl is not None:
            responder = self.responder
            limit = ResponseRateLimit(self.rrl, lambda: responder.zoneset, self.trouble.report)
        self._udp = UDPServer(self._udp_sock, self.responder.respond, self.querylog, schedule, cached, table,
                              limit=limit)
        self._udp.start()
        return self

    def stop(self) -> None:
        """Stop answering, join every thread, close every socket; safe to call twice."""
        if self._udp is not None:
            self._udp.stop()
            self._udp = None
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive() and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._stop.set)
            thread.join(10)
        self._thread = None
        drain = getattr(self.querylog, "drain", None)
        if drain is not None:  # every answered question's line is out before stop returns (a stuck reader: 2 s)
            drain(2.0)
        for sock in (self._udp_sock, self._tcp_sock):
            if sock is not None:
                sock.close()
        self._udp_sock = self._tcp_sock = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def where(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"

    # -- the event loop thread ----------------------------------------------------------------
    def _run_loop(self, ready: concurrent.futures.Future[None]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(ready))
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
            else:
                log.exception("server loop failed")
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _main(self, ready: concurrent.futures.Future[None]) -> None:
        assert self._tcp_sock is not None
        self._stop = asyncio.Event()
        self._reload_lock = asyncio.Lock()
        self._tcp = TCPServer(
            self._tcp_sock, self.responder.respond, self.querylog, self.tcp_limits, self.trouble, self.events
        )
        await self._tcp.start()
        if self.watch:
            # The watches are in place before the server says it is ready: an edit made right after
            # start must not fall between the first load and the first inotify event.
            notifier = None
            if self.use_inotify:
                from zonetool.server.inotify import open_inotify

                notifier = open_inotify(self._folders())
            self._spawn(self._watch(notifier))
        self._spawn(self._flush_trouble())
        ready.set_result(None)
        try:
            await self._stop.wait()
        finally:
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            await self._tcp.stop()
            self.trouble.flush(everything=True)  # the counts held back this interval are said too

    async def _flush_trouble(self) -> None:
        """Say the trouble counted since the last line, once per interval (see trouble.py)."""
        while True:
            await asyncio.sleep(self.trouble.interval)
            self.trouble.flush()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- reloads ------------------------------------------------------------------------
    async def _watch(self, notifier: Any) -> None:
        """Follow the zone files: by inotify where there is one (`notifier`), else by polling."""
        if notifier is None:
            await self._poll()
            return
        try:
            await self._follow(notifier)
        finally:
            notifier.close()
        await self._poll()  # a watched folder went away: keep following by polling

    def _folders(self) -> list[Any]:
        assert self.source is not None
        return sorted({p if p.is_dir() else p.parent for p in self.source.paths}, key=str)

    async def _follow(self, notifier: Any) -> None:
        """Reload once every file written to has been closed and `settle` seconds passed without events."""
        from zonetool.server.inotify import DONE, IN_DELETE_SELF, IN_MODIFY, IN_MOVE_SELF

        assert self.source is not None
        source = self.source
        settle = self.settle if self.settle is not None else SETTLE_INOTIFY
        loop = asyncio.get_running_loop()
        explicit = {str(p.resolve()) for p in source.paths if not p.is_dir()}
        folders = {str(p.resolve()) for p in source.paths if p.is_dir()}

        def ours(path: str) -> bool:
            return path in explicit or (os.path.dirname(path) in folders and path.endswith(ZONE_SUFFIXES))

        writing: dict[str, float] = {}  # written to and not closed yet: never read half-way
        # the files written since the last reload (the source then looks at those alone); None: unknown
        dirty: set[str] | None = set()
        # a change between the load and the watches (or during a load) shows in the signature
        due, last = source.signature() != source.loaded_signature, 0.0
        if due:
            dirty = None
        self.watching = "inotify"  # only now: a write from here on is told by its event, with its path
        while True:
            await asyncio.sleep(TICK)
            now = loop.time()
            for path, mask in notifier.read():
                if mask & (IN_DELETE_SELF | IN_MOVE_SELF):
                    return  # the folder itself is gone: the watches are dead
                if not ours(path):
                    continue
                last = now
                if dirty is not None:
                    dirty.add(path)
                if mask & IN_MODIFY:
                    writing.setdefault(path, now)
                if mask & DONE:
                    writing.pop(path, None)
                    due = True
            if notifier.overflowed:  # the kernel dropped events: look at everything
                notifier.overflowed, due, last, dirty = False, True, now, None
            for path, since in list(writing.items()):
                if now - since >= WRITER_TIMEOUT:  # a writer that never closes: read what it wrote
                    del writing[path]
                    due = True
            if due and not writing and now - last >= settle:
                due, changed, dirty = False, dirty, set()
                await self._reload("file change", changed=changed)
            elif not due and source.grace_due():
                await self._reload("a vanished file's grace period is over")

    async def _poll(self) -> None:
        """Poll the files; reload once a change has held still for `settle` seconds (its writer is done),
        and when a vanished file's grace period ends."""
        assert self.source is not None
        source = self.source
        self.watching = "polling"
        settle = self.settle if self.settle is not None else SETTLE
        loop = asyncio.get_running_loop()
        pending, since = None, 0.0
        while True:
            await asyncio.sleep(self.poll_interval)
            try:
                now = source.signature()
            except OSError as exc:
                self.events(f"cannot look at the zone files: {exc}")
                continue
            if now == source.loaded_signature:
                pending = None
                if source.grace_due():
                    await self._reload("a vanished file's grace period is over")
                continue
            if now != pending:
                pending, since = now, loop.time()
                continue
            if loop.time() - since < settle:
                continue
            pending = None
            await self._reload("file change")

    async def _reload(self, reason: str, full: bool = False, changed: set[str] | None = None) -> bool:
        """Load and swap in the new version. The watchers read only the files that changed (`changed`:
        the paths inotify saw written, so the folders need not be looked at again); `full` (SIGHUP,
        an explicit reload) reads every file again, since a BIND file's $INCLUDE may have changed
        behind it."""
        assert self.source is not None and self._reload_lock is not None
        loop = asyncio.get_running_loop()
        async with self._reload_lock:
            try:
                outcome: Outcome = await loop.run_in_executor(None, lambda: self.source.load(full, changed))
            except Exception as exc:  # an unreadable file or a loader bug: keep serving what we have
                from zonetool.loader import LoadError

                if not isinstance(exc, LoadError):  # a vanished file is news, not a bug: no traceback
                    log.exception("reload failed")
                self.events(f"reload ({reason}) failed: {exc}; still serving the previous version")
                return False
            if outcome.unstable:
                return False  # written to while read: the watcher sees the change and waits for it to settle
            if outcome.zones is None:
                lines = [f.format() for f in outcome.findings if f.severity.value == "error"]
                self.events(
                    f"reload ({reason}): the new version has errors; still serving the previous version\n"
                    + "\n".join(lines)
                )
                return False
            zones = outcome.zones
            await loop.run_in_executor(None, lambda: self.responder.prepare(zones))  # IXFR deltas, off the loop
            event = getattr(self.querylog, "event", None)
            for file, blockers in outcome.refused.items():
                if event is not None:
                    event(refusal_event(file, blockers, reload=True))
                state = "the previous version" if file in outcome.kept else "nothing for it"
                self.events(
                    f"reload ({reason}): the new version has errors; still serving {state} ({file})\n"
                    + "\n".join(f.format() for f in blockers)
                )
            self.swap(outcome.zones)
            self.reloads += 1
            # the changed zones, as the serial book stamped them: not a look at each of 10,000 (issue 11)
            # (a zone added after the book, as the catalog is, is looked for among the zones)
            changed = [self.source.serials.zone(origin) or next((z for z in outcome.zones if z.origin == origin), None)
                       for origin in outcome.changed]
            signed = getattr(getattr(self.responder, "signer", None), "signed", {})  # `dnssec:`: RRsets signed
            serials = ", ".join(f"{z.origin.to_text()} serial {z.soa.serial if z.soa else '-'}"
                                + (f" ({signed[o]} RRsets signed)" if (o := z.origin.to_text()) in signed else "")
                                for z in changed if z is not None)
            summary = served_findings(outcome)
            extra = f"; {summary} served as they are" if summary else ""
            self.events(f"reloaded ({reason}): {serials or 'no zone changed'}{extra}")
            for follow in self.after_reload:
                try:
                    follow()
                except Exception:  # a follower's failure must not stop the server or the others
                    log.exception("after-reload step failed")
            # a signed parent whose child's keys changed has a new DS and serial too (zonetool.server.signing)
            resigned = getattr(getattr(self.responder, "signer", None), "resigned", [])
            changed_set = set(outcome.changed)
            told = list(outcome.changed) + [o for o in resigned if o not in changed_set]
            if told and self.notify_targets:
                self._spawn(self._notify(told))
            return True

    async def _notify(self, origins: Sequence[Any]) -> None:
        loop = asyncio.get_running_loop()
        check = self.notify_replies
        for origin in origins:
            for target in self.notify_targets:
                rcode = await loop.run_in_executor(None, lambda o=origin, t=target: send_notify(o, t, check=check))
                if rcode is None:
                    self.events(f"NOTIFY {origin.to_text()} to {target}: no answer")
                elif rcode != 0:
                    name = RCODE_NAMES.get(rcode, f"rcode {rcode}")
                    self.events(f"NOTIFY {origin.to_text()} to {target}: answered {name}")
                else:
                    self.events(f"NOTIFY {origin.to_text()} to {target}: acknowledged")

    def request_reload(self, reason: str = "SIGHUP") -> None:
        """Ask for a reload from any thread (a signal handler, say) without waiting for it."""
        loop = self._loop
        if loop is None or self.source is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(lambda: self._spawn(self._reload(reason, full=True)))

    def reload(self, reason: str = "requested", timeout: float = 60) -> bool:
        """Reload now and wait; True if the new version is being served."""
        if self._loop is None or self.source is None:
            raise RuntimeError("the server is not running or has no zone files")
        return asyncio.run_coroutine_threadsafe(self._reload(reason, full=True), self._loop).result(timeout)

    def signatures_refreshed(self, origins: Sequence[Any]) -> None:
        """New signatures were made while serving, each zone with a higher serial: said, and NOTIFY
        sent as after a reload (RFC 1996), so secondaries transfer them before the old ones expire."""
        by_apex = self.responder.zoneset.by_apex
        serials = ", ".join(f"{o.to_text()} serial {z.soa.serial}" for o in origins
                            if (z := by_apex.get(o)) is not None and z.soa is not None)
        self.events(f"signatures refreshed: {serials}")
        self.notify_all(origins)

    def notify_all(self, origins: Sequence[Any]) -> None:
        """Send NOTIFY for `origins` to every configured secondary (used after a start, too)."""
        if self._loop is not None and self.notify_targets:
            loop = self._loop
            loop.call_soon_threadsafe(lambda: self._spawn(self._notify(list(origins))))
