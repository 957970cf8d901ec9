"""Graph's error envelope, for every error: the stub's own and every one Connexion raises.

    {"error": {"code": "...", "message": "...",
               "innerError": {"request-id": "...", "client-request-id": "...", "date": "..."}}}

`register(app)` installs one handler per foreign exception family (Connexion problems,
Starlette HTTP exceptions from the router, store errors, anything unexpected), so that no
`application/problem+json` ever leaves the stub. The `request-id` / `client-request-id`
response headers are added by `middleware.RequestContextMiddleware` to every response.
"""

from __future__ import annotations

import datetime
import json
import logging
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from vevents.server.store import StoreUnavailable
from vevents.spec import Contract, contract

if TYPE_CHECKING:
    import connexion
    from starlette.types import Scope

__all__ = [
    "CODE_BY_STATUS",
    "WWW_AUTHENTICATE",
    "GraphError",
    "RequestIds",
    "envelope",
    "error_response",
    "register",
]

logger = logging.getLogger("vevents.server")

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
    return Response(body, status_code=status, media_type="application/json", headers=_headers(error))


def _headers(error: GraphError) -> dict[str, str]:
    headers = dict(error.headers)
    if error.status == 401:
        headers.setdefault("WWW-Authenticate", WWW_AUTHENTICATE)
    return headers


# ---------------------------------------------------------------- translating foreign errors
def graph_error(exc: Exception) -> GraphError:
    """The one mapping from exceptions to Graph errors."""
    if isinstance(exc, GraphError):
        return exc
    if isinstance(exc, (RecursionError, ValueError)) and _raised_by_json(exc):
        # json.loads in Connexion's body validator, on a body nested ~1000 deep (RecursionError)
        # or with a number of more than 4300 digits (ValueError): the client's fault, not ours.
        logger.warning("request body refused: %s", exc)
        return GraphError(400, "The request body is not valid JSON: it is nested too deeply or a number is too long.")
    if isinstance(exc, StoreUnavailable):
        logger.warning("store unavailable: %s", exc)
        return GraphError(503, "The service is temporarily unavailable; retry later.", headers={"Retry-After": "1"})
    if isinstance(exc, HTTPException):
        status = exc.status_code
        headers = {k: v for k, v in (exc.headers or {}).items() if k.lower() not in ("content-type", "content-length")}
        detail = exc.detail if isinstance(exc.detail, str) else None
        if isinstance(exc, ProblemException):
            # jsonschema appends the whole schema to its message; keep the first paragraph.
            detail = _in_graph_words(str(exc.detail or exc.title or "").split("\n\n", 1)[0])
        if status == 404:
            return GraphError(404, "Resource not found for the request URL.", headers=headers)
        if status == 405:
            return GraphError(405, "The HTTP method is not supported on this resource.", headers=headers)
        if status == 403:
            detail = "Insufficient privileges to complete the operation."
        return GraphError(status, detail or "The request failed.", headers=headers)
    logger.error("unexpected error", exc_info=exc)
    return GraphError(500, "An internal error occurred.")


_UNEXPECTED = re.compile(r"Additional properties are not allowed \('([^']*)'")
_READ_ONLY = frozenset().union(*contract().read_only_properties.values())


def _in_graph_words(detail: str) -> str:
    """Connexion's schema message for a property the request-body schema closes out, as the
    stub's handlers word it (the spec's `additionalProperties: false` now refuses it first)."""
    unexpected = _UNEXPECTED.search(detail)
    if unexpected is None:
        return detail
    name = unexpected.group(1)
    if name in _READ_ONLY:
        return f"The property '{name}' is read-only and cannot be set."
    return f"The property '{name}' does not exist on its type."


def _raised_by_json(exc: BaseException) -> bool:
    """Whether the innermost Python frame of `exc`'s traceback is in the `json` package."""
    tb = exc.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return str(tb.tb_frame.f_globals.get("__name__", "")).split(".")[0] == "json"


def register(app: connexion.AsyncApp, the_contract: Contract) -> None:
    """Install the Graph error handlers on `app` (Connexion's ExceptionMiddleware); a 405
    carries `Allow` with the methods the contract describes on the path."""

    def allow(path: str) -> str | None:
        route_version = path.split("/")[1:2]
        methods = the_contract.methods_at(path) if route_version and route_version[0] in the_contract.versions else ()
        return ", ".join(methods) or None

    async def handle(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
        error = graph_error(exc)
        headers = _headers(error)
        if error.status == 405:
            allowed = allow(request.scope.get("path", ""))
            if allowed:
                headers["Allow"] = allowed
        body = envelope(request_ids(request.scope), error.code, error.message)
        return ConnexionResponse(status_code=error.status, mimetype="application/json", body=body, headers=headers)

    for family in (GraphError, StoreUnavailable, ProblemException, HTTPException, Exception):
        app.add_error_handler(family, handle)


async def server_error_handler(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """For Connexion's outermost ServerErrorMiddleware: a last-resort 500 envelope."""
    logger.error("unhandled error", exc_info=exc)
    body = envelope(request_ids(request.scope), "generalException", "An internal error occurred.")
    return ConnexionResponse(status_code=500, mimetype="application/json", body=body)


def json_body(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
