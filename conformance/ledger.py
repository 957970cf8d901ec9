"""The run's event budget (`--max-events`) and every event the run created, for the cleanup at the end.

Events cannot be deleted (the contract has no DELETE), so every create is counted before it is
sent: the transport reserves a place here and settles it with the id the answer gave, if any.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from vevents.spec import contract

from .failures import BudgetExhausted

__all__ = ["CreatedEvent", "EventLedger", "create_paths", "created_id"]


@dataclass(slots=True)
class CreatedEvent:
    """An event the run created; `final_status` is filled by the cleanup at the end of the run."""

    kind: str
    id: str
    base_url: str
    by: str = "vevents"
    """Who created it: "vevents" (the suite's checks) or "schemathesis"."""
    final_status: str | None = None
    cleanup: str = ""
    """What the cleanup did: "canceled", "already canceled", or why it could not cancel."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "created_by": self.by,
            "final_status": self.final_status,
            "cleanup": self.cleanup,
        }


@dataclass(slots=True)
class EventLedger:
    """The run's event budget (`--max-events`; None: unlimited) and every event it created."""

    max_events: int | None = None
    created: list[CreatedEvent] = field(default_factory=list)
    refused: int = 0
    """Creates not sent because the budget was spent."""
    _reserved: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reserve(self, keep: int = 0) -> None:
        """Hold a place for one create, leaving `keep` places for later; raises `BudgetExhausted` if none is left."""
        with self._lock:
            if self.max_events is not None and len(self.created) + self._reserved >= self.max_events - keep:
                self.refused += 1
                raise BudgetExhausted(f"needs more events than --max-events {self.max_events} allows")
            self._reserved += 1

    def settle(self, event: CreatedEvent | None) -> None:
        """Release a reservation, recording the event if the create made one."""
        with self._lock:
            self._reserved -= 1
            if event is not None:
                self.created.append(event)

    @property
    def left(self) -> int | None:
        with self._lock:
            return None if self.max_events is None else self.max_events - len(self.created) - self._reserved


def create_paths() -> dict[str, str]:
    """Path (relative to the versioned base URL) -> kind, for every create operation of the contract."""
    return {op.url_path(): op.kind for op in contract().operations if op.action == "create"}


def created_id(status: int, content: bytes) -> str | None:
    """The id of the event a create answer made (2xx JSON object with a string id), or None."""
    if not 200 <= status < 300:
        return None
    try:
        body = json.loads(content)
    except ValueError:
        return None
    value = body.get("id") if isinstance(body, dict) else None
    return value if isinstance(value, str) and value else None
