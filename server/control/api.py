"""The control API's operations (spec/control.yaml), each `async (scope, receive) -> Response`.

Connexion has routed the request and validated its parameters and body against the control
document; what is left is what the document says in prose (ids, states, kinds, operationIds
that must exist in the Graph contract). Every refusal is a `GraphError`, answered in Graph's
envelope by the app's error handlers, and nothing changes before all input is checked.
"""

from __future__ import annotations

import datetime
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import jwt
from starlette.responses import Response

from vevents.server.auth import SEED_ORGANIZER, SEED_TENANT, mint_token
from vevents.server.children import Child, ChildStore
from vevents.server.control.journal import JournalFilter
from vevents.server.control.plane import ControlPlane, InspectableStore, store_name
from vevents.server.errors import GraphError, json_body, json_response
from vevents.server.ids import parse_event_id
from vevents.server.liveness import probe_store
from vevents.server.middleware import read_body
from vevents.server.nesting import MAX_JSON_DEPTH, json_depth
from vevents.server.seed import SeedError, events_from
from vevents.server.store import Event
from vevents.spec import GUID_PATTERN, singular
from vevents.spec.control import lifecycle_states

if TYPE_CHECKING:
    from starlette.types import Receive, Scope

__all__ = ["ControlApi"]

Handler = Callable[["Scope", "Receive"], Awaitable[Response]]

_USER_IDENTITY = "#microsoft.graph.communicationsUserIdentity"
_ARRANGED_MEMBERS = ("id", "status", "@odata.type", "createdBy", "coOrganizers")
"""Properties `putEvent` sets itself; `properties` may not set them too."""


def _no_content() -> Response:
    return Response(status_code=204)


def _query(scope: Scope) -> dict[str, str]:
    return dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))


def _path(scope: Scope, name: str) -> str:
    return str(scope["path_params"][name.replace("-", "_")])


async def _body(receive: Receive) -> Any:
    try:
        return json.loads(await read_body(receive))
    except (ValueError, RecursionError):
        raise GraphError(400, "The request body is not valid JSON.") from None


