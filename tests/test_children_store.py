"""The stores' `ChildStore` part (server/children.py): registrations, questions, sessions and
presenters kept beside the events, with compare-and-set, in memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vevents.server.children import Child, ChildStore
from vevents.server.store import MemoryStore, SqliteStore


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def children(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "memory":
        store: Any = MemoryStore()
    elif request.param == "sqlite":
        store = SqliteStore(str(tmp_path / "children.db"))
    else:
        from vevents.server.postgres import PostgresStore

        store = PostgresStore(request.getfixturevalue("postgres_server").new_database())
    yield store
    store.close()


def _child(member_id: str = "r1", **resource: Any) -> Child:
    return Child("registrations", "webinars", "e1@t", member_id, "t", {"id": member_id, **resource})


def test_add_read_replace_delete_with_compare_and_set(children: Any) -> None:
    assert isinstance(children, ChildStore)
    assert children.add_child(_child(status="registered"))
    assert not children.add_child(_child(status="other"))  # that id exists
    read = children.child("registrations", "webinars", "e1@t", "r1")
    assert read is not None and read.resource["status"] == "registered"
    assert children.replace_child(read.changed(status="canceled"))
    assert not children.replace_child(read.changed(status="registered"))  # stale: changed since read
    current = children.child("registrations", "webinars", "e1@t", "r1")
    assert current is not None and current.resource["status"] == "canceled"
    assert not children.delete_child(read)  # stale
    assert children.delete_child(current)
    assert children.children("registrations", "webinars", "e1@t") == []


def test_members_are_per_collection_event_and_kind_and_reset_empties_them(children: Any) -> None:
    children.load_children([_child("a"), _child("b"), Child("presenters", "webinars", "e1@t", "a", "t", {})])
    assert [c.id for c in children.children("registrations", "webinars", "e1@t")] == ["a", "b"]
    assert [c.id for c in children.children("presenters", "webinars", "e1@t")] == ["a"]
    assert children.children("registrations", "townhalls", "e1@t") == []
    assert len(children.all_children()) == 3
    children.reset([])
    assert children.all_children() == []
