"""The delivery client against hostile receivers: an endless body, a redirect, a drip, silence.

Each costs the stub one bounded exchange (server/notifications/client.py): at most `max_body`
bytes read, never a redirect followed, never longer than the deadline.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import pytest

from vevents.server.notifications.client import Answer, ConnectionPool, post
from vevents.server.notifications.targets import TargetPolicy

Behaviour = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _endless(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n")
    while True:
        writer.write(b"4000\r\n" + b"x" * 0x4000 + b"\r\n")
        await writer.drain()


async def _redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    writer.write(b"HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n")
    await writer.drain()


async def _drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.readuntil(b"\r\n\r\n")
    for byte in b"HTTP/1.1 200 OK\r\n" * 100:
        writer.write(bytes([byte]))
        await writer.drain()
        await asyncio.sleep(0.05)


async def _silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await asyncio.sleep(30)


def _closing(behaviour: Behaviour) -> Behaviour:
    """The behaviour, closing its end of the connection however it ends (cancelled at the loop's end)."""

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await behaviour(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    return run


async def _exchange(behaviour: Behaviour) -> tuple[Answer, float]:
    server = await asyncio.start_server(_closing(behaviour), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        target = await TargetPolicy().resolve(f"http://127.0.0.1:{port}/hook")
        started = time.monotonic()
        answer = await post(target, b"{}", content_type="application/json", timeout=0.5, max_body=10_000)
        return answer, time.monotonic() - started
    finally:
        server.close()
        await asyncio.sleep(0.05)  # the handlers see the client's close and end


def test_an_endless_body_is_read_only_up_to_the_bound() -> None:
    answer, took = asyncio.run(_exchange(_endless))
    assert answer.status == 200 and answer.truncated and len(answer.body) == 10_000
    assert took < 0.5


def test_a_redirect_is_an_answer_never_followed() -> None:
    answer, _ = asyncio.run(_exchange(_redirect))
    assert answer.status == 302 and not answer.ok


@pytest.mark.parametrize("behaviour", [_drip, _silent], ids=["drip", "silent"])
def test_a_slow_or_silent_receiver_costs_at_most_the_deadline(behaviour: Behaviour) -> None:
    answer, took = asyncio.run(_exchange(behaviour))
    assert answer.status == 0 and answer.timed_out
    assert took < 1.0


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request's body (the client always sends a Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = [line.lower() for line in head.split(b"\r\n")]
    length = next(int(line.split(b":")[1]) for line in lines if line.startswith(b"content-length:"))
    return await reader.readexactly(length)


class _KeepAlive:
    """A receiver answering 202 on kept connections; counts the connections it was opened."""

    def __init__(self, close_after: int = 0) -> None:
        self.connections = 0
        self.requests = 0
        self.close_after = close_after
        """Close each connection after this many answers (0: never) - an idle-timeout receiver."""

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        answered = 0
        try:
            while True:
                await read_request(reader)
                self.requests += 1
                writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                answered += 1
                if answered == self.close_after:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def _three_posts(receiver: _KeepAlive, pool: ConnectionPool | None) -> list[Answer]:
    server = await asyncio.start_server(receiver, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        target = await TargetPolicy().resolve(f"http://127.0.0.1:{port}/hook")
        answers = []
        for _ in range(3):
            answers.append(await post(target, b"{}", content_type="application/json", timeout=2, pool=pool))
            await asyncio.sleep(0.02)  # the receiver's close (if any) reaches the idle connection
        return answers
    finally:
        if pool is not None:
            pool.close()
        server.close()
        await asyncio.sleep(0.05)


def test_a_pool_keeps_a_cleanly_answered_connection_for_the_next_post() -> None:
    receiver = _KeepAlive()
    answers = asyncio.run(_three_posts(receiver, ConnectionPool()))
    assert [a.status for a in answers] == [202, 202, 202]
    assert receiver.connections == 1 and receiver.requests == 3


def test_without_a_pool_every_post_has_its_own_connection() -> None:
    receiver = _KeepAlive()
    answers = asyncio.run(_three_posts(receiver, None))
    assert [a.status for a in answers] == [202, 202, 202]
    assert receiver.connections == 3


def test_a_kept_connection_the_receiver_closed_is_replaced_not_failed() -> None:
    receiver = _KeepAlive(close_after=1)
    answers = asyncio.run(_three_posts(receiver, ConnectionPool()))
    assert [a.status for a in answers] == [202, 202, 202]
    assert receiver.connections == 3 and receiver.requests == 3
