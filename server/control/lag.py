"""Read-after-write lag: reads show a write only some time after it, as Graph's replicas do.

Graph is eventually consistent: right after a write, a read may still return the previous
version of the event (or not find a new one). `ReadLag` wraps the store twice:

    writes   the store the handlers write through; when a lag applies to an event, each
             write also notes the version readers saw before it and when the new one shows
    reads    the view GET and list read: an event with a write still pending reads as that
             previous version (a created one is not found yet)

With no lag set and no write pending, both are the store itself plus one check.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from vevents.server.control.requests import canonical_event_id
from vevents.server.store import Event, Store

__all__ = ["MAX_LAG_MS", "ReadLag"]

MAX_LAG_MS = 600_000

_Key = tuple[str, str]


class ReadLag:
    """The lag settings, the writes still pending, and the two views of the store."""

    def __init__(self, store: Store, *, global_ms: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.store = store
        self.global_ms = global_ms
        self.event_ms: dict[str, int] = {}
        self._clock = clock
        self._pending: dict[_Key, tuple[Mapping[str, Any] | None, float]] = {}
        """(kind, id) -> (the resource readers see until `visible_at`, or None: not found; visible_at)."""
        self._lock = threading.Lock()
        self.writes: Store = _LaggedWrites(self)
        self.reads: Store = _LaggedReads(self)

    # ------------------------------------------------------------ settings
    def set(self, ms: int, event_id: str | None = None) -> None:
        if not 0 <= ms <= MAX_LAG_MS:
            raise ValueError(f"The lag must be between 0 and {MAX_LAG_MS} ms, not {ms}.")
        with self._lock:
            if event_id is None:
                self.global_ms = ms
            else:
                self.event_ms[canonical_event_id(event_id) or event_id] = ms

    def clear(self, global_ms: int = 0, *, keep_settings: bool = False) -> None:
        """Every pending write shows now; and (unless `keep_settings`) no per-event lag and
        `global_ms` (default none)."""
        with self._lock:
            if not keep_settings:
                self.global_ms = global_ms
                self.event_ms.clear()
            self._pending.clear()

    def to_json(self) -> dict[str, Any]:
        with self._lock:
            events = [{"eventId": event_id, "ms": ms} for event_id, ms in sorted(self.event_ms.items())]
            return {"ms": self.global_ms, "events": events}

    # ------------------------------------------------------------ bookkeeping
    def _lag_s(self, event_id: str) -> float:
        return self.event_ms.get(event_id, self.global_ms) / 1000

    def _note(self, key: _Key, previous: Mapping[str, Any] | None, lag_s: float) -> None:
        now = self._clock()
        with self._lock:
            pending = self._pending.get(key)
            if pending is not None and pending[1] > now:
                previous = pending[0]  # readers still see the older version: keep showing it
            self._pending[key] = (previous, now + lag_s)

    def _seen(self, events: Iterable[Event]) -> list[Event]:
        """`events` as a reader sees them now."""
        if not self._pending:
            return list(events)
        now = self._clock()
        result = []
        with self._lock:
            for event in events:
                pending = self._pending.get((event.kind, event.id))
                if pending is None:
                    result.append(event)
                elif pending[1] <= now:
                    del self._pending[(event.kind, event.id)]
                    result.append(event)
                elif pending[0] is not None:
                    result.append(replace(event, resource=pending[0]))
        return result


class _LaggedWrites:
    """The store, plus: each write under a lag notes what readers keep seeing until it shows."""

    def __init__(self, lag: ReadLag) -> None:
        self._lag = lag
        self._store = lag.store

    def find(self, event_id: str, kind: str | None = None) -> list[Event]:
        return self._store.find(event_id, kind)

    def list(self, kind: str, tenant: str) -> list[Event]:
        return self._store.list(kind, tenant)

    def create(self, event: Event) -> bool:
        lag_s = self._lag._lag_s(event.id)
        created = self._store.create(event)
        if created and lag_s > 0:
            self._lag._note((event.kind, event.id), None, lag_s)
        return created

    def replace(self, events: Sequence[Event]) -> bool:
        lagged = [(e, self._lag._lag_s(e.id)) for e in events]
        if all(lag_s <= 0 for _, lag_s in lagged):
            return self._store.replace(events)
        before: dict[_Key, Mapping[str, Any]] = {}
        for event, lag_s in lagged:
            if lag_s > 0:
                for current in self._store.find(event.id, event.kind):
                    before[(current.kind, current.id)] = current.resource
        if not self._store.replace(events):
            return False
        for event, lag_s in lagged:
            if lag_s > 0:
                self._lag._note((event.kind, event.id), before.get((event.kind, event.id)), lag_s)
        return True

    def seed(self, events: Iterable[Event]) -> int:
        return self._store.seed(events)

    def reset(self, events: Iterable[Event]) -> int:
        # The events written under a lag are gone: nothing is pending any more.
        self._lag.clear(self._lag.global_ms, keep_settings=True)
        return self._store.reset(events)

    def close(self) -> None:
        self._store.close()


class _LaggedReads(_LaggedWrites):
    """The store as readers see it: pending writes not shown yet."""

    def find(self, event_id: str, kind: str | None = None) -> list[Event]:
        return self._lag._seen(self._store.find(event_id, kind))

    def list(self, kind: str, tenant: str) -> list[Event]:
        return self._lag._seen(self._store.list(kind, tenant))
