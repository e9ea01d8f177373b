"""How a ``pitwall serve`` worker takes new connections from the listening socket it shares with
the other workers (:class:`pitwall.api.server.TurnTakingLoop`): one per wake-up, and a worker that
already holds connections leaves the next one to the others for a while."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from pitwall.api.server import PitwallHttpProtocol, TurnTakingLoop


class Accepted(asyncio.Protocol):
    made: list[Accepted] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        Accepted.made.append(self)
        self.transport = transport


@pytest.fixture
def listening() -> Iterator[tuple[TurnTakingLoop, socket.socket, list[socket.socket]]]:
    """A loop, a listening socket and three clients whose connections wait in its accept queue."""
    loop = TurnTakingLoop()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.setblocking(False)
    clients = [socket.create_connection(server.getsockname()) for _ in range(3)]
    Accepted.made = []
    try:
        yield loop, server, clients
    finally:
        for protocol in Accepted.made:
            protocol.transport.close()
        for client in clients:
            client.close()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
        server.close()


def _settle(loop: asyncio.AbstractEventLoop, seconds: float = 0.0) -> None:
    loop.run_until_complete(asyncio.sleep(seconds))


def test_one_connection_per_wake_up(listening, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    loop, server, _ = listening
    monkeypatch.setattr(TurnTakingLoop, "defer_step_s", 0.0)
    loop._accept_connection(Accepted, server, None, None, 100)
    _settle(loop)
    assert len(Accepted.made) == 1  # asyncio's own loop takes all three at once
    loop._accept_connection(Accepted, server, None, None, 100)
    _settle(loop)
    assert len(Accepted.made) == 2


def test_a_worker_holding_connections_defers_the_next(listening, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    loop, server, _ = listening
    monkeypatch.setattr(TurnTakingLoop, "defer_step_s", 0.01)
    monkeypatch.setattr(PitwallHttpProtocol, "open_connections", {object(), object()})
    loop._add_reader(server.fileno(), loop._accept_connection, Accepted, server, None, None, 100)
    loop._accept_connection(Accepted, server, None, None, 100)
    _settle(loop)
    assert Accepted.made == []  # left in the queue for a worker holding fewer
    assert not loop._selector.get_map() or server.fileno() not in loop._selector.get_map()
    for _ in range(500):  # each deferral (2 held x 10 ms) ends in an accept; then it listens again
        _settle(loop, 0.01)
        if len(Accepted.made) == 3:
            break
    assert len(Accepted.made) == 3
    assert server.fileno() in loop._selector.get_map()
