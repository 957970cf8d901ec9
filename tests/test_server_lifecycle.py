"""Acceptance 1: the lifecycle table, over a real socket - every kind x state x operation.

Expected answers come from the spec's table (`contract().lifecycle`), never from this file;
the one thing asserted on top of the table is the product's promise: canceled stays canceled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from conftest import OTHER_TENANT, OTHER_USER, SAMPLE_ID, Stub

from vevents.server.auth import SEED_ORGANIZER, SEED_TENANT
from vevents.server.store import Event
from vevents.spec import contract

CONTRACT = contract()
KINDS = CONTRACT.kinds
STATES = tuple(CONTRACT.lifecycle["get"])
VERSIONS = CONTRACT.versions
OPERATIONS = ("get", "update", "publish", "cancel", "cancel twice")
ROUTES = ("kind", "events")  # publish/cancel: the per-kind route or the SDK's /events route


def _rows() -> list[Any]:
    rows = []
    for version in VERSIONS:
        for kind in KINDS:
            for state in STATES:
                for operation in OPERATIONS:
                    routes = ROUTES if operation not in ("get", "update") else ROUTES[:1]
                    for route in routes:
                        rows.append(
                            pytest.param(
                                version,
                                kind,
                                state,
                                operation,
                                route,
                                id=f"{version}-{kind}-{state}-{operation}-{route}",
                            )
                        )
    return rows


def _expected(operation: str, state: str) -> list[tuple[int, str | None, str]]:
    """(status, error code, state after) for each request the operation makes."""
    steps = ["cancel", "cancel"] if operation == "cancel twice" else [operation]
    result = []
    for action in steps:
        outcome = CONTRACT.outcome(action, state)
        result.append((outcome.status, outcome.error, outcome.to))
        state = outcome.to
    return result


def _request(
    http: httpx.Client,
    stub: Stub,
    version: str,
    kind: str,
    event: Event,
    action: str,
    route: str,
    headers: dict[str, str],
) -> httpx.Response:
    if action == "get":
        return http.get(stub.event_url(kind, event.id, version=version), headers=headers)
    if action == "update":
        return http.patch(
            stub.event_url(kind, event.id, version=version), headers=headers, json={"displayName": "renamed"}
        )
    target = kind if route == "kind" else "events"
    return http.post(stub.event_url(target, event.id, action, version=version), headers=headers)


def _assert_envelope(response: httpx.Response, code: str | None) -> None:
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    if code is not None:
        assert error["code"] == code
    assert error["message"]
    inner = error["innerError"]
    assert inner["request-id"] == response.headers["request-id"]
    assert inner["client-request-id"] == response.headers["client-request-id"]
    assert inner["date"]


@pytest.mark.parametrize(("version", "kind", "state", "operation", "route"), _rows())
def test_lifecycle_table(
    module_stub: Stub,
    http: httpx.Client,
    auth: Callable[..., dict[str, str]],
    make_event: Callable[..., Event],
    version: str,
    kind: str,
    state: str,
    operation: str,
    route: str,
) -> None:
    event = make_event(module_stub.store, kind, state)
    headers = auth()
    actions = ["cancel", "cancel"] if operation == "cancel twice" else [operation]
    final_state = state
    for action, (status, code, to) in zip(actions, _expected(operation, state), strict=True):
        response = _request(http, module_stub, version, kind, event, action, route, headers)
        assert response.status_code == status, response.text
        if status == 204:
            assert response.content == b""
            assert "content-type" not in response.headers
        elif status >= 400:
            _assert_envelope(response, code)
        else:
            body = response.json()
            assert body["id"] == event.id
            assert body["status"] == to
            assert body["@odata.type"] == CONTRACT.odata_types[kind]
            if action == "update":
                assert body["displayName"] == "renamed"
        assert response.headers["request-id"]
        final_state = to

    # The resulting state, as a client sees it and as the store holds it.
    read_back = http.get(module_stub.event_url(kind, event.id, version=version), headers=headers)
    assert read_back.status_code == 200
    assert read_back.json()["status"] == final_state
    (stored,) = module_stub.store.find(event.id, kind)
    assert stored.status == final_state
    if state == "canceled":
        assert final_state == "canceled"
    if operation == "update" and CONTRACT.outcome("update", state).status >= 400:
        assert stored.resource["displayName"] == event.resource["displayName"]


@pytest.mark.parametrize("kind", KINDS)
def test_create_is_draft_with_caller_as_organizer(
    module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]], kind: str
) -> None:
    body = {
        "displayName": "new",
        "startDateTime": {"dateTime": "2026-12-01T17:00:00", "timeZone": "UTC"},
        "endDateTime": {"dateTime": "2026-12-01T18:00:00", "timeZone": "UTC"},
    }
    response = http.post(module_stub.url(f"/solutions/virtualEvents/{kind}"), headers=auth(), json=body)
    assert response.status_code == CONTRACT.create_outcome.status, response.text
    created = response.json()
    guid, _, tenant = created["id"].partition("@")
    assert tenant == SEED_TENANT and len(guid) == 36
    assert created["status"] == CONTRACT.create_outcome.to
    assert created["@odata.type"] == CONTRACT.odata_types[kind]
    assert created["createdBy"]["user"]["id"] == SEED_ORGANIZER
    assert created["createdBy"]["user"]["tenantId"] == SEED_TENANT
    assert all(created[name] == [] for name in CONTRACT.empty_collections[kind])
    again = http.get(module_stub.event_url(kind, created["id"]), headers=auth())
    assert again.json() == created


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("encode", [True, False], ids=["percent-encoded", "raw-at"])
def test_ids_accept_raw_or_encoded_at(
    module_stub: Stub,
    http: httpx.Client,
    auth: Callable[..., dict[str, str]],
    make_event: Callable[..., Event],
    kind: str,
    encode: bool,
) -> None:
    event = make_event(module_stub.store, kind, "published")
    raw = quote(event.id, safe="") if encode else event.id
    base = module_stub.url(f"/solutions/virtualEvents/{kind}/{raw}")
    assert http.get(base, headers=auth()).json()["id"] == event.id
    cancel = module_stub.url(f"/solutions/virtualEvents/events/{raw}/cancel")
    assert http.post(cancel, headers=auth()).status_code == 204
    assert http.get(base, headers=auth()).json()["status"] == "canceled"


def test_bare_guid_is_in_the_callers_tenant(
    module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]], make_event: Callable[..., Event]
) -> None:
    event = make_event(module_stub.store, "townhalls", "published")
    guid = event.id.split("@")[0]
    assert http.get(module_stub.event_url("townhalls", guid), headers=auth()).json()["id"] == event.id
    other = auth(tenant=OTHER_TENANT)
    assert http.get(module_stub.event_url("townhalls", guid), headers=other).status_code == 404


def test_events_route_acts_on_both_kinds_of_the_sample_id(
    stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    # The default seed holds the docs' sample id as a webinar and as a town hall.
    for kind in KINDS:
        assert http.get(stub.event_url(kind, SAMPLE_ID), headers=auth()).json()["status"] == "published"
    response = http.post(stub.event_url("events", SAMPLE_ID, "cancel"), headers=auth())
    assert response.status_code == 204
    for kind in KINDS:
        assert http.get(stub.event_url(kind, SAMPLE_ID), headers=auth()).json()["status"] == "canceled"
    # ... and publishing it again is refused for both, as the table says for canceled events.
    response = http.post(stub.event_url("events", SAMPLE_ID, "publish"), headers=auth())
    assert response.status_code == CONTRACT.outcome("publish", "canceled").status


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_kind_route_is_not_found(
    module_stub: Stub,
    http: httpx.Client,
    auth: Callable[..., dict[str, str]],
    make_event: Callable[..., Event],
    kind: str,
) -> None:
    event = make_event(module_stub.store, kind, "draft")
    (other,) = (k for k in KINDS if k != kind)
    for method, action in (("GET", None), ("POST", "cancel"), ("POST", "publish")):
        response = http.request(method, module_stub.event_url(other, event.id, action), headers=auth())
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "itemNotFound"
    assert module_stub.store.find(event.id, kind)[0].status == "draft"


@pytest.mark.parametrize("kind", KINDS)
def test_select_returns_only_the_selected_properties(
    module_stub: Stub,
    http: httpx.Client,
    auth: Callable[..., dict[str, str]],
    make_event: Callable[..., Event],
    kind: str,
) -> None:
    event = make_event(module_stub.store, kind, "published")
    response = http.get(module_stub.event_url(kind, event.id), params={"$select": "status,displayName"}, headers=auth())
    assert response.status_code == 200
    context = f"{module_stub.base_url}/v1.0/$metadata#solutions/virtualEvents/{kind}(status,displayName)/$entity"
    assert response.json() == {
        "@odata.context": context,
        "@odata.type": CONTRACT.odata_types[kind],
        "status": "published",
        "displayName": event.resource["displayName"],
    }
    # Every property the spec lets you select can be selected; the ones the event lacks are left out.
    everything = ",".join(CONTRACT.select_properties[kind])
    response = http.get(module_stub.event_url(kind, event.id), params={"$select": everything}, headers=auth())
    assert response.status_code == 200
    assert set(response.json()) - {"@odata.context"} == set(event.resource) & set(CONTRACT.select_properties[kind])


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"$select": "nonsense"}, 400),
        ({"$expand": "sessions"}, 400),
        ({"$filter": "status eq 'draft'"}, 400),
        ({"unrelated": "1"}, 200),
    ],
)
def test_query_options(
    module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]], params: dict[str, str], status: int
) -> None:
    response = http.get(module_stub.event_url("webinars", SAMPLE_ID), params=params, headers=auth())
    assert response.status_code == status
    if status == 400:
        assert response.json()["error"]["code"] == "invalidRequest"


@pytest.mark.parametrize("body", [b"{}", b"", b"  "], ids=["empty-object", "empty", "blank"])
def test_cancel_accepts_no_body_or_empty_object(
    module_stub: Stub,
    http: httpx.Client,
    auth: Callable[..., dict[str, str]],
    make_event: Callable[..., Event],
    body: bytes,
) -> None:
    event = make_event(module_stub.store, "webinars", "published")
    headers = {**auth(), "Content-Type": "application/json"}
    response = http.post(module_stub.event_url("webinars", event.id, "cancel"), headers=headers, content=body)
    assert response.status_code == 204
    assert module_stub.store.find(event.id, "webinars")[0].status == "canceled"


@pytest.mark.parametrize("action", ["cancel", "publish"])
@pytest.mark.parametrize("body", [b'{"reason": "x"}', b"[]", b"not json", b"null"])
def test_action_with_a_body_is_refused_and_changes_nothing(
    module_stub: Stub,
    http: httpx.Client,
    auth: Callable[..., dict[str, str]],
    make_event: Callable[..., Event],
    action: str,
    body: bytes,
) -> None:
    event = make_event(module_stub.store, "townhalls", "draft")
    response = http.post(module_stub.event_url("townhalls", event.id, action), headers=auth(), content=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalidRequest"
    assert module_stub.store.find(event.id, "townhalls")[0].status == "draft"


def test_list_is_the_tenants_events_of_one_kind(
    module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]], make_event: Callable[..., Event]
) -> None:
    mine = make_event(module_stub.store, "webinars", "draft")
    theirs = make_event(module_stub.store, "webinars", "draft", tenant=OTHER_TENANT)
    headers = auth(roles=["VirtualEvent.Read.All"])
    response = http.get(module_stub.url("/solutions/virtualEvents/webinars"), headers=headers)
    assert response.status_code == 200
    ids = {e["id"] for e in response.json()["value"]}
    assert mine.id in ids and theirs.id not in ids
    assert all(e["@odata.type"] == CONTRACT.odata_types["webinars"] for e in response.json()["value"])


def test_a_modified_lifecycle_table_is_executed(
    start_stub: Callable[..., Stub],
    http: httpx.Client,
    auth: Callable[..., dict[str, str]],
    make_event: Callable[..., Event],
) -> None:
    # The hook the fakes catalogue uses: one rule switched, everything else as the spec says.
    from dataclasses import replace

    from vevents.server.settings import Settings

    table = {action: dict(rows) for action, rows in CONTRACT.lifecycle.items()}
    table["publish"]["canceled"] = replace(table["publish"]["canceled"], status=204, to="published", error=None)
    stub = start_stub(Settings(memory=True, lifecycle=table))
    event = make_event(stub.store, "webinars", "canceled")
    assert http.post(stub.event_url("webinars", event.id, "publish"), headers=auth()).status_code == 204
    assert stub.store.find(event.id, "webinars")[0].status == "published"


def test_update_accepts_members_of_derived_and_annotated_types(
    module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]], make_event: Callable[..., Event]
) -> None:
    # identity is polymorphic (a guest has `email`, a Teams user `tenantId`), so its members are
    # not closed; OData annotations such as `@odata.type` are allowed on any object.
    event = make_event(module_stub.store, "townhalls", "draft")
    body = {
        "invitedAttendees": [
            {"@odata.type": "#microsoft.graph.communicationsUserIdentity", "id": OTHER_USER, "tenantId": OTHER_TENANT},
            {"@odata.type": "#microsoft.graph.communicationsGuestIdentity", "id": "g1", "email": "guest@example.com"},
        ],
        "description": {"@odata.type": "#microsoft.graph.itemBody", "content": "<p>hi</p>", "contentType": "html"},
    }
    response = http.patch(module_stub.event_url("townhalls", event.id), json=body, headers=auth())
    assert response.status_code == 200, response.text
    assert response.json()["invitedAttendees"][1]["email"] == "guest@example.com"
