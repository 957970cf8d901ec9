"""One bounded HTTP/1.1 POST to an address already judged callable (`targets.py`).

Bounded in everything a hostile receiver could stretch: the whole exchange has a deadline
(connect, send, headers, body), at most `max_body` bytes of the answer are read (the rest is
never drained: the connection is closed), redirects are answers like any other (never
followed). It connects to the resolved address, with the URL's host for the Host header and
TLS's server name, so that the address checked is the address called. h11 (already under
httpx) does the framing. The handshake uses a connection once; deliveries pass a
`ConnectionPool`, which keeps a connection only after an exchange that ended by the book, so
that a busy receiver is not paid a TCP connection (and the stub a connect) per POST.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass

import h11

from vevents.server.notifications.targets import ResolvedTarget

__all__ = ["USER_AGENT", "Answer", "post"]

USER_AGENT = "vevents-notifications/1.0"
_READ_CHUNK = 16_384


@dataclass(frozen=True, slots=True)
class Answer:
    """What the receiver answered (status 0: no answer; `error` says why)."""

    status: int
    content_type: str
    body: bytes
    elapsed: float
    error: str = ""
    truncated: bool = False
    timed_out: bool = False
    """No complete answer within the deadline (as opposed to no connection at all)."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()


_Key = tuple[str, str, int, str]
"""(scheme, address, port, host): where a kept connection leads, as `targets.py` resolved it."""


@dataclass(slots=True)
class _Kept:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    connection: h11.Connection
    idle_since: float = 0.0


class _Stale(Exception):
    """A kept connection the receiver had closed while it was idle: the POST goes on a new one."""


class ConnectionPool:
    """Connections kept alive after a clean exchange, for the next POST to the same address.

    Only an exchange that ended by the book goes back (the whole answer read, within the
    bound, neither side asking to close); anything else is closed as without a pool. Bounded:
    `MAX_IDLE_PER_TARGET` per address, `MAX_IDLE` in all, none older than `IDLE_S`.
    """

    MAX_IDLE_PER_TARGET = 4
    MAX_IDLE = 64
    IDLE_S = 5.0

    def __init__(self) -> None:
        self._idle: dict[_Key, list[_Kept]] = {}

    def take(self, key: _Key) -> _Kept | None:
        kept = self._idle.get(key)
        now = time.monotonic()
        while kept:
            candidate = kept.pop()
            fresh = now - candidate.idle_since < self.IDLE_S
            if fresh and not candidate.writer.is_closing() and not candidate.reader.at_eof():
                return candidate
            candidate.writer.close()
        self._idle.pop(key, None)
        return None

    def give(self, key: _Key, kept: _Kept) -> None:
        total = sum(len(v) for v in self._idle.values())
        same = self._idle.setdefault(key, [])
        if total >= self.MAX_IDLE or len(same) >= self.MAX_IDLE_PER_TARGET:
            kept.writer.close()
            return
        kept.idle_since = time.monotonic()
        same.append(kept)

    def close(self) -> None:
        for kept in self._idle.values():
            for one in kept:
                one.writer.close()
        self._idle.clear()


async def post(
    target: ResolvedTarget,
    body: bytes,
    *,
    content_type: str,
    timeout: float,
    max_body: int = 65_536,
    headers: tuple[tuple[str, str], ...] = (),
    pool: ConnectionPool | None = None,
) -> Answer:
    """POST `body` to `target` and read the answer, all within `timeout` seconds.

    Without `pool` the connection is closed after the answer; with one, a kept connection to
    the same address is used first and a cleanly ended one is kept for the next POST.
    """
    started = time.monotonic()
    key = (target.scheme, target.address, target.port, target.host)
    try:
        async with asyncio.timeout(timeout):
            kept = pool.take(key) if pool is not None else None
            if kept is not None:
                with contextlib.suppress(_Stale):
                    return await _exchange(target, body, content_type, max_body, headers, started, pool, kept)
            return await _exchange(target, body, content_type, max_body, headers, started, pool, None)
    except TimeoutError:
        return Answer(0, "", b"", time.monotonic() - started, error=f"no answer within {timeout:g} s", timed_out=True)
    except (OSError, ssl.SSLError, h11.ProtocolError) as exc:
        return Answer(0, "", b"", time.monotonic() - started, error=f"{type(exc).__name__}: {exc}"[:300])


async def _exchange(
    target: ResolvedTarget,
    body: bytes,
    content_type: str,
    max_body: int,
    extra: tuple[tuple[str, str], ...],
    started: float,
    pool: ConnectionPool | None,
    kept: _Kept | None,
) -> Answer:
    if kept is None:
        tls = _tls_context() if target.scheme == "https" else None
        reader, writer = await asyncio.open_connection(
            target.address, target.port, ssl=tls, server_hostname=target.host if tls else None
        )
        connection = h11.Connection(h11.CLIENT, max_incomplete_event_size=16_384)
    else:
        reader, writer, connection = kept.reader, kept.writer, kept.connection
    keep = False
    status = 0
    try:
        default_port = 443 if target.scheme == "https" else 80
        host = target.host if target.port == default_port else f"{target.host}:{target.port}"
        if ":" in target.host and not target.host.startswith("["):
            host = f"[{target.host}]" if target.port == default_port else f"[{target.host}]:{target.port}"
        headers = [
            ("Host", host),
            ("User-Agent", USER_AGENT),
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            *([] if pool is not None else [("Connection", "close")]),
            *extra,
        ]
        writer.write(connection.send(h11.Request(method="POST", target=target.target, headers=headers)))
        if body:
            writer.write(connection.send(h11.Data(data=body)))
        writer.write(connection.send(h11.EndOfMessage()))
        await writer.drain()
        media_type, chunks, size, truncated = "", [], 0, False
        while True:
            event = connection.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(_READ_CHUNK)
                connection.receive_data(data)
                continue
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                for name, value in event.headers:
                    if name == b"content-type":
                        media_type = value.decode("latin-1")
                continue
            if isinstance(event, h11.Data):
                room = max_body - size
                chunks.append(bytes(event.data[:room]))
                size += min(len(event.data), room)
                if len(event.data) > room:
                    truncated = True
                    break
                continue
            if isinstance(event, h11.ConnectionClosed) and kept is not None and not status:
                raise _Stale
            if isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
        keep = pool is not None and connection.our_state is h11.DONE and connection.their_state is h11.DONE
        if keep:
            connection.start_next_cycle()
        return Answer(status, media_type, b"".join(chunks), time.monotonic() - started, truncated=truncated)
    except (OSError, h11.ProtocolError) as exc:
        if kept is not None and not status:
            raise _Stale from exc
        raise
    finally:
        if keep and pool is not None:
            pool.give((target.scheme, target.address, target.port, target.host), _Kept(reader, writer, connection))
        else:
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 1.0)
