"""Where events live: a small `Store` protocol, SQLite on disk (default) and in memory (tests).

The protocol is deliberately small so that the conformance suite can wrap it to build broken
fakes (a store that forgets a cancel, one whose cancel touches other events, ...):

    find(event_id, kind=None) -> list[Event]   the events with this id (in one kind, or all)
    list(kind, tenant)        -> list[Event]   a tenant's events of one kind
    create(event)             -> bool          insert; False if (kind, id) exists
    replace(events)           -> bool          write changed events, all or nothing, if none
                                               changed since read (compare-and-set on
                                               `Event.version`); False on a conflict
    seed(events)              -> int           insert into an EMPTY store only; returns count
    reset(events)             -> int           replace every event with these (--reseed); count
    close()

Both stores also keep the events' registrations, questions, sessions and presenters
(`children.py`: the `ChildStore` methods, same guarantees); `reset` empties those too.

Every state change is one `replace` call, i.e. one transaction. Callers read, decide (pure
code in `lifecycle.py`), then `replace`; on False they read again and retry. SQLite runs in
WAL mode and takes the write lock up front (`BEGIN IMMEDIATE`), so several worker processes
on one database file cannot lose each other's updates.
"""

from __future__ import annotations

import builtins
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

from vevents.server.children import CHILDREN_DDL, MemoryChildren, SqlChildren, Statement
from vevents.server.sql import SQLITE, bulk_rows, compare_and_set, insert_params

__all__ = ["Event", "MemoryStore", "SqliteStore", "Store", "StoreUnavailable", "event_from_row"]


class StoreUnavailable(Exception):
    """The database cannot be read or written right now (locked, disk error) -> 503."""


@dataclass(frozen=True, slots=True)
class Event:
    """One stored event: its Graph JSON (`resource`) plus the columns the store indexes."""

    kind: str
    """The collection: "webinars" or "townhalls"."""
    id: str
    """Canonical (lower-case) `<guid>@<tenant-guid>`."""
    tenant: str
    resource: Mapping[str, Any] = field(compare=False)
    """The Graph representation, `@odata.type`, `id` and `status` included. Treat as read-only."""
    version: int = 0
    """Bumped by every write; `replace` only writes an event whose version is unchanged."""

    @property
    def status(self) -> str:
        return str(self.resource["status"])

    def changed(self, **properties: Any) -> Event:
        """A copy with some top-level properties replaced (same version: it is a proposal)."""
        return replace(self, resource={**self.resource, **properties})


@runtime_checkable
class Store(Protocol):
    """The stub's state. Implementations must be safe to call from several threads."""

    def find(self, event_id: str, kind: str | None = None) -> list[Event]: ...

    def list(self, kind: str, tenant: str) -> list[Event]: ...

    def create(self, event: Event) -> bool: ...

    def replace(self, events: Sequence[Event]) -> bool: ...

    def seed(self, events: Iterable[Event]) -> int: ...

    def reset(self, events: Iterable[Event]) -> int: ...

    def close(self) -> None: ...


class MemoryStore(MemoryChildren):
    """A dict behind a lock. State dies with the process."""

    def __init__(self) -> None:
        self._events: dict[tuple[str, str], Event] = {}
        self._lock = threading.Lock()
        MemoryChildren.__init__(self)

    def find(self, event_id: str, kind: str | None = None) -> list[Event]:
        with self._lock:
            if kind is not None:
                event = self._events.get((kind, event_id))
                found = [event] if event is not None else []
            else:
                found = [e for (_, i), e in sorted(self._events.items()) if i == event_id]
        return [_copy(e) for e in found]

    def list(self, kind: str, tenant: str) -> list[Event]:
        with self._lock:
            found = [e for (k, _), e in sorted(self._events.items()) if k == kind and e.tenant == tenant]
        return [_copy(e) for e in found]

    def create(self, event: Event) -> bool:
        with self._lock:
            key = (event.kind, event.id)
            if key in self._events:
                return False
            self._events[key] = replace(event, resource=_frozen_copy(event.resource), version=1)
            return True

    def replace(self, events: Sequence[Event]) -> bool:
        with self._lock:
            for event in events:
                current = self._events.get((event.kind, event.id))
                if current is None or current.version != event.version:
                    return False
            for event in events:
                self._events[(event.kind, event.id)] = replace(
                    event, resource=_frozen_copy(event.resource), version=event.version + 1
                )
            return True

    def seed(self, events: Iterable[Event]) -> int:
        with self._lock:
            if self._events:
                return 0
            for event in events:
                self._events[(event.kind, event.id)] = replace(event, resource=_frozen_copy(event.resource), version=1)
            return len(self._events)

    def reset(self, events: Iterable[Event]) -> int:
        with self._lock:
            self._events.clear()
            self._clear_children()
            for event in events:
                self._events[(event.kind, event.id)] = replace(event, resource=_frozen_copy(event.resource), version=1)
            return len(self._events)

    def all_events(self) -> builtins.list[Event]:
        """Every event, of every tenant (the control API's state view)."""
        with self._lock:
            return [_copy(e) for _, e in sorted(self._events.items())]

    def close(self) -> None:
        pass


