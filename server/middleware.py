"""The outermost ASGI middleware: request ids, the body size limit, one log line per request.

It wraps Connexion's whole stack, so it sees every response - the handlers', Connexion's
error responses, Swagger UI - and adds `request-id` and `client-request-id` to each. The
control plane (`server/control/`), when the app has one, hooks in here (`RequestHook`), so
that faults, the journal and the read lag see the fast path's requests too.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import TYPE_CHECKING, Protocol
from urllib.parse import unquote

from vevents.server.errors import SCOPE_KEY, BodyTooLarge, GraphError, RequestIds, envelope
from vevents.server.settings import DEFAULT_MAX_HEADER_BYTES

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ODATA_JSON", "RequestContextMiddleware", "RequestHook", "read_body"]

ODATA_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false"
"""The content type graph.microsoft.com labels its JSON with (`--odata-content-type`)."""

access_log = logging.getLogger("vevents.server.access")


class RequestHook(Protocol):
    """What the control plane plugs in around every request (`server/control/plane.py`).

    `around` runs inside the request ids and around everything else (limits, Connexion, the
    fast path), so that no route bypasses it; `finished` is told the outcome of each request.
    `connection_send` is the server's own `send`, for the one thing only it can do (drop the
    connection).
    """

    async def around(
        self, scope: Scope, receive: Receive, send: Send, call_next: ASGIApp, connection_send: Send
    ) -> None: ...

    def finished(self, scope: Scope, status: int, started: float, duration_ms: float) -> None: ...


class _Head:
    """What the middleware needs from the request head, read in one pass over the headers."""

    __slots__ = ("chunked", "client_request_id", "content_length", "header_bytes")

    def __init__(self, headers: list[tuple[bytes, bytes]]) -> None:
        self.client_request_id: str | None = None
        self.content_length: bytes | None = None
        self.chunked = False
        self.header_bytes = 0
        for name, value in headers:
            self.header_bytes += len(name) + len(value)
            if name == b"client-request-id":
                self.client_request_id = value.decode("latin-1")
            elif name == b"content-length":
                self.content_length = value
            elif name == b"transfer-encoding":
                self.chunked = True


class RequestContextMiddleware:
    """Assigns the request ids, enforces `max_body_bytes` and `max_header_bytes`, logs the request,
    and runs the `hook` (the control plane), if any, around the rest."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES,
        hook: RequestHook | None = None,
        json_content_type: str | None = None,
        versions: tuple[str, ...] = (),
    ) -> None:
        """`json_content_type`: the label of every JSON answer under a Graph version segment
        (`versions`), in place of `application/json` (None: left as it is)."""
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_header_bytes = max_header_bytes
        self.hook = hook
        self.json_content_type = None if json_content_type is None else json_content_type.encode("latin-1")
        self.graph_prefixes = tuple(f"/{v}/" for v in versions)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        head = _Head(scope["headers"])
        url_bytes = len(scope.get("raw_path") or b"") + len(scope["query_string"])
        too_large = _oversized(url_bytes, head.header_bytes, self.max_header_bytes)
        # An oversized client-request-id is not echoed: it may be the oversized header.
        ids = RequestIds(str(uuid.uuid4()), None if too_large is not None else head.client_request_id)
        scope[SCOPE_KEY] = ids
        extra_headers = [
            (b"request-id", ids.request_id.encode()),
            (b"client-request-id", ids.client_request_id.encode("latin-1")),
        ]
        _normalise_path(scope)
        status = 0
        relabel = self.json_content_type if scope["path"].startswith(self.graph_prefixes) else None

        async def send_with_ids(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", ())
                if relabel is not None:
                    headers = [(k, _relabelled(k, v, relabel)) for k, v in headers]
                message["headers"] = [*headers, *extra_headers]
            await send(message)

        async def respond(scope: Scope, receive: Receive, send: Send) -> None:
            if too_large is not None:
                await _send_error(send, ids, too_large)
            else:
                await self._within_limits(scope, receive, send, head)

        try:
            if self.hook is None:
                await respond(scope, receive, send_with_ids)
            else:
                await self.hook.around(scope, receive, send_with_ids, respond, send)
        finally:
            duration_ms = (time.perf_counter() - started) * 1000
            if self.hook is not None:
                self.hook.finished(scope, status, started, duration_ms)
            if access_log.isEnabledFor(logging.INFO):
                _log(scope, status, round(duration_ms, 1), ids.request_id)

    async def _within_limits(self, scope: Scope, receive: Receive, send: Send, head: _Head) -> None:
        """Refuse a body over the limit (declared or streamed), then hand the request on."""
        limit = self.max_body_bytes
        received = 0

        async def bounded_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        ids: RequestIds = scope[SCOPE_KEY]
        if head.content_length is not None and _too_long(head.content_length, limit):
            await _send_error(send, ids, BodyTooLarge(limit))
            return
        app_receive: Receive = bounded_receive
        if head.content_length is None and head.chunked:
            # Connexion takes a body without Content-Length for no body at all: read the
            # chunked body here (bounded), then hand it on with its length.
            try:
                body = await read_body(bounded_receive)
            except BodyTooLarge as exc:
                await _send_error(send, ids, exc)
                return
            scope["headers"] = [*scope["headers"], (b"content-length", b"%d" % len(body))]
            app_receive = _replay(body, receive)
        await self.app(scope, app_receive, send)


def _log(scope: Scope, status: int, duration_ms: float, request_id: str) -> None:
    access_log.info(
        "%s %s %d %.1fms %s",
        scope["method"],
        scope["path"],
        status,
        duration_ms,
        request_id,
        extra={
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "duration_ms": duration_ms,
            "request_id": request_id,
        },
    )


async def _send_error(send: Send, ids: RequestIds, error: GraphError) -> None:
    body = envelope(ids, error.code, error.message)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def read_body(receive: Receive) -> bytes:
    """The whole request body (the caller bounds `receive` where size matters)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


def _oversized(url_bytes: int, header_bytes: int, limit: int) -> GraphError | None:
    # The server library has already read the request head by now (httptools sets no limit of
    # its own); this keeps an oversized one away from routing, validation and the logs.
    if url_bytes > limit:
        return GraphError(414, f"The request URL is longer than the {limit} bytes this service accepts.")
    if header_bytes > limit:
        return GraphError(431, f"The request headers are larger than the {limit} bytes this service accepts.")
    return None


def _too_long(content_length: bytes, limit: int) -> bool:
    try:
        return int(content_length) > limit
    except ValueError:
        return False


_ROUTING_BREAKERS = re.compile(rb"%(?:2[fF]|[01][0-9a-fA-F]|7[fF])")
_CONTROL_OR_SLASH = re.compile(r"[\x00-\x1f\x7f/]")


def _normalise_path(scope: Scope) -> None:
    """Route ids as Graph would.

    `%2F` and encoded control characters inside a path segment stay encoded, so that an id
    containing them still reaches its operation (and is answered 400, a malformed id)
    instead of missing every route (404). A trailing slash is ignored (no 307 redirect).
    """
    raw = scope.get("raw_path")
    if raw and _ROUTING_BREAKERS.search(raw):
        segments = raw.decode("latin-1").split("/")
        scope["path"] = "/".join(_CONTROL_OR_SLASH.sub(_encode, unquote(s)) for s in segments)
    path = scope["path"]
    if path[-1:] == "/" and "/solutions/" in path:
        scope["path"] = path = path.rstrip("/")
    if path.endswith("')"):
        # An OData function's arguments as the spec's path writes them (`userId='..',role='..'`):
        # Graph's pages put a space after the comma, and the official SDKs' URI templates
        # drop the comma (`userId='..'role='..'`).
        scope["path"] = _ARGUMENT_SEPARATOR.sub("',", path)


def _relabelled(name: bytes, value: bytes, label: bytes) -> bytes:
    """Graph's JSON label for a plain JSON content type; any other header value as it is."""
    if name.lower() == b"content-type" and value.split(b";", 1)[0].strip().lower() == b"application/json":
        return label
    return value


_ARGUMENT_SEPARATOR = re.compile(r"'(?:,\s*|\s*)(?=\w+=')")


def _encode(match: re.Match[str]) -> str:
    return f"%{ord(match.group()):02X}"
