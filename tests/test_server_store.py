"""The two stores behave alike: compare-and-set writes, seeding only an empty store, copies."""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import OTHER_TENANT, put_event

from vevents.server.auth import SEED_TENANT
from vevents.server.seed import SeedError, load_seed
from vevents.server.store import Event, MemoryStore, SqliteStore, Store
from vevents.spec import contract


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store
    if request.param == "postgres":
        from vevents.server.postgres import PostgresStore

        made = PostgresStore(request.getfixturevalue("postgres_server").new_database())
    else:
        made = MemoryStore() if request.param == "memory" else SqliteStore(str(tmp_path / "s.db"))
    yield made
    made.close()


def test_find_by_kind_or_across_kinds(store: Store) -> None:
    webinar = put_event(store, "webinars", "draft")
    assert [e.id for e in store.find(webinar.id, "webinars")] == [webinar.id]
    assert store.find(webinar.id, "townhalls") == []
    assert [e.kind for e in store.find(webinar.id)] == ["webinars"]
    assert store.find("missing") == []


def test_create_refuses_a_duplicate(store: Store) -> None:
    event = put_event(store, "townhalls", "draft")
    assert not store.create(event)


def test_replace_is_compare_and_set(store: Store) -> None:
    event = put_event(store, "webinars", "draft")
    (first,) = store.find(event.id, "webinars")
    (second,) = store.find(event.id, "webinars")
    assert store.replace([first.changed(status="canceled")])
    # `second` was read before the first write: writing it would lose the cancel.
    assert not store.replace([second.changed(status="published")])
    assert store.find(event.id, "webinars")[0].status == "canceled"


def test_replace_is_all_or_nothing(store: Store) -> None:
    a = put_event(store, "webinars", "draft")
    b = put_event(store, "townhalls", "draft")
    (a_now,) = store.find(a.id, "webinars")
    (b_now,) = store.find(b.id, "townhalls")
    assert store.replace([b_now.changed(displayName="moved on")])
    assert not store.replace([a_now.changed(status="canceled"), b_now.changed(status="canceled")])
    assert store.find(a.id, "webinars")[0].status == "draft"


def test_list_is_per_kind_and_tenant(store: Store) -> None:
    mine = put_event(store, "webinars", "draft")
    put_event(store, "townhalls", "draft")
    put_event(store, "webinars", "draft", tenant=OTHER_TENANT)
    assert [e.id for e in store.list("webinars", mine.tenant)] == [mine.id]


def test_seed_only_into_an_empty_store(store: Store) -> None:
    seed = load_seed()
    assert store.seed(seed) == len(seed) == 2
    assert store.seed(seed) == 0


def test_returned_events_are_copies(store: Store) -> None:
    event = put_event(store, "webinars", "draft")
    (read,) = store.find(event.id, "webinars")
    read.resource["status"] = "canceled"  # type: ignore[index]
    assert store.find(event.id, "webinars")[0].status == "draft"


def test_sqlite_state_is_shared_between_connections(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    one, two = SqliteStore(path), SqliteStore(path)
    try:
        event = put_event(one, "webinars", "published")
        (seen,) = two.find(event.id, "webinars")
        assert two.replace([seen.changed(status="canceled")])
        assert one.find(event.id, "webinars")[0].status == "canceled"
        assert not one.replace(
            [
                Event(
                    kind="webinars",
                    id=event.id,
                    tenant=event.tenant,
                    resource={**event.resource, "status": "draft"},
                    version=seen.version,
                )
            ]
        )
    finally:
        one.close()
        two.close()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("events: {}", "expected a list"),
        ("- {'@odata.type': '#microsoft.graph.user', id: x, status: draft}", "@odata.type"),
        ("- {'@odata.type': '#microsoft.graph.virtualEventWebinar', id: not-an-id, status: draft}", "id: must be"),
        (
            "- {'@odata.type': '#microsoft.graph.virtualEventWebinar', "
            "id: 'bce9a3ca-a310-48fa-baf3-1cedcd04bb3f@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba', status: cancelled}",
            "status",
        ),
        ("{unclosed", "not valid YAML"),
    ],
)
def test_bad_seed_files_are_refused(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text(text)
    with pytest.raises(SeedError, match=fragment):
        load_seed(str(path))


def test_reset_replaces_every_event_in_one_step(store: Store) -> None:
    put_event(store, "webinars", "canceled")
    put_event(store, "townhalls", "published", tenant=OTHER_TENANT)
    seed = load_seed()
    assert store.reset(seed) == len(seed)
    assert sorted((e.kind, e.id) for e in store.all_events()) == sorted((e.kind, e.id) for e in seed)  # type: ignore[attr-defined]
    assert all(e.version == 1 for e in store.all_events())  # type: ignore[attr-defined]


def make_events(count: int) -> list[Event]:
    """`count` events, both kinds, in two tenants (built as a seed's are: no store involved)."""
    events = []
    for n in range(count):
        kind = ("webinars", "townhalls")[n % 2]
        tenant = (SEED_TENANT, OTHER_TENANT)[n // 2 % 2]
        event_id = f"{uuid.uuid4()}@{tenant}"
        resource = {"@odata.type": contract().odata_types[kind], "id": event_id, "status": "published"}
        events.append(Event(kind=kind, id=event_id, tenant=tenant, resource=resource))
    return events


def _index_names(store: Store) -> set[str]:
    if isinstance(store, SqliteStore):
        with contextlib.closing(sqlite3.connect(store.path)) as conn:
            return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    import psycopg

    with psycopg.connect(store.url) as conn:  # type: ignore[attr-defined]
        return {row[0] for row in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'vevents_events'")}


def test_a_bulk_seed_keeps_every_character_and_its_indexes(store: Store) -> None:
    # PostgreSQL's seed goes through COPY (its text format escapes tabs, newlines, backslashes),
    # SQLite's and PostgreSQL's rebuild their indexes after the rows: nothing may be lost to either.
    awkward = 'tab\there, line\nbreak, back\\slash, "quotes", \\N, é, 😀'
    events = [
        Event(kind=e.kind, id=e.id, tenant=e.tenant, resource={**e.resource, "displayName": f"{awkward} {n}"})
        for n, e in enumerate(make_events(40))
    ]
    assert store.seed(reversed(events)) == 40
    for n, event in enumerate(events):
        (read,) = store.find(event.id, event.kind)
        assert read.resource["displayName"] == f"{awkward} {n}" and read.version == 1
    tenants = {e.tenant for e in events}
    listed = sorted(e.id for kind in ("webinars", "townhalls") for t in tenants for e in store.list(kind, t))
    assert listed == sorted(e.id for e in events)
    if not isinstance(store, MemoryStore):
        assert {"events_by_id", "events_by_tenant"} <= {n.removeprefix("vevents_") for n in _index_names(store)}
