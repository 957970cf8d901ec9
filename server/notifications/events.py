"""The store the handlers write through, telling the notifications what changed.

A wrapper and not a call in each handler: every write that succeeded is one `create` or one
`replace` of the `Store` protocol, whichever route (fast path or Connexion, webinar, town
hall or the SDKs' `/events/{id}`) made it. The notification is queued, never awaited: the
API call answers as fast with a thousand subscriptions as with none.
"""

from __future__ import annotations

import builtins
import logging
from collections.abc import Iterable, Sequence

from vevents.server.notifications.dispatcher import Notifications
from vevents.server.store import Event, Store

__all__ = ["NotifyingStore"]

logger = logging.getLogger("vevents.notifications")


class NotifyingStore:
    def __init__(self, inner: Store, notifications: Notifications) -> None:
        self.inner = inner
        self.notifications = notifications

    def find(self, event_id: str, kind: str | None = None) -> builtins.list[Event]:
        return self.inner.find(event_id, kind)

    def list(self, kind: str, tenant: str) -> builtins.list[Event]:
        return self.inner.list(kind, tenant)

    def create(self, event: Event) -> bool:
        created = self.inner.create(event)
        if created:
            self._changed(event, "created")
        return created

    def replace(self, events: Sequence[Event]) -> bool:
        replaced = self.inner.replace(events)
        if replaced:
            for event in events:
                self._changed(event, "updated")
        return replaced

    def seed(self, events: Iterable[Event]) -> int:
        return self.inner.seed(events)

    def reset(self, events: Iterable[Event]) -> int:
        return self.inner.reset(events)

    def close(self) -> None:
        self.inner.close()

    def _changed(self, event: Event, change_type: str) -> None:
        try:
            self.notifications.event_changed(event.kind, event.id, event.tenant, change_type)
        except Exception:  # a notification must never fail the write that caused it
            logger.exception("could not queue the notification for %s", event.id)
