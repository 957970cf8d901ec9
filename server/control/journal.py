"""The journal: a bounded record of the requests the Graph routes answered.

Recording costs one tuple appended to a deque per request; what a request was for (its
operation, kind and event id) is worked out only when the journal is read.
"""

from __future__ import annotations

import collections
import datetime
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vevents.server.control.requests import RequestInfo, canonical_event_id

__all__ = ["MAX_ENTRIES", "Journal", "JournalFilter"]

MAX_ENTRIES = 10_000
"""The journal keeps the latest requests only, so that a long-running stub stays small."""


@dataclass(frozen=True, slots=True)
class JournalFilter:
    """Entries must match every member that is not None."""

    operation_id: str | None = None
    method: str | None = None
    status: int | None = None
    event_id: str | None = None
    since: datetime.datetime | None = None


class Journal:
    def __init__(self, classify: Callable[[str, str], RequestInfo], *, max_entries: int = MAX_ENTRIES) -> None:
        self._classify = classify
        self._entries: collections.deque[tuple[Any, ...]] = collections.deque(maxlen=max_entries)
        self._lock = threading.Lock()

    def record(
        self,
        started_at: float,
        method: str,
        path: str,
        status: int,
        duration_ms: float,
        request_id: str,
        client_request_id: str,
        fault_id: int | None,
    ) -> None:
        self._entries.append((started_at, method, path, status, duration_ms, request_id, client_request_id, fault_id))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self, where: JournalFilter | None = None) -> list[dict[str, Any]]:
        """The entries, oldest first, as the control API shows them."""
        where = where or JournalFilter()
        with self._lock:
            rows = list(self._entries)
        since = where.since.timestamp() if where.since is not None else None
        method = where.method.upper() if where.method is not None else None
        event_id = canonical_event_id(where.event_id)
        result = []
        for started_at, row_method, path, status, duration_ms, request_id, client_request_id, fault_id in rows:
            if (
                (since is not None and started_at < since)
                or (method is not None and row_method != method)
                or (where.status is not None and status != where.status)
            ):
                continue
            info = self._classify(row_method, path)
            if where.operation_id is not None and info.operation_id != where.operation_id:
                continue
            if event_id is not None and info.event_id != event_id:
                continue
            result.append(
                {
                    "time": datetime.datetime.fromtimestamp(started_at, datetime.UTC).isoformat(),
                    "method": row_method,
                    "path": path,
                    "status": status,
                    "durationMs": round(duration_ms, 3),
                    "operationId": info.operation_id,
                    "kind": info.kind,
                    "eventId": info.event_id,
                    "requestId": request_id,
                    "clientRequestId": client_request_id,
                    "faultId": fault_id,
                }
            )
        return result
