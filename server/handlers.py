"""The operations' targets: parse the request, ask the lifecycle, talk to the store, shape the reply.

Each handler is `async (scope, receive) -> Response`. Connexion has already routed the request,
checked the token and its permissions (security middleware) and validated the parameters and
any JSON body against the spec; what is left is what the spec says in prose: id syntax,
tenancy, roles, read-only and unknown properties, the lifecycle table and `$select`.

`Handlers.resolve(operationId)` is Connexion's resolver: it reads the operation's action
(`x-vevents-action`) and kind from the contract, so no operation id is named here.
"""

from __future__ import annotations

import builtins
import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.responses import Response

from vevents.server.auth import Principal, may, sees_organizer_fields
from vevents.server.errors import error_response, json_body
from vevents.server.ids import new_event_id, parse_event_id
from vevents.server.lifecycle import Lifecycle
from vevents.server.middleware import read_body
from vevents.server.security import principal_of
from vevents.server.store import Event, Store

if TYPE_CHECKING:
    from starlette.types import Receive, Scope

    from vevents.spec import Contract

__all__ = ["Handler", "Handlers", "json_object"]

Handler = Callable[["Scope", "Receive"], Awaitable[Response]]

_MAX_ATTEMPTS = 10
"""Read-decide-write attempts before a request gives up on a contended event (503)."""
MAX_JSON_DEPTH = 32
"""Deepest nesting of objects and arrays accepted in a request body (Graph's types need 4)."""
_USER_IDENTITY = "#microsoft.graph.communicationsUserIdentity"
# How a 403 names the roles of the spec's role table (`info.x-vevents-roles`) that may act.
_ROLE_NAMES = {"organizer": "the organizer", "coOrganizer": "a co-organizer"}


def _json(status: int, value: Any) -> Response:
    return Response(json_body(value), status_code=status, media_type="application/json")


def _path_id(scope: Scope) -> str:
    # Every operation with a path parameter has exactly one: the event id.
    return str(next(iter(scope["path_params"].values())))


