"""One bounded HTTP/1.1 POST to an address already judged callable (`targets.py`).

Bounded in everything a hostile receiver could stretch: the whole exchange has a deadline
(connect, send, headers, body), at most `max_body` bytes of the answer are read (the rest is
never drained: the connection is closed), redirects are answers like any other (never
followed), and the connection is never reused. It connects to the resolved address, with the
URL's host for the Host header and TLS's server name, so that the address checked is the
address called. h11 (already under httpx) does the framing; no pool, no state between calls.
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


async def post(
    target: ResolvedTarget,
    body: bytes,
    *,
    content_type: str,
    timeout: float,
    max_body: int = 65_536,
    headers: tuple[tuple[str, str], ...] = (),
) -> Answer:
    """POST `body` to `target` and read the answer, all within `timeout` seconds."""
    started = time.monotonic()
    try:
        async with asyncio.timeout(timeout):
            return await _exchange(target, body, content_type, max_body, headers, started)
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
) -> Answer:
    tls = _tls_context() if target.scheme == "https" else None
    reader, writer = await asyncio.open_connection(
        target.address, target.port, ssl=tls, server_hostname=target.host if tls else None
    )
    try:
        connection = h11.Connection(h11.CLIENT, max_incomplete_event_size=16_384)
        default_port = 443 if target.scheme == "https" else 80
        host = target.host if target.port == default_port else f"{target.host}:{target.port}"
        if ":" in target.host and not target.host.startswith("["):
            host = f"[{target.host}]" if target.port == default_port else f"[{target.host}]:{target.port}"
        headers = [
            ("Host", host),
            ("User-Agent", USER_AGENT),
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            *extra,
        ]
        writer.write(connection.send(h11.Request(method="POST", target=target.target, headers=headers)))
        if body:
            writer.write(connection.send(h11.Data(data=body)))
        writer.write(connection.send(h11.EndOfMessage()))
        await writer.drain()
        status, media_type, chunks, size, truncated = 0, "", [], 0, False
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
            if isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
        return Answer(status, media_type, b"".join(chunks), time.monotonic() - started, truncated=truncated)
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
