"""The change-notification rules of the contract (`info.x-vevents-notifications`), parsed.

What may be subscribed to (resource patterns, change types, permission types), how long a
subscription may live and how Graph delivers (handshake and delivery times, the retry window,
the lifecycle events). The stub (server/notifications/) executes them and `vevents
check-webhook` judges a receiver against them; neither restates a number of its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["NotificationRules", "SubscribableResource", "notification_rules"]

_ID = "{id}"
_ID_CAPTURE = r"(?P<id>[^/]+)"


@dataclass(frozen=True, slots=True)
class SubscribableResource:
    """One row of the contract's table of subscribable resources."""

    pattern: str
    """The subscription's `resource`, `{id}` standing for an event id."""
    change_types: frozenset[str]
    permission_types: frozenset[str]
    """"application" and/or "delegated"."""
    notifies: str
    """The `@odata.type` of the changed resource (`resourceData`)."""
    documented: bool
    regex: re.Pattern[str]

    @property
    def kind(self) -> str | None:
        """The event collection the resource is under (webinars, townhalls), or None (tenant-level)."""
        parts = self.pattern.split("/")
        return parts[2] if len(parts) > 3 else None

    @property
    def child(self) -> str | None:
        """The sub-collection (sessions, registrations) under the event, if any."""
        parts = self.pattern.split("/")
        return parts[4] if len(parts) > 4 else None


@dataclass(frozen=True, slots=True)
class NotificationRules:
    max_lifetime_minutes: int
    handshake_timeout_s: float
    delivery_timeout_s: float
    retry_window_hours: float
    client_state_max_length: int
    lifecycle_events: tuple[str, ...]
    resources: tuple[SubscribableResource, ...]

    def match(self, resource: str) -> tuple[SubscribableResource, str | None] | None:
        """The table row a subscription's `resource` names and the event id in it (None: no id), or None."""
        normalized = resource.strip().strip("/")
        for row in self.resources:
            found = row.regex.fullmatch(normalized)
            if found is not None:
                return row, found.groupdict().get("id")
        return None


def _regex(pattern: str) -> re.Pattern[str]:
    head, _, tail = pattern.partition(_ID)
    text = re.escape(head) + (_ID_CAPTURE + re.escape(tail) if _ID in pattern else "")
    return re.compile(text, re.IGNORECASE)


def notification_rules(section: Mapping[str, Any]) -> NotificationRules:
    """Parse `info.x-vevents-notifications`."""
    return NotificationRules(
        max_lifetime_minutes=int(section["maxLifetimeMinutes"]),
        handshake_timeout_s=float(section["handshakeTimeoutSeconds"]),
        delivery_timeout_s=float(section["deliveryTimeoutSeconds"]),
        retry_window_hours=float(section["retryWindowHours"]),
        client_state_max_length=int(section["clientStateMaxLength"]),
        lifecycle_events=tuple(section["lifecycleEvents"]),
        resources=tuple(
            SubscribableResource(
                pattern=row["pattern"],
                change_types=frozenset(row["changeTypes"]),
                permission_types=frozenset(row["permissionTypes"]),
                notifies=row["notifies"],
                documented=bool(row["documented"]),
                regex=_regex(row["pattern"]),
            )
            for row in section["resources"]
        ),
    )
