"""The HTTP control API (`zonetool serve --api`, `DNSTestServer(api=True)`): JSON over a `Control`.

A thin edge: every rule (names, overlay, faults) lives in `zonetool.server.control`; this module
parses requests, calls it and maps `ControlError` to 400 and `NotInZone` to 404, each as
`{"error": "FIELD: what is wrong", "field": "FIELD"}`.

Why aiohttp: asyncio-native (the server already is), one well-kept package for the server, the
client the tests use, and server-sent events (a plain StreamResponse). It runs on its own event
loop in its own thread, so HTTP work never queues in front of the DNS TCP loop, and the DNS hot
paths only ever meet it through the query log's listeners, which never block (see `_Subscriber`).

`smtp` is anything with `since(seq) -> [event]` (events with `seq` and `to_json()`),
`behave(host, behaviour)` and a `listeners` list: the SMTP sinks of `zonetool serve --smtp`,
handed in by the entry point (the server package imports no harness).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import hmac
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from zonetool.faults import EFFECTS
from zonetool.server.control import Control, ControlError
from zonetool.server.querylog import QueryLog

SSE_QUEUE = 1000  # events buffered per SSE reader; past that they are dropped and the reader told
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, message: str, field: str | None = None) -> web.Response:
    body: dict[str, Any] = {"error": message}
    if field is not None:
        body["field"] = field
    return web.json_response(body, status=status)


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        data = await request.json(loads=json.loads)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ControlError("body", f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ControlError("body", "expected a JSON object")
    return data


def _int_query(request: web.Request, key: str, default: int | None) -> int | None:
    value = request.query.get(key)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ControlError(key, f"expected an integer, got {value!r}") from None
    if number < 0:
        raise ControlError(key, f"must not be negative, got {number}")
    return number


class _Subscriber:
    """One SSE reader: a bounded queue filled from any thread, drained by its response coroutine."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue(SSE_QUEUE)
        self.dropped = 0

    def push(self, kind: str, item: Any) -> None:
        """Called by the DNS threads and the SMTP loop: hands over and returns, never waits."""
        with contextlib.suppress(RuntimeError):  # the API's loop has stopped
            self.loop.call_soon_threadsafe(self._put, kind, item)

    def _put(self, kind: str, item: Any) -> None:
        try:
            self.queue.put_nowait((kind, item))
        except asyncio.QueueFull:
            self.dropped += 1


