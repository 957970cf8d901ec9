"""Issue 13: the PostgreSQL store keeps SQLite's guarantees when several processes share it.

The store-protocol tests shared with memory and SQLite are in tests/test_server_store.py
(parametrized); these are what only a database server adds: several stores (as in several
stub processes) on one database, the schema and its version, a database that goes away.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from conftest import put_event

from vevents.server.dburl import is_postgres_url, redacted_url
from vevents.server.seed import load_seed
from vevents.server.store import StoreUnavailable

pytestmark = pytest.mark.slow


def _store(url: str) -> Any:
    from vevents.server.postgres import PostgresStore

    return PostgresStore(url)


def test_urls_select_postgres_and_never_print_a_password() -> None:
    assert is_postgres_url("postgresql://u@h/db") and is_postgres_url("postgres://h/db")
    assert not is_postgres_url("vevents.db") and not is_postgres_url("/tmp/postgresql.db")
    assert (
        redacted_url("postgresql://user:s3cret@db.internal:5432/vevents")
        == "postgresql://user:***@db.internal:5432/vevents"
    )


def test_two_stores_on_one_database_are_one_state(postgres_server: Any) -> None:
    url = postgres_server.new_database()
    one, two = _store(url), _store(url)
    try:
        event = put_event(one, "webinars", "published")
        (seen,) = two.find(event.id, "webinars")
        assert two.replace([seen.changed(status="canceled")])
        # A cancel written through one process is read by the other at once: no cache, no lag.
        assert one.find(event.id, "webinars")[0].status == "canceled"
        # The first process's stale copy cannot overwrite it (compare-and-set across processes).
        assert not one.replace([seen.changed(status="published")])
        assert two.find(event.id, "webinars")[0].status == "canceled"
    finally:
        one.close()
        two.close()


def test_the_seed_is_loaded_once_whatever_the_number_of_replicas(postgres_server: Any) -> None:
    url = postgres_server.new_database()
    stores = [_store(url) for _ in range(4)]
    seeded: list[int] = []
    barrier = threading.Barrier(len(stores))

    def seed(store: Any) -> None:
        barrier.wait()
        seeded.append(store.seed(load_seed()))

    threads = [threading.Thread(target=seed, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    try:
        assert sorted(seeded) == [0, 0, 0, len(load_seed())]
        tenant = load_seed()[0].tenant
        assert len(stores[0].list("webinars", tenant)) == 1
    finally:
        for store in stores:
            store.close()


def test_concurrent_compare_and_set_lets_exactly_one_writer_win(postgres_server: Any) -> None:
    url = postgres_server.new_database()
    stores = [_store(url) for _ in range(2)]
    try:
        event = put_event(stores[0], "townhalls", "published")
        reads = [store.find(event.id, "townhalls")[0] for store in stores] * 4
        results: list[bool] = []
        barrier = threading.Barrier(len(reads))

        def write(n: int) -> None:
            barrier.wait()
            status = "canceled" if n % 2 else "published"
            results.append(stores[n % 2].replace([reads[n].changed(status=status, displayName=f"w{n}")]))

        threads = [threading.Thread(target=write, args=(n,)) for n in range(len(reads))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert results.count(True) == 1, results
        assert stores[1].find(event.id, "townhalls")[0].version == reads[0].version + 1
    finally:
        for store in stores:
            store.close()


def test_schema_is_versioned_and_a_newer_one_is_refused(postgres_server: Any) -> None:
    import psycopg

    from vevents.server.postgres import SCHEMA_VERSION, SchemaTooNew

    url = postgres_server.new_database()
    _store(url).close()
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT value FROM vevents_meta WHERE key = 'schema_version'").fetchone()
        assert row is not None
        (version,) = row
        assert int(version) == SCHEMA_VERSION
        _store(url).close()  # a second start migrates nothing and keeps the data
        conn.execute("UPDATE vevents_meta SET value = %s WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(SchemaTooNew, match="upgrade vevents"):
        _store(url)


def _answers(store: Any) -> bool:
    """Whether the store can read right now."""
    try:
        store.all_events()
    except StoreUnavailable:
        return False
    return True


def test_a_database_that_goes_away_is_unavailable_then_recovers() -> None:
    # Its own server: stopping the session's would disturb the other tests.
    from postgres import PostgresServer

    server = PostgresServer.start()
    try:
        store = _store(server.new_database())
        event = put_event(store, "webinars", "published")
        server.stop()
        assert not _answers(store)
        with pytest.raises(StoreUnavailable):
            store.find(event.id, "webinars")
        server.start_again()
        # Recovers by itself: within the fail-fast window and one probe, with nothing restarted.
        deadline = time.monotonic() + 3
        while not _answers(store):
            assert time.monotonic() < deadline, "the store did not recover after the database came back"
            time.sleep(0.1)
        assert store.find(event.id, "webinars")[0].status == "published"
        store.close()
    finally:
        server.remove()


def test_unreachable_database_at_start_is_one_clear_error() -> None:
    from postgres import binaries_or_skip

    binaries_or_skip()
    from vevents.server.postgres import PostgresStore

    with pytest.raises(StoreUnavailable, match=r"cannot reach the PostgreSQL database at postgresql://u:\*\*\*@"):
        PostgresStore("postgresql://u:pw@127.0.0.1:9/none", start_timeout=1)


def test_an_unreachable_database_is_refused_fast_after_the_first_failure() -> None:
    # The handlers call the store from the event loop: a dead database must not hold every
    # request for the pool's timeout.
    from postgres import PostgresServer

    server = PostgresServer.start()
    try:
        store = _store(server.new_database())
        event = put_event(store, "webinars", "published")
        server.stop()
        with pytest.raises(StoreUnavailable):
            store.find(event.id, "webinars")  # the first one waits for the pool, at most its timeout
        started = time.monotonic()
        for _ in range(20):
            with pytest.raises(StoreUnavailable):
                store.find(event.id, "webinars")
        assert time.monotonic() - started < 1.0
        server.start_again()
        time.sleep(0.6)  # past PROBE_INTERVAL: the next call probes, finds it back, and succeeds
        assert store.find(event.id, "webinars")[0].status == "published"
        store.close()
    finally:
        server.remove()
