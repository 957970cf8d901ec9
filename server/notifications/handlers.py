"""The Graph operations on `/subscriptions`: create (after the handshake), get, list, renew, delete.

Connexion has checked the token's permissions and validated the body against the spec's
`subscriptionRequest` / `subscriptionUpdate`; what is left is what the contract's
`x-vevents-notifications` section and its prose say: which resources, change types and
permission types, the lifetime, one subscription per resource per application, and the
notification URL's handshake - which runs before anything is stored.
"""

from __future__ import annotations

import datetime
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from vevents.server.auth import Principal, may
from vevents.server.errors import error_response, json_response
from vevents.server.handlers import json_object
from vevents.server.ids import parse_event_id
from vevents.server.notifications.dispatcher import Notifications, new_subscription_id
from vevents.server.notifications.subscriptions import Subscription
from vevents.server.security import principal_of
from vevents.server.store import Store

if TYPE_CHECKING:
    from starlette.types import Receive, Scope

    from vevents.spec import Contract

__all__ = ["DELEGATED_APPLICATION_ID", "SubscriptionHandlers"]

Handler = Callable[["Scope", "Receive"], Awaitable[Response]]

DELEGATED_APPLICATION_ID = "de8bc8b5-d9f9-48b1-a8ad-b748da725064"
"""Whose subscriptions a delegated token makes: the stub's tokens name no client application,
so it is Graph Explorer's client id (a choice, docs/choices.md)."""


def application_of(principal: Principal) -> str:
    return principal.user if not principal.delegated else DELEGATED_APPLICATION_ID


def _instant(text: Any) -> datetime.datetime | None:
    if not isinstance(text, str):
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    # Graph writes seven fractional digits; Python reads at most six.
    head, dot, rest = value.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        rest = rest[: min(digits, 6)] + rest[digits:]
        value = f"{head}.{rest}"
    try:
        instant = datetime.datetime.fromisoformat(value)
    except ValueError:
        return None
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=datetime.UTC)


