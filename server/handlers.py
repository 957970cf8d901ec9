"""The operations' targets: parse the request, ask the lifecycle, talk to the store, shape the reply.

Each handler is `async (scope, receive) -> Response`. Connexion has already routed the request,
checked the token and its permissions (security middleware) and validated the parameters and
any JSON body against the spec; what is left is what the spec says in prose: id syntax,
tenancy, roles, read-only and unknown properties, the lifecycle table and `$select`.

`Handlers.resolve(operationId)` is Connexion's resolver: it reads the operation's action
(`x-vevents-action`) and kind from the contract, so no operation id is named here.
"""

from __future__ import annotations

import asyncio
import builtins
import functools
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl

from starlette.responses import Response

from vevents.server import lists
from vevents.server.auth import Principal, may, sees_organizer_fields
from vevents.server.errors import error_response, json_response
from vevents.server.ids import malformed_id_message, new_event_id, parse_event_id
from vevents.server.lifecycle import Lifecycle
from vevents.server.middleware import read_body
from vevents.server.nesting import MAX_JSON_DEPTH, json_depth
from vevents.server.security import principal_of
from vevents.server.store import Event, Store

if TYPE_CHECKING:
    from starlette.types import Receive, Scope

    from vevents.spec import Contract

__all__ = ["Handler", "Handlers", "json_object"]

Handler = Callable[["Scope", "Receive"], Awaitable[Response]]
_T = TypeVar("_T")

_MAX_EXTERNAL_ID = 256
"""Longest `externalEventId` (Graph: "the maximum supported length is 256 characters")."""
_MAX_ATTEMPTS = 10
"""Read-decide-write attempts before a request gives up on a contended event (503)."""
_USER_IDENTITY = "#microsoft.graph.communicationsUserIdentity"
# How a 403 names the roles of the spec's role table (`info.x-vevents-roles`) that may act.
_ROLE_NAMES = {"organizer": "the organizer", "coOrganizer": "a co-organizer"}


def _path_id(scope: Scope, name: str | None) -> str:
    # The event id parameter (the fast path leaves only that one, under Starlette's name).
    params = scope["path_params"]
    key = None if name is None else name.replace("-", "_")  # as Connexion names it for Starlette
    if key is not None and key in params:
        return str(params[key])
    return str(next(iter(params.values())))


