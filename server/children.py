"""Where an event's sub-resources live: registrations, registration questions, sessions, presenters.

Each is a `Child` of one event (kind and id), in one `collection`. The stores keep them beside
the events (a `children` table in SQLite and PostgreSQL, a dict in memory), with the events'
guarantees: one transaction per change and compare-and-set on `Child.version`.

    children(collection, kind, event)          -> list[Child]   in id order
    child(collection, kind, event, child_id)   -> Child | None
    add_child(child)                           -> bool   False if that id exists
    replace_child(child)                       -> bool   False if it changed since read (or is gone)
    delete_child(child)                        -> bool   False if it changed since read (or is gone)
    load_children(children)                    -> int    insert or overwrite (seed, control API)
    all_children()                             -> list[Child]   every tenant's (control API's state)

A store's `reset` empties them too (the events they belonged to are gone). `SqlChildren` is the
one SQL implementation; a backend gives it `_child_rows` (a read) and `_child_write` (statements
in one transaction, each required to change exactly one row or the whole is rolled back).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, runtime_checkable

__all__ = ["CHILDREN_DDL", "Child", "ChildStore", "MemoryChildren", "SqlChildren", "Statement"]

CHILDREN_DDL = """CREATE TABLE IF NOT EXISTS {table} (
    collection TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    event      TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    tenant     TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    resource   {json}  NOT NULL,
    PRIMARY KEY (collection, kind, event, id))"""
"""The children table; `{table}` and `{json}` (the JSON column's type) per backend."""


@dataclass(frozen=True, slots=True)
class Child:
    """One sub-resource of one event: its Graph JSON plus the columns the store indexes."""

    collection: str
    """registrations, questions, sessions or presenters."""
    kind: str
    """The event's collection: webinars or townhalls."""
    event: str
    """The event's canonical id."""
    id: str
    """The sub-resource's canonical (lower-case) id."""
    tenant: str
    resource: Mapping[str, Any] = field(compare=False)
    version: int = 0
    """Bumped by every write; `replace_child`/`delete_child` act only if it is unchanged."""

    def changed(self, **properties: Any) -> Child:
        """A copy with some top-level properties replaced (same version: a proposal)."""
        return replace(self, resource={**self.resource, **properties})


@runtime_checkable
class ChildStore(Protocol):
    """The sub-resources' part of a store (see the module docstring)."""

    def children(self, collection: str, kind: str, event: str) -> list[Child]: ...

    def child(self, collection: str, kind: str, event: str, child_id: str) -> Child | None: ...

    def add_child(self, child: Child) -> bool: ...

    def replace_child(self, child: Child) -> bool: ...

    def delete_child(self, child: Child) -> bool: ...

    def load_children(self, children: Iterable[Child]) -> int: ...

    def all_children(self) -> list[Child]: ...


_Key = tuple[str, str, str, str]


def _key(child: Child) -> _Key:
    return (child.collection, child.kind, child.event, child.id)


def _copy(child: Child, version: int | None = None) -> Child:
    # Through JSON, as the SQL stores give it back: callers may mutate what they passed or got.
    resource: dict[str, Any] = json.loads(json.dumps(child.resource))
    return replace(child, resource=resource, version=child.version if version is None else version)


class MemoryChildren:
    """The sub-resources in a dict behind a lock (the memory store's, when mixed into it)."""

    _lock: Any

    def __init__(self) -> None:
        self._children: dict[_Key, Child] = {}
        if not hasattr(self, "_lock"):
            self._lock = threading.Lock()

    def _clear_children(self) -> None:
        """Called with the lock held (a store's reset)."""
        self._children.clear()

    def children(self, collection: str, kind: str, event: str) -> list[Child]:
        with self._lock:
            found = [c for k, c in sorted(self._children.items()) if k[:3] == (collection, kind, event)]
        return [_copy(c) for c in found]

    def child(self, collection: str, kind: str, event: str, child_id: str) -> Child | None:
        with self._lock:
            found = self._children.get((collection, kind, event, child_id))
        return None if found is None else _copy(found)

    def add_child(self, child: Child) -> bool:
        with self._lock:
            if _key(child) in self._children:
                return False
            self._children[_key(child)] = _copy(child, 1)
            return True

    def replace_child(self, child: Child) -> bool:
        with self._lock:
            current = self._children.get(_key(child))
            if current is None or current.version != child.version:
                return False
            self._children[_key(child)] = _copy(child, child.version + 1)
            return True

    def delete_child(self, child: Child) -> bool:
        with self._lock:
            current = self._children.get(_key(child))
            if current is None or current.version != child.version:
                return False
            del self._children[_key(child)]
            return True

    def load_children(self, children: Iterable[Child]) -> int:
        copies = [_copy(c, 1) for c in children]
        with self._lock:
            for child in copies:
                self._children[_key(child)] = child
        return len(copies)

    def all_children(self) -> list[Child]:
        with self._lock:
            return [_copy(c) for _, c in sorted(self._children.items())]


Statement = tuple[str, tuple[Any, ...], bool]
"""(SQL with `?` placeholders, parameters, whether it must change exactly one row)."""


class SqlChildren:
    """The sub-resources in a SQL table; the backend runs the statements (see the module docstring)."""

    _children_table = "children"
    _placeholder = "?"

    def _child_rows(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        raise NotImplementedError

    def _child_write(self, statements: Sequence[Statement]) -> bool:
        raise NotImplementedError

    def _sql(self, text: str) -> str:
        text = text.replace("{table}", self._children_table)
        return text if self._placeholder == "?" else text.replace("?", self._placeholder)

    def _child_row(self, collection: str, kind: str, event: str, row: Sequence[Any]) -> Child:
        child_id, tenant, version, resource = row
        data = json.loads(resource) if isinstance(resource, str) else resource
        return Child(collection, kind, event, child_id, tenant, data, version)

    def children(self, collection: str, kind: str, event: str) -> list[Child]:
        rows = self._child_rows(
            self._sql(
                "SELECT id, tenant, version, resource FROM {table}"
                " WHERE collection = ? AND kind = ? AND event = ? ORDER BY id"
            ),
            (collection, kind, event),
        )
        return [self._child_row(collection, kind, event, row) for row in rows]

    def child(self, collection: str, kind: str, event: str, child_id: str) -> Child | None:
        rows = self._child_rows(
            self._sql(
                "SELECT id, tenant, version, resource FROM {table}"
                " WHERE collection = ? AND kind = ? AND event = ? AND id = ?"
            ),
            (collection, kind, event, child_id),
        )
        return self._child_row(collection, kind, event, rows[0]) if rows else None

    def _insert(self, child: Child, *, overwrite: bool) -> Statement:
        verb = "INSERT OR REPLACE" if overwrite and self._placeholder == "?" else "INSERT"
        tail = (
            " ON CONFLICT (collection, kind, event, id) DO UPDATE SET tenant = EXCLUDED.tenant,"
            " version = 1, resource = EXCLUDED.resource"
            if overwrite and self._placeholder != "?"
            else ""
        )
        sql = self._sql(
            f"{verb} INTO {{table}} (collection, kind, event, id, tenant, version, resource)"
            f" VALUES (?, ?, ?, ?, ?, 1, ?){tail}"
        )
        params = (child.collection, child.kind, child.event, child.id, child.tenant, json.dumps(child.resource))
        return (sql, params, True)

    def add_child(self, child: Child) -> bool:
        return self._child_write([self._insert(child, overwrite=False)])

    def replace_child(self, child: Child) -> bool:
        sql = self._sql(
            "UPDATE {table} SET resource = ?, version = version + 1"
            " WHERE collection = ? AND kind = ? AND event = ? AND id = ? AND version = ?"
        )
        params = (json.dumps(child.resource), *_key(child), child.version)
        return self._child_write([(sql, params, True)])

    def delete_child(self, child: Child) -> bool:
        sql = self._sql(
            "DELETE FROM {table} WHERE collection = ? AND kind = ? AND event = ? AND id = ? AND version = ?"
        )
        return self._child_write([(sql, (*_key(child), child.version), True)])

    def load_children(self, children: Iterable[Child]) -> int:
        statements = [self._insert(c, overwrite=True) for c in children]
        if statements:
            self._child_write([(sql, params, False) for sql, params, _ in statements])
        return len(statements)

    def all_children(self) -> list[Child]:
        rows = self._child_rows(
            self._sql(
                "SELECT collection, kind, event, id, tenant, version, resource FROM {table}"
                " ORDER BY collection, kind, event, id"
            ),
            (),
        )
        return [self._child_row(c, k, e, rest) for c, k, e, *rest in rows]
