"""Duplicate Content-Length headers (RFC 9110 §8.6): identical values are one length and the
request is served; differing values are refused with the API's 400 and the connection closed."""

from __future__ import annotations

from typing import Any

import pytest

from pitwall.api.server import LocalApiServer

BODY = b'{"instances": [{"driver_id": "d1", "start_position": 1.0}]}'


def _post(server: LocalApiServer, wire: Any, key: str, length_headers: bytes) -> list[tuple[int, Any]]:
    with wire.connect(server) as sock:
        sock.sendall(
            b"POST /api/v1/predict/grid HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            b"x-api-key: " + key.encode() + b"\r\nContent-Type: application/json\r\n" + length_headers + b"\r\n" + BODY
        )
        return wire.responses(wire.read_all(sock))


def _length(n: int) -> bytes:
    return str(n).encode()


@pytest.mark.parametrize(
    "headers",
    [
        lambda n: b"Content-Length: " + _length(n) + b"\r\nContent-Length: " + _length(n) + b"\r\n",
        lambda n: b"Content-Length: " + _length(n) + b", " + _length(n) + b"\r\n",
        lambda n: b"Content-Length: " + _length(n) + b"\r\ncontent-length: " + _length(n) + b"\r\n",
    ],
    ids=["two-identical-headers", "identical-list", "identical-any-case"],
)
def test_identical_duplicate_lengths_are_one_length(
    server: LocalApiServer, wire: Any, tenants: dict[str, str], headers: Any
) -> None:
    single = _post(server, wire, tenants["free"], b"Content-Length: " + _length(len(BODY)) + b"\r\n")
    assert single[0][0] == 200, single  # a real prediction
    duplicated = _post(server, wire, tenants["free"], headers(len(BODY)))
    assert len(duplicated) == 1
    assert duplicated == single  # answered exactly like the single-header request


@pytest.mark.parametrize(
    "headers",
    [
        b"Content-Length: 59\r\nContent-Length: 58\r\n",
        b"Content-Length: 59, 58\r\n",
        b"Content-Length: 59\r\nContent-Length: 059\r\n",
    ],
    ids=["two-headers", "list", "same-number-other-spelling"],
)
def test_differing_duplicate_lengths_get_one_400(
    server: LocalApiServer, wire: Any, tenants: dict[str, str], headers: bytes
) -> None:
    answers = _post(server, wire, tenants["free"], headers)
    assert len(answers) == 1 and answers[0][0] == 400, answers
    assert answers[0][1]["error"]["code"] == "bad_request"


def test_pipelined_requests_are_answered_in_order(server: LocalApiServer, wire: Any, tenants: dict[str, str]) -> None:
    key = tenants["free"].encode()
    predict = (
        b"POST /api/v1/predict/grid HTTP/1.1\r\nHost: x\r\nx-api-key: " + key + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: " + _length(len(BODY)) + b"\r\n\r\n" + BODY
    )
    health = b"GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with wire.connect(server) as sock:
        sock.sendall(predict + predict + health)  # one write: each head starts inside the last's chunk
        answers = wire.responses(wire.read_all(sock))
    assert [status for status, _ in answers] == [200, 200, 200], answers
    assert answers[0] == answers[1] and "status" in (answers[2][1] or {})