class Api:
    """The HTTP API on its own thread and event loop; `start(host, port)`, `url`, `stop()`."""

    def __init__(
        self,
        control: Control,
        querylog: QueryLog,
        *,
        server: Any = None,
        token: str | None = None,
        smtp: Any = None,
    ) -> None:
        self.control = control
        self.querylog = querylog
        self.server = server  # for /stats: its Trouble counts
        self.token = token
        self.smtp = smtp
        self.host = ""
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._subscribers: set[_Subscriber] = set()

    # -- lifecycle --------------------------------------------------------------------
    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, host: str = "127.0.0.1", port: int = 0) -> Api:
        """Listen now (a busy port raises OSError here, before anything else runs)."""
        self.host = host
        ready: concurrent.futures.Future[int] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, args=(host, port, ready), name="zonetool-api", daemon=True)
        self._thread.start()
        try:
            self.port = ready.result(timeout=10)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Close the listener and every SSE stream, join the thread; safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._stop.set)
        if thread is not None:
            thread.join(10)
        self._thread = None

    def _run(self, host: str, port: int, ready: concurrent.futures.Future[int]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main(host, port, ready))
        except BaseException as exc:
            if not ready.done():
                ready.set_exception(exc)
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    async def _main(self, host: str, port: int, ready: concurrent.futures.Future[int]) -> None:
        self._stop = asyncio.Event()
        runner = web.AppRunner(self._app(), access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            ready.set_result(sockets[0].getsockname()[1] if sockets else port)
            await self._stop.wait()
        finally:
            for sub in list(self._subscribers):  # wake every SSE handler so it returns
                sub._put("stop", None)
            await runner.cleanup()

    # -- the application ------------------------------------------------------------------
    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._guard], client_max_size=1 << 20)
        r = app.router
        r.add_get("/", self.index)
        r.add_get("/zones", self.zones)
        r.add_get("/records", self.get_records)
        r.add_post("/records", self.post_record)
        r.add_put("/records", self.put_records)
        r.add_delete("/records", self.delete_record)
        r.add_get("/overlay", self.get_overlay)
        r.add_delete("/overlay", self.delete_overlay)
        r.add_get("/faults", self.get_faults)
        r.add_post("/faults", self.post_fault)
        r.add_delete("/faults", self.delete_faults)
        r.add_delete("/faults/{id}", self.delete_fault)
        r.add_get("/queries", self.get_queries)
        r.add_delete("/queries", self.delete_queries)
        r.add_get("/smtp/events", self.smtp_events)
        r.add_put("/smtp/behaviours/{host}", self.smtp_behaviour)
        r.add_put("/smtp/tls/{host}", self.smtp_tls)
        r.add_get("/events", self.events)
        r.add_get("/stats", self.stats)
        return app

    @web.middleware
    async def _guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """The token (when set) on every request; every error as JSON naming its field."""
        if self.token is not None:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                response = _error(401, "authorization: send the header 'Authorization: Bearer TOKEN' (--api-token)")
                response.headers["WWW-Authenticate"] = 'Bearer realm="zonetool"'
                return response
        try:
            return await handler(request)
        except ControlError as exc:
            return _error(exc.status, str(exc), exc.field)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            return _error(exc.status, f"{request.method} {request.path}: {exc.reason}")

    async def index(self, request: web.Request) -> web.Response:
        routes = sorted({f"{r.method} {r.resource.canonical}" for r in request.app.router.routes() if r.resource})
        return web.json_response({"zonetool": "control API", "endpoints": routes})

    # -- zones and records ----------------------------------------------------------------
    async def zones(self, request: web.Request) -> web.Response:
        return web.json_response(self.control.summary())

    async def get_records(self, request: web.Request) -> web.Response:
        """The records served now for `owner` (and `type`), as a resolver would get them."""
        owner = request.query.get("owner")
        if not owner:
            raise ControlError("owner", "give ?owner=NAME (and optionally &type=TYPE)")
        zone = self.control.zone_for(owner)
        name = self.control.resolve(owner)
        wanted = request.query.get("type", "").upper()
        out = [
            {"owner": name.to_text(), "type": rrset.rtype, "ttl": r.ttl, "data": r.rdata.to_text()}
            for rrset in zone.nodes.get(name, {}).values()
            if not wanted or rrset.rtype == wanted
            for r in rrset.records
        ]
        return web.json_response(out)

    async def post_record(self, request: web.Request) -> web.Response:
        body = await _body(request)
        owner, rtype, data = self._fields(body, list_data=False)
        record = self.control.add_record(owner, rtype, data, body.get("ttl"))
        return web.json_response(
            {"owner": record.owner.to_text(), "type": record.rtype, "ttl": record.ttl, "data": record.rdata.to_text()},
            status=201,
        )

    async def put_records(self, request: web.Request) -> web.Response:
        body = await _body(request)
        owner, rtype, data = self._fields(body, list_data=True)
        records = self.control.replace_rrset(owner, rtype, data, body.get("ttl"))
        return web.json_response({
            "owner": self.control.resolve(owner).to_text(),
            "type": rtype.upper(),
            "ttl": records[0].ttl if records else None,
            "data": [r.rdata.to_text() for r in records],
        })

    async def delete_record(self, request: web.Request) -> web.Response:
        body = await _body(request)
        owner, rtype, data = self._fields(body, list_data=False, need_type=False, need_data=False)
        removed = self.control.delete_record(owner, rtype, data)
        return web.json_response({"removed": removed})

    @staticmethod
    def _fields(
        body: dict[str, Any], *, list_data: bool, need_type: bool = True, need_data: bool = True
    ) -> tuple[Any, Any, Any]:
        owner = body.get("owner")
        if not isinstance(owner, str) or not owner:
            raise ControlError("owner", "required: the record's name, e.g. \"mx9.example.com.\"")
        rtype = body.get("type")
        if rtype is None and need_type:
            raise ControlError("type", "required: a record type such as A or MX")
        if rtype is not None and not isinstance(rtype, str):
            raise ControlError("type", f"expected a record type such as A or MX, got {rtype!r}")
        data = body.get("data")
        if list_data:
            if not isinstance(data, list):
                raise ControlError("data", "expected a list of records in presentation format ([] for none)")
        elif data is None:
            if need_data:
                raise ControlError("data", "required: the record in presentation format, e.g. \"10 mx1\"")
        elif not isinstance(data, str):
            raise ControlError("data", f"expected presentation text, got {data!r}")
        return owner, rtype, data

    async def get_overlay(self, request: web.Request) -> web.Response:
        return web.json_response([edit.to_json() for edit in self.control.edits.values()])

    async def delete_overlay(self, request: web.Request) -> web.Response:
        self.control.drop_edits()
        return web.Response(status=204)

    # -- faults ----------------------------------------------------------------------------
    async def get_faults(self, request: web.Request) -> web.Response:
        return web.json_response(self.control.fault_list())

    async def post_fault(self, request: web.Request) -> web.Response:
        body = await _body(request)
        names = body.get("names", body.get("name"))
        if names is None:
            raise ControlError("name", "required: the name the fault is for (\"*.x\": every name below x)")
        if not (isinstance(names, str) or (isinstance(names, list) and all(isinstance(n, str) for n in names))):
            raise ControlError("name", f"expected a name or a list of names, got {names!r}")
        types = body.get("types", body.get("type"))
        if types is not None and not isinstance(types, str | int | list):
            raise ControlError("type", f"expected a type or a list of types, got {types!r}")
        action = body.get("action")
        if action is None:
            raise ControlError("action", f"required: one of {', '.join(EFFECTS)}")
        fault = self.control.add_fault(names, types, action, body.get("delay"))
        return web.json_response({"id": fault.id, **fault.to_json()}, status=201)

    async def delete_fault(self, request: web.Request) -> web.Response:
        text = request.match_info["id"]
        if not text.isdigit():
            raise ControlError("id", f"expected a fault number, got {text!r}")
        self.control.remove_fault(int(text))
        return web.Response(status=204)

    async def delete_faults(self, request: web.Request) -> web.Response:
        self.control.clear_faults()
        return web.Response(status=204)

    # -- the query log -----------------------------------------------------------------------
    async def get_queries(self, request: web.Request) -> web.Response:
        since = _int_query(request, "since", 0) or 0
        limit = _int_query(request, "limit", None)
        name, rtype, rcode = (request.query.get(k) or None for k in ("name", "type", "rcode"))
        entries = self.querylog.since(since) if not (name or rtype or rcode) else self.querylog.filter(
            name, rtype, rcode, since=since
        )
        if limit is not None:
            entries = entries[:limit]
        return web.json_response([e.to_json() for e in entries])

    async def delete_queries(self, request: web.Request) -> web.Response:
        self.querylog.clear()
        return web.Response(status=204)

    async def stats(self, request: web.Request) -> web.Response:
        trouble = self.server.trouble.totals() if self.server is not None else {}
        return web.json_response({
            "queries": self.querylog.totals(),
            "trouble": trouble,
            "log": {"kept": len(self.querylog), "last_seq": self.querylog.last_seq, "limit": self.querylog.limit},
            "zones": len(self.control.served),
            "edits": len(self.control.edits),
            "faults": len(self.control.fault_list()),
        })

    # -- SMTP sinks ------------------------------------------------------------------------------
    def _smtp(self) -> Any:
        if self.smtp is None:
            raise ControlError("smtp", "no SMTP sinks: start the server with --smtp").with_status(404)
        return self.smtp

    async def smtp_events(self, request: web.Request) -> web.Response:
        sinks = self._smtp()
        since = _int_query(request, "since", 0) or 0
        return web.json_response([e.to_json() for e in sinks.since(since)])

    async def smtp_behaviour(self, request: web.Request) -> web.Response:
        sinks = self._smtp()
        host = request.match_info["host"]
        body = await _body(request)
        behaviour = body.get("behaviour")
        if not isinstance(behaviour, str):
            raise ControlError(
                "behaviour", "required: accept, tempfail, reject, tempfail-greeting, refuse, hang or closed"
            )
        try:
            sinks.behave(host, behaviour)
        except KeyError as exc:
            raise ControlError("host", str(exc.args[0])).with_status(404) from None
        except ValueError as exc:
            raise ControlError("behaviour", str(exc)) from None
        return web.json_response({"host": host, "behaviour": behaviour})

    async def smtp_tls(self, request: web.Request) -> web.Response:
        """Offer STARTTLS at that exchanger's sink or not, from the next connection on (issue 12 section 4)."""
        sinks = self._smtp()
        host = request.match_info["host"]
        on = (await _body(request)).get("tls")
        if not isinstance(on, bool):
            raise ControlError("tls", "required: true (offer STARTTLS) or false")
        try:
            sinks.use_tls(host, on)
        except KeyError as exc:
            raise ControlError("host", str(exc.args[0])).with_status(404) from None
        return web.json_response({"host": host, "tls": on})

    # -- server-sent events ----------------------------------------------------------------------
    async def events(self, request: web.Request) -> web.StreamResponse:
        """`text/event-stream`: `event: query` / `event: smtp` with the entry as JSON, as they happen.

        A reader that falls SSE_QUEUE events behind loses the newest and gets `event: dropped`
        with the count; the DNS path never waits for a reader.
        """
        sub = _Subscriber(asyncio.get_running_loop())
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)

        def on_query(entry: Any) -> None:
            sub.push("query", entry)

        def on_smtp(event: Any) -> None:
            sub.push("smtp", event)

        self._subscribers.add(sub)
        self.querylog.listeners = [*self.querylog.listeners, on_query]  # copy on write: readers never see a half list
        if self.smtp is not None:
            self.smtp.listeners = [*self.smtp.listeners, on_smtp]
        try:
            await response.write(b'event: ready\ndata: {"listening": true}\n\n')
            while True:
                kind, item = await sub.queue.get()
                if kind == "stop":
                    break
                chunk = f"event: {kind}\ndata: {json.dumps(item.to_json(), separators=(',', ':'))}\n\n"
                if sub.dropped:
                    chunk = f'event: dropped\ndata: {{"dropped": {sub.dropped}}}\n\n' + chunk
                    sub.dropped = 0
                await response.write(chunk.encode())
        except ConnectionResetError:
            pass  # the reader went away
        finally:
            self._subscribers.discard(sub)
            self.querylog.listeners = [f for f in self.querylog.listeners if f is not on_query]
            if self.smtp is not None:
                self.smtp.listeners = [f for f in self.smtp.listeners if f is not on_smtp]
        return response