def event_from_row(kind: str, event_id: str, tenant: str, version: int, resource: str) -> Event:
    """An `Event` from a row of the database stores' SELECTs (`sql.Dialect`)."""
    return Event(kind=kind, id=event_id, tenant=tenant, resource=json.loads(resource), version=version)


def _copy(event: Event) -> Event:
    return replace(event, resource=_frozen_copy(event.resource))


def _frozen_copy(resource: Mapping[str, Any]) -> dict[str, Any]:
    # A deep copy through JSON: what the SQLite store would give back, so both stores behave
    # alike when a caller mutates a dict it passed in or got out.
    copied: dict[str, Any] = json.loads(json.dumps(resource))
    return copied


class _SqliteErrors:
    """Translates sqlite3 errors into StoreUnavailable: the one boundary for database errors."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, sqlite3.Error) and not isinstance(exc, sqlite3.IntegrityError):
            raise StoreUnavailable(str(exc)) from exc


_sqlite_errors = _SqliteErrors()

_SCHEMA = (*SQLITE.schema(), CHILDREN_DDL.format(table="children", json="TEXT") + " WITHOUT ROWID")


class _Transaction:
    force_rollback = False
    """Set to end the transaction with ROLLBACK instead of COMMIT (as psycopg's `Transaction`)."""


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[_Transaction]:
    """One write transaction, the write lock taken up front (`BEGIN IMMEDIATE`: two writers cannot
    both read and then both fail to upgrade their lock); rolled back on an error."""
    conn.execute("BEGIN IMMEDIATE")
    tx = _Transaction()
    try:
        yield tx
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("ROLLBACK" if tx.force_rollback else "COMMIT")


class SqliteStore(SqlChildren):
    """SQLite in WAL mode; one connection per thread; one transaction per write."""

    def __init__(self, path: str, *, busy_timeout_ms: int = 10_000) -> None:
        self.path = path
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        with _sqlite_errors:
            conn = self._conn()
            conn.execute("PRAGMA journal_mode=WAL")
            with _transaction(conn):
                for statement in _SCHEMA:
                    conn.execute(statement)

    # ------------------------------------------------------------ plumbing
    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={int(self._busy_timeout_ms)}")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    # ------------------------------------------------------------ Store
    def find(self, event_id: str, kind: str | None = None) -> list[Event]:
        with _sqlite_errors:
            if kind is not None:
                rows = self._conn().execute(SQLITE.select_one, (kind, event_id))
            else:
                rows = self._conn().execute(SQLITE.select_by_id, (event_id,))
            return [event_from_row(*row) for row in rows]

    def list(self, kind: str, tenant: str) -> list[Event]:
        with _sqlite_errors:
            rows = self._conn().execute(SQLITE.select_by_tenant, (kind, tenant))
            return [event_from_row(*row) for row in rows]

    def create(self, event: Event) -> bool:
        with _sqlite_errors:
            conn = self._conn()
            try:
                conn.execute(SQLITE.insert, insert_params(event))
            except sqlite3.IntegrityError:
                return False
            return True

    def replace(self, events: Sequence[Event]) -> bool:
        if not events:
            return True
        with _sqlite_errors:
            conn = self._conn()
            with _transaction(conn) as tx:
                tx.force_rollback = not compare_and_set(conn, SQLITE, events)
            return not tx.force_rollback

    def seed(self, events: Iterable[Event]) -> int:
        return self._load(events, replace_all=False)

    def reset(self, events: Iterable[Event]) -> int:
        return self._load(events, replace_all=True)

    def _load(self, events: Iterable[Event], *, replace_all: bool) -> int:
        """Insert `events` in one transaction: into an empty store only (seed), or in place of
        every event it holds (reset)."""
        rows = bulk_rows(events)
        with _sqlite_errors:
            conn = self._conn()
            with _transaction(conn) as tx:
                if replace_all:
                    conn.execute(SQLITE.delete_all)
                    conn.execute("DELETE FROM children")
                elif conn.execute(SQLITE.any_event).fetchone()[0]:
                    tx.force_rollback = True
                    return 0
                # The table is empty here: its indexes are rebuilt once, after the rows (sql.py).
                for statement in SQLITE.drop_indexes():
                    conn.execute(statement)
                conn.executemany(SQLITE.insert, rows)
                for statement in SQLITE.create_indexes():
                    conn.execute(statement)
            return len(rows)

    # ------------------------------------------------------------ ChildStore (children.py)
    def _child_rows(self, sql: str, params: tuple[Any, ...]) -> builtins.list[Any]:
        with _sqlite_errors:
            return self._conn().execute(sql, params).fetchall()

    def _child_write(self, statements: Sequence[Statement]) -> bool:
        with _sqlite_errors:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                for sql, params, must_change in statements:
                    try:
                        cursor = conn.execute(sql, params)
                    except sqlite3.IntegrityError:
                        conn.execute("ROLLBACK")
                        return False
                    if must_change and cursor.rowcount != 1:
                        conn.execute("ROLLBACK")
                        return False
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return True

    def all_events(self) -> builtins.list[Event]:
        """Every event, of every tenant (the control API's state view)."""
        with _sqlite_errors:
            rows = self._conn().execute(SQLITE.select_all)
            return [event_from_row(*row) for row in rows]

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()
