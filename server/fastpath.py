"""The fast path: the hot, well-formed requests skip Connexion's routing, security and validation.

Connexion stays the reference implementation of routing, security and validation: this
middleware sits just inside Connexion's exception middleware and takes a request only when
it can tell, from tables built at start-up from the spec, that Connexion would route it to an
operation, accept its token and find nothing to reject. It then calls the very handler
Connexion would call (same `Handlers.resolve`, same lifecycle, same store) with the scope
Connexion would have prepared. Everything else - any doubt at all - goes down the full stack.

Taken here:
  GET    /{version}/solutions/virtualEvents/{kind}/{id}            with no query, or only a
                                                                    plain `$select` of known,
                                                                    distinct properties
  POST   /{version}/solutions/virtualEvents/{kind|events}/{id}/{cancel|publish}
                                                                    with no body and no query
and only with a bearer token that the verifier accepts and that grants one of the operation's
security requirements. No Content-Type, no body, no root_path, no percent-encoding in the
query. Handler errors (404, 409, ...) are the handler's own answers, identical either way;
exceptions propagate to Connexion's exception middleware as they would from the operation.

`Settings.fast_path=False` turns it off; `tests/test_fast_path.py` sends the same matrix of
requests to an app with and one without it and requires identical answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vevents.server._connexion import set_security_context
from vevents.server.auth import InvalidToken, Principal
from vevents.server.security import PRINCIPAL_KEY

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from vevents.server.handlers import Handler
    from vevents.server.security import Authenticator
    from vevents.spec import Contract

__all__ = ["FastPath", "FastRoute", "fast_routes"]

_FAST_ACTIONS = {"get": "GET", "cancel": "POST", "publish": "POST"}
_BODY_HEADERS = frozenset({b"content-type", b"content-length", b"transfer-encoding"})


@dataclass(frozen=True, slots=True)
class FastRoute:
    """One operation the fast path may answer."""

    operation_id: str
    handler: Handler
    parameter: str
    """The name of the path parameter (the event id)."""
    requirements: tuple[frozenset[str], ...]
    """The operation's security alternatives: a token must grant all the scopes of one."""
    select: frozenset[str] | None
    """The `$select` enum when the operation takes `$select`; None: no query at all."""
    id_pattern: re.Pattern[str]
    """The id parameter's pattern: an id it does not match goes to Connexion (which answers 400)."""


def _select_enum(parameters: Iterable[Mapping[str, Any]]) -> frozenset[str] | None:
    for parameter in parameters:
        schema = parameter.get("schema", {})
        if (
            parameter.get("in") == "query"
            and parameter.get("name") == "$select"
            and parameter.get("style") == "form"
            and parameter.get("explode") is False
            and schema.get("type") == "array"
            and schema.get("uniqueItems") is True
            and schema.get("minItems", 1) == 1
            and set(schema) <= {"type", "uniqueItems", "minItems", "items"}
            and set(schema.get("items", {})) == {"type", "enum"}
        ):
            return frozenset(schema["items"]["enum"])
    return None


def fast_routes(contract: Contract, resolve: Callable[[str], Handler]) -> dict[str, FastRoute]:
    """The fast routes of the contract, by operationId. Operations whose shape the fast path
    does not understand are left out (they always take the full stack)."""
    routes: dict[str, FastRoute] = {}
    for operation in contract.operations:
        if _FAST_ACTIONS.get(operation.action) != operation.method or operation.has_request_body:
            continue
        path_parameters = [p for p in operation.parameters if p.get("in") == "path"]
        others = [p for p in operation.parameters if p.get("in") != "path"]
        if len(path_parameters) != 1:
            continue
        (parameter,) = path_parameters
        schema = parameter.get("schema", {})
        if set(schema) - {"type", "minLength", "pattern"} or schema.get("type") != "string":
            continue
        select = _select_enum(others)
        if len(others) != (1 if select is not None else 0):
            continue
        if not operation.security or not all(operation.security):
            continue  # anonymous access: leave it to Connexion
        routes[operation.operation_id] = FastRoute(
            operation_id=operation.operation_id,
            handler=resolve(operation.operation_id),
            parameter=parameter["name"].replace("-", "_"),  # as Connexion names it for Starlette
            requirements=operation.security,
            select=select,
            id_pattern=re.compile(parameter["schema"].get("pattern") or ".+"),
        )
    return routes


class FastPath:
    """ASGI middleware: answers the fast routes' well-formed requests, passes on the rest."""

    def __init__(
        self, app: ASGIApp, *, contract: Contract, routes: Mapping[str, FastRoute], authenticator: Authenticator
    ) -> None:
        self.app = app
        self.contract = contract
        self.routes = routes
        self.authenticate = authenticator.authenticate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            taken = self._take(scope)
            if taken is not None:
                route, event_id, principal = taken
                scope["path_params"] = {route.parameter: event_id}
                set_security_context(
                    scope, user=principal.user, token_info={"sub": principal.user, PRINCIPAL_KEY: principal}
                )
                response = await route.handler(scope, receive)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _take(self, scope: Scope) -> tuple[FastRoute, str, Principal] | None:
        if scope.get("root_path"):
            return None
        named = self.contract.route(scope["method"], scope["path"])
        if named is None or named.version is None or named.event_id is None:
            return None
        route = self.routes.get(named.operation.operation_id)
        event_id = named.event_id
        if route is None or not route.id_pattern.fullmatch(event_id):
            return None
        authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                if authorization is None:
                    authorization = value
            elif name in _BODY_HEADERS and (name != b"content-length" or value.strip() != b"0"):
                return None  # a body (or a Content-Type): Connexion decides what to make of it
        if authorization is None or not _query_ok(scope["query_string"], route.select):
            return None
        try:
            principal = self.authenticate(authorization.decode("latin-1"))
        except InvalidToken:
            return None
        if not any(required <= principal.permissions for required in route.requirements):
            return None
        return route, event_id, principal


def _query_ok(query: bytes, select: frozenset[str] | None) -> bool:
    """No query, or (where the operation takes it) one plain `$select` of known, distinct names."""
    if not query:
        return True
    if select is None or not query.startswith(b"$select="):
        return False
    value = query[len(b"$select=") :]
    if not value or any(c in value for c in b"&%+;#= "):
        return False
    names = value.decode("ascii", "replace").split(",")
    return all(names) and len(set(names)) == len(names) and all(name in select for name in names)
