"""The event pool: every event someone else may use, so that a run stays within --max-events.

Each create counts against the budget and can never be deleted on a real tenant, so events are
used by more than one check wherever a check's isolation allows. Two ways, one object:

- `shareable(kind, state)`: the same event handed to every check that only reads it or sends it
  requests that must change nothing (published, draft) or that only probes a canceled one; a
  check that finds it no longer in its state calls `discard`, and `adopt` offers a canceled
  event a check verified;
- `take(kind, state)` / `give_back(event, status)`: an event a check is done with, handed on to
  one later check that wants an event in that state to change as it likes;
- `observe(key, make)`: an experiment several checks judge (each its own aspect of the same
  exchanges, declared `fresh(..., experiment=...)`), made once by the first of them to ask.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from vevents.spec import contract

from .scenarios import CANCELED, DRAFT, PUBLISHED, Event, EventSource, read_status
from .target import encode_id

__all__ = ["EventPool"]

T = TypeVar("T")

# Events left in the budget below which a check waits for a running check's event instead of creating one.
LOW_BUDGET = 8
MAX_WAIT_FOR_EVENT = 5.0
# How long a check asking for a shared canceled event waits for a running check that will offer one.
MAX_WAIT_FOR_ADOPTION = 120.0


@dataclass(slots=True)
class EventPool:
    """Events checks share (`shareable`) or hand on (`take`/`give_back`), over the run's `EventSource`.

    When the event budget runs low, a check that finds no free event waits for one that a running
    check will hand back (as long as some other running check, not itself waiting, still holds an
    event of that kind it has not canceled) rather than create one: with several workers, that is
    what keeps a run within --max-events. A wait no running check can end is not started: on a
    slow target each one cost the whole MAX_WAIT_FOR_EVENT.
    """

    source: EventSource
    _free: list[tuple[Event, str | None]] = field(default_factory=list)
    _shared: dict[tuple[str, str], list[Event]] = field(default_factory=dict)
    _shared_locks: dict[tuple[str, str], threading.Lock] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _changed: threading.Condition | None = None
    _running: dict[int, Callable[[str], bool]] = field(default_factory=dict)
    """Each running check (by the id of its context) -> whether it may still hand back an event of a kind."""
    _waiting: set[int] = field(default_factory=set)
    _adopters: dict[str, int] = field(default_factory=dict)
    """Kind -> checks not finished yet that will offer a canceled event of it (the planner's providers)."""
    _observed: dict[Hashable, tuple[threading.Lock, list[Any]]] = field(default_factory=dict)
    """Experiment key -> its lock and, once made, [what it observed] or [None, the exception it raised]."""

    def __post_init__(self) -> None:
        self._changed = threading.Condition(self._lock)

    # ---------------------------------------------------------------- shared by several checks at once
    def shareable(self, kind: str, state: str = PUBLISHED) -> Event:
        """An event of `kind` in `state` that several checks share; none of them may change it.

        A canceled one is an event a check adopted after verifying its cancel, or else one
        canceled here as preparation.
        """
        key = (kind, state)
        with self._lock:
            lock = self._shared_locks.setdefault(key, threading.Lock())
        with lock:
            assert self._changed is not None
            deadline = time.monotonic() + MAX_WAIT_FOR_ADOPTION
            with self._changed:
                # A canceled one a running check will offer costs no event: wait for it (bounded).
                while state == CANCELED and not self._shared.get(key) and self._adopters.get(kind, 0) > 0:
                    if time.monotonic() >= deadline:
                        break
                    self._changed.wait(timeout=1.0)
                pool = self._shared.get(key)
                if pool:
                    return pool[0]
            if state == CANCELED:
                event = self.source.event(kind)
                self.source.cancel(event)
            else:
                event = self.source.event(kind, state)
            with self._lock:
                self._shared.setdefault(key, []).append(event)
            return event

    def adopt(self, event: Event, state: str = CANCELED) -> None:
        """Offer an event a check has brought into `state` (and verified) for sharing."""
        assert self._changed is not None
        with self._changed:
            pool = self._shared.setdefault((event.kind, state), [])
            if event not in pool:
                pool.append(event)
            self._changed.notify_all()

    def will_adopt(self, kinds: frozenset[str]) -> None:
        """A check that will offer a canceled event of each of `kinds` is about to run (see `planner`)."""
        with self._lock:
            for kind in kinds:
                self._adopters[kind] = self._adopters.get(kind, 0) + 1

    def adopted(self, kinds: frozenset[str]) -> None:
        """That check is over, whether it offered its events or not."""
        assert self._changed is not None
        with self._changed:
            for kind in kinds:
                self._adopters[kind] = max(0, self._adopters.get(kind, 0) - 1)
            self._changed.notify_all()

    def discard(self, event: Event) -> None:
        """Stop sharing an event (a check found it was not in its state any more)."""
        with self._lock:
            for pool in self._shared.values():
                if event in pool:
                    pool.remove(event)

    # ---------------------------------------------------------------- one experiment, several judges
    def observe(self, key: Hashable, make: Callable[[], T]) -> T:
        """What the experiment `key` observed: made by the first check to ask (the others wait for it), once a run.

        `make` only sends requests and judges nothing: each check judges its own aspect of what it
        returns. An exception it raised (e.g. a create that failed) is raised again to every asker,
        never made twice (each attempt would cost events the plan counted once).
        """
        with self._lock:
            lock, done = self._observed.setdefault(key, (threading.Lock(), []))
        with lock:
            if not done:
                try:
                    done.append(make())
                except Exception as exc:
                    done.extend((None, exc))
        if len(done) == 2:
            raise done[1]
        result: T = done[0]
        return result

    # ---------------------------------------------------------------- handed on from one check to the next
    def check_started(self, check: int, may_hand_back: Callable[[str], bool]) -> None:
        with self._lock:
            self._running[check] = may_hand_back

    def check_finished(self, check: int) -> None:
        assert self._changed is not None
        with self._changed:
            self._running.pop(check, None)
            self._changed.notify_all()

    def _others_may_hand_back(self, kind: str, asker: int) -> bool:
        return any(
            check != asker and check not in self._waiting and may_hand_back(kind)
            for check, may_hand_back in self._running.items()
        )

    def _patient(self) -> bool:
        target = self.source.target
        left = target.ledger.left
        return left is not None and left - target.keep_events <= LOW_BUDGET

    def take(self, kind: str, state: str, asker: int = 0) -> Event | None:
        """A free event of `kind` that reads `state` now (one GET per candidate), or None (`asker`: the check)."""
        if not self.source.can_create:
            return None
        assert self._changed is not None
        deadline = time.monotonic() + MAX_WAIT_FOR_EVENT
        while True:
            with self._changed:
                while True:
                    index = next(
                        (i for i, (event, last) in enumerate(self._free) if event.kind == kind and last == state), None
                    )
                    if index is not None:
                        break
                    if not (
                        self._patient() and time.monotonic() < deadline and self._others_may_hand_back(kind, asker)
                    ):
                        return None
                    self._waiting.add(asker)
                    self._changed.wait(timeout=1.0)
                    self._waiting.discard(asker)
                event, _ = self._free.pop(index)
            op = contract().find(action="get", kind=event.kind)
            status = read_status(self.source.target.call(op.method, op.url_path(encode_id(event.id))))
            if status == state:
                return event
            self.give_back(event, status)

    def give_back(self, event: Event, status: str | None) -> None:
        if status not in (DRAFT, PUBLISHED):
            return  # canceled events are shared among checks by `shareable`, never handed out alone
        assert self._changed is not None
        with self._changed:
            self._free.append((event, status))
            self._changed.notify_all()
