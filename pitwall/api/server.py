"""The local API server: the same Chalice app as the cloud (:data:`pitwall.api.app.app`) behind
uvicorn (asyncio, httptools' llhttp parser), with the local backends.

Why uvicorn: one event loop per process holds idle and slow connections without a thread each;
it has keep-alive timeouts, a per-process concurrency setting, pre-forked workers that its
supervisor respawns when they die, and streams responses (Server-Sent Events for the live mode).
Gunicorn's gthread worker, the other candidate, blocks a thread on a client that has sent one
byte and answers beyond its connection limit by not accepting (no 503). The parser is
httptools (llhttp, C) rather than h11 (pure Python): on the serving benchmark's predict request,
2 workers on 2 cores answered 16 % more requests/s at 8 clients with it (paired runs).

One adapter, no second route table: :class:`ApiGatewayAdapter` turns an ASGI request into the API
Gateway REST proxy event that Lambda hands the Chalice app in the cloud (method, path, resource
path of the route Chalice's own matcher finds in ``app.routes``, path parameters, headers,
query, body) and calls ``app(event, context)``. Paths outside ``/api/`` are the web UI's static
files (:mod:`pitwall.webui`).

Transport rules (:class:`ServerLimits`; every refusal is the API's JSON error body and closes the
connection):

- request headers must be complete within ``header_timeout`` seconds of the connection opening
  (or of the previous answer): otherwise 408 and close (slowloris);
- the body must arrive within ``body_timeout`` seconds: otherwise 408 and close;
- ``Content-Length`` larger than the API's limit: 413 before a byte of the body is read; an
  invalid or conflicting ``Content-Length``, or ``Content-Length`` together with
  ``Transfer-Encoding``: 400 (nothing after it on the connection runs: no request smuggling);
  repeated identical lengths are one length (RFC 9110 §8.6); other malformed requests (bad
  request line or method, unknown transfer coding): 400; a request line and headers still
  unfinished after ``max_header_bytes + max_url_bytes`` bytes: 431 (complete ones over
  ``max_url_bytes`` / ``max_header_bytes``: 414 / 431);
- at most ``max_connections`` connections per worker process: beyond it, 503 at once;
- keep-alive connections idle for ``keepalive_timeout`` seconds are closed.

Route handlers are synchronous; they run on a bounded thread pool (``threads`` per worker), so
the event loop keeps reading and timing other connections meanwhile. The exception is the hot
path, predictions on explicit rows (:func:`on_event_loop`): about a millisecond of work each,
answered on the event loop itself, since handing one to a thread and back cost a third of a
request's time (the serving benchmark: 8 clients, 2 workers on 2 cores answered 36 % more
requests/s, at a p99 of 32 ms instead of 56 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import parse_qs

import httptools
import uvicorn
from chalice.local import LambdaContext, RouteMatcher
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from pitwall.api.operations import OPERATIONS
from pitwall.api.services import ApiServices, local_services, set_services

access_log = logging.getLogger("pitwall.api.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

LIMITS_ENV = "PITWALL_SERVE_LIMITS"
"""JSON of :class:`ServerLimits` handed to spawned workers."""
ACCEPT_DEFER_STEP_S = 0.001
"""A pre-forked worker's wait per connection it holds before accepting another (:class:`TurnTakingLoop`)."""
RATE_LIMITS_ENV = "PITWALL_SERVE_RATE_LIMITS"
"""``off``: the workers do not enforce request-rate quotas (benchmarks)."""
ROWS_ON_LOOP_MAX_BYTES = 64 * 1024
"""The largest explicit-rows predict body answered on the event loop (:func:`on_event_loop`)."""
_PREDICT = next(op for op in OPERATIONS if op.operation_id == "predict")


def on_event_loop(method: str, route: str, body: bytes) -> bool:
    """Whether a request (its method, the route it matched, its body) is answered on the
    worker's event loop instead of a handler thread: the ``predict`` operation
    (``POST /api/v1/predict/{model}``) with explicit feature rows (``instances``: no feature
    look-up in the lake, which a race request may need, taking 0.2 s the first time) of at most
    :data:`ROWS_ON_LOOP_MAX_BYTES`. Anything else may take long and runs on the pool, so it
    never holds up the other connections' reads and timeouts. (A worker's first request for a
    model version also loads it, once, holding the loop up for that load.)"""
    return (
        method == _PREDICT.method
        and route == _PREDICT.path
        and len(body) <= ROWS_ON_LOOP_MAX_BYTES
        and b'"instances"' in body
    )


