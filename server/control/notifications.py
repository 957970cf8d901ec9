"""The control API's notification operations (spec/control.yaml, tag `notifications`).

List every subscription, expire one, fire a change or lifecycle notification at any moment,
read the delivery journal (and wait for the next entry), make deliveries lag or fail.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.responses import Response

from vevents.server.errors import GraphError, json_response
from vevents.server.middleware import read_body
from vevents.server.notifications.dispatcher import DeliveryFaults, Notifications
from vevents.server.notifications.subscriptions import Subscription

if TYPE_CHECKING:
    from starlette.types import Receive, Scope

__all__ = ["NotificationControl"]

Handler = Callable[["Scope", "Receive"], Awaitable[Response]]
MAX_WAIT_MS = 30_000


async def _body(receive: Receive) -> dict[str, Any]:
    raw = await read_body(receive)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise GraphError(400, "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise GraphError(400, "The request body must be a JSON object.")
    return body


class NotificationControl:
    def __init__(self, notifications: Notifications) -> None:
        self.notifications = notifications

    def resolve(self, operation_id: str) -> Handler:
        target = getattr(self, "op_" + operation_id, None)
        if target is None:
            raise LookupError(f"no notification control handler for {operation_id}")
        handler: Handler = target
        return handler

    def _subscription(self, scope: Scope) -> Subscription:
        raw = str(next(iter(scope["path_params"].values())))
        sub = self.notifications.live(raw.lower())
        if sub is None:
            raise GraphError(404, f"No live subscription '{raw}'.")
        return sub

    async def op_listAllSubscriptions(self, scope: Scope, receive: Receive) -> Response:
        value = [{**s.to_graph(), "tenantId": s.tenant} for s in self.notifications.live_subscriptions()]
        return json_response(200, {"value": value})

    async def op_expireSubscription(self, scope: Scope, receive: Receive) -> Response:
        sub = self._subscription(scope)
        self.notifications.remove(sub.id)
        return Response(status_code=204)

    async def op_fireNotification(self, scope: Scope, receive: Receive) -> Response:
        sub = self._subscription(scope)
        change = (await _body(receive)).get("changeType")
        if change is not None and change not in sub.change_types:
            raise GraphError(400, f"The subscription is to {sub.change_type!r}, not {change!r}.")
        self.notifications.fire(sub, change)
        return json_response(202, {"sent": True, "lastSeq": self.notifications.journal.last_seq})

    async def op_fireLifecycle(self, scope: Scope, receive: Receive) -> Response:
        sub = self._subscription(scope)
        event = (await _body(receive)).get("lifecycleEvent")
        if event not in self.notifications.rules.lifecycle_events:
            raise GraphError(400, f"Unknown lifecycleEvent {event!r}.")
        sent = self.notifications.lifecycle(sub, str(event))
        return json_response(202, {"sent": sent, "lastSeq": self.notifications.journal.last_seq})

    async def op_listDeliveries(self, scope: Scope, receive: Receive) -> Response:
        query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        try:
            after = int(query.get("after", "0"))
            wait_ms = min(int(query.get("waitMs", "0")), MAX_WAIT_MS)
        except ValueError:
            raise GraphError(400, "after and waitMs must be integers.") from None
        wanted = {key: query[key] for key in ("subscriptionId", "kind", "outcome") if key in query}
        if "subscriptionId" in wanted:
            wanted["subscriptionId"] = wanted["subscriptionId"].lower()

        def match(entry: dict[str, Any]) -> bool:
            return all(entry.get(key) == value for key, value in wanted.items())

        journal = self.notifications.journal
        if wait_ms:
            await journal.next(after, wait_ms / 1000, match)
        return json_response(200, {"value": journal.entries(after, match), "lastSeq": journal.last_seq})

    async def op_clearDeliveries(self, scope: Scope, receive: Receive) -> Response:
        self.notifications.journal.clear()
        return Response(status_code=204)

    def _behaviour(self) -> dict[str, int]:
        faults = self.notifications.faults
        return {"delayMs": faults.delay_ms, "fail": faults.fail, "failStatus": faults.fail_status}

    async def op_getDeliveryBehaviour(self, scope: Scope, receive: Receive) -> Response:
        return json_response(200, self._behaviour())

    async def op_setDeliveryBehaviour(self, scope: Scope, receive: Receive) -> Response:
        body = await _body(receive)
        current = self.notifications.faults
        self.notifications.faults = DeliveryFaults(
            delay_ms=int(body.get("delayMs", current.delay_ms)),
            fail=int(body.get("fail", current.fail)),
            fail_status=int(body.get("failStatus", current.fail_status)),
        )
        return json_response(200, self._behaviour())
