"""The store on PostgreSQL: several stub processes, on several hosts, share one state.

`--db postgresql://...` (or `VEVENTS_DB`) selects it; SQLite stays the embedded default. It
keeps the `Store` protocol's guarantees (see `store.py`):

- one transaction per change, compare-and-set on the event's `version` (`UPDATE ... WHERE
  version = %s`: under READ COMMITTED a concurrent writer's commit makes the row fail that
  condition, so a lost update is impossible without any table lock);
- nothing acknowledged is lost: a write is answered only after COMMIT returned, and
  PostgreSQL's COMMIT is durable (`synchronous_commit` stays at the server's setting);
- the seed is loaded once, into an empty table, whatever the number of replicas starting
  at once (a transaction-level advisory lock serialises the check-then-insert);
- a database that cannot be reached is `StoreUnavailable`, which the stub answers as 503
  `serviceNotAvailable` with `Retry-After`; the pool checks a connection before lending it,
  so the first request after the database comes back already succeeds.

The handlers call this store on threads of their own (`blocks_event_loop`; as many as the
pool has connections), never on the event loop: a query is a network round trip, and while
one waits the loop serves other requests. A database that went away must not tie up those
threads for the pool's timeout on every request, so the store remembers the failure: for
`PROBE_INTERVAL` seconds every call is refused at once, then one cheap direct connection
attempt tells whether the database is back (a refused connection answers in a millisecond)
before the pool is used.

Schema: created on first start (under the same advisory lock, so replicas starting together
do not race on `CREATE TABLE`), with its version in `vevents_meta`. A database written by a
newer release (a higher schema version) is refused with a clear message rather than written
with the wrong assumptions; a later release adds its migrations to `_MIGRATIONS`.

The driver (psycopg 3 and its pool) is an optional extra: `pip install 'vevents[postgres]'`.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from vevents.server.children import CHILDREN_DDL, SqlChildren, Statement
from vevents.server.dburl import redacted_url
from vevents.server.sql import POSTGRES, bulk_rows, compare_and_set, insert_params
from vevents.server.store import Event, StoreUnavailable, event_from_row

__all__ = ["SCHEMA_VERSION", "PostgresStore", "SchemaTooNew"]

SCHEMA_VERSION = 2
PROBE_INTERVAL = 0.5
"""Seconds during which calls fail fast after the database was found unreachable."""
# One application-wide advisory lock key ("vevents" in ASCII), taken per transaction around
# schema creation and seeding.
_LOCK_KEY = 0x76_65_76_65_6E_74_73

# Each entry migrates the schema from version N-1 to N. Version 1 is the first schema.
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: POSTGRES.schema(),
    # The events' registrations, questions, sessions and presenters (children.py).
    2: (CHILDREN_DDL.format(table="vevents_children", json="JSON"),),
}

_T = TypeVar("_T")


class SchemaTooNew(RuntimeError):
    """The database holds a schema from a newer vevents release than this one."""


def _driver() -> tuple[Any, Any]:
    try:
        import psycopg
        import psycopg_pool
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise RuntimeError(
            "the PostgreSQL store needs psycopg 3 and its pool: pip install 'vevents[postgres]'"
        ) from exc
    return psycopg, psycopg_pool


class PostgresStore(SqlChildren):
    """PostgreSQL through a psycopg connection pool; one transaction per `Store` call."""

    blocks_event_loop = True
    """Calls wait on the network: the handlers run them on `threads` threads, off the event loop."""

    _children_table = "vevents_children"
    _placeholder = "%s"

    def __init__(
        self, url: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 1.0, start_timeout: float = 10.0
    ) -> None:
        """`timeout`: how long a request waits for a connection before it is a 503;
        `start_timeout`: how long start-up waits for the database (it may be starting too)."""
        psycopg, psycopg_pool = _driver()
        self.url = url
        self.threads = max_size
        self._connect = psycopg.connect
        self._timeout = timeout
        self._down_until = 0.0
        """monotonic() before which the database is taken as unreachable without asking."""
        self._errors = (psycopg.OperationalError, psycopg.InterfaceError, psycopg_pool.PoolTimeout)
        self._unique_violation = psycopg.errors.UniqueViolation
        self._pool = psycopg_pool.ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            # The pool retries a failed connection with a growing back-off; giving up on it after
            # `timeout` seconds means the next request asks for a fresh one at once, so a database
            # that comes back is used within one request instead of after the back-off.
            reconnect_timeout=timeout,
            # A connection broken by a database restart is found before a request uses it.
            check=psycopg_pool.ConnectionPool.check_connection,
            # Fail fast on a dead host: a request must become a 503, not hang.
            # Autocommit: a read is one statement, atomic on its own, so it needs no BEGIN/COMMIT
            # round trips; every write opens its transaction explicitly (`_transaction`).
            kwargs={"connect_timeout": max(1, int(timeout)), "autocommit": True},
            open=False,
            name="vevents",
        )
        try:
            self._pool.open(wait=True, timeout=start_timeout)
        except psycopg_pool.PoolTimeout as exc:
            self._pool.close()
            raise StoreUnavailable(f"cannot reach the PostgreSQL database at {redacted_url(url)}") from exc
        try:
            self._guarded(self._migrate)
        except BaseException:
            self._pool.close()
            raise

    # ------------------------------------------------------------ plumbing
    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._pool.connection() as conn, conn.transaction():
            yield conn

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """One read statement, outside any transaction (autocommit)."""
        with self._pool.connection() as conn:
            return list(conn.execute(sql, params).fetchall())

    def _guarded(self, action: Callable[[], _T]) -> _T:
        """The one boundary for database errors: unreachable or broken -> StoreUnavailable."""
        if self._down_until and not self._back_again():
            raise StoreUnavailable("the PostgreSQL database is unreachable; retrying")
        try:
            return action()
        except self._errors as exc:
            self._down_until = time.monotonic() + PROBE_INTERVAL
            raise StoreUnavailable(str(exc).strip() or type(exc).__name__) from exc

    def _back_again(self) -> bool:
        """After a failure: False (at once) within PROBE_INTERVAL, else whether a direct
        connection succeeds now; True also closes the failure window."""
        if time.monotonic() < self._down_until:
            return False
        try:
            self._connect(self.url, connect_timeout=max(1, int(self._timeout))).close()
        except self._errors:
            self._down_until = time.monotonic() + PROBE_INTERVAL
            return False
        self._down_until = 0.0
        return True

    def _migrate(self) -> None:
        with self._transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            conn.execute("CREATE TABLE IF NOT EXISTS vevents_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = conn.execute("SELECT value FROM vevents_meta WHERE key = 'schema_version'").fetchone()
            current = int(row[0]) if row else 0
            if current > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"the database holds vevents schema version {current}; this release knows up to "
                    f"{SCHEMA_VERSION}: upgrade vevents or use another database"
                )
            for version in range(current + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[version]:
                    conn.execute(statement)
            conn.execute(
                "INSERT INTO vevents_meta (key, value) VALUES ('schema_version', %s)"
                " ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                (str(SCHEMA_VERSION),),
            )

    # ------------------------------------------------------------ Store
    def find(self, event_id: str, kind: str | None = None) -> list[Event]:
        def read() -> list[Event]:
            if kind is not None:
                rows = self._query(POSTGRES.select_one, (kind, event_id))
            else:
                rows = self._query(POSTGRES.select_by_id, (event_id,))
            return [event_from_row(*row) for row in rows]

        return self._guarded(read)

    def all_events(self) -> list[Event]:
        """Every event, of every tenant (the control API's state view)."""

        def read() -> list[Event]:
            rows = self._query(POSTGRES.select_all)
            return [event_from_row(*row) for row in rows]

        return self._guarded(read)

    def list(self, kind: str, tenant: str) -> list[Event]:
        def read() -> list[Event]:
            rows = self._query(POSTGRES.select_by_tenant, (kind, tenant))
            return [event_from_row(*row) for row in rows]

        return self._guarded(read)

    def create(self, event: Event) -> bool:
        def write() -> bool:
            try:
                with self._pool.connection() as conn:  # one statement: atomic without BEGIN/COMMIT
                    conn.execute(POSTGRES.insert, insert_params(event))
            except self._unique_violation:
                return False
            return True

        return self._guarded(write)

    def replace(self, events: Sequence[Event]) -> bool:
        if not events:
            return True

        def write() -> bool:
            with self._pool.connection() as conn:
                with conn.transaction() as tx:
                    # Someone wrote one of these events since it was read: all or nothing.
                    tx.force_rollback = not compare_and_set(conn, POSTGRES, events)
                return not tx.force_rollback

        return self._guarded(write)

    def seed(self, events: Iterable[Event]) -> int:
        return self._load(events, replace_all=False)

    def reset(self, events: Iterable[Event]) -> int:
        """Replace every event with `events`, in one transaction (the control API's reset)."""
        return self._load(events, replace_all=True)

    def _load(self, events: Iterable[Event], *, replace_all: bool) -> int:
        rows = bulk_rows(events)

        def write() -> int:
            with self._transaction() as conn:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
                if replace_all:
                    conn.execute(POSTGRES.delete_all)
                    conn.execute("DELETE FROM vevents_children")
                elif conn.execute(POSTGRES.any_event).fetchone()[0]:
                    return 0
                # The table is empty here: COPY streams the rows in one statement (no round trip
                # per row), and the indexes are rebuilt once after them (sql.py). All in this
                # transaction: a replica sees no events or all of them, never an index missing.
                for statement in POSTGRES.drop_indexes():
                    conn.execute(statement)
                with conn.cursor() as cursor, cursor.copy(POSTGRES.copy_in) as copy:
                    for row in rows:
                        copy.write_row((*row, 1))
                for statement in POSTGRES.create_indexes():
                    conn.execute(statement)
            return len(rows)

        return self._guarded(write)

    # ------------------------------------------------------------ ChildStore (children.py)
    def _child_rows(self, sql: str, params: tuple[Any, ...]) -> builtins.list[Any]:
        return self._guarded(lambda: self._query(sql, params))

    def _child_write(self, statements: Sequence[Statement]) -> bool:
        def write() -> bool:
            with self._pool.connection() as conn:
                with conn.transaction() as tx:
                    for sql, params, must_change in statements:
                        try:
                            with conn.transaction():  # a savepoint: a duplicate key leaves the outer one usable
                                cursor = conn.execute(sql, params)
                        except self._unique_violation:
                            tx.force_rollback = True
                            return False
                        if must_change and cursor.rowcount != 1:
                            tx.force_rollback = True
                            return False
                return True

        return self._guarded(write)

    def close(self) -> None:
        self._pool.close()
