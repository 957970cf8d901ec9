"""The two stores behave alike: compare-and-set writes, seeding only an empty store, copies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import OTHER_TENANT, put_event

from vevents.server.seed import SeedError, load_seed
from vevents.server.store import Event, MemoryStore, SqliteStore, Store


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
