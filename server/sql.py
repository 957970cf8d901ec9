"""The SQL both database stores share: the events table, its statements and the compare-and-set.

SQLite (`store.py`) and PostgreSQL (`postgres.py`) hold the same table and answer the `Store`
protocol with the same statements; only the dialect differs (the parameter marker, the table's
name, the JSON column's type). Written once here, a column or an index cannot drift between them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # store.py imports this module
    from vevents.server.store import Event

__all__ = ["POSTGRES", "SQLITE", "Dialect", "bulk_rows", "compare_and_set", "insert_params"]


class _Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...


class _Connection(Protocol):
    """What sqlite3 and psycopg connections both offer: `execute` returning a cursor."""

    def execute(self, sql: Any, params: Any = ..., /) -> Any: ...


@dataclass(frozen=True)
class Dialect:
    """How one database spells the shared statements."""

    table: str
    """The events table's name (PostgreSQL's is prefixed: the database may be shared)."""
    json_type: str
    """The resource column's type."""
    marker: str
    """The parameter marker: `?` (sqlite3) or `%s` (psycopg)."""
    read_resource: str
    """The resource column as text, in a SELECT."""
    table_options: str = ""

    def _sql(self, template: str) -> str:
        return template.format(table=self.table, p=self.marker, resource=self.read_resource)

    def schema(self) -> tuple[str, ...]:
        """The statements that create the table and its indexes (idempotent)."""
        return (
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            " kind TEXT NOT NULL, id TEXT NOT NULL, tenant TEXT NOT NULL, status TEXT NOT NULL,"
            f" version INTEGER NOT NULL, resource {self.json_type} NOT NULL,"
            f" PRIMARY KEY (kind, id)){self.table_options}",
            *self.create_indexes(),
        )

    def create_indexes(self) -> tuple[str, ...]:
        """The secondary indexes (idempotent). A bulk load into an empty table drops them first
        and creates them after its rows, in the same transaction: one sort per index instead of
        100,000 random insertions into each."""
        return (
            f"CREATE INDEX IF NOT EXISTS {self.table}_by_id ON {self.table} (id)",
            f"CREATE INDEX IF NOT EXISTS {self.table}_by_tenant ON {self.table} (kind, tenant)",
        )

    def drop_indexes(self) -> tuple[str, ...]:
        return (f"DROP INDEX IF EXISTS {self.table}_by_id", f"DROP INDEX IF EXISTS {self.table}_by_tenant")

    # The SELECTs give rows for `store.event_from_row`.
    @property
    def select_one(self) -> str:
        return self._sql("SELECT kind, id, tenant, version, {resource} FROM {table} WHERE kind = {p} AND id = {p}")

    @property
    def select_by_id(self) -> str:
        return self._sql("SELECT kind, id, tenant, version, {resource} FROM {table} WHERE id = {p} ORDER BY kind")

    @property
    def select_by_tenant(self) -> str:
        return self._sql(
            "SELECT kind, id, tenant, version, {resource} FROM {table} WHERE kind = {p} AND tenant = {p} ORDER BY id"
        )

    @property
    def select_all(self) -> str:
        return self._sql("SELECT kind, id, tenant, version, {resource} FROM {table} ORDER BY kind, id")

    @property
    def insert(self) -> str:
        """A new event at version 1; the parameters are `insert_params(event)`."""
        return self._sql(
            "INSERT INTO {table} (kind, id, tenant, status, version, resource) VALUES ({p}, {p}, {p}, {p}, 1, {p})"
        )

    @property
    def copy_in(self) -> str:
        """PostgreSQL's bulk load: rows of `insert_params` followed by the version (1)."""
        return self._sql("COPY {table} (kind, id, tenant, status, resource, version) FROM STDIN")

    @property
    def update_if_unchanged(self) -> str:
        return self._sql(
            "UPDATE {table} SET status = {p}, resource = {p}, version = version + 1"
            " WHERE kind = {p} AND id = {p} AND version = {p}"
        )

    @property
    def any_event(self) -> str:
        return self._sql("SELECT EXISTS (SELECT 1 FROM {table})")

    @property
    def delete_all(self) -> str:
        return self._sql("DELETE FROM {table}")


SQLITE = Dialect(table="events", json_type="TEXT", marker="?", read_resource="resource", table_options=" WITHOUT ROWID")
POSTGRES = Dialect(table="vevents_events", json_type="JSON", marker="%s", read_resource="resource::text")


# Compact JSON (no spaces after separators): the stored text is read back by `json.loads`
# only, and a tenant-sized seed encodes 100,000 resources at once.
_encode = json.JSONEncoder(separators=(",", ":")).encode


def insert_params(event: Event) -> tuple[str, str, str, str, str]:
    return (event.kind, event.id, event.tenant, event.status, _encode(event.resource))


def bulk_rows(events: Iterable[Event]) -> list[tuple[str, str, str, str, str]]:
    """`insert_params` of each event, in primary-key order (kind, id): appended to the table's
    B-tree in order, not inserted at random places in it."""
    return sorted((insert_params(e) for e in events), key=lambda row: (row[0], row[1]))


def compare_and_set(conn: _Connection, dialect: Dialect, events: Sequence[Event]) -> bool:
    """Write each event if its version is still the one read; False at the first that changed
    (someone wrote it since). Runs inside the caller's transaction, which must roll back on False:
    all or nothing."""
    for event in events:
        cursor: _Cursor = conn.execute(
            dialect.update_if_unchanged,
            (event.status, _encode(event.resource), event.kind, event.id, event.version),
        )
        if cursor.rowcount != 1:
            return False
    return True
