"""Correct implementations that behave like a real tenant: the default mode must find nothing wrong.

Graph throttles (429 + Retry-After), answers with its full OData content type, sends properties
the spec does not list, pages lists with `@odata.nextLink` and takes its time. Each variant is
the real stub plus one of these behaviours, built from the blocks of `fakes.py` (its `Fake`,
`Rewrite`, `serve`, `judge`) or a small ASGI wrapper of the same kind.
"""

from __future__ import annotations

import asyncio
import gzip
import itertools
import json
import threading
import urllib.parse
from collections.abc import Callable
from typing import Any

from fakes import App, Fake, Request, Response, envelope

from vevents.spec import contract

__all__ = ["GRAPH_CONTENT_TYPE", "LATENCY", "REAL_TARGET_VARIANTS", "RealTargetFake", "latency", "throttling"]

GRAPH_CONTENT_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
)


RealTargetFake = Fake
"""The variants are plain `Fake`s: a request/response hook, or a `wrap` around the app."""


# ---------------------------------------------------------------------------- throttling
def throttling(
    every: int, retry_after: int, *, serves_retries: bool = False
) -> Callable[[Request], Request | Response]:
    """Every `every`-th request answers 429 TooManyRequests with `Retry-After`, as Graph does.

    With `serves_retries`, a request resent after its 429 is served (Graph's window has moved on):
    otherwise, with several workers sending, a request's retries can fall on every `every`-th
    place again and again, and the run gives up on it.
    """
    counter = itertools.count(1)
    lock = threading.Lock()
    throttled: set[tuple[str, str, bytes]] = set()

    def hook(request: Request) -> Request | Response:
        key = (request.method, request.path, request.query)
        with lock:
            if serves_retries and key in throttled:
                throttled.discard(key)
                return request
            number = next(counter)
            if number % every:
                return request
            throttled.add(key)
        answer = envelope(429, "TooManyRequests", "Too many requests. Retry after the time in Retry-After.")
        answer.headers.append((b"retry-after", str(retry_after).encode()))
        return answer

    return hook


# ---------------------------------------------------------------------------- content type, extra properties
def _graph_content_type(request: Request, response: Response) -> Response:
    if (response.header("content-type") or "").startswith("application/json"):
        return response.with_body(response.body, GRAPH_CONTENT_TYPE)
    return response


def _extra_properties(request: Request, response: Response) -> Response:
    body = response.json()
    if not isinstance(body, dict) or "error" in body:
        return response
    extra = {
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#solutions/virtualEvents",
        "isLiveTranscriptEnabled": False,
        "futureProperty": {"nested": [1, 2]},
    }
    for item in [body, *[value for value in body.get("value", []) if isinstance(value, dict)]]:
        for name, value in extra.items():
            item.setdefault(name, value)
    return response.with_body(json.dumps(body).encode(), response.header("content-type"))


# ---------------------------------------------------------------------------- compression
def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding value allows gzip (RFC 9110 §12.5.3: `q=0` refuses it; `*` allows it)."""
    for item in accept_encoding.split(","):
        coding, _, params = item.strip().partition(";")
        quality = params.strip().removeprefix("q=").strip() if params.strip().startswith("q=") else "1"
        if coding.strip().lower() in ("gzip", "*") and quality not in ("0", "0.0", "0.00", "0.000"):
            return True
    return False


def _gzip_when_accepted(request: Request, response: Response) -> Response:
    """Bodies gzip-encoded whenever the request's Accept-Encoding allows it, as Graph's front door does."""
    if (
        not response.body
        or response.status in (204, 304)
        or not _accepts_gzip(request.headers.get("accept-encoding", ""))
    ):
        return response
    headers = [(k, v) for k, v in response.headers if k.lower() not in (b"content-length", b"content-encoding")]
    headers += [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
    return Response(response.status, headers, gzip.compress(response.body))


# ---------------------------------------------------------------------------- paging
_LIST_PATHS = {op.path for op in contract().operations if op.action == "list"}


class Paged:
    """Lists come in pages of `size` items with `@odata.nextLink` (`$skiptoken=N`), as Graph pages them."""

    def __init__(self, app: App, store: Any = None, settings: Any = None, *, size: int = 2) -> None:
        self.app = app
        self.size = size

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not any(scope["path"].endswith(path) for path in _LIST_PATHS)
        ):
            await self.app(scope, receive, send)
            return
        query = urllib.parse.parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)
        skip = int(next((value for name, value in query if name == "$skiptoken"), "0") or 0)
        rest = [(name, value) for name, value in query if name != "$skiptoken"]
        inner = dict(scope, query_string=urllib.parse.urlencode(rest).encode())
        captured: dict[str, Any] = {"status": 500, "headers": [], "body": b""}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                captured["status"], captured["headers"] = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")

        await self.app(inner, receive, capture)
        body = json.loads(captured["body"]) if captured["status"] == 200 else None
        if isinstance(body, dict) and isinstance(body.get("value"), list):
            items = body["value"]
            body["value"] = items[skip : skip + self.size]
            if skip + self.size < len(items):
                host = dict(scope["headers"]).get(b"host", b"127.0.0.1").decode()
                next_query = urllib.parse.urlencode([*rest, ("$skiptoken", str(skip + self.size))])
                body["@odata.nextLink"] = f"http://{host}{scope['path']}?{next_query}"
            captured["body"] = json.dumps(body).encode()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(captured["body"])).encode()))
        await send({"type": "http.response.start", "status": captured["status"], "headers": headers})
        await send({"type": "http.response.body", "body": captured["body"]})


# ---------------------------------------------------------------------------- latency
LATENCY = 0.150


def latency(seconds: float) -> Callable[..., App]:
    """Every answer takes `seconds` longer (a real tenant's order of magnitude is 150 ms)."""

    def wrap(app: App, store: Any = None, settings: Any = None) -> App:
        async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                await asyncio.sleep(seconds)
            await app(scope, receive, send)

        return slow

    return wrap


REAL_TARGET_VARIANTS: tuple[RealTargetFake, ...] = (
    RealTargetFake(
        "throttles_every_nth",
        "every 6th request answers 429 TooManyRequests with Retry-After: 0; the retry is served",
        request=throttling(every=6, retry_after=0, serves_retries=True),
    ),
    RealTargetFake(
        "graph_content_type",
        f"JSON answers carry Graph's full content type {GRAPH_CONTENT_TYPE}",
        response=_graph_content_type,
    ),
    RealTargetFake(
        "extra_properties",
        "bodies carry properties the spec does not list (@odata.context, ...)",
        response=_extra_properties,
    ),
    RealTargetFake(
        "gzip_encoded",
        "answers are gzip-encoded (Content-Encoding: gzip) whenever Accept-Encoding allows it",
        response=_gzip_when_accepted,
    ),
    RealTargetFake("paged_lists", "lists come two items a page, with @odata.nextLink", wrap=Paged),
    RealTargetFake("latency_150ms", f"every answer takes {LATENCY * 1000:.0f} ms", wrap=latency(LATENCY)),
)
