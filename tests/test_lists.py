"""Lists by role, the tenant lists' `$count` and pages, `/$count`, setExternalEventInformation,
`@odata.context`, the OData content type, and Graph-worded validation messages - over plain
HTTP with each caller (organizer, read-only token, another user, application, no token).

In-process (httpx.ASGITransport): the socket is not the point here.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from conftest import OTHER_TENANT, OTHER_USER, SAMPLE_ID, SECRET

from vevents.server.app import create_app
from vevents.server.auth import SEED_ORGANIZER, SEED_TENANT, mint_token
from vevents.server.middleware import ODATA_JSON
from vevents.server.settings import Settings
from vevents.server.store import Event
from vevents.spec import contract

pytestmark = pytest.mark.anyio
BASE = "http://127.0.0.1:8080/v1.0/solutions/virtualEvents"
READ_ALL = "VirtualEvent.Read.All"

CALLERS: dict[str, dict[str, Any] | None] = {
    "organizer": {},
    "read-only": {"scopes": ["VirtualEvent.Read"]},
    "other user": {"user": OTHER_USER},
    "application": {"roles": [READ_ALL], "scopes": []},
    "no token": None,
}


def _headers(caller: str) -> dict[str, str]:
    claims = CALLERS[caller]
    return {} if claims is None else {"Authorization": f"Bearer {mint_token(secret=SECRET, **claims)}"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def _client(settings: Settings | None = None) -> tuple[httpx.AsyncClient, Any]:
    app = create_app(settings or Settings(memory=True))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8080"), app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    http, _ = await _client()
    async with http:
        yield http


def _assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == code
    assert set(error["innerError"]) == {"date", "request-id", "client-request-id"}
    return error


# ---------------------------------------------------------------- who may call what
ROLE_LIST = {
    "organizer": 200,
    "read-only": 200,
    "other user": 200,
    "application": 403,
    "no token": 401,
}


@pytest.mark.parametrize("kind", contract().kinds)
@pytest.mark.parametrize("caller", list(CALLERS))
async def test_get_by_user_role_is_delegated_only_and_lists_the_callers_events(
    client: httpx.AsyncClient, kind: str, caller: str
) -> None:
    response = await client.get(f"{BASE}/{kind}/getByUserRole(role='organizer')", headers=_headers(caller))
    expected = ROLE_LIST[caller]
    if expected != 200:
        _assert_error(response, expected, {401: "InvalidAuthenticationToken", 403: "Forbidden"}[expected])
        return
    body = response.json()
    odata_type = contract().odata_types[kind].lstrip("#")
    assert body["@odata.context"] == f"http://127.0.0.1:8080/v1.0/$metadata#Collection({odata_type})"
    assert [e["id"] for e in body["value"]] == ([SAMPLE_ID] if caller != "other user" else [])


USER_ID_AND_ROLE = {
    ("webinars", "organizer"): 200,
    ("webinars", "read-only"): 200,
    ("webinars", "other user"): 200,
    ("webinars", "application"): 200,
    ("townhalls", "organizer"): 403,
    ("townhalls", "read-only"): 403,
    ("townhalls", "other user"): 403,
    ("townhalls", "application"): 200,
}


@pytest.mark.parametrize("kind", contract().kinds)
@pytest.mark.parametrize("caller", list(CALLERS))
async def test_get_by_user_id_and_role_follows_graphs_permissions(
    client: httpx.AsyncClient, kind: str, caller: str
) -> None:
    # Graph's pages write a space after the comma; the SDKs none: both are served.
    path = f"{BASE}/{kind}/getByUserIdAndRole(userId='{SEED_ORGANIZER.upper()}', role='organizer')"
    response = await client.get(path, headers=_headers(caller))
    expected = 401 if caller == "no token" else USER_ID_AND_ROLE[(kind, caller)]
    if expected != 200:
        _assert_error(response, expected, {401: "InvalidAuthenticationToken", 403: "Forbidden"}[expected])
        return
    assert [e["id"] for e in response.json()["value"]] == [SAMPLE_ID]


TENANT_LIST = {"organizer": 403, "read-only": 403, "other user": 403, "application": 200, "no token": 401}


@pytest.mark.parametrize("caller", list(CALLERS))
async def test_tenant_list_and_count_segment_are_application_only(client: httpx.AsyncClient, caller: str) -> None:
    listed = await client.get(f"{BASE}/townhalls?$count=true", headers=_headers(caller))
    counted = await client.get(f"{BASE}/townhalls/$count", headers=_headers(caller))
    expected = TENANT_LIST[caller]
    if expected != 200:
        code = {401: "InvalidAuthenticationToken", 403: "Forbidden"}[expected]
        _assert_error(listed, expected, code)
        _assert_error(counted, expected, code)
        return
    body = listed.json()
    assert body["@odata.context"] == "http://127.0.0.1:8080/v1.0/$metadata#solutions/virtualEvents/townhalls"
    assert body["@odata.count"] == 1 and len(body["value"]) == 1
    assert counted.status_code == 200 and counted.text == "1"
    assert counted.headers["content-type"].startswith("text/plain")


# ---------------------------------------------------------------- the lists' content
def _event(kind: str, number: int, *, organizer: str = SEED_ORGANIZER, co: str | None = None) -> Event:
    event_id = f"00000000-0000-4000-8000-{number:012d}@{SEED_TENANT}"
    resource = {
        "@odata.type": contract().odata_types[kind],
        "id": event_id,
        "status": "published",
        "displayName": f"event {number}",
        "createdBy": {"user": {"id": organizer, "tenantId": SEED_TENANT}},
        "coOrganizers": [{"id": co, "tenantId": SEED_TENANT}] if co else [],
    }
    return Event(kind=kind, id=event_id, tenant=SEED_TENANT, resource=resource)


async def test_lists_page_at_graphs_page_size_and_the_next_link_leads_on() -> None:
    size = contract().page_size
    http, app = await _client()
    app.store.reset([_event("webinars", n) for n in range(size + 5)])
    async with http:
        headers = _headers("application")
        first = (await http.get(f"{BASE}/webinars?$count=true&$select=id", headers=headers)).json()
        assert len(first["value"]) == size and first["@odata.count"] == size + 5
        second = (await http.get(first["@odata.nextLink"], headers=headers)).json()
        assert "@odata.nextLink" not in second and len(second["value"]) == 5
        ids = [e["id"] for e in first["value"] + second["value"]]
        assert ids == sorted(ids) and len(set(ids)) == size + 5
        assert set(second["value"][0]) == {"@odata.type", "id"}  # the link keeps $select
        small = (await http.get(f"{BASE}/webinars?$top=2", headers=headers)).json()
        assert len(small["value"]) == 2 and "$top=2" in small["@odata.nextLink"]
        made_up = await http.get(f"{BASE}/webinars?$skiptoken=nonsense", headers=headers)
        assert "$skiptoken" in _assert_error(made_up, 400, "invalidRequest")["message"]


async def test_get_by_user_role_tells_organizer_from_co_organizer_and_keeps_canceled_events() -> None:
    http, app = await _client()
    mine = _event("webinars", 1)
    co_organized = _event("webinars", 2, organizer=OTHER_USER, co=SEED_ORGANIZER)
    app.store.reset([mine, co_organized, _event("webinars", 3, organizer=OTHER_USER)])
    async with http:
        headers = _headers("organizer")
        cancel = await http.post(f"{BASE}/webinars/{quote(mine.id)}/cancel", headers=headers)
        assert cancel.status_code == 204
        organizer = (await http.get(f"{BASE}/webinars/getByUserRole(role='organizer')", headers=headers)).json()
        assert [(e["id"], e["status"]) for e in organizer["value"]] == [(mine.id, "canceled")]
        co = (await http.get(f"{BASE}/webinars/getByUserRole(role='coOrganizer')", headers=headers)).json()
        assert [e["id"] for e in co["value"]] == [co_organized.id]


# ---------------------------------------------------------------- setExternalEventInformation
SET_EXTERNAL = {"organizer": 204, "read-only": 403, "other user": 403, "application": 403, "no token": 401}


@pytest.mark.parametrize("route", ["webinars", "townhalls", "events"])
@pytest.mark.parametrize("caller", list(CALLERS))
async def test_set_external_event_information_then_the_organizer_sees_it(
    client: httpx.AsyncClient, route: str, caller: str
) -> None:
    url = f"{BASE}/{route}/{quote(SAMPLE_ID)}/setExternalEventInformation"
    response = await client.post(url, json={"externalEventId": "crm-1"}, headers=_headers(caller))
    expected = SET_EXTERNAL[caller]
    if expected != 204:
        _assert_error(response, expected, {401: "InvalidAuthenticationToken", 403: "Forbidden"}[expected])
        return
    assert response.status_code == 204 and response.content == b""
    kinds = contract().kinds if route == "events" else (route,)
    for kind in kinds:
        read = (await client.get(f"{BASE}/{kind}/{quote(SAMPLE_ID)}", headers=_headers("organizer"))).json()
        assert [e["externalEventId"] for e in read["externalEventInformation"]] == ["crm-1"]
        assert read["externalEventInformation"][0]["applicationId"] is None  # vevents' tokens name no client app
        other = (await client.get(f"{BASE}/{kind}/{quote(SAMPLE_ID)}", headers=_headers("other user"))).json()
        assert other["externalEventInformation"] is None  # Graph: returned only to (co-)organizers


async def test_set_external_event_information_replaces_the_callers_entry_and_refuses_bad_bodies(
    client: httpx.AsyncClient,
) -> None:
    url = f"{BASE}/webinars/{quote(SAMPLE_ID)}/setExternalEventInformation"
    headers = _headers("organizer")
    crm = {"Authorization": f"Bearer {mint_token(secret=SECRET, appid='11111111-aaaa-4bbb-8ccc-000000000001')}"}
    for value in ("first", "second"):
        assert (await client.post(url, json={"externalEventId": value}, headers=headers)).status_code == 204
    assert (await client.post(url, json={"externalEventId": "crm"}, headers=crm)).status_code == 204
    read = (await client.get(f"{BASE}/webinars/{quote(SAMPLE_ID)}", headers=headers)).json()
    entries = {e["applicationId"]: e["externalEventId"] for e in read["externalEventInformation"]}
    assert entries == {None: "second", "11111111-aaaa-4bbb-8ccc-000000000001": "crm"}
    for body in ({"externalEventId": "x" * 257}, {"externalEventId": 5}, {}, {"externalEventId": "a", "b": 1}):
        message = _assert_error(await client.post(url, json=body, headers=headers), 400, "invalidRequest")["message"]
        assert "externalEventId" in message or "'b'" in message, message


# ---------------------------------------------------------------- messages, content type
@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/webinars/0", "'0'"),
        ("/townhalls/not-an-id/cancel", "'not-an-id'"),
        ("/webinars/getByUserRole(role='presenter')", "'role'"),
        ("/webinars/getByUserIdAndRole(userId='bob',role='organizer')", "'userId'"),
        ("/webinars?$count=maybe", "'$count'"),
        ("/webinars?$top=0", "'$top'"),
        (f"/webinars/{quote(SAMPLE_ID)}?$select=nope", "'nope'"),
    ],
)
async def test_validation_messages_name_the_id_or_parameter_never_a_pattern(
    client: httpx.AsyncClient, path: str, named: str
) -> None:
    method = "POST" if path.endswith("/cancel") else "GET"
    headers = _headers("application" if "?$" in path and "$select" not in path else "organizer")
    if "getByUserIdAndRole" in path:
        headers = _headers("application")
    message = _assert_error(await client.request(method, BASE + path, headers=headers), 400, "invalidRequest")[
        "message"
    ]
    assert named in message
    for library_words in ("does not match", "^[", "is not one of", "is not of type", "Failed validating"):
        assert library_words not in message


async def test_body_messages_name_the_property(client: httpx.AsyncClient) -> None:
    url = f"{BASE}/webinars/{quote(SAMPLE_ID)}"
    response = await client.patch(url, json={"displayName": 5}, headers=_headers("organizer"))
    assert _assert_error(response, 400, "invalidRequest")["message"] == (
        "Invalid value for the property 'displayName': expected a string."
    )


async def test_odata_content_type_setting_labels_every_graph_json_answer() -> None:
    http, _ = await _client(Settings(memory=True, odata_content_type=True))
    async with http:
        read = await http.get(f"{BASE}/webinars/{quote(SAMPLE_ID)}", headers=_headers("organizer"))
        assert read.headers["content-type"] == ODATA_JSON
        assert read.json()["@odata.context"].endswith("/$metadata#solutions/virtualEvents/webinars/$entity")
        missing = await http.get(f"{BASE}/webinars/{quote(SAMPLE_ID)}", headers={})
        assert missing.headers["content-type"] == ODATA_JSON and "error" in json.loads(missing.content)
        counted = await http.get(f"{BASE}/webinars/$count", headers=_headers("application"))
        assert counted.headers["content-type"].startswith("text/plain")


async def test_another_tenants_events_are_never_listed() -> None:
    http, app = await _client()
    foreign = _event("webinars", 9)
    foreign_id = foreign.id.replace(SEED_TENANT, OTHER_TENANT)
    app.store.reset(
        [Event("webinars", foreign_id, OTHER_TENANT, {**foreign.resource, "id": foreign_id}), _event("webinars", 1)]
    )
    async with http:
        for path in (
            "/webinars",
            "/webinars/$count",
            f"/webinars/getByUserIdAndRole(userId='{SEED_ORGANIZER}',role='organizer')",
        ):
            response = await http.get(BASE + path, headers=_headers("application"))
            assert foreign_id not in response.text