@dataclass(frozen=True)
class ServerLimits:
    """Transport limits of one worker process (see the module doc)."""

    max_connections: int = 256
    """Concurrent connections per worker; beyond: 503. The 1-64 connection load runs stay inside."""
    threads: int = 16
    """Request-handling threads per worker."""
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keepalive_timeout: int = 5
    max_header_bytes: int = 16 * 1024
    max_url_bytes: int = 8 * 1024

    @classmethod
    def from_env(cls) -> ServerLimits:
        raw = os.environ.get(LIMITS_ENV)
        return cls(**json.loads(raw)) if raw else cls()


def error_bytes(code: str, message: str, field: str | None = None) -> bytes:
    """The API's error body (``pitwall.api.http.error_answer``'s shape)."""
    return json.dumps({"error": {"code": code, "message": message, "field": field}}).encode("utf-8")


def raw_error_response(status: int, reason: str, code: str, message: str, field: str | None = None) -> bytes:
    """A complete HTTP/1.1 error answer that closes the connection (for the protocol layer)."""
    body = error_bytes(code, message, field)
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


# --------------------------------------------------------------------------- protocol

_REASONS = {400: "Bad Request", 431: "Request Header Fields Too Large"}


class PitwallHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools (llhttp) protocol with a header timeout, a bound on an unfinished
    request head, a connection bound and JSON 400/408/431/503 answers.

    llhttp is strict by default: a request with both ``Content-Length`` and ``Transfer-Encoding``,
    an invalid or repeated length, or an unknown transfer coding is a parser error (a 400 that
    closes the connection, so nothing smuggled after it runs); a length repeated with the same
    value is parsed again as one (:meth:`_reparse_with_one_length`).
    """

    limits: ServerLimits = ServerLimits()
    open_connections: set[PitwallHttpProtocol] = set()
    """This process's open connections (:class:`TurnTakingLoop` shares new ones by it)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        PitwallHttpProtocol.open_connections.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None:  # headers and body leave in two writes: with Nagle the body waits ~40 ms
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._header_timer: asyncio.TimerHandle | None = None
        self._armed_for: object = None
        self._bytes_since_armed = False
        self._head_open = True
        """Between requests or inside a request head (its bytes are counted against the bound)."""
        self._head_bytes = 0
        self._head_too_large = False
        self._head = bytearray()
        """The bytes received since the current head began, while ``_head_whole``."""
        self._head_whole = True
        """The current head began at a chunk's start (``_head`` holds it from its first byte)."""
        self._next_begun = False
        if len(self.connections) > self.limits.max_connections:
            transport.write(
                raw_error_response(
                    503,
                    "Service Unavailable",
                    "server_busy",
                    f"this worker already holds {self.limits.max_connections} connections; retry shortly",
                )
            )
            transport.close()
            return
        self._arm_header_timer()

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._armed_for = self.cycle
        self._bytes_since_armed = False
        self._header_timer = self.loop.call_later(self.limits.header_timeout, self._header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is self._armed_for:  # still waiting for the next request's headers
            if not self._bytes_since_armed:  # an idle connection: close it quietly
                self.transport.close()
                return
            self.transport.write(
                raw_error_response(
                    408,
                    "Request Timeout",
                    "request_timeout",
                    f"the request headers did not arrive within {self.limits.header_timeout:g} s",
                )
            )
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self._bytes_since_armed = True
        if self._head_open:
            self._head_bytes += len(data)
            if self._head_whole:
                self._head += data
        super().data_received(data)
        if self.transport.is_closing():
            return
        if self._head_open and not self._next_begun:  # this chunk ended on a message boundary
            self._head_whole = True
        if self._head_open and self._head_bytes > self.limits.max_header_bytes + self.limits.max_url_bytes:
            self._head_too_large = True  # the parser would keep buffering an endless head
            self.send_400_response("request head too large")
            return
        if self._header_timer is not None and self.cycle is not self._armed_for:
            self._cancel_header_timer()  # a request's headers are complete

    def on_message_begin(self) -> None:
        self._next_begun = True
        super().on_message_begin()

    def on_headers_complete(self) -> None:
        self._head_open = False
        self._head.clear()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._head_open, self._head_bytes, self._next_begun = True, 0, False
        self._head.clear()
        self._head_whole = False  # the next head may start inside the chunk being parsed
        super().on_message_complete()

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self._arm_header_timer()
        super().on_response_complete()
        if self._header_timer is not None and self.cycle is not self._armed_for:
            self._cancel_header_timer()  # a pipelined request was already waiting

    def connection_lost(self, exc: Exception | None) -> None:
        PitwallHttpProtocol.open_connections.discard(self)
        self._cancel_header_timer()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn calls this inside its ``except httptools.HttpParserError`` (and
        :meth:`data_received` for an oversized head): the API's JSON error, then close."""
        if not self._head_too_large and self._reparse_with_one_length():
            return
        exc = sys.exc_info()[1]
        if self._head_too_large:
            status, code, field = 431, "headers_too_large", "headers"
            limit = self.limits.max_header_bytes + self.limits.max_url_bytes
            message = f"the request line and headers are over {limit} bytes"
        else:
            detail = str(exc) if exc is not None and str(exc) else msg
            lowered = detail.lower()
            field = next((h for h in ("content-length", "transfer-encoding") if h in lowered), "request")
            status, code, message = 400, "bad_request", f"malformed HTTP request: {detail}"
        self.transport.write(raw_error_response(status, _REASONS[status], code, message, field))
        self.transport.close()

    def _reparse_with_one_length(self) -> bool:
        """RFC 9110 §8.6: repeated ``Content-Length`` values that are all the same number are one
        length. llhttp refuses any repetition, so a head that failed on it is parsed again with
        a single ``Content-Length`` line. Only a head that began at the start of a received chunk
        is kept for this (a pipelined request starting inside the previous one's last chunk is
        refused, as RFC 9110 also allows). True: the request went on (or failed on something
        else, answered); False: not that case, answer the original error."""
        head, end, rest = bytes(self._head).partition(b"\r\n\r\n")
        if not (self._head_open and self._head_whole and end):
            return False
        lines = head.split(b"\r\n")
        lengths = [line for line in lines[1:] if line.partition(b":")[0].strip().lower() == b"content-length"]
        values = {v.strip() for line in lengths for v in line.partition(b":")[2].split(b",")}
        if len(lengths) + sum(line.count(b",") for line in lengths) < 2 or len(values) != 1:
            return False
        (value,) = values
        if not value.isdigit():
            return False
        kept = [line for line in lines if line not in lengths] + [b"Content-Length: " + value]
        self._head_whole = False  # one retry
        self.parser = httptools.HttpRequestParser(self)
        with contextlib.suppress(AttributeError):  # httptools < 0.6.3
            self.parser.set_dangerous_leniencies(lenient_data_after_close=True)
        super().data_received(b"\r\n".join(kept) + end + rest)
        return True


# --------------------------------------------------------------------------- adapter


@dataclass
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


def _json_answer(status: int, code: str, message: str, field: str | None = None, *, close: bool = False) -> Answer:
    body = error_bytes(code, message, field)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    return Answer(status, headers, body)


class BodyRefused(Exception):
    def __init__(self, answer: Answer) -> None:
        self.answer = answer


class ApiGatewayAdapter:
    """ASGI app: request -> API Gateway REST proxy event -> the Chalice app -> response."""

    def __init__(self, services: ApiServices, limits: ServerLimits | None = None) -> None:
        from pitwall.api.app import app

        self.services = services
        self.limits = limits or ServerLimits()
        self.app = app
        self.matcher = RouteMatcher(list(app.routes))
        self.binary_types = set(app.api.binary_types)
        self.pool = ThreadPoolExecutor(max_workers=self.limits.threads, thread_name_prefix="pitwall-api")
        self.live_poll_s = 0.5
        """How often a live event stream looks for new laps in the feed."""
        set_services(services)

    # ------------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        try:
            answer = await self._answer(scope, receive)
        except BodyRefused as refused:
            answer = refused.answer
        if answer.status == 200 and await self._stream_live(scope, receive, send):
            return
        await send({"type": "http.response.start", "status": answer.status, "headers": answer.headers})
        await send({"type": "http.response.body", "body": answer.body})

    async def _stream_live(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """``GET /api/v1/live/{model}/events`` asking for ``text/event-stream``, already answered 200 by
        the app (key, quota, model checks): stream the lap updates instead (:mod:`pitwall.api.live`)."""
        from pitwall.api.live import LiveEventStream, wants_stream
        from pitwall.live.feed import get_feed, parse_since

        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        model = wants_stream(scope["method"], scope["path"], headers)
        if model is None:
            return False
        since = parse_qs(scope["query_string"].decode("latin-1")).get("since", [None])[-1]
        loop = asyncio.get_running_loop()
        feed = getattr(self.services, "live_feed", None) or get_feed()
        stream = LiveEventStream(model, feed, headers.get("last-event-id"), parse_since(since))
        await send({"type": "http.response.start", "status": 200, "headers": list(LiveEventStream.HEADERS)})
        gone = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            gone.set()

        watcher = asyncio.ensure_future(watch())
        try:
            while not gone.is_set():
                for chunk in await loop.run_in_executor(self.pool, stream.poll):
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                if stream.done:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(gone.wait(), self.live_poll_s)
            if not gone.is_set():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
        return True

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.pool.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _answer(self, scope: Scope, receive: Receive) -> Answer:
        url_bytes = len(scope.get("raw_path") or b"") + len(scope["query_string"])
        if url_bytes > self.limits.max_url_bytes:
            raise BodyRefused(
                _json_answer(
                    414,
                    "uri_too_long",
                    f"the URL is {url_bytes} bytes; at most {self.limits.max_url_bytes} are accepted",
                    "path",
                    close=True,
                )
            )
        header_bytes = sum(len(k) + len(v) + 4 for k, v in scope["headers"])
        if header_bytes > self.limits.max_header_bytes:
            raise BodyRefused(
                _json_answer(
                    431,
                    "headers_too_large",
                    f"the request headers are {header_bytes} bytes; at most {self.limits.max_header_bytes}",
                    "headers",
                    close=True,
                )
            )
        headers: dict[str, str] = {}
        lengths = 0
        for name, value in scope["headers"]:
            key = name.decode("latin-1")
            if key == "content-length":
                lengths += 1
            text = value.decode("latin-1")
            headers[key] = f"{headers[key]},{text}" if key in headers else text
        limit = self.services.max_body_bytes
        length = self._content_length(headers, lengths)
        if length is not None and length > limit:
            raise BodyRefused(
                _json_answer(
                    413,
                    "payload_too_large",
                    f"the request body is {length} bytes; at most {limit} are accepted",
                    "body",
                    close=True,
                )
            )
        body = await self._read_body(receive, limit)
        loop = asyncio.get_running_loop()
        method, path = scope["method"], scope["path"]
        if not (path.startswith("/api/") or path == "/api"):
            return await loop.run_in_executor(self.pool, self._static, method, path)
        event = self.event(method, path, scope["query_string"].decode("latin-1"), headers, body)
        if event is None:
            return _json_answer(404, "not_found", f"no route {method} {path}", "path")
        if on_event_loop(method, event["resource"], body):
            return self.dispatch(event)
        return await loop.run_in_executor(self.pool, self.dispatch, event)

    @staticmethod
    def _content_length(headers: dict[str, str], count: int) -> int | None:
        raw = headers.get("content-length")
        if "transfer-encoding" in headers and raw is not None:
            raise BodyRefused(
                _json_answer(
                    400,
                    "bad_request",
                    "a request may not carry both Content-Length and Transfer-Encoding",
                    "content-length",
                    close=True,
                )
            )
        if raw is None:
            return None
        if count > 1 or not raw.strip().isdigit():
            raise BodyRefused(
                _json_answer(400, "bad_request", f"invalid Content-Length header {raw!r}", "content-length", close=True)
            )
        return int(raw)

    async def _read_body(self, receive: Receive, limit: int) -> bytes:
        deadline = time.monotonic() + self.limits.body_timeout
        chunks: list[bytes] = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            try:
                if remaining <= 0:
                    raise TimeoutError
                message = await asyncio.wait_for(receive(), remaining)
            except TimeoutError:
                raise BodyRefused(
                    _json_answer(
                        408,
                        "request_timeout",
                        f"the request body did not arrive within {self.limits.body_timeout:g} s",
                        "body",
                        close=True,
                    )
                ) from None
            if message["type"] == "http.disconnect":
                raise BodyRefused(_json_answer(400, "bad_request", "the client went away", "body", close=True))
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyRefused(
                    _json_answer(
                        413,
                        "payload_too_large",
                        f"the request body is over {limit} bytes; at most {limit} are accepted",
                        "body",
                        close=True,
                    )
                )
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    # ------------------------------------------------------------------ the one adapter

    def event(self, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> dict[str, Any] | None:
        """The API Gateway REST proxy event of a request (None: no route matches ``path``)."""
        try:
            match = self.matcher.match_route(path)
        except ValueError:
            return None
        multi = parse_qs(query, keep_blank_values=True) if query else None
        binary = headers.get("content-type", "") in self.binary_types
        import base64

        return {
            "resource": match.route,
            "path": path,
            "httpMethod": method,
            "requestContext": {
                "httpMethod": method,
                "resourcePath": match.route,
                "path": path,
                "stage": "local",
                "identity": {"sourceIp": "127.0.0.1"},
            },
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in multi.items()} if multi else None,
            "multiValueQueryStringParameters": multi,
            "pathParameters": match.captured or None,
            "stageVariables": None,
            "body": (base64.b64encode(body).decode("ascii") if binary else body.decode("utf-8", "replace"))
            if body
            else None,
            "isBase64Encoded": bool(body) and binary,
        }

    def dispatch(self, event: dict[str, Any]) -> Answer:
        """Answer one API request's :meth:`event` through the Chalice app (on a handler thread, or
        on the event loop: :func:`on_event_loop`)."""
        started = time.perf_counter()
        context = LambdaContext(function_name=self.app.app_name, memory_size=1024, max_runtime_ms=900_000)
        result = self.app(event, context)
        answer = self._from_lambda(result)
        if access_log.isEnabledFor(logging.DEBUG):
            elapsed_ms = 1000 * (time.perf_counter() - started)
            access_log.debug("%s %s %d %.1f ms", event["httpMethod"], event["path"], answer.status, elapsed_ms)
        return answer

    @staticmethod
    def _from_lambda(result: dict[str, Any]) -> Answer:
        raw = result.get("body") or b""
        if result.get("isBase64Encoded"):
            import base64

            body = base64.b64decode(raw)
        else:
            body = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
        headers = [
            (k.lower().encode("latin-1"), str(v).encode("latin-1")) for k, v in result.get("headers", {}).items()
        ]
        for k, values in (result.get("multiValueHeaders") or {}).items():
            headers.extend((k.lower().encode("latin-1"), str(v).encode("latin-1")) for v in values)
        if not any(k == b"content-length" for k, _ in headers):
            headers.append((b"content-length", str(len(body)).encode()))
        return Answer(int(result["statusCode"]), headers, body)

    @staticmethod
    def _static(method: str, path: str) -> Answer:
        from pitwall.webui import static_file

        found = static_file(path) if method in ("GET", "HEAD") else None
        if found is None:
            return _json_answer(404, "not_found", f"no route {method} {path}", "path")
        content = found.read()
        headers = [(k.lower().encode(), v.encode()) for k, v in found.headers(len(content)).items()]
        return Answer(200, headers, b"" if method == "HEAD" else content)


# --------------------------------------------------------------------------- processes


class TurnTakingLoop(asyncio.SelectorEventLoop):
    """asyncio's selector loop, sharing new connections fairly with the other workers.

    The workers share one listening socket and all wake when it is readable; asyncio's own loop
    then accepts up to ``backlog`` connections at once, so the first worker awake takes a whole
    burst (8 clients connecting together landed 8/0 or 7/1 on 2 workers: one worker queued all
    the requests while the other idled). Here a worker accepts one connection per wake-up, and
    with ``defer_step_s`` set (pre-forked workers) a worker already holding ``k`` connections
    waits ``min(k, 20) * defer_step_s`` before accepting the next, so a worker holding fewer
    takes it first. The kernel's accept queue (``listen`` backlog) is unchanged.
    """

    defer_step_s = 0.0
    """Per held connection; 0 (one process serving alone): accept at once."""
    max_defer_steps = 20

    def _accept_connection(self, protocol_factory: Any, sock: Any, sslcontext: Any = None, server: Any = None,
                           backlog: int = 100, *args: Any, **kwargs: Any) -> None:  # fmt: skip
        held = len(PitwallHttpProtocol.open_connections)
        wait = min(held, self.max_defer_steps) * self.defer_step_s
        if wait <= 0:
            super()._accept_connection(protocol_factory, sock, sslcontext, server, 1, *args, **kwargs)  # type: ignore[misc]
            return
        self._remove_reader(sock.fileno())  # type: ignore[attr-defined]

        def resume() -> None:
            if sock.fileno() == -1 or (server is not None and not server.is_serving()):
                return  # the server closed meanwhile
            super(TurnTakingLoop, self)._accept_connection(  # type: ignore[misc]
                protocol_factory, sock, sslcontext, server, 1, *args, **kwargs
            )
            self._add_reader(  # type: ignore[attr-defined]
                sock.fileno(), self._accept_connection, protocol_factory, sock, sslcontext, server, backlog,
                *args, **kwargs,
            )  # fmt: skip

        self.call_later(wait, resume)


def worker_app() -> ApiGatewayAdapter:
    """The ASGI app of a spawned worker (uvicorn factory): local services from the environment."""
    _die_with_parent()
    limits = ServerLimits.from_env()
    PitwallHttpProtocol.limits = limits
    TurnTakingLoop.defer_step_s = ACCEPT_DEFER_STEP_S  # other workers share the socket
    services = local_services(enforce_rate_limits=os.environ.get(RATE_LIMITS_ENV) != "off")
    recover_jobs(services)
    adapter = ApiGatewayAdapter(services, limits)
    _freeze_heap()
    return adapter


def recover_jobs(services: ApiServices) -> dict[str, str]:
    """At a server process's start: settle the local jobs a stopped process left queued or running
    (:func:`pitwall.workflow.launchers.recover_local_jobs`); never stops the server from starting."""
    from pitwall.workflow.launchers import recover_local_jobs

    try:
        return recover_local_jobs(services.launcher, services.records)
    except Exception:  # noqa: BLE001 - recovery is best effort; the next start tries again
        logging.getLogger(__name__).exception("recovering unfinished local jobs failed")
        return {}


def _freeze_heap() -> None:
    """Move everything imported so far out of the collector's generations: full collections
    then scan only what requests allocate (fewer multi-millisecond pauses in the tail)."""
    gc.collect()
    gc.freeze()


def _die_with_parent() -> None:
    """SIGKILL this worker when its parent (the supervisor) dies, however it dies (Linux)."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(0)


def _protocol(limits: ServerLimits) -> type[PitwallHttpProtocol]:
    if limits == ServerLimits():
        return PitwallHttpProtocol
    return type("LimitedHttpProtocol", (PitwallHttpProtocol,), {"limits": limits})


def _config(app: Any, limits: ServerLimits, **extra: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        http=_protocol(limits) if not extra.get("workers") else PitwallHttpProtocol,
        ws="none",
        lifespan="on",
        loop="pitwall.api.server:TurnTakingLoop",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=limits.keepalive_timeout,
        server_header=False,
        **extra,
    )


class LocalApiServer:
    """The API on ``host:port``; ``port=0`` picks a free port. The socket is bound at once."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        services: ApiServices | None = None,
        limits: ServerLimits | None = None,
    ) -> None:
        self._services = services
        self.limits = limits or ServerLimits()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.socket = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.socket.bind((host, port))
            self.socket.listen(1024)
        except OSError:
            self.socket.close()
            raise
        self.socket.set_inheritable(True)
        self.host, self.port = self.socket.getsockname()[:2]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def services(self) -> ApiServices:
        if self._services is None:
            self._services = local_services()
        return self._services

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalApiServer:
        """Serve in a daemon thread (one process); returns once it accepts connections."""
        recover_jobs(self.services)
        adapter = ApiGatewayAdapter(self.services, self.limits)
        self._server = uvicorn.Server(_config(adapter, self.limits))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self.socket]}, name="pitwall-api", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the API server did not start")
            time.sleep(0.01)
        return self

    def serve_forever(self, workers: int = 1) -> None:
        """Serve in this process until interrupted or terminated.

        ``workers > 1``: uvicorn's supervisor spawns that many processes accepting on the same
        socket (every core instead of one GIL) and respawns any that dies. Each worker keeps
        its own model cache; records, keys and quotas live in the shared platform store, so
        limits hold across workers.
        """
        if workers < 1:
            raise ValueError("workers must be at least 1")
        # One request = one small predict: the model's own thread pool (OpenMP) only adds
        # oversubscription when several requests run at once. Set before any model loads.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        if workers == 1:
            recover_jobs(self.services)
            server = uvicorn.Server(_config(ApiGatewayAdapter(self.services, self.limits), self.limits))
            _freeze_heap()
            server.run(sockets=[self.socket])
            return
        from uvicorn.supervisors import Multiprocess

        os.environ[LIMITS_ENV] = json.dumps(asdict(self.limits))
        if self._services is not None and not self._services.enforce_rate_limits:
            os.environ[RATE_LIMITS_ENV] = "off"
        config = _config("pitwall.api.server:worker_app", self.limits, factory=True, workers=workers)
        Multiprocess(config, sockets=[self.socket]).run()

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        with contextlib.suppress(OSError):
            self.socket.close()

    def __enter__(self) -> LocalApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