class Handlers:
    """The stub's operations over one store and one lifecycle table."""

    def __init__(
        self,
        store: Store,
        lifecycle: Lifecycle,
        contract: Contract,
        *,
        reads: Store | None = None,
        store_threads: int = 0,
    ) -> None:
        """`store_threads` > 0: every store call runs on a pool of that many threads, so that a
        store that waits on a network (PostgreSQL) never blocks the event loop; 0: called
        inline (SQLite and memory answer in microseconds; a thread hop would cost more)."""
        self.store = store
        self.reads = store if reads is None else reads
        """What GET and list read: the store, or a view of it that lags behind writes (`control/lag.py`)."""
        self._executor = ThreadPoolExecutor(store_threads, "vevents-store") if store_threads > 0 else None
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
            return functools.partial(self.transition, action, kind, operation.id_parameter)
        if action == "setExternalEventInformation":
            return functools.partial(self.set_external_event_information, kind, operation.id_parameter)
        if action in ("get", "update") and kind is not None:
            target = self.get if action == "get" else self.update
            return functools.partial(target, kind, operation.id_parameter)
        targets: dict[str, Callable[..., Awaitable[Response]]] = {
            "list": self.list,
            "listByUserRole": self.list_by_user_role,
            "listByUserIdAndRole": self.list_by_user_id_and_role,
            "count": self.count,
            "create": self.create,
        }
        if action not in targets:
            raise LookupError(f"no handler for action {action!r} of {operation_id}")
        return functools.partial(targets[action], kind)

    def close(self) -> None:
        """Stop the store threads, if any (the app's shutdown)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)

    async def _call(self, function: Callable[..., _T], *args: Any) -> _T:
        """`function(*args)`, a store call: on the store threads when there are some."""
        if self._executor is None:
            return function(*args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, functools.partial(function, *args))

    # ------------------------------------------------------------ operations
    async def list(self, kind: str, scope: Scope, receive: Receive) -> Response:
        """The tenant list (application permissions: the spec's security says so)."""
        principal = principal_of(scope)
        return await self._list(scope, principal, kind, None, None, tenant=True)

    async def list_by_user_role(self, kind: str, scope: Scope, receive: Receive) -> Response:
        """`getByUserRole(role=...)`: the signed-in user's events in that role (delegated only)."""
        principal = principal_of(scope)
        return await self._list(scope, principal, kind, principal.user, scope["path_params"]["role"], tenant=False)

    async def list_by_user_id_and_role(self, kind: str, scope: Scope, receive: Receive) -> Response:
        """`getByUserIdAndRole(userId=..., role=...)`: a named user's events in that role."""
        principal = principal_of(scope)
        params = scope["path_params"]
        return await self._list(scope, principal, kind, str(params["userId"]).lower(), params["role"], tenant=False)

    async def count(self, kind: str, scope: Scope, receive: Receive) -> Response:
        """`/$count`: the number of events the tenant list holds, as text (what the SDKs' count builders read)."""
        principal = principal_of(scope)
        for name, _ in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True):
            if name.startswith("$"):
                return error_response(scope, 400, f"The query option '{name}' is not supported on $count.")
        events = await self._call(self.reads.list, kind, principal.tenant)
        return Response(str(len(events)), status_code=200, media_type="text/plain")

    async def _list(
        self, scope: Scope, principal: Principal, kind: str, user: str | None, role: str | None, *, tenant: bool
    ) -> Response:
        try:
            query = lists.parse_list_query(scope["query_string"])
        except lists.QueryError as exc:
            return error_response(scope, 400, str(exc))
        events: Sequence[Event] = await self._call(self.reads.list, kind, principal.tenant)
        if user is not None and role is not None:
            events = [e for e in events if lists.in_role(e.resource, user, role)]
        items, after = lists.page(events, query, self.contract.page_size)
        odata_type = self.odata_types[kind]
        context = lists.collection_context(scope, kind, odata_type, query.select, tenant=tenant)
        body: dict[str, Any] = {"@odata.context": context}
        if query.count:
            body["@odata.count"] = len(events)
        body["value"] = [self._present(e, principal, query.select) for e in items]
        if after is not None:
            body["@odata.nextLink"] = lists.next_link(scope, after)
        return json_response(200, body)

    async def get(self, kind: str, id_parameter: str | None, scope: Scope, receive: Receive) -> Response:
        principal = principal_of(scope)
        select = self._select(scope)
        if isinstance(select, Response):
            return select
        found = await self._find(scope, principal, kind, id_parameter, self.reads)
        if isinstance(found, Response):
            return found
        (event,) = found
        outcome = self.lifecycle.outcome("get", event.status)
        if outcome.status >= 400:
            return self._refused(scope, "get", outcome.status, outcome.error, event.status)
        return self._entity(scope, outcome.status, event, principal, select)

    def _entity(
        self, scope: Scope, status: int, event: Event, principal: Principal, select: builtins.list[str] | None = None
    ) -> Response:
        """One event as Graph answers it: `@odata.context` first, then the resource."""
        context = {"@odata.context": lists.entity_context(scope, event.kind, select)}
        return json_response(status, {**context, **self._present(event, principal, select)})

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
            if await self._call(self.store.create, event):
                return self._entity(scope, outcome.status, event, principal)
        return error_response(scope, 503, "Could not allocate an event id; retry.", headers={"Retry-After": "1"})

    async def update(self, kind: str, id_parameter: str | None, scope: Scope, receive: Receive) -> Response:
        principal = principal_of(scope)
        body = await self._json_body(scope, receive, kind)
        if isinstance(body, Response):
            return body
        body.pop("@odata.type", None)
        return await self._decide_and_write(scope, principal, "update", kind, id_parameter, body)

    async def transition(
        self, action: str, kind: str | None, id_parameter: str | None, scope: Scope, receive: Receive
    ) -> Response:
        principal = principal_of(scope)
        body = await read_body(receive)
        if body.strip() and not _is_empty_object(body):
            return error_response(scope, 400, "Don't supply a request body for this method.")
        return await self._decide_and_write(scope, principal, action, kind, id_parameter, None)

    async def set_external_event_information(
        self, kind: str | None, id_parameter: str | None, scope: Scope, receive: Receive
    ) -> Response:
        """Link the event to an id in another system: the caller's application's entry of
        `externalEventInformation` is set; the roles and states of an update apply (choices)."""
        principal = principal_of(scope)
        raw = await read_body(receive)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return error_response(scope, 400, "The request body is not valid JSON.")
        external_id = body.get("externalEventId") if isinstance(body, dict) else None
        if not isinstance(external_id, str) or len(external_id) > _MAX_EXTERNAL_ID or set(body) != {"externalEventId"}:
            return error_response(
                scope,
                400,
                "The request body must be an object with one property, 'externalEventId': "
                f"a string of at most {_MAX_EXTERNAL_ID} characters.",
            )
        entry = {"applicationId": principal.application, "externalEventId": external_id}

        def linked(event: Event) -> Mapping[str, Any]:
            others = [
                e
                for e in event.resource.get("externalEventInformation") or ()
                if not isinstance(e, Mapping) or e.get("applicationId") != principal.application
            ]
            return {"externalEventInformation": [*others, entry]}

        return await self._decide_and_write(
            scope, principal, "update", kind, id_parameter, linked, named="setExternalEventInformation"
        )

    # ------------------------------------------------------------ steps
    async def _decide_and_write(
        self,
        scope: Scope,
        principal: Principal,
        action: str,
        kind: str | None,
        id_parameter: str | None,
        properties: Mapping[str, Any] | Callable[[Event], Mapping[str, Any]] | None,
        *,
        named: str | None = None,
    ) -> Response:
        """Read, ask the lifecycle, write (compare-and-set), retry on a conflict. `properties`
        may depend on each event (a function); `named`: an operation that acts as `action`
        does (its roles and lifecycle row) under its own name, answering 204."""
        label = named or action
        for _ in range(_MAX_ATTEMPTS):
            found = await self._find(scope, principal, kind, id_parameter)
            if isinstance(found, Response):
                return found
            if not all(may(principal, action, e.resource) for e in found):
                who = " or ".join(
                    _ROLE_NAMES.get(role, role) for role, actions in self.contract.roles.items() if action in actions
                )
                return error_response(scope, 403, f"Only {who} of a virtual event can {label} it.")
            per_event = properties if callable(properties) else None
            decision = self.lifecycle.decide(action, found, None if per_event else properties)  # type: ignore[arg-type]
            if decision.error is not None or decision.status >= 400:
                return self._refused(scope, label, decision.status, decision.error, decision.state)
            changes = decision.changes
            if per_event is not None:
                moved = {(e.kind, e.id): e for e in changes}
                changes = tuple(moved.get((e.kind, e.id), e).changed(**per_event(e)) for e in found)
            if await self._call(self.store.replace, changes):
                if decision.status == 204 or named is not None:
                    return Response(status_code=204)
                (event,) = changes or found
                return self._entity(scope, decision.status, event, principal)
        return error_response(
            scope, 503, "The virtual event is being changed concurrently; retry.", headers={"Retry-After": "1"}
        )

    async def _find(
        self, scope: Scope, principal: Principal, kind: str | None, id_parameter: str | None, store: Store | None = None
    ) -> builtins.list[Event] | Response:
        raw = _path_id(scope, id_parameter)
        event_id = parse_event_id(raw, principal.tenant)
        if event_id is None:
            return error_response(scope, 400, malformed_id_message(raw))
        source = self.store if store is None else store
        events = [e for e in await self._call(source.find, event_id, kind) if e.tenant == principal.tenant]
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
    if json_depth(body) > MAX_JSON_DEPTH:
        return error_response(scope, 400, f"The request body is nested deeper than {MAX_JSON_DEPTH} levels.")
    if not isinstance(body, dict):
        return error_response(scope, 400, "The request body must be a JSON object.")
    return body


def _is_empty_object(body: bytes) -> bool:
    try:
        return bool(json.loads(body) == {})
    except ValueError:
        return False