class Handlers:
    """The stub's operations over one store and one lifecycle table."""

    def __init__(self, store: Store, lifecycle: Lifecycle, contract: Contract, *, reads: Store | None = None) -> None:
        self.store = store
        self.reads = store if reads is None else reads
        """What GET and list read: the store, or a view of it that lags behind writes (`control/lag.py`)."""
        self.lifecycle = lifecycle
        self.contract = contract
        self.odata_types = contract.odata_types
        self.properties = {kind: frozenset(names) for kind, names in contract.select_properties.items()}
        self.read_only = contract.read_only_properties
        self.members = contract.member_properties
        self.empty_collections = contract.empty_collections

    def resolve(self, operation_id: str) -> Handler:
        """The handler for `operation_id` (Connexion's `Resolver` function)."""
        operation = self.contract.operation(operation_id)
        kind = operation.kind if operation.kind in self.odata_types else None  # None: the /events routes
        action = operation.action
        if action in ("publish", "cancel"):
            return functools.partial(self.transition, action, kind)
        targets: dict[str, Callable[..., Awaitable[Response]]] = {
            "list": self.list,
            "create": self.create,
            "get": self.get,
            "update": self.update,
        }
        if action not in targets:
            raise LookupError(f"no handler for action {action!r} of {operation_id}")
        return functools.partial(targets[action], kind)

    # ------------------------------------------------------------ operations
    async def list(self, kind: str, scope: Scope, receive: Receive) -> Response:
        principal = principal_of(scope)
        select = self._select(scope)
        if isinstance(select, Response):
            return select
        events = self.reads.list(kind, principal.tenant)
        return _json(200, {"value": [self._present(e, principal, select) for e in events]})

    async def get(self, kind: str, scope: Scope, receive: Receive) -> Response:
        principal = principal_of(scope)
        select = self._select(scope)
        if isinstance(select, Response):
            return select
        found = self._find(scope, principal, kind, self.reads)
        if isinstance(found, Response):
            return found
        (event,) = found
        outcome = self.lifecycle.outcome("get", event.status)
        if outcome.status >= 400:
            return self._refused(scope, "get", outcome.status, outcome.error, event.status)
        return _json(outcome.status, self._present(event, principal, select))

    async def create(self, kind: str, scope: Scope, receive: Receive) -> Response:
        principal = principal_of(scope)
        body = await self._json_body(scope, receive, kind)
        if isinstance(body, Response):
            return body
        outcome = self.lifecycle.create
        user = {
            "@odata.type": _USER_IDENTITY,
            "id": principal.user,
            "displayName": principal.name,
            "tenantId": principal.tenant,
        }
        body.pop("@odata.type", None)
        resource = {
            "@odata.type": self.odata_types[kind],
            "id": "",
            "status": outcome.to,
            **body,
            "createdBy": {"application": None, "device": None, "user": user},
        }
        for name in self.empty_collections[kind]:
            resource.setdefault(name, [])
        for _ in range(_MAX_ATTEMPTS):
            event_id = new_event_id(principal.tenant)
            resource["id"] = event_id
            event = Event(kind=kind, id=event_id, tenant=principal.tenant, resource=resource)
            if self.store.create(event):
                return _json(outcome.status, self._present(event, principal))
        return error_response(scope, 503, "Could not allocate an event id; retry.", headers={"Retry-After": "1"})

    async def update(self, kind: str, scope: Scope, receive: Receive) -> Response:
        principal = principal_of(scope)
        body = await self._json_body(scope, receive, kind)
        if isinstance(body, Response):
            return body
        body.pop("@odata.type", None)
        return self._decide_and_write(scope, principal, "update", kind, body)

    async def transition(self, action: str, kind: str | None, scope: Scope, receive: Receive) -> Response:
        principal = principal_of(scope)
        body = await read_body(receive)
        if body.strip() and not _is_empty_object(body):
            return error_response(scope, 400, "Don't supply a request body for this method.")
        return self._decide_and_write(scope, principal, action, kind, None)

    # ------------------------------------------------------------ steps
    def _decide_and_write(
        self,
        scope: Scope,
        principal: Principal,
        action: str,
        kind: str | None,
        properties: Mapping[str, Any] | None,
    ) -> Response:
        for _ in range(_MAX_ATTEMPTS):
            found = self._find(scope, principal, kind)
            if isinstance(found, Response):
                return found
            if not all(may(principal, action, e.resource) for e in found):
                who = " or ".join(
                    _ROLE_NAMES.get(role, role) for role, actions in self.contract.roles.items() if action in actions
                )
                return error_response(scope, 403, f"Only {who} of a virtual event can {action} it.")
            decision = self.lifecycle.decide(action, found, properties)
            if decision.error is not None or decision.status >= 400:
                return self._refused(scope, action, decision.status, decision.error, decision.state)
            if self.store.replace(decision.changes):
                if decision.status == 204:
                    return Response(status_code=204)
                (event,) = decision.changes or found
                return _json(decision.status, self._present(event, principal))
        return error_response(
            scope, 503, "The virtual event is being changed concurrently; retry.", headers={"Retry-After": "1"}
        )

    def _find(
        self, scope: Scope, principal: Principal, kind: str | None, store: Store | None = None
    ) -> builtins.list[Event] | Response:
        raw = _path_id(scope)
        event_id = parse_event_id(raw, principal.tenant)
        if event_id is None:
            return error_response(scope, 400, f"Invalid virtual event id {raw!r}: expected '<guid>@<tenant-guid>'.")
        source = self.store if store is None else store
        events = [e for e in source.find(event_id, kind) if e.tenant == principal.tenant]
        if not events:
            # Also for another tenant's event: never reveal that it exists.
            return error_response(scope, 404, f"The virtual event '{event_id}' was not found.")
        return events

    @staticmethod
    def _refused(scope: Scope, action: str, status: int, code: str | None, state: str | None) -> Response:
        message = f"The virtual event is {state}; '{action}' is not allowed in this state."
        return error_response(scope, status, message, code=code)

    async def _json_body(self, scope: Scope, receive: Receive, kind: str) -> dict[str, Any] | Response:
        body = await json_object(scope, receive)
        if isinstance(body, Response):
            return body
        odata_type = self.odata_types[kind]
        for name in body:
            if name in self.read_only[kind]:
                return error_response(scope, 400, f"The property '{name}' is read-only and cannot be set.")
            if name not in self.properties[kind]:
                return error_response(scope, 400, f"The property '{name}' does not exist on type '{odata_type}'.")
        if body.get("@odata.type", odata_type) != odata_type:
            return error_response(scope, 400, f"'@odata.type' must be '{odata_type}' here.")
        unknown = self._unknown_member(kind, body)
        if unknown:
            return error_response(scope, 400, f"The property '{unknown}' does not exist on its type.")
        return body

    def _unknown_member(self, kind: str, body: Mapping[str, Any]) -> str | None:
        """The first `property.member` the member's type does not have (OData annotations allowed)."""
        for name, members in self.members[kind].items():
            value = body.get(name)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    for member in item:
                        if member not in members and not member.startswith("@odata."):
                            return f"{name}.{member}"
        return None

    @staticmethod
    def _select(scope: Scope) -> builtins.list[str] | Response | None:
        """The `$select` list (None: all properties), or the 400 for another `$` option."""
        select = None
        for name, value in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
            if name == "$select":
                select = [p for p in value.split(",") if p]
            elif name.startswith("$"):
                return error_response(scope, 400, f"The query option '{name}' is not supported; only $select is.")
        return select

    @staticmethod
    def _present(event: Event, principal: Principal, select: builtins.list[str] | None = None) -> Mapping[str, Any]:
        resource = event.resource
        # Graph: "Returned only for event organizers or coorganizers; otherwise, null" (an empty one too).
        if resource.get("externalEventInformation") is not None and not sees_organizer_fields(principal, resource):
            resource = {**resource, "externalEventInformation": None}
        if select:
            # Properties the event does not have are left out (not null: some may never be null).
            resource = {"@odata.type": resource["@odata.type"], **{n: resource[n] for n in select if n in resource}}
        return resource


async def json_object(scope: Scope, receive: Receive) -> dict[str, Any] | Response:
    """The request's JSON object body, or the Graph error for a body that is not one (415, 400)."""
    raw = await read_body(receive)
    if raw.strip() and not any(name == b"content-type" for name, _ in scope["headers"]):
        return error_response(scope, 415, "A request body needs 'Content-Type: application/json'.")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return error_response(scope, 400, "The request body is not valid JSON.")
    if _depth(body) > MAX_JSON_DEPTH:
        return error_response(scope, 400, f"The request body is nested deeper than {MAX_JSON_DEPTH} levels.")
    if not isinstance(body, dict):
        return error_response(scope, 400, "The request body must be a JSON object.")
    return body


def _depth(value: Any) -> int:
    """How deeply objects and arrays nest in `value` (iterative: no recursion limit to hit)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_JSON_DEPTH:
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _is_empty_object(body: bytes) -> bool:
    try:
        return bool(json.loads(body) == {})
    except ValueError:
        return False
