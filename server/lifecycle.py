"""The lifecycle table, executed: what an action does to events in their current states.

Pure: no I/O, no framework. The table is the spec's `x-vevents-lifecycle` (or a modified copy
passed in `Settings.lifecycle` by a test fake); nothing here restates its rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from vevents.server.store import Event
from vevents.spec import Outcome

__all__ = ["Decision", "Lifecycle"]


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one request: its status, an error code if it failed, and the events to write."""

    status: int
    error: str | None = None
    state: str | None = None
    """The state the error is about (for the message)."""
    changes: tuple[Event, ...] = ()


class Lifecycle:
    """One table of `action -> state -> Outcome`."""

    def __init__(self, table: Mapping[str, Mapping[str, Outcome]], create: Outcome) -> None:
        self.table = table
        self.create = create

    def outcome(self, action: str, state: str) -> Outcome:
        return self.table[action][state]

    def decide(self, action: str, events: Sequence[Event], properties: Mapping[str, Any] | None = None) -> Decision:
        """Apply `action` (with `properties` for an update) to `events`, all or nothing.

        Every event must allow the action in its state; the first that does not decides the
        (error) answer and nothing changes. Otherwise each event moves to its outcome's state,
        and the events that actually change are returned for the store to write.
        """
        changes = []
        status = 0
        for event in events:
            outcome = self.table[action][event.status]
            if outcome.error is not None or outcome.status >= 400:
                return Decision(outcome.status, outcome.error, event.status)
            status = status or outcome.status
            updated = event
            if properties:
                updated = updated.changed(**properties)
            if outcome.to != event.status:
                updated = updated.changed(status=outcome.to)
            if updated is not event:
                changes.append(updated)
        return Decision(status, changes=tuple(changes))
