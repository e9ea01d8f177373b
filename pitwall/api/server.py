"""The local API server: the same Chalice app as the cloud (:data:`pitwall.api.app.app`), served
in-process by Chalice's local gateway on a threaded HTTP server, with the local backends.

Differences from ``chalice local``: request bodies over the API's limit are refused (413)
before they are read, unknown paths get the API's 404 error body instead of API Gateway's
403 "Missing Authentication Token", and access logging goes to the ``pitwall.api.access``
logger instead of stderr.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import threading
import time
from http.server import HTTPServer
from typing import Any

from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    ForbiddenError,
    LocalDevServer,
    LocalGatewayException,
    ThreadedHTTPServer,
)

from pitwall.api.app import app
from pitwall.api.services import ApiServices, local_services, set_services

access_log = logging.getLogger("pitwall.api.access")


def _error_bytes(code: str, message: str, field: str | None = None) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "field": field}}).encode("utf-8")


class PitwallRequestHandler(ChaliceRequestHandler):
    """Chalice's request handler with a body-size guard, API-shaped 404s and quiet logs."""

    max_body_bytes: int = 1024 * 1024
    # Headers and body leave in separate writes; with Nagle's algorithm on, the body waits for
    # the client's delayed ACK of the headers (~40 ms per request on Linux loopback).
    disable_nagle_algorithm = True

    def _refuse(self, status: int, code: str, message: str, field: str | None = None) -> None:
        body = _error_bytes(code, message, field)
        self.close_connection = True
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _generic_handle(self) -> None:
        raw = self.headers.get("content-length", "0") or "0"
        try:
            length = int(raw)
            if length < 0:
                raise ValueError
        except ValueError:
            self._refuse(400, "bad_request", f"invalid Content-Length header {raw!r}", "content-length")
            return
        if length > self.max_body_bytes:
            self._refuse(
                413,
                "payload_too_large",
                f"the request body is {length} bytes; at most {self.max_body_bytes} are accepted",
                "body",
            )
            return
        super()._generic_handle()

    def _send_error_response(self, error: LocalGatewayException) -> None:
        if isinstance(error, ForbiddenError) and b"Missing Authentication Token" in (error.body or b""):
            path = self.path.split("?")[0]
            self._send_http_response(
                404,
                {"Content-Type": "application/json"},
                _error_bytes("not_found", f"no route {self.command} {path}", "path"),
            )
            return
        super()._send_error_response(error)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler API
        access_log.debug("%s %s", self.address_string(), format % args)


class PitwallHTTPServer(ThreadedHTTPServer):
    """One thread per connection; a listen backlog for bursts of concurrent clients (the
    socketserver default of 5 resets connections when 50 clients connect at once)."""

    request_queue_size = 256
    daemon_threads = True
    allow_reuse_address = True


def _raise_system_exit(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _exit_when_orphaned(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


class LocalApiServer:
    """The API on ``host:port`` in background threads; ``port=0`` picks a free port."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 8000,
        services: ApiServices | None = None,
    ) -> None:
        self.services = services or local_services()
        set_services(self.services)
        handler = type("Handler", (PitwallRequestHandler,), {"max_body_bytes": self.services.max_body_bytes})
        config = Config.create(chalice_stage="dev", app_name=app.app_name)
        self._dev = LocalDevServer(app, config, host, port, handler_cls=handler, server_cls=PitwallHTTPServer)
        server: HTTPServer = self._dev.server
        self.host, self.port = server.server_address[0], int(server.server_address[1])
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalApiServer:
        """Serve in a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self._dev.server.serve_forever, kwargs={"poll_interval": 0.05}, name="pitwall-api", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self, workers: int = 1) -> None:
        """Serve in this thread until interrupted or terminated.

        ``workers > 1`` pre-forks that many processes (POSIX) that accept on the same listening
        socket, so requests use every core instead of one interpreter's GIL. Each worker keeps
        its own model cache; records, keys and quotas live in the shared platform store, so
        limits hold across workers. Workers stop with the parent (and if it disappears).
        """
        if workers < 1:
            raise ValueError("workers must be at least 1")
        children: list[int] = []
        for _ in range(workers - 1):
            pid = os.fork()
            if pid == 0:  # worker: serve until terminated, or until the parent is gone
                parent = os.getppid()
                threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True).start()
                try:
                    self._dev.server.serve_forever()
                finally:
                    os._exit(0)
            children.append(pid)
        previous = signal.signal(signal.SIGTERM, _raise_system_exit) if children else None
        try:
            self._dev.server.serve_forever()
        finally:
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            for pid in children:
                with contextlib.suppress(ChildProcessError):
                    os.waitpid(pid, 0)
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def stop(self) -> None:
        self._dev.server.shutdown()
        self._dev.server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> LocalApiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
