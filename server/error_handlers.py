"""Every exception, in Graph's error envelope: the handlers installed on Connexion's exception
middleware (`register`) and the last-resort 500 (`server_error_handler`).

`graph_error` is the one mapping from a foreign exception (a Connexion problem, a Starlette
HTTP exception from the router, a store error, anything unexpected) to a `GraphError`.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from vevents.server.errors import GraphError, envelope, request_ids, response_headers
from vevents.server.store import StoreUnavailable
from vevents.spec import Contract

if TYPE_CHECKING:
    import connexion

__all__ = ["graph_error", "register", "server_error_handler"]

logger = logging.getLogger("vevents.server")


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
            # The validators word their refusals as Graph does (server/messages.py); keep only
            # a first paragraph of anything else Connexion says.
            detail = str(exc.detail or exc.title or "").split("\n\n", 1)[0]
        if status == 404:
            return GraphError(404, "Resource not found for the request URL.", headers=headers)
        if status == 405:
            return GraphError(405, "The HTTP method is not supported on this resource.", headers=headers)
        if status == 403:
            detail = "Insufficient privileges to complete the operation."
        if status == 415:
            detail = "A request body needs 'Content-Type: application/json'."
        return GraphError(status, detail or "The request failed.", headers=headers)
    logger.error("unexpected error", exc_info=exc)
    return GraphError(500, "An internal error occurred.")


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
        headers = response_headers(error)
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
