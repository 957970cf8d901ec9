"""Graph's error envelope, for every error: the stub's own and every one Connexion raises.

    {"error": {"code": "...", "message": "...",
               "innerError": {"request-id": "...", "client-request-id": "...", "date": "..."}}}

This module is the envelope itself (GraphError, RequestIds, `envelope`, `error_response`) and
the code for each status (from the spec). `error_handlers.py` turns every foreign exception
(Connexion problems, Starlette HTTP exceptions, store errors, anything unexpected) into one,
so that no `application/problem+json` ever leaves the stub. The `request-id` /
`client-request-id` response headers are added by `middleware.RequestContextMiddleware`.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from vevents.spec import contract

if TYPE_CHECKING:
    from starlette.types import Scope

__all__ = [
    "CODE_BY_STATUS",
    "WWW_AUTHENTICATE",
    "GraphError",
    "RequestIds",
    "envelope",
    "error_response",
    "response_headers",
]

# The `code` for each status when nothing more specific applies: the spec's
# `info.x-vevents-error-codes` (Graph's usual codes, facts file section 5).
CODE_BY_STATUS: Mapping[int, str] = contract().error_codes
WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
    'client_id="00000003-0000-0000-c000-000000000000"'
)
SCOPE_KEY = "vevents.ids"
"""The ASGI scope key under which the middleware leaves the request's `RequestIds`."""


class RequestIds:
    """The ids of one request: ours (`request-id`) and the client's (`client-request-id`)."""

    __slots__ = ("client_request_id", "request_id")

    def __init__(self, request_id: str, client_request_id: str | None = None) -> None:
        self.request_id = request_id
        self.client_request_id = client_request_id or request_id


class GraphError(Exception):
    """An error the stub answers with, in Graph's envelope."""

    def __init__(self, status: int, message: str, *, code: str | None = None, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code or CODE_BY_STATUS.get(status) or ("generalException" if status >= 500 else "invalidRequest")
        self.message = message
        self.headers = dict(headers or {})


class BodyTooLarge(GraphError):
    """The request body is larger than `Settings.max_body_bytes` (-> 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than the {limit} bytes this service accepts.")


def request_ids(scope: Scope) -> RequestIds:
    ids = scope.get(SCOPE_KEY)
    if ids is None:  # the app is running without RequestContextMiddleware
        ids = scope[SCOPE_KEY] = RequestIds(str(uuid.uuid4()))
    return ids


def envelope(ids: RequestIds, code: str, message: str) -> bytes:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"date": now, "request-id": ids.request_id, "client-request-id": ids.client_request_id},
        }
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def error_response(
    scope: Scope, status: int, message: str, *, code: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    """A Graph error response for the request in `scope` (the fast path, for handlers)."""
    error = GraphError(status, message, code=code, headers=headers)
    body = envelope(request_ids(scope), error.code, error.message)
    return Response(body, status_code=status, media_type="application/json", headers=response_headers(error))


def response_headers(error: GraphError) -> dict[str, str]:
    headers = dict(error.headers)
    if error.status == 401:
        headers.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
    return headers


def json_body(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(status: int, value: Any) -> Response:
    """A JSON answer as the stub writes them all (compact, UTF-8)."""
    return Response(json_body(value), status_code=status, media_type="application/json")
