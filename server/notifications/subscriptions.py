"""Subscriptions: the record, its Graph representation, and where they are kept.

They survive restarts as events do: beside the events in the same SQLite file (their own
table), or in memory with `--memory`. An expired subscription is gone, as in Graph: stores
hand back what they hold, and callers drop what `expired(now)` says (`SubscriptionStore.live`).
"""

from __future__ import annotations

import builtins
import datetime
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol

__all__ = [
    "Clock",
    "MemorySubscriptions",
    "SqliteSubscriptions",
    "Subscription",
    "SubscriptionStore",
    "format_instant",
    "utc_now",
]

Clock = Callable[[], datetime.datetime]


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def format_instant(instant: datetime.datetime) -> str:
    """Graph's spelling of an instant: `2023-01-28T00:00:00.0000000Z` (seven fractional digits)."""
    utc = instant.astimezone(datetime.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}0Z"


@dataclass(frozen=True, slots=True)
class Subscription:
    id: str
    tenant: str
    application_id: str
    creator_id: str
    delegated: bool
    resource: str
    change_type: str
    """As the client wrote it (e.g. "created,updated"); `change_types` is the set."""
    notification_url: str
    expiration: datetime.datetime
    client_state: str | None = None
    lifecycle_url: str | None = None
    latest_tls: str = "v1_2"

    @property
    def change_types(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.change_type.split(",") if part.strip())

    def expired(self, now: datetime.datetime) -> bool:
        return self.expiration <= now

    def renewed(self, expiration: datetime.datetime) -> Subscription:
        return replace(self, expiration=expiration)

    def to_graph(self) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.subscription",
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.application_id,
            "changeType": self.change_type,
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": format_instant(self.expiration),
            "creatorId": self.creator_id,
            "includeResourceData": False,
            "latestSupportedTlsVersion": self.latest_tls,
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }

    def to_row(self) -> str:
        data = asdict(self)
        data["expiration"] = self.expiration.isoformat()
        return json.dumps(data)

    @classmethod
    def from_row(cls, text: str) -> Subscription:
        data = json.loads(text)
        data["expiration"] = datetime.datetime.fromisoformat(data["expiration"])
        return cls(**data)

    @property
    def owner(self) -> tuple[str, str, str]:
        """(tenant, application, resource): Graph allows one subscription per owner."""
        return (self.tenant, self.application_id, self.resource.strip("/").lower())


class SubscriptionStore(Protocol):
    def add(self, subscription: Subscription) -> bool:
        """Store it; False if its owner (tenant, app, resource) already has one."""
        ...

    def get(self, subscription_id: str) -> Subscription | None: ...

    def all(self) -> builtins.list[Subscription]: ...

    def put(self, subscription: Subscription) -> bool:
        """Replace a stored one; False if it is no longer there."""
        ...

    def remove(self, subscription_id: str) -> Subscription | None: ...

    def clear(self) -> None: ...

    def close(self) -> None: ...


class MemorySubscriptions:
    """A dict behind a lock."""

    def __init__(self) -> None:
        self._items: dict[str, Subscription] = {}
        self._lock = threading.Lock()

    def _load(self, items: Iterable[Subscription]) -> None:
        self._items = {s.id: s for s in items}

    def add(self, subscription: Subscription) -> bool:
        with self._lock:
            if any(s.owner == subscription.owner for s in self._items.values()):
                return False
            self._items[subscription.id] = subscription
            return True

    def get(self, subscription_id: str) -> Subscription | None:
        with self._lock:
            return self._items.get(subscription_id.lower())

    def all(self) -> builtins.list[Subscription]:
        with self._lock:
            return list(self._items.values())

    def put(self, subscription: Subscription) -> bool:
        with self._lock:
            if subscription.id not in self._items:
                return False
            self._items[subscription.id] = subscription
            return True

    def remove(self, subscription_id: str) -> Subscription | None:
        with self._lock:
            return self._items.pop(subscription_id.lower(), None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def close(self) -> None:
        pass


class SqliteSubscriptions(MemorySubscriptions):
    """The memory store, written through to a `subscriptions` table of the events' SQLite file.

    Reads come from memory (delivery matches every change against them); every change is one
    small write. The table is read once at start: subscriptions survive a restart.
    """

    def __init__(self, path: str) -> None:
        super().__init__()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=5.0)
        self._db.execute("CREATE TABLE IF NOT EXISTS subscriptions (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
        self._db_lock = threading.Lock()
        self._load(Subscription.from_row(body) for (body,) in self._db.execute("SELECT body FROM subscriptions"))

    def _write(self, sql: str, *args: str) -> None:
        with self._db_lock:
            self._db.execute(sql, args)

    def add(self, subscription: Subscription) -> bool:
        if not super().add(subscription):
            return False
        self._write(
            "INSERT OR REPLACE INTO subscriptions (id, body) VALUES (?, ?)", subscription.id, subscription.to_row()
        )
        return True

    def put(self, subscription: Subscription) -> bool:
        if not super().put(subscription):
            return False
        self._write("UPDATE subscriptions SET body = ? WHERE id = ?", subscription.to_row(), subscription.id)
        return True

    def remove(self, subscription_id: str) -> Subscription | None:
        removed = super().remove(subscription_id)
        if removed is not None:
            self._write("DELETE FROM subscriptions WHERE id = ?", removed.id)
        return removed

    def clear(self) -> None:
        super().clear()
        self._write("DELETE FROM subscriptions")

    def close(self) -> None:
        with self._db_lock:
            self._db.close()
