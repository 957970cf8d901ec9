"""A webhook receiver for tests: answers Graph's handshake, records every notification.

    with Receiver() as receiver:
        ...subscribe with notificationUrl=receiver.url, lifecycleNotificationUrl=receiver.lifecycle_url
        (note,) = receiver.wait_for(1)          # the first change notification's `value[0]`

It listens on 127.0.0.1 (an ephemeral port), which the stub calls without any allow-list.
Its knobs make the broken receivers of the check-webhook catalogue (tests/webhook_fakes.py):
a wrong or JSON echo, a slow handshake, an error or a slow answer to notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

__all__ = ["Receipt", "Receiver"]

LIFECYCLE_PATH = "/lifecycle"


@dataclass(frozen=True, slots=True)
class Receipt:
    """One POST the receiver got: a handshake (`token` set) or a notification collection (`body`)."""

    path: str
    token: str | None
    body: Any
    at: float
    """time.monotonic() when it arrived."""


@dataclass
class Receiver:
    """Knobs (defaults: a correct receiver)."""

    echo: str = "exact"
    """exact: the decoded token; "wrong": something else; "encoded": the token still URL-encoded."""
    echo_content_type: str = "text/plain; charset=utf-8"
    handshake_status: int = 200
    handshake_delay: float = 0.0
    notify_status: int = 202
    notify_delay: float = 0.0
    lifecycle_status: int = 202
    receipts: list[Receipt] = field(default_factory=list)
    base_url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _stack: contextlib.ExitStack | None = field(default=None, repr=False)

    # ------------------------------------------------------------ where
    @property
    def url(self) -> str:
        return self.base_url + "/notifications"

    @property
    def lifecycle_url(self) -> str:
        return self.base_url + LIFECYCLE_PATH

    # ------------------------------------------------------------ running
    def __enter__(self) -> Receiver:
        from vevents.server.background import serve_in_background

        self._stack = contextlib.ExitStack()

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:  # a function: uvicorn's ASGI 3 test
            await self.asgi(scope, receive, send)

        self.base_url = self._stack.enter_context(serve_in_background(app))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stack is not None:
            self._stack.close()

    # ------------------------------------------------------------ what arrived
    def handshakes(self) -> list[Receipt]:
        with self._lock:
            return [r for r in self.receipts if r.token is not None]

    def notifications(self, path: str | None = None) -> list[dict[str, Any]]:
        """Every change or lifecycle notification received (each collection's `value` items), in order."""
        with self._lock:
            found = [r for r in self.receipts if r.token is None and (path is None or r.path == path)]
        return [note for r in found if isinstance(r.body, dict) for note in r.body.get("value", [])]

    def wait_for(self, count: int = 1, *, timeout: float = 5.0, path: str | None = None) -> list[dict[str, Any]]:
        """At least `count` notifications, waiting up to `timeout` seconds (AssertionError if fewer came)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.notifications(path)
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise AssertionError(f"{len(found)} notification(s) arrived within {timeout:g} s, not {count}")
            time.sleep(0.005)

    # ------------------------------------------------------------ the ASGI app
    async def asgi(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        raw_query = scope.get("query_string", b"").decode("latin-1")
        token = parse_qs(raw_query).get("validationToken", [None])[0]
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = body.decode("utf-8", "replace")
        with self._lock:
            self.receipts.append(Receipt(scope["path"], token, parsed, time.monotonic()))
        if token is not None:
            await asyncio.sleep(self.handshake_delay)
            if self.echo == "exact":
                answer = token
            elif self.echo == "encoded":
                answer = raw_query.split("validationToken=", 1)[1].split("&", 1)[0]
            else:
                answer = token[::-1] + "x"
            await _answer(send, self.handshake_status, answer.encode(), self.echo_content_type)
            return
        if scope["path"] == LIFECYCLE_PATH:
            await _answer(send, self.lifecycle_status, b"", None)
            return
        await asyncio.sleep(self.notify_delay)
        await _answer(send, self.notify_status, b"", None)


async def _answer(send: Any, status: int, body: bytes, content_type: str | None) -> None:
    headers = [(b"content-length", str(len(body)).encode())]
    if content_type:
        headers.append((b"content-type", content_type.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@contextlib.contextmanager
def receiving(**knobs: Any) -> Iterator[Receiver]:
    """`with receiving(notify_status=500) as receiver:` - a `Receiver` with those knobs, running."""
    with Receiver(**knobs) as receiver:
        yield receiver
