"""The pool of events checks hand on to each other, so that a run stays within --max-events.

A check that is done with an event gives it back with the status it last read; a later check
that wants an event in that state takes it instead of creating one (each create counts against
the budget and can never be deleted on a real tenant).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from vevents.spec import contract

from .scenarios import DRAFT, PUBLISHED, Event, read_status
from .target import Target, encode_id

__all__ = ["SharedEvents"]

# Events left in the budget below which a check waits for a running check's event instead of creating one.
LOW_BUDGET = 8
MAX_WAIT_FOR_EVENT = 5.0


@dataclass(slots=True)
class SharedEvents:
    """The pool behind `CheckContext.reused`: events no check holds, with the status each last showed.

    When the event budget runs low, a check that finds no free event waits for one that a running
    check will hand back (as long as some other running check, not itself waiting, still holds an
    event of that kind it has not canceled) rather than create one: with several workers, that is
    what keeps a run within --max-events. A wait no running check can end is not started: on a
    slow target each one cost the whole MAX_WAIT_FOR_EVENT.
    """

    target: Target
    _free: list[tuple[Event, str | None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _changed: threading.Condition | None = None
    _running: dict[int, Callable[[str], bool]] = field(default_factory=dict)
    """Each running check (by the id of its context) -> whether it may still hand back an event of a kind."""
    _waiting: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._changed = threading.Condition(self._lock)

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
        left = self.target.ledger.left
        return left is not None and left - self.target.keep_events <= LOW_BUDGET

    def take(self, kind: str, state: str, asker: int = 0) -> Event | None:
        """A free event of `kind` that reads `state` now (one GET per candidate), or None (`asker`: the check)."""
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
            status = read_status(self.target.call(op.method, op.url_path(encode_id(event.id))))
            if status == state:
                return event
            self.give_back(event, status)

    def give_back(self, event: Event, status: str | None) -> None:
        if status not in (DRAFT, PUBLISHED):
            return  # canceled events are shared among checks by `EventSource.shared`, never handed out alone
        assert self._changed is not None
        with self._changed:
            self._free.append((event, status))
            self._changed.notify_all()
