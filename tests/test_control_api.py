"""Every control API operation over a real socket: what the client saw, and the state after.

The stub runs on 127.0.0.1 (the control API is open there without a token); each test starts
its own stub (conftest `stub`), so the state it arranges is its own.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from urllib.parse import quote

import httpx
import pytest
from conftest import SAMPLE_ID, Stub

from vevents.server.auth import SEED_ORGANIZER, SEED_TENANT
from vevents.server.store import StoreUnavailable
from vevents.spec import contract
from vevents.spec.control import lifecycle_states

OTHER_USER = "99999999-8888-4777-8666-555555555555"
NESTED: list[object] = []
for _ in range(40):
    NESTED = [NESTED]
CO_ORGANIZER = "12345678-1234-4234-8234-123456789abc"


def control(stub: Stub, path: str = "") -> str:
    return f"{stub.base_url}/_vevents{path}"


def new_id(tenant: str = SEED_TENANT) -> str:
    return f"{uuid.uuid4()}@{tenant}"


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    inner = error["innerError"]
    assert inner["request-id"] == response.headers["request-id"]
    assert inner["client-request-id"] == response.headers["client-request-id"]
    assert inner["date"]
    return dict(error)


def test_health_reports_the_store_and_settings(stub: Stub, http: httpx.Client) -> None:
    response = http.get(control(stub, "/health"))
    assert response.status_code == 200
    assert response.headers["request-id"]
    assert response.json() == {"status": "ok", "store": "memory", "faults": 0, "readLagMs": 0}


def test_health_is_503_when_the_store_cannot_answer(
    stub: Stub, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*args: object, **kwargs: object) -> list[object]:
        raise StoreUnavailable("database is locked")

    monkeypatch.setattr(stub.store, "find", unavailable)
    response = http.get(control(stub, "/health"))
    assert_envelope(response, 503, "serviceNotAvailable")
    assert response.headers["retry-after"]


def test_list_events_shows_every_event_and_filters(
    stub: Stub, http: httpx.Client, make_event: Callable[..., object]
) -> None:
    other_tenant = "11111111-2222-4333-8444-555555555555"
    make_event(stub.store, "townhalls", "draft", tenant=other_tenant)
    everything = http.get(control(stub, "/events")).json()["value"]
    assert len(everything) == 3
    townhalls = http.get(control(stub, "/events"), params={"kind": "townhalls"}).json()["value"]
    assert {e["@odata.type"] for e in townhalls} == {contract().odata_types["townhalls"]}
    assert len(townhalls) == 2
    theirs = http.get(control(stub, "/events"), params={"tenant": other_tenant}).json()["value"]
    assert [e["status"] for e in theirs] == ["draft"]
    assert_envelope(http.get(control(stub, "/events"), params={"kind": "meetings"}), 404, "itemNotFound")


def test_get_event_reads_as_stored_in_any_state(
    stub: Stub, http: httpx.Client, make_event: Callable[..., object]
) -> None:
    response = http.get(control(stub, f"/events/webinars/{quote(SAMPLE_ID, safe='')}"))
    assert response.status_code == 200
    assert response.json()["id"] == SAMPLE_ID
    missing = new_id()
    assert_envelope(http.get(control(stub, f"/events/webinars/{missing}")), 404, "itemNotFound")
    assert_envelope(http.get(control(stub, "/events/webinars/not-an-id")), 400, "invalidRequest")


@pytest.mark.parametrize("state", lifecycle_states())
def test_put_event_arranges_any_state_with_organizers(
    stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]], state: str
) -> None:
    event_id = new_id()
    body = {
        "status": state,
        "organizer": OTHER_USER,
        "coOrganizers": [CO_ORGANIZER],
        "properties": {"displayName": "Arranged by a test"},
    }
    created = http.put(control(stub, f"/events/townhalls/{event_id}"), json=body)
    assert created.status_code == 201, created.text
    resource = created.json()
    assert resource["status"] == state
    assert resource["createdBy"]["user"]["id"] == OTHER_USER
    assert [c["id"] for c in resource["coOrganizers"]] == [CO_ORGANIZER]
    (stored,) = stub.store.find(event_id, "townhalls")
    assert stored.status == state and stored.resource["displayName"] == "Arranged by a test"
    # The Graph routes see it as arranged: the co-organizer reads it, in that state.
    read = http.get(stub.event_url("townhalls", event_id), headers=auth(user=CO_ORGANIZER))
    assert read.status_code == 200 and read.json()["status"] == state
    # Putting it again replaces it (200), whatever the lifecycle would allow.
    again = http.put(control(stub, f"/events/townhalls/{event_id}"), json={"status": "draft"})
    assert again.status_code == 200
    (stored,) = stub.store.find(event_id, "townhalls")
    assert stored.status == "draft" and stored.resource["createdBy"]["user"]["id"] == SEED_ORGANIZER


def test_arranged_canceled_event_behaves_as_canceled(
    stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    event_id = new_id()
    assert http.put(control(stub, f"/events/webinars/{event_id}"), json={"status": "canceled"}).status_code == 201
    publish = http.post(stub.event_url("webinars", event_id, "publish"), headers=auth())
    outcome = contract().outcome("publish", "canceled")
    assert publish.status_code == outcome.status


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"status": "archived"}, 400),
        ({"status": "canceled", "organizer": ""}, 400),
        ({"status": "canceled", "coOrganizers": "x"}, 400),
        ({"status": "canceled", "properties": {"status": "draft"}}, 400),
        ({"status": "canceled", "properties": {"noSuchProperty": 1}}, 400),
        ({"status": "canceled", "extra": 1}, 400),
        ({"status": "canceled", "properties": {"displayName": NESTED}}, 400),
        ({}, 400),
    ],
)
def test_put_event_refuses_bad_input_and_changes_nothing(
    stub: Stub, http: httpx.Client, body: dict[str, object], status: int
) -> None:
    event_id = new_id()
    response = http.put(control(stub, f"/events/webinars/{event_id}"), json=body)
    assert_envelope(response, status, "invalidRequest")
    assert stub.store.find(event_id) == []


def test_load_events_adds_and_replaces_all_or_nothing(stub: Stub, http: httpx.Client) -> None:
    event_id = new_id()
    webinar = contract().odata_types["webinars"]
    sample = {"@odata.type": webinar, "id": SAMPLE_ID, "status": "canceled", "displayName": "Replaced"}
    loaded = http.post(
        control(stub, "/events"),
        json={"events": [{"@odata.type": webinar, "id": event_id, "status": "draft", "displayName": "Loaded"}, sample]},
    )
    assert loaded.status_code == 200 and loaded.json() == {"loaded": 2}
    assert stub.store.find(event_id.lower(), "webinars")[0].status == "draft"
    assert stub.store.find(SAMPLE_ID, "webinars")[0].resource["displayName"] == "Replaced"
    # One bad event: nothing loaded.
    another = new_id()
    bad = http.post(
        control(stub, "/events"),
        json=[
            {"@odata.type": webinar, "id": another, "status": "draft"},
            {"@odata.type": webinar, "id": "nope", "status": "draft"},
        ],
    )
    assert_envelope(bad, 400, "invalidRequest")
    assert stub.store.find(another.lower()) == []
    assert_envelope(
        http.post(control(stub, "/events"), content=b"{", headers={"content-type": "application/json"}),
        400,
        "invalidRequest",
    )


def test_reset_restores_the_seed_rules_lag_and_journal(
    stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    assert http.post(stub.event_url("webinars", SAMPLE_ID, "cancel"), headers=auth()).status_code == 204
    http.put(control(stub, f"/events/webinars/{new_id()}"), json={"status": "draft"})
    http.post(control(stub, "/faults"), json={"action": "delay", "delayMs": 1})
    http.put(control(stub, "/lag"), json={"ms": 1000})
    response = http.post(control(stub, "/reset"))
    assert response.status_code == 204 and response.content == b""
    assert [e.status for e in stub.store.find(SAMPLE_ID)] == ["published", "published"]
    assert len(http.get(control(stub, "/events")).json()["value"]) == 2
    assert http.get(control(stub, "/faults")).json() == {"value": []}
    assert http.get(control(stub, "/lag")).json() == {"ms": 0, "events": []}
    assert http.get(control(stub, "/journal")).json() == {"value": []}


def test_journal_records_graph_requests_and_filters(
    stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    before = datetime.datetime.now(datetime.UTC)
    http.get(stub.event_url("webinars", SAMPLE_ID), headers=auth())
    cancel = http.post(stub.event_url("townhalls", SAMPLE_ID, "cancel"), headers={**auth(), "client-request-id": "c1"})
    http.post(stub.event_url("townhalls", SAMPLE_ID, "cancel"), headers=auth())
    http.get(control(stub, "/health"))  # the control API's own requests are not journaled
    entries = http.get(control(stub, "/journal")).json()["value"]
    assert [(e["method"], e["operationId"], e["status"]) for e in entries] == [
        ("GET", "getWebinar", 200),
        ("POST", "cancelTownhall", 204),
        ("POST", "cancelTownhall", 204),
    ]
    first_cancel = entries[1]
    assert first_cancel["eventId"] == SAMPLE_ID and first_cancel["kind"] == "townhalls"
    assert first_cancel["requestId"] == cancel.headers["request-id"] and first_cancel["clientRequestId"] == "c1"
    assert first_cancel["durationMs"] >= 0 and first_cancel["faultId"] is None
    assert datetime.datetime.fromisoformat(first_cancel["time"]) >= before - datetime.timedelta(seconds=1)

    def select(**params: str | int) -> list[str]:
        response = http.get(control(stub, "/journal"), params=params)
        assert response.status_code == 200, response.text
        return [e["operationId"] for e in response.json()["value"]]

    assert select(operationId="cancelTownhall") == ["cancelTownhall", "cancelTownhall"]
    assert select(method="get") == ["getWebinar"]
    assert select(status=204, eventId=SAMPLE_ID.upper()) == ["cancelTownhall", "cancelTownhall"]
    assert select(eventId=SAMPLE_ID.replace("@", "%40")) == ["getWebinar", "cancelTownhall", "cancelTownhall"]
    assert select(since=(datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)).isoformat()) == []
    assert select(since=before.isoformat()) == ["getWebinar", "cancelTownhall", "cancelTownhall"]
    assert_envelope(http.get(control(stub, "/journal"), params={"since": "yesterday"}), 400, "invalidRequest")
    assert_envelope(http.get(control(stub, "/journal"), params={"status": "ok"}), 400, "invalidRequest")
    cleared = http.delete(control(stub, "/journal"))
    assert cleared.status_code == 204
    assert http.get(control(stub, "/journal")).json() == {"value": []}


def test_fault_rules_are_listed_read_and_removed(stub: Stub, http: httpx.Client) -> None:
    rule = {"action": "throttle", "retryAfterSeconds": 2, "match": {"operationId": "getWebinar"}, "times": 1}
    created = http.post(control(stub, "/faults"), json=rule)
    assert created.status_code == 201
    body = created.json()
    assert body["id"] >= 1 and body["action"] == "throttle" and body["times"] == 1
    assert body["match"] == {"operationId": "getWebinar", "method": None, "kind": None, "eventId": None}
    second = http.post(control(stub, "/faults"), json={"action": "delay", "delayMs": 5}).json()
    assert [r["id"] for r in http.get(control(stub, "/faults")).json()["value"]] == [body["id"], second["id"]]
    assert http.get(control(stub, f"/faults/{body['id']}")).json() == body
    assert http.delete(control(stub, f"/faults/{body['id']}")).status_code == 204
    assert_envelope(http.get(control(stub, f"/faults/{body['id']}")), 404, "itemNotFound")
    assert_envelope(http.delete(control(stub, f"/faults/{body['id']}")), 404, "itemNotFound")
    assert http.delete(control(stub, "/faults")).status_code == 204
    assert http.get(control(stub, "/faults")).json() == {"value": []}
    assert stub.app.control.faults.active is False


@pytest.mark.parametrize(
    "rule",
    [
        {"action": "explode"},
        {"action": "throttle", "match": {"operationId": "deleteWebinar"}},
        {"action": "throttle", "match": {"kind": "meetings"}},
        {"action": "throttle", "match": {"method": "BREW"}},
        {"action": "throttle", "match": {"colour": "red"}},
        {"action": "throttle", "times": 2, "every": 3},
        {"action": "throttle", "times": 0},
        {"action": "throttle", "probability": 1.5},
        {"action": "throttle", "retryAfterSeconds": -1},
        {"action": "delay", "delayMs": 10**9},
        {"action": "throttle", "unknown": True},
        ["throttle"],
    ],
)
def test_bad_fault_rules_are_400_and_add_nothing(stub: Stub, http: httpx.Client, rule: object) -> None:
    assert_envelope(http.post(control(stub, "/faults"), json=rule), 400, "invalidRequest")
    assert http.get(control(stub, "/faults")).json() == {"value": []}


def test_read_lag_settings_are_set_read_and_cleared(stub: Stub, http: httpx.Client) -> None:
    assert http.get(control(stub, "/lag")).json() == {"ms": 0, "events": []}
    assert http.put(control(stub, "/lag"), json={"ms": 250}).json() == {"ms": 250, "events": []}
    per_event = http.put(control(stub, "/lag"), json={"ms": 900, "eventId": SAMPLE_ID.upper()})
    assert per_event.status_code == 200
    assert per_event.json() == {"ms": 250, "events": [{"eventId": SAMPLE_ID, "ms": 900}]}
    for bad in ({"ms": -1}, {"ms": 10**9}, {"ms": "5"}, {"ms": 5, "eventId": "x"}, {}):
        assert_envelope(http.put(control(stub, "/lag"), json=bad), 400, "invalidRequest")
    assert http.get(control(stub, "/lag")).json()["ms"] == 250
    assert http.delete(control(stub, "/lag")).status_code == 204
    assert http.get(control(stub, "/lag")).json() == {"ms": 0, "events": []}


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "/reset", {"content": b"x" * (2 * 1024 * 1024), "headers": {"content-type": "application/json"}}),
        ("POST", "/faults", {"content": b"[[[[" * 5000, "headers": {"content-type": "application/json"}}),
        ("POST", "/faults", {"content": b"action=throttle", "headers": {"content-type": "text/plain"}}),
        ("PUT", "/events/webinars/%00", {"json": {"status": "draft"}}),
        ("GET", "/journal?status=99999999999999999999", {}),
        ("GET", "/faults/99999999999999999999999", {}),
        ("PATCH", "/faults", {"json": {}}),
        ("GET", "/nothing-here", {}),
    ],
)
def test_hostile_control_input_is_a_clear_4xx(
    stub: Stub, http: httpx.Client, method: str, path: str, kwargs: dict[str, object]
) -> None:
    before = [e.resource for e in stub.store.find(SAMPLE_ID)]
    response = http.request(method, control(stub, path), **kwargs)  # type: ignore[arg-type]
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["error"]["code"]
    assert [e.resource for e in stub.store.find(SAMPLE_ID)] == before
    assert http.get(control(stub, "/faults")).json() == {"value": []}