class SubscriptionHandlers:
    def __init__(self, notifications: Notifications, events: Store, contract: Contract) -> None:
        self.notifications = notifications
        self.events = events
        self.contract = contract
        self.rules = notifications.rules

    def resolve(self, operation_id: str) -> Handler:
        action = self.contract.operation(operation_id).action
        targets: dict[str, Handler] = {
            "subscribe": self.create,
            "listSubscriptions": self.list,
            "getSubscription": self.get,
            "renewSubscription": self.update,
            "deleteSubscription": self.delete,
        }
        if action not in targets:
            raise LookupError(f"no subscription handler for action {action!r} of {operation_id}")
        return targets[action]

    # ------------------------------------------------------------ operations
    async def create(self, scope: Scope, receive: Receive) -> Response:
        principal = principal_of(scope)
        body = await json_object(scope, receive)
        if isinstance(body, Response):
            return body
        resource = str(body.get("resource", ""))
        found = self.rules.match(resource)
        if found is None:
            return error_response(scope, 400, f"The resource '{resource}' does not support change notifications.")
        row, raw_id = found
        kinds = {part.strip() for part in str(body.get("changeType", "")).split(",")}
        unsupported = sorted(kinds - row.change_types) or ([] if kinds - {""} else [""])
        if unsupported:
            allowed = ", ".join(sorted(row.change_types))
            return error_response(
                scope, 400, f"The changeType '{unsupported[0]}' is not supported for '{row.pattern}' (only {allowed})."
            )
        permission_type = "delegated" if principal.delegated else "application"
        if permission_type not in row.permission_types:
            return error_response(
                scope, 403, f"Subscribing to '{row.pattern}' is not supported with {permission_type} permissions."
            )
        if raw_id is not None:
            refused = self._event_refusal(scope, principal, row.kind, raw_id)
            if refused is not None:
                return refused
        expiration = self._expiration(scope, body.get("expirationDateTime"))
        if isinstance(expiration, Response):
            return expiration
        sub = Subscription(
            id=new_subscription_id(),
            tenant=principal.tenant,
            application_id=application_of(principal),
            creator_id=principal.user,
            delegated=principal.delegated,
            resource=resource,
            change_type=str(body["changeType"]),
            notification_url=str(body["notificationUrl"]),
            expiration=expiration,
            client_state=body.get("clientState"),
            lifecycle_url=body.get("lifecycleNotificationUrl") or None,
            latest_tls=body.get("latestSupportedTlsVersion") or "v1_2",
        )
        if self._taken(sub):
            return self._conflict(scope, sub)
        for url in (sub.notification_url, sub.lifecycle_url):
            if url:
                problem = await self.notifications.validate(url, sub.id)
                if problem is not None:
                    return error_response(scope, 400, problem)
        if not self.notifications.add(sub):
            return self._conflict(scope, sub)
        return json_response(201, sub.to_graph())

    async def list(self, scope: Scope, receive: Receive) -> Response:
        principal = principal_of(scope)
        mine = [s.to_graph() for s in self.notifications.live_subscriptions() if self._owns(principal, s)]
        return json_response(200, {"value": mine})

    async def get(self, scope: Scope, receive: Receive) -> Response:
        sub = self._find(scope)
        return sub if isinstance(sub, Response) else json_response(200, sub.to_graph())

    async def update(self, scope: Scope, receive: Receive) -> Response:
        sub = self._find(scope)
        if isinstance(sub, Response):
            return sub
        body = await json_object(scope, receive)
        if isinstance(body, Response):
            return body
        changed = sub
        if "expirationDateTime" in body:
            expiration = self._expiration(scope, body["expirationDateTime"])
            if isinstance(expiration, Response):
                return expiration
            changed = changed.renewed(expiration)
        url = body.get("notificationUrl")
        if url and url != sub.notification_url:
            problem = await self.notifications.validate(str(url), sub.id)
            if problem is not None:
                return error_response(scope, 400, problem)
            changed = Subscription(**{**_fields(changed), "notification_url": str(url)})
        if not self.notifications.put(changed):
            return self._not_found(scope)
        return json_response(200, changed.to_graph())

    async def delete(self, scope: Scope, receive: Receive) -> Response:
        sub = self._find(scope)
        if isinstance(sub, Response):
            return sub
        self.notifications.remove(sub.id)
        return Response(status_code=204)

    # ------------------------------------------------------------ steps
    def _event_refusal(self, scope: Scope, principal: Principal, kind: str | None, raw_id: str) -> Response | None:
        event_id = parse_event_id(raw_id, principal.tenant)
        if event_id is None:
            return error_response(scope, 400, f"Invalid virtual event id {raw_id!r}: expected '<guid>@<tenant-guid>'.")
        events = [e for e in self.events.find(event_id, kind) if e.tenant == principal.tenant]
        if not events:
            return error_response(scope, 404, f"The virtual event '{event_id}' was not found.")
        if principal.delegated and not may(principal, "update", events[0].resource):
            return error_response(
                scope, 403, "Only the organizer or a co-organizer of a virtual event can subscribe to its changes."
            )
        return None

    def _expiration(self, scope: Scope, raw: Any) -> datetime.datetime | Response:
        expiration = _instant(raw)
        if expiration is None:
            return error_response(scope, 400, f"The expirationDateTime {raw!r} is not a date and time.")
        now = self.notifications.clock()
        limit = self.rules.max_lifetime_minutes
        if expiration <= now:
            return error_response(scope, 400, "Subscription expiration must be in the future.")
        if expiration > now + datetime.timedelta(minutes=limit):
            return error_response(
                scope, 400, f"Subscription expiration can only be {limit} minutes in the future.", code="ExtensionError"
            )
        return expiration

    def _taken(self, sub: Subscription) -> bool:
        return any(other.owner == sub.owner for other in self.notifications.live_subscriptions())

    @staticmethod
    def _conflict(scope: Scope, sub: Subscription) -> Response:
        return error_response(
            scope, 409, f"An application can have only one subscription to '{sub.resource}' in a tenant."
        )

    @staticmethod
    def _owns(principal: Principal, sub: Subscription) -> bool:
        return (
            sub.tenant == principal.tenant
            and sub.application_id == application_of(principal)
            and (not principal.delegated or sub.creator_id == principal.user)
        )

    def _find(self, scope: Scope) -> Subscription | Response:
        principal = principal_of(scope)
        raw = str(next(iter(scope["path_params"].values())))
        sub = self.notifications.live(raw.lower())
        if sub is None or not self._owns(principal, sub):
            return self._not_found(scope, raw)
        return sub

    @staticmethod
    def _not_found(scope: Scope, raw: str = "") -> Response:
        return error_response(scope, 404, f"The subscription '{raw}' was not found.")


def _fields(sub: Subscription) -> dict[str, Any]:
    return {name: getattr(sub, name) for name in sub.__slots__}