class ControlApi:
    """The operations over one `ControlPlane`; `resolve` is Connexion's resolver function."""

    def __init__(self, plane: ControlPlane) -> None:
        self.plane = plane
        self.kinds = plane.contract.kinds
        self.properties = plane.contract.select_properties

    def resolve(self, operation_id: str) -> Handler:
        target = getattr(self, "op_" + operation_id, None)
        if target is None:
            raise LookupError(f"no control handler for {operation_id}")
        handler: Handler = target
        return handler

    # ------------------------------------------------------------ helpers
    def _inspectable(self) -> InspectableStore:
        store = self.plane.store
        if not isinstance(store, InspectableStore):
            raise GraphError(501, "This stub's store cannot list its events (it was given to the app by a test).")
        return store

    def _kind(self, kind: str) -> str:
        if kind not in self.kinds:
            raise GraphError(404 if kind else 400, f"Unknown kind {kind!r}; expected one of {', '.join(self.kinds)}.")
        return kind

    @staticmethod
    def _event_id(raw: str) -> str:
        event_id = parse_event_id(raw, "") if "@" in raw else None
        if event_id is None:
            raise GraphError(400, f"Invalid virtual event id {raw!r}: expected '<guid>@<tenant-guid>'.")
        return event_id

    # ------------------------------------------------------------ tokens
    async def op_mintToken(self, scope: Scope, receive: Receive) -> Response:
        body: dict[str, Any] = await _body(receive)  # validated against TokenRequest by Connexion
        tenant = body.get("tenant", SEED_TENANT)
        if not re.fullmatch(GUID_PATTERN, tenant):
            raise GraphError(400, f"Invalid tenant {tenant!r}: expected a guid.")
        expires_in = int(body.get("expiresIn", 3600))
        token = mint_token(
            secret=self.plane.secret,
            tenant=tenant.lower(),
            user=body.get("user", SEED_ORGANIZER),
            scopes=body.get("scopes") or None,
            roles=body.get("roles", ()),
            expires_in=expires_in,
        )
        # `expiresOn` is the token's own `exp` (mint_token read the clock): no second reading to disagree.
        expires_on = int(jwt.decode(token, options={"verify_signature": False})["exp"])
        issued = {"tokenType": "Bearer", "accessToken": token, "expiresIn": expires_in, "expiresOn": expires_on}
        # As an OAuth token endpoint answers (RFC 6749 5.1): no cache keeps a token.
        return Response(json_body(issued), media_type="application/json", headers={"Cache-Control": "no-store"})

    # ------------------------------------------------------------ health and state
    async def op_getHealth(self, scope: Scope, receive: Receive) -> Response:
        store = self.plane.store
        probe_store(store)  # StoreUnavailable (503) when the store cannot answer
        return json_response(
            200,
            {
                "status": "ok",
                "store": store_name(store),
                "faults": len(self.plane.faults.rules()),
                "readLagMs": self.plane.lag.global_ms,
            },
        )

    async def op_resetStub(self, scope: Scope, receive: Receive) -> Response:
        self.plane.reset()
        return _no_content()

    async def op_listEvents(self, scope: Scope, receive: Receive) -> Response:
        query = _query(scope)
        kind = self._kind(query["kind"]) if "kind" in query else None
        tenant = query.get("tenant", "").lower() or None
        events = [
            e
            for e in self._inspectable().all_events()
            if (kind is None or e.kind == kind) and (tenant is None or e.tenant == tenant)
        ]
        return json_response(200, {"value": [e.resource for e in events]})

    async def op_loadEvents(self, scope: Scope, receive: Receive) -> Response:
        try:
            events = events_from(await _body(receive), "the request body")
        except SeedError as exc:
            raise GraphError(400, str(exc)) from None
        for event in events:
            self._put(event)
        return json_response(200, {"loaded": len(events)})

    def _put(self, event: Event) -> bool:
        """Create or replace `event`; True if it was created."""
        plain = self.plane.store
        for _ in range(10):
            existing = plain.find(event.id, event.kind)
            if not existing:
                if plain.create(event):
                    return True
            elif plain.replace([replace(event, version=existing[0].version)]):
                return False
        raise GraphError(503, "The event is being changed concurrently; retry.", headers={"Retry-After": "1"})

    async def op_getEvent(self, scope: Scope, receive: Receive) -> Response:
        kind = self._kind(_path(scope, "kind"))
        event_id = self._event_id(_path(scope, "event-id"))
        found = self.plane.store.find(event_id, kind)
        if not found:
            raise GraphError(404, f"The virtual event '{event_id}' was not found.")
        return json_response(200, found[0].resource)

    async def op_putEvent(self, scope: Scope, receive: Receive) -> Response:
        kind = self._kind(_path(scope, "kind"))
        event_id = self._event_id(_path(scope, "event-id"))
        body = await _body(receive)
        if not isinstance(body, Mapping):
            raise GraphError(400, "The request body must be a JSON object.")
        status = body.get("status")
        states = lifecycle_states()
        if status not in states:
            raise GraphError(400, f"'status' must be one of {', '.join(states)}.")
        tenant = event_id.split("@", 1)[1]
        organizer = body.get("organizer", SEED_ORGANIZER)
        co_organizers = body.get("coOrganizers", [])
        if not isinstance(organizer, str) or not organizer:
            raise GraphError(400, "'organizer' must be a user id.")
        if not isinstance(co_organizers, list) or not all(isinstance(c, str) and c for c in co_organizers):
            raise GraphError(400, "'coOrganizers' must be a list of user ids.")
        properties = body.get("properties", {})
        if not isinstance(properties, Mapping):
            raise GraphError(400, "'properties' must be an object.")
        if json_depth(properties) > MAX_JSON_DEPTH:
            raise GraphError(400, f"'properties' is nested deeper than {MAX_JSON_DEPTH} levels.")
        for name in properties:
            if name in _ARRANGED_MEMBERS:
                raise GraphError(400, f"'properties' may not set '{name}'; the request sets it.")
            if name not in self.properties[kind]:
                odata_type = self.plane.contract.odata_types[kind]
                raise GraphError(400, f"The property '{name}' does not exist on type '{odata_type}'.")
        resource = {
            "@odata.type": self.plane.contract.odata_types[kind],
            "id": event_id,
            "status": status,
            "displayName": f"Arranged {singular(kind)} ({status})",
            "startDateTime": {"dateTime": "2026-12-01T17:00:00", "timeZone": "UTC"},
            "endDateTime": {"dateTime": "2026-12-01T18:00:00", "timeZone": "UTC"},
            **properties,
            "createdBy": {
                "application": None,
                "device": None,
                "user": {"@odata.type": _USER_IDENTITY, "id": organizer.lower(), "tenantId": tenant},
            },
            "coOrganizers": [{"id": c.lower(), "tenantId": tenant} for c in co_organizers],
        }
        for name in self.plane.contract.empty_collections[kind]:
            resource.setdefault(name, [])
        event = Event(kind=kind, id=event_id, tenant=tenant, resource=resource)
        created = self._put(event)
        return json_response(201 if created else 200, self.plane.store.find(event_id, kind)[0].resource)

    # ------------------------------------------------------------ registrations, questions, sessions, presenters
    def _children(self) -> ChildStore:
        store = self.plane.store
        if not isinstance(store, ChildStore):
            raise GraphError(501, "This stub's store keeps no registrations, sessions or presenters (a test's own).")
        return store

    def _member_event(self, scope: Scope) -> Event:
        kind = self._kind(_path(scope, "kind"))
        event_id = self._event_id(_path(scope, "event-id"))
        found = self.plane.store.find(event_id, kind)
        if not found:
            raise GraphError(404, f"The virtual event '{event_id}' was not found.")
        return found[0]

    async def op_listMembers(self, scope: Scope, receive: Receive) -> Response:
        event = self._member_event(scope)
        members = self._children().children(_path(scope, "collection"), event.kind, event.id)
        return json_response(200, {"value": [dict(m.resource) for m in members]})

    async def op_putMember(self, scope: Scope, receive: Receive) -> Response:
        event = self._member_event(scope)
        collection = _path(scope, "collection")
        member_id = _path(scope, "member-id").replace("%40", "@").lower()
        if not member_id or "/" in member_id:
            raise GraphError(400, f"Invalid id {member_id!r} for a member of {collection}.")
        body = await _body(receive)
        if not isinstance(body, Mapping):
            raise GraphError(400, "The request body must be a JSON object.")
        if json_depth(body) > MAX_JSON_DEPTH:
            raise GraphError(400, f"The request body is nested deeper than {MAX_JSON_DEPTH} levels.")
        children = self._children()
        existed = children.child(collection, event.kind, event.id, member_id) is not None
        resource = {**body, "id": member_id}
        children.load_children([Child(collection, event.kind, event.id, member_id, event.tenant, resource)])
        return json_response(200 if existed else 201, resource)

    # ------------------------------------------------------------ journal
    async def op_listJournal(self, scope: Scope, receive: Receive) -> Response:
        query = _query(scope)
        since = None
        if "since" in query:
            try:
                since = datetime.datetime.fromisoformat(query["since"].replace("Z", "+00:00"))
            except ValueError:
                since = None
            if since is None or since.tzinfo is None:
                raise GraphError(400, "'since' must be an RFC 3339 date-time with a time zone.")
        status = int(query["status"]) if query.get("status") else None
        where = JournalFilter(
            operation_id=query.get("operationId") or None,
            method=query.get("method") or None,
            status=status,
            event_id=query.get("eventId") or None,
            since=since,
        )
        return json_response(200, {"value": self.plane.journal.entries(where)})

    async def op_clearJournal(self, scope: Scope, receive: Receive) -> Response:
        self.plane.journal.clear()
        return _no_content()

    # ------------------------------------------------------------ faults
    async def op_listFaults(self, scope: Scope, receive: Receive) -> Response:
        return json_response(200, {"value": [rule.to_json() for rule in self.plane.faults.rules()]})

    async def op_addFault(self, scope: Scope, receive: Receive) -> Response:
        body = await _body(receive)
        if not isinstance(body, Mapping):
            raise GraphError(400, "The request body must be a JSON object.")
        try:
            rule = self.plane.faults.add(body)
        except ValueError as exc:
            raise GraphError(400, str(exc)) from None
        return json_response(201, rule.to_json())

    def _rule_id(self, scope: Scope) -> int:
        raw = _path(scope, "fault-id")
        if not raw.isdigit() or len(raw) > 18:
            raise GraphError(400, f"Invalid fault rule id {raw!r}.")
        return int(raw)

    async def op_getFault(self, scope: Scope, receive: Receive) -> Response:
        rule_id = self._rule_id(scope)
        rule = self.plane.faults.get(rule_id)
        if rule is None:
            raise GraphError(404, f"There is no fault rule {rule_id}.")
        return json_response(200, rule.to_json())

    async def op_deleteFault(self, scope: Scope, receive: Receive) -> Response:
        rule_id = self._rule_id(scope)
        if not self.plane.faults.remove(rule_id):
            raise GraphError(404, f"There is no fault rule {rule_id}.")
        return _no_content()

    async def op_clearFaults(self, scope: Scope, receive: Receive) -> Response:
        self.plane.faults.clear()
        return _no_content()

    # ------------------------------------------------------------ lag
    async def op_getReadLag(self, scope: Scope, receive: Receive) -> Response:
        return json_response(200, self.plane.lag.to_json())

    async def op_setReadLag(self, scope: Scope, receive: Receive) -> Response:
        body = await _body(receive)
        if not isinstance(body, Mapping) or isinstance(body.get("ms"), bool) or not isinstance(body.get("ms"), int):
            raise GraphError(400, "'ms' must be an integer.")
        event_id = body.get("eventId")
        if event_id is not None:
            if not isinstance(event_id, str):
                raise GraphError(400, "'eventId' must be a string.")
            event_id = self._event_id(event_id)
        try:
            self.plane.lag.set(body["ms"], event_id)
        except ValueError as exc:
            raise GraphError(400, str(exc)) from None
        return json_response(200, self.plane.lag.to_json())

    async def op_clearReadLag(self, scope: Scope, receive: Receive) -> Response:
        self.plane.lag.clear()
        return _no_content()
