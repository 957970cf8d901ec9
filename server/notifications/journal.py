"""Every delivery attempt the stub made (handshakes, change and lifecycle notifications) and its outcome.

Bounded (the latest `MAX_ENTRIES`), numbered (`seq` only grows, also across `clear`), and
waitable: a test asks for "the next delivery after seq N" and is answered as soon as one is
journaled, or when its wait runs out.
"""

from __future__ import annotations

import asyncio
import builtins
import collections
import datetime
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["MAX_ENTRIES", "DeliveryJournal"]

MAX_ENTRIES = 10_000
_POLL_S = 0.005

Entry = dict[str, Any]


class DeliveryJournal:
    def __init__(self) -> None:
        self._entries: collections.deque[Entry] = collections.deque(maxlen=MAX_ENTRIES)
        self._seq = 0
        self._lock = threading.Lock()

    def record(self, **fields: Any) -> Entry:
        with self._lock:
            self._seq += 1
            entry = {"seq": self._seq, "time": datetime.datetime.now(datetime.UTC).isoformat(), **fields}
            self._entries.append(entry)
            return entry

    def entries(self, after: int = 0, match: Callable[[Entry], bool] | None = None) -> builtins.list[Entry]:
        with self._lock:
            return [e for e in self._entries if e["seq"] > after and (match is None or match(e))]

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._seq

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    async def next(self, after: int, timeout: float, match: Callable[[Entry], bool] | None = None) -> Entry | None:
        """The first entry after `after` that `match`es, waiting up to `timeout` seconds (None: none came)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.entries(after, match)
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(_POLL_S)
