"""Shared fixtures: a live stub on 127.0.0.1 (ephemeral port) and tokens it trusts.

    stub            a fresh stub (in-memory store, default seed) for one test
    module_stub     one stub shared by a test module (create your own events in it)
    start_stub      factory: start_stub(settings=None, store=None) -> Stub, stopped after the test
    make_token      factory: make_token(**mint_token kwargs) -> str, signed with SECRET
    auth            factory: auth(**mint_token kwargs) -> {"Authorization": "Bearer ..."}
    make_event      factory: make_event(store, kind, status, ...) -> Event, stored directly
    http            one httpx.Client for the session (no retries, 10 s timeout)

Tokens default to the seed tenant's organizer with `VirtualEvent.ReadWrite` (delegated).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from vevents.server.auth import SEED_ORGANIZER, SEED_TENANT, mint_token
from vevents.server.settings import DEFAULT_SECRET, Settings
from vevents.server.store import Event, Store
from vevents.spec import contract, singular

SECRET = DEFAULT_SECRET
SAMPLE_ID = "bce9a3ca-a310-48fa-baf3-1cedcd04bb3f@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba"
OTHER_TENANT = "11111111-2222-4333-8444-555555555555"
OTHER_USER = "99999999-8888-4777-8666-555555555555"


@dataclass(frozen=True)
class Stub:
    """A running stub: where it listens and what it holds."""

    base_url: str
    app: Any
    store: Store
    settings: Settings

    def url(self, path: str, version: str = "v1.0") -> str:
        """`path` is a spec path with its id already filled in (e.g. from `Operation.url_path`)."""
        return f"{self.base_url}/{version}{path}"

    def event_url(self, kind: str, event_id: str, action: str | None = None, version: str = "v1.0") -> str:
        """The URL of an event (`%40`-encoded, as the SDKs send it), optionally of an action on it."""
        path = f"/solutions/virtualEvents/{kind}/{quote(event_id, safe='')}"
        return self.url(path + (f"/{action}" if action else ""), version)


@contextlib.contextmanager
def running_stub(settings: Settings | None = None, store: Store | None = None) -> Iterator[Stub]:
    from vevents.server.app import create_app
    from vevents.server.background import serve_in_background

    settings = settings or Settings(memory=True)
    app = create_app(settings, store=store)
    with serve_in_background(app) as base_url:
        yield Stub(base_url=base_url, app=app, store=app.store, settings=settings)


@pytest.fixture
def start_stub() -> Iterator[Callable[..., Stub]]:
    with contextlib.ExitStack() as stack:

        def start(settings: Settings | None = None, store: Store | None = None) -> Stub:
            return stack.enter_context(running_stub(settings, store))

        yield start


@pytest.fixture
def stub(start_stub: Callable[..., Stub]) -> Stub:
    return start_stub()


@pytest.fixture(scope="module")
def module_stub() -> Iterator[Stub]:
    with running_stub() as running:
        yield running


@pytest.fixture
def make_token() -> Callable[..., str]:
    def make(**kwargs: Any) -> str:
        kwargs.setdefault("secret", SECRET)
        return mint_token(**kwargs)

    return make


@pytest.fixture
def auth(make_token: Callable[..., str]) -> Callable[..., dict[str, str]]:
    def headers(**kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {make_token(**kwargs)}"}

    return headers


def put_event(
    store: Store,
    kind: str,
    status: str,
    *,
    tenant: str = SEED_TENANT,
    organizer: str = SEED_ORGANIZER,
    co_organizers: Sequence[str] = (),
    **properties: Any,
) -> Event:
    """Store an event of `kind` in `status` directly (no HTTP), and return it."""
    event_id = f"{uuid.uuid4()}@{tenant}"
    resource = {
        "@odata.type": contract().odata_types[kind],
        "id": event_id,
        "status": status,
        "displayName": f"test {singular(kind)} ({status})",
        "startDateTime": {"dateTime": "2026-12-01T17:00:00", "timeZone": "Pacific Standard Time"},
        "endDateTime": {"dateTime": "2026-12-01T18:00:00", "timeZone": "Pacific Standard Time"},
        "createdBy": {
            "application": None,
            "device": None,
            "user": {"@odata.type": "#microsoft.graph.communicationsUserIdentity", "id": organizer, "tenantId": tenant},
        },
        "coOrganizers": [{"id": c, "tenantId": tenant} for c in co_organizers],
        **properties,
    }
    event = Event(kind=kind, id=event_id, tenant=tenant, resource=resource)
    assert store.create(event)
    return event


@pytest.fixture
def make_event() -> Callable[..., Event]:
    return put_event


@pytest.fixture(scope="session")
def http() -> Iterator[httpx.Client]:
    # Session-wide: building an httpx.Client loads an SSL context (~0.1 s).
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Any]:
    """One throwaway PostgreSQL server for the session (tests/postgres.py); each test asks it
    for a fresh database. Skips where PostgreSQL is missing, fails under CI."""
    from postgres import PostgresServer

    server = PostgresServer.start()
    yield server
    server.remove()
