"""The server's transport rules against hostile clients (loopback only, bounded loops, no timing
assertions): slow headers and bodies are cut off, framing attacks get one 400 and nothing after
them runs, oversized or invalid lengths are refused before any body is read, every refusal is
the API's JSON error body, and a worker's connection bound answers 503 beyond it."""

from __future__ import annotations

import socket
import time
from typing import Any

from pitwall.api.server import LocalApiServer
from pitwall.platform import models

MAX_TRICKLE_STEPS = 100  # x 0.1 s: ten times the configured timeouts


def _trickle(wire: Any, sock: socket.socket, pieces: list[bytes]) -> bytes:
    """Send ``pieces`` one every 0.1 s until the server closes the connection; what it sent back."""
    for piece in pieces[:MAX_TRICKLE_STEPS]:
        try:
            sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            break
        time.sleep(0.1)
        sock.setblocking(False)
        try:
            early = sock.recv(65536, socket.MSG_PEEK)
        except BlockingIOError:
            early = None
        finally:
            sock.setblocking(True)
        if early is not None:
            break
    return wire.read_all(sock)


def _is_error(answer: tuple[int, dict | None], status: int) -> bool:
    code, body = answer
    return code == status and body is not None and set(body["error"]) >= {"code", "message", "field"}


def test_slowloris_headers_are_cut_off_after_the_header_timeout(server: LocalApiServer, wire: Any) -> None:
    with wire.connect(server) as sock:
        pieces = [b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n"] + [b"X-Slow: %d\r\n" % i for i in range(1000)]
        raw = _trickle(wire, sock, pieces)
    answers = wire.responses(raw)
    assert len(answers) == 1 and _is_error(answers[0], 408), raw[:300]


def test_a_slow_body_is_cut_off_after_the_body_timeout(server: LocalApiServer, wire: Any) -> None:
    with wire.connect(server) as sock:
        head = b"POST /api/v1/predict/grid HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        head += b"Content-Length: 500\r\n\r\n"
        raw = _trickle(wire, sock, [head] + [b" "] * 500)
    answers = wire.responses(raw)
    assert len(answers) == 1 and _is_error(answers[0], 408), raw[:300]
    assert answers[0][1]["error"]["field"] == "body"


def test_idle_keep_alive_connections_are_closed(server: LocalApiServer, wire: Any) -> None:
    with wire.connect(server) as sock:
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
        raw = wire.read_all(sock)  # the answer, then the close once the connection idled past its limit
    assert [status for status, _ in wire.responses(raw)] == [200]


def test_content_length_with_transfer_encoding_gets_one_400_and_the_smuggled_request_never_runs(
    server: LocalApiServer, tenants: dict[str, str], wire: Any
) -> None:
    smuggled = f"DELETE /api/v1/models/grid HTTP/1.1\r\nHost: x\r\nx-api-key: {tenants['pro']}\r\n\r\n"
    attack = (
        "POST /api/v1/predict/grid HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + smuggled
    ).encode()
    with wire.connect(server) as sock:
        sock.sendall(attack)
        raw = wire.read_all(sock)
    answers = wire.responses(raw)
    assert len(answers) == 1 and _is_error(answers[0], 400), raw[:400]
    assert answers[0][1]["error"]["field"] == "content-length"
    assert models.get_model("bigteam", "grid").deployed_version == 1  # the DELETE did not run


def test_invalid_and_conflicting_lengths_get_an_api_shaped_400(server: LocalApiServer, wire: Any) -> None:
    bad = (b"Content-Length: abc\r\n", b"Content-Length: -1\r\n", b"Content-Length: 5\r\nContent-Length: 6\r\n")
    for lengths in bad:
        with wire.connect(server) as sock:
            sock.sendall(b"POST /api/v1/predict/grid HTTP/1.1\r\nHost: x\r\n" + lengths + b"\r\n{}")
            raw = wire.read_all(sock)
        answers = wire.responses(raw)
        assert len(answers) == 1 and _is_error(answers[0], 400), (lengths, raw[:300])


def test_a_huge_content_length_gets_413_before_the_body_is_sent(server: LocalApiServer, wire: Any) -> None:
    # 10^20 has more digits than the HTTP parser reads (a 400); 300 MB is a well-formed length (413)
    for length, status in ((b"300000000", 413), (b"100000000000000000000", 400)):
        with wire.connect(server) as sock:
            # only the headers: the answer must come without waiting for the (never sent) body
            sock.sendall(b"POST /api/v1/predict/grid HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n")
            raw = wire.read_all(sock)
        answers = wire.responses(raw)
        assert len(answers) == 1 and _is_error(answers[0], status), raw[:300]


def test_a_chunked_body_over_the_limit_gets_413(server: LocalApiServer, wire: Any) -> None:
    chunk = b"x" * 65536
    with wire.connect(server) as sock:
        sock.sendall(b"POST /api/v1/predict/grid HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(40):  # 2.5 MB, over the 1 MB limit
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except (BrokenPipeError, ConnectionResetError):
            pass
        raw = wire.read_all(sock)
    answers = wire.responses(raw)
    assert len(answers) == 1 and _is_error(answers[0], 413), raw[:300]


def test_malformed_requests_and_oversized_headers_get_json_errors(server: LocalApiServer, wire: Any) -> None:
    for request in (
        b"NOT A REQUEST\r\n\r\n",
        b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n",
        b"GET /" + b"a" * 40_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /api/v1/health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
    ):
        with wire.connect(server) as sock:
            try:
                sock.sendall(request)
            except (BrokenPipeError, ConnectionResetError):
                pass
            raw = wire.read_all(sock)
        answers = wire.responses(raw)
        assert len(answers) == 1 and answers[0][0] in (400, 414, 431, 501), (request[:40], raw[:300])
        assert _is_error(answers[0], answers[0][0])


def test_an_endless_request_head_gets_431_before_the_header_timeout(server: LocalApiServer, wire: Any) -> None:
    bound = server.limits.max_header_bytes + server.limits.max_url_bytes
    with wire.connect(server) as sock:
        sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n")
        try:  # one header that never ends, in pieces (the parser would buffer it all)
            for _ in range(2 * bound // 4096):
                sock.sendall(b"X-Endless: " + b"a" * 4096)
        except (BrokenPipeError, ConnectionResetError):
            pass
        raw = wire.read_all(sock)
    answers = wire.responses(raw)
    assert len(answers) == 1 and _is_error(answers[0], 431), raw[:300]  # the header timeout would be a 408


def test_unknown_api_paths_get_the_api_404(server: LocalApiServer, wire: Any) -> None:
    with wire.connect(server) as sock:
        sock.sendall(b"GET /api/v1/nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answers = wire.responses(wire.read_all(sock))
    assert len(answers) == 1 and _is_error(answers[0], 404)


def test_connections_beyond_the_worker_bound_get_503(server: LocalApiServer, wire: Any) -> None:
    held = [wire.connect(server) for _ in range(wire.limits.max_connections)]
    try:
        for sock in held:  # every held connection is served (and stays open)
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        with wire.connect(server) as extra:
            answers = wire.responses(wire.read_all(extra))
        assert len(answers) == 1 and _is_error(answers[0], 503)
        assert answers[0][1]["error"]["code"] == "server_busy"
    finally:
        for sock in held:
            sock.close()
