"""Read-after-write lag over a real socket: reads (GET and list, both versions) show the version
before a write until the lag has passed, as Graph's replicas do; writes see the current state."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import httpx
from conftest import SAMPLE_ID, Stub
from test_control_api import control

from vevents.server.auth import SEED_TENANT
from vevents.server.settings import Settings
from vevents.spec import contract

LONG_MS = 60_000
"""A lag no test waits for: the test clears it (DELETE /lag shows every pending write at once)."""


def status_read(
    http: httpx.Client, stub: Stub, auth: Callable[..., dict[str, str]], kind: str = "webinars", version: str = "v1.0"
) -> str:
    response = http.get(stub.event_url(kind, SAMPLE_ID, version=version) + "?$select=status", headers=auth())
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


def list_webinars(http: httpx.Client, stub: Stub, auth: Callable[..., dict[str, str]]) -> list[dict[str, str]]:
    app_token = auth(roles=["VirtualEvent.Read.All"])  # list is for applications only
    response = http.get(f"{stub.base_url}/v1.0/solutions/virtualEvents/webinars", headers=app_token)
    assert response.status_code == 200, response.text
    return list(response.json()["value"])


def test_a_cancel_shows_in_reads_only_after_the_lag(
    stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    assert http.put(control(stub, "/lag"), json={"ms": LONG_MS}).status_code == 200
    assert http.post(stub.event_url("webinars", SAMPLE_ID, "cancel"), headers=auth()).status_code == 204
    # Stored at once; every read still shows the previous version.
    assert stub.store.find(SAMPLE_ID, "webinars")[0].status == "canceled"
    assert http.get(control(stub, f"/events/webinars/{SAMPLE_ID}")).json()["status"] == "canceled"
    assert status_read(http, stub, auth) == "published"
    assert status_read(http, stub, auth, version="beta") == "published"
    listed = list_webinars(http, stub, auth)
    assert {e["id"]: e["status"] for e in listed}[SAMPLE_ID] == "published"
    # Writes act on the current state: a second cancel meets a canceled event.
    second = http.post(stub.event_url("webinars", SAMPLE_ID, "cancel"), headers=auth())
    assert second.status_code == contract().outcome("cancel", "canceled").status
    # Other events are not lagged by this write.
    assert status_read(http, stub, auth, kind="townhalls") == "published"
    assert http.delete(control(stub, "/lag")).status_code == 204
    assert status_read(http, stub, auth) == "canceled"


def test_a_short_lag_passes_by_itself(stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]) -> None:
    lag_s = 0.4
    http.put(control(stub, "/lag"), json={"ms": int(lag_s * 1000)})
    written = time.monotonic()
    assert http.post(stub.event_url("townhalls", SAMPLE_ID, "cancel"), headers=auth()).status_code == 204
    reads = 0
    while status_read(http, stub, auth, kind="townhalls") != "canceled":
        reads += 1
        assert time.monotonic() - written < 10, "the write never showed"
        time.sleep(0.05)
    assert time.monotonic() - written >= lag_s
    assert reads >= 1


def test_a_created_event_is_not_found_until_the_lag_passes(
    stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    http.put(control(stub, "/lag"), json={"ms": LONG_MS})
    created = http.post(
        f"{stub.base_url}/v1.0/solutions/virtualEvents/webinars",
        headers=auth(),
        json={
            "displayName": "Lagged",
            "startDateTime": {"dateTime": "2026-12-01T17:00:00", "timeZone": "UTC"},
            "endDateTime": {"dateTime": "2026-12-01T18:00:00", "timeZone": "UTC"},
        },
    )
    assert created.status_code == contract().create_outcome.status, created.text
    event_id = created.json()["id"]
    missing = http.get(stub.event_url("webinars", event_id), headers=auth())
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "itemNotFound"
    listed = list_webinars(http, stub, auth)
    assert event_id not in {e["id"] for e in listed}
    http.delete(control(stub, "/lag"))
    assert http.get(stub.event_url("webinars", event_id), headers=auth()).status_code == 200


def test_a_per_event_lag_overrides_the_global_one(
    stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    other = f"{uuid.uuid4()}@{SEED_TENANT}"
    http.put(control(stub, f"/events/webinars/{other}"), json={"status": "published"})
    http.put(control(stub, "/lag"), json={"ms": LONG_MS, "eventId": SAMPLE_ID})
    http.post(stub.event_url("webinars", SAMPLE_ID, "cancel"), headers=auth())
    http.post(stub.event_url("webinars", other, "cancel"), headers=auth())
    assert status_read(http, stub, auth) == "published"
    other_status = http.get(stub.event_url("webinars", other) + "?$select=status", headers=auth()).json()["status"]
    assert other_status == "canceled"


def test_read_lag_from_settings_and_reset(
    start_stub: Callable[..., Stub], http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    stub = start_stub(Settings(memory=True, read_lag_ms=LONG_MS))
    assert http.get(control(stub, "/lag")).json() == {"ms": LONG_MS, "events": []}
    http.post(stub.event_url("webinars", SAMPLE_ID, "cancel"), headers=auth())
    assert status_read(http, stub, auth) == "published"
    http.post(control(stub, "/reset"))
    assert http.get(control(stub, "/lag")).json() == {"ms": LONG_MS, "events": []}
    assert status_read(http, stub, auth) == "published"
    assert stub.store.find(SAMPLE_ID, "webinars")[0].status == "published"
