"""Acceptance 2: the auth table, over a real socket. Every refusal is Graph's envelope and
changes nothing in the store."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import OTHER_TENANT, OTHER_USER, SAMPLE_ID, SECRET, Stub

from vevents.server.auth import SEED_TENANT
from vevents.server.settings import Settings
from vevents.server.store import Event
from vevents.spec import contract

CONTRACT = contract()
OPERATIONS = ("get", "update", "publish", "cancel", "cancel-via-events", "create")
_WRITES = ("update", "publish", "cancel", "cancel-via-events", "create")


def _unsigned(**claims: Any) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def _all(status: int) -> dict[str, int]:
    return dict.fromkeys(OPERATIONS, status)


# credential case -> (how to build the Authorization header, expected status per operation)
CASES: dict[str, tuple[Callable[[Callable[..., str]], str | None], dict[str, int]]] = {
    "no token": (lambda mint: None, _all(401)),
    "empty bearer": (lambda mint: "Bearer", _all(401)),
    "basic scheme": (lambda mint: "Basic dXNlcjpwYXNz", _all(401)),
    "garbage token": (lambda mint: "Bearer not-a-jwt", _all(401)),
    "expired token": (lambda mint: f"Bearer {mint(expires_in=-60)}", _all(401)),
    "not yet valid": (lambda mint: f"Bearer {mint(nbf=int(time.time()) + 600)}", _all(401)),
    "wrong signature": (lambda mint: f"Bearer {mint(secret='another-secret-that-is-at-least-32-bytes')}", _all(401)),
    "alg none": (
        lambda mint: (
            "Bearer "
            + _unsigned(
                aud="https://graph.microsoft.com",
                tid=SEED_TENANT,
                oid=OTHER_USER,
                scp="VirtualEvent.ReadWrite",
                iss=f"https://sts.windows.net/{SEED_TENANT}/",
                exp=int(time.time()) + 600,
            )
        ),
        _all(401),
    ),
    "wrong audience": (lambda mint: f"Bearer {mint(aud='https://management.azure.com')}", _all(401)),
    "issuer of another tenant": (
        lambda mint: f"Bearer {mint(iss=f'https://sts.windows.net/{OTHER_TENANT}/')}",
        _all(401),
    ),
    "read-only scope": (lambda mint: f"Bearer {mint(scopes=['VirtualEvent.Read'])}", {**_all(403), "get": 200}),
    "no scope": (lambda mint: f"Bearer {mint(scopes=[])}", _all(403)),
    "application token": (lambda mint: f"Bearer {mint(roles=['VirtualEvent.Read.All'])}", {**_all(403), "get": 200}),
    "application token claiming a delegated permission": (
        lambda mint: f"Bearer {mint(roles=['VirtualEvent.ReadWrite'])}",
        _all(403),
    ),
    "non-organizer": (
        lambda mint: f"Bearer {mint(user=OTHER_USER)}",
        {"get": 200, "update": 403, "publish": 403, "cancel": 403, "cancel-via-events": 403, "create": 201},
    ),
    "other tenant": (lambda mint: f"Bearer {mint(tenant=OTHER_TENANT, user=OTHER_USER)}", {**_all(404), "create": 201}),
}


def _call(
    http: httpx.Client, stub: Stub, operation: str, kind: str, event: Event, headers: dict[str, str]
) -> httpx.Response:
    if operation == "get":
        return http.get(stub.event_url(kind, event.id), headers=headers)
    if operation == "update":
        return http.patch(stub.event_url(kind, event.id), headers=headers, json={"displayName": "hijacked"})
    if operation == "create":
        body = {
            "displayName": "x",
            "startDateTime": {"dateTime": "2026-12-01T17:00:00"},
            "endDateTime": {"dateTime": "2026-12-01T18:00:00"},
        }
        return http.post(stub.url(f"/solutions/virtualEvents/{kind}"), headers=headers, json=body)
    if operation == "cancel-via-events":
        return http.post(stub.event_url("events", event.id, "cancel"), headers=headers)
    return http.post(stub.event_url(kind, event.id, operation), headers=headers)


def _snapshot(stub: Stub, kind: str) -> Any:
    return [(e.id, e.version, json.dumps(e.resource, sort_keys=True)) for e in stub.store.list(kind, SEED_TENANT)]


@pytest.mark.parametrize("kind", CONTRACT.kinds)
@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("case", list(CASES))
def test_auth_table(
    module_stub: Stub,
    http: httpx.Client,
    make_token: Callable[..., str],
    make_event: Callable[..., Event],
    case: str,
    operation: str,
    kind: str,
) -> None:
    build, expected = CASES[case]
    event = make_event(module_stub.store, kind, "draft")
    authorization = build(make_token)
    headers = {"client-request-id": f"auth-{case}"} | ({"Authorization": authorization} if authorization else {})
    before = _snapshot(module_stub, kind)

    response = _call(http, module_stub, operation, kind, event, headers)

    assert response.status_code == expected[operation], response.text
    assert response.headers["request-id"]
    assert response.headers["client-request-id"] == f"auth-{case}"
    if response.status_code >= 400:
        assert response.headers["content-type"] == "application/json"
        error = response.json()["error"]
        assert (
            error["code"]
            == {401: "InvalidAuthenticationToken", 403: "Forbidden", 404: "itemNotFound"}[response.status_code]
        )
        assert error["innerError"]["request-id"] == response.headers["request-id"]
        assert error["innerError"]["client-request-id"] == f"auth-{case}"
        if response.status_code == 401:
            assert response.headers["www-authenticate"].startswith("Bearer")
    if (operation in _WRITES and response.status_code >= 400) or operation == "get":
        assert _snapshot(module_stub, kind) == before


def test_other_tenant_cannot_tell_existing_from_missing(
    module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    headers = auth(tenant=OTHER_TENANT, user=OTHER_USER)
    existing = http.get(module_stub.event_url("webinars", SAMPLE_ID), headers=headers)
    missing_id = "00000000-0000-4000-8000-000000000000@" + SEED_TENANT
    missing = http.get(module_stub.event_url("webinars", missing_id), headers=headers)
    assert existing.status_code == missing.status_code == 404
    assert existing.json()["error"]["code"] == missing.json()["error"]["code"]


def test_co_organizer_may_update_but_not_cancel(
    module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]], make_event: Callable[..., Event]
) -> None:
    event = make_event(module_stub.store, "webinars", "published", co_organizers=[OTHER_USER])
    headers = auth(user=OTHER_USER)
    response = http.patch(module_stub.event_url("webinars", event.id), headers=headers, json={"displayName": "co"})
    assert response.status_code == 200
    assert http.post(module_stub.event_url("webinars", event.id, "cancel"), headers=headers).status_code == 403
    assert module_stub.store.find(event.id, "webinars")[0].status == "published"


def test_cached_token_still_expires(
    module_stub: Stub, http: httpx.Client, make_token: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The verifier's injected clock moves past `exp`: no sleep waits for the wall clock.
    verifier = module_stub.app.authenticator
    headers = {"Authorization": f"Bearer {make_token(expires_in=60)}"}
    url = module_stub.event_url("webinars", SAMPLE_ID)
    assert http.get(url, headers=headers).status_code == 200  # now cached
    monkeypatch.setattr(verifier, "clock", lambda: time.time() + 61)
    response = http.get(url, headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    # And a token the verifier has not seen yet is judged by the same clock, not the wall's.
    fresh = {"Authorization": f"Bearer {make_token(expires_in=30)}"}
    assert http.get(url, headers=fresh).status_code == 401


def test_permissive_mode_takes_any_bearer_token_as_the_seed_organizer(
    start_stub: Callable[..., Stub], http: httpx.Client
) -> None:
    stub = start_stub(Settings(memory=True, auth_mode="permissive"))
    headers = {"Authorization": "Bearer anything-at-all"}
    assert http.post(stub.event_url("events", SAMPLE_ID, "cancel"), headers=headers).status_code == 204
    assert http.get(stub.event_url("webinars", SAMPLE_ID), headers=headers).json()["status"] == "canceled"
    assert http.get(stub.url("/solutions/virtualEvents/townhalls"), headers=headers).status_code == 200
    assert http.get(stub.event_url("webinars", SAMPLE_ID)).status_code == 401


def test_secret_is_masked_in_settings_repr() -> None:
    assert SECRET not in repr(Settings()) and "***" in repr(Settings())
