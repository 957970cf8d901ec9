"""Every error is Graph's envelope with request ids - Connexion's own (validation, route 404,
405, security, media type) included. No problem+json anywhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import httpx
import pytest
from conftest import SAMPLE_ID, Stub

from vevents.server.settings import Settings
from vevents.server.store import Event, MemoryStore, StoreUnavailable

WEBINARS = "/solutions/virtualEvents/webinars"
NEW_WEBINAR = {
    "displayName": "x",
    "startDateTime": {"dateTime": "2026-12-01T17:00:00"},
    "endDateTime": {"dateTime": "2026-12-01T18:00:00"},
}


def assert_graph_error(
    response: httpx.Response, status: int, code: str | None = None, client_request_id: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code
    inner = error["innerError"]
    request_id = response.headers["request-id"]
    assert inner["request-id"] == request_id
    assert inner["client-request-id"] == response.headers["client-request-id"] == (client_request_id or request_id)
    assert len(inner["date"]) == 19 and inner["date"][10] == "T"
    return dict(error)


# (method, path, extra request kwargs, status, code) - each a Connexion- or router-raised error.
FRAMEWORK_ERRORS: list[Any] = [
    pytest.param("GET", "/v1.0/nowhere", {}, 404, "itemNotFound", id="route-404"),
    pytest.param("GET", "/v2.0" + WEBINARS, {}, 404, "itemNotFound", id="unknown-version-404"),
    pytest.param("GET", "/nothing-here", {}, 404, "itemNotFound", id="root-404"),  # "/" is the home page
    pytest.param("DELETE", f"/v1.0{WEBINARS}/{SAMPLE_ID}", {}, 405, "notSupported", id="405-delete"),
    pytest.param("PUT", f"/beta{WEBINARS}", {}, 405, "notSupported", id="405-put-collection"),
    pytest.param("GET", f"/v1.0{WEBINARS}/{SAMPLE_ID}/cancel", {}, 405, "notSupported", id="405-get-action"),
    pytest.param(
        "PATCH",
        f"/v1.0{WEBINARS}/{SAMPLE_ID}",
        {"json": {"displayName": 5}},
        400,
        "invalidRequest",
        id="body-schema-400",
    ),
    pytest.param(
        "POST", f"/v1.0{WEBINARS}", {"json": {"displayName": "only"}}, 400, "invalidRequest", id="missing-required-400"
    ),
    pytest.param(
        "PATCH",
        f"/v1.0{WEBINARS}/{SAMPLE_ID}",
        {"content": b"{bad", "headers": {"content-type": "application/json"}},
        400,
        "invalidRequest",
        id="invalid-json-400",
    ),
    pytest.param("PATCH", f"/v1.0{WEBINARS}/{SAMPLE_ID}", {}, 400, "invalidRequest", id="missing-body-400"),
    pytest.param(
        "POST",
        f"/v1.0{WEBINARS}",
        {"content": b"x", "headers": {"content-type": "text/plain"}},
        415,
        "invalidRequest",
        id="media-type-415",
    ),
    pytest.param(
        "GET",
        f"/v1.0{WEBINARS}/{SAMPLE_ID}",
        {"params": {"$select": "id,id"}},
        400,
        "invalidRequest",
        id="select-duplicate-400",
    ),
    pytest.param(
        "GET",
        f"/v1.0{WEBINARS}/{SAMPLE_ID}",
        {"params": {"$select": "bogus"}},
        400,
        "invalidRequest",
        id="select-enum-400",
    ),
]


@pytest.mark.parametrize(("method", "path", "kwargs", "status", "code"), FRAMEWORK_ERRORS)
def test_framework_errors_are_graph_envelopes(
    module_stub: Stub,
    http: httpx.Client,
    auth: Callable[..., dict[str, str]],
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
) -> None:
    headers = {**auth(), **kwargs.pop("headers", {})} if "headers" in kwargs else auth()
    response = http.request(method, module_stub.base_url + path, headers=headers, **kwargs)
    assert_graph_error(response, status, code)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("DELETE", f"{WEBINARS}/{SAMPLE_ID}", "GET, PATCH"),
        ("PUT", WEBINARS, "GET, POST"),
        ("GET", f"/solutions/virtualEvents/events/{SAMPLE_ID}/cancel", "POST"),
        ("PATCH", f"/solutions/virtualEvents/townhalls/{SAMPLE_ID}/publish", "POST"),
    ],
)
def test_405_lists_every_method_of_the_path(
    module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]], method: str, path: str, allow: str
) -> None:
    response = http.request(method, module_stub.url(path), headers=auth())
    assert_graph_error(response, 405, "notSupported")
    assert response.headers["allow"] == allow


def test_client_request_id_is_echoed_on_errors_and_successes(
    module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    error = http.get(module_stub.url("/nowhere"), headers={"client-request-id": "mine-1"})
    assert_graph_error(error, 404, client_request_id="mine-1")
    ok = http.get(module_stub.event_url("webinars", SAMPLE_ID), headers={**auth(), "client-request-id": "mine-2"})
    assert ok.status_code == 200
    assert ok.headers["client-request-id"] == "mine-2" and ok.headers["request-id"] != "mine-2"
    no_header = http.get(module_stub.event_url("webinars", SAMPLE_ID), headers=auth())
    assert no_header.headers["client-request-id"] == no_header.headers["request-id"]


def test_request_ids_are_unique(module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]) -> None:
    ids = {
        http.get(module_stub.event_url("webinars", SAMPLE_ID), headers=auth()).headers["request-id"] for _ in range(5)
    }
    assert len(ids) == 5


@pytest.mark.parametrize(
    "raw_id",
    [
        "abc",
        "x%2Fy",
        "x%0A",
        "%00",
        "bce9a3ca-a310-48fa-baf3-1cedcd04bb3f@tenant",
        "@",
        "bce9a3ca%40",
    ],
)
def test_malformed_ids_are_400(
    module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]], raw_id: str
) -> None:
    for path in (f"{WEBINARS}/{raw_id}", f"/solutions/virtualEvents/events/{raw_id}/cancel"):
        method = "GET" if path.startswith(WEBINARS) else "POST"
        assert_graph_error(http.request(method, module_stub.url(path), headers=auth()), 400, "invalidRequest")


def test_unknown_id_is_404(module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]) -> None:
    missing = "00000000-0000-4000-8000-000000000000@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba"
    for method, action in (("GET", None), ("PATCH", None), ("POST", "publish"), ("POST", "cancel")):
        kwargs: dict[str, Any] = {"json": {"displayName": "x"}} if method == "PATCH" else {}
        response = http.request(method, module_stub.event_url("townhalls", missing, action), headers=auth(), **kwargs)
        assert_graph_error(response, 404, "itemNotFound")


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"status": "published"}, "read-only"),
        ({"id": "x"}, "read-only"),
        ({"createdBy": None}, "read-only"),
        ({"notAProperty": 1}, "does not exist"),
        ({"capacity": 5}, "does not exist"),  # a town hall property, on a webinar
    ],
)
def test_update_refuses_read_only_and_unknown_properties(
    module_stub: Stub,
    http: httpx.Client,
    auth: Callable[..., dict[str, str]],
    make_event: Callable[..., Event],
    body: dict[str, Any],
    fragment: str,
) -> None:
    event = make_event(module_stub.store, "webinars", "draft")
    response = http.patch(module_stub.event_url("webinars", event.id), headers=auth(), json=body)
    assert fragment in assert_graph_error(response, 400, "invalidRequest")["message"]
    (stored,) = module_stub.store.find(event.id, "webinars")
    assert stored.resource == event.resource


def test_create_refuses_read_only_properties(
    module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    before = len(module_stub.store.list("webinars", "4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba"))
    response = http.post(module_stub.url(WEBINARS), headers=auth(), json={**NEW_WEBINAR, "status": "published"})
    assert_graph_error(response, 400, "invalidRequest")
    assert len(module_stub.store.list("webinars", "4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba")) == before


def test_create_refuses_the_other_kinds_odata_type(
    module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    body = {**NEW_WEBINAR, "@odata.type": "#microsoft.graph.virtualEventTownhall"}
    assert_graph_error(http.post(module_stub.url(WEBINARS), headers=auth(), json=body), 400, "invalidRequest")


def test_body_limit_413_by_content_length_and_by_chunks(
    start_stub: Callable[..., Stub], http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    stub = start_stub(Settings(memory=True, max_body_bytes=1000))
    big = b'{"displayName": "' + b"x" * 2000 + b'"}'
    headers = {**auth(), "content-type": "application/json"}
    assert_graph_error(http.post(stub.url(WEBINARS), headers=headers, content=big), 413)

    def chunks() -> Iterator[bytes]:
        yield big[:600]
        yield big[600:]

    assert_graph_error(http.post(stub.url(WEBINARS), headers=headers, content=chunks()), 413)
    assert_graph_error(http.post(stub.event_url("events", SAMPLE_ID, "cancel"), headers=headers, content=chunks()), 413)
    assert stub.store.find(SAMPLE_ID, "webinars")[0].status == "published"


def test_chunked_json_body_is_accepted(
    module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    import json

    body = json.dumps(NEW_WEBINAR).encode()
    response = http.post(
        module_stub.url(WEBINARS),
        headers={**auth(), "content-type": "application/json"},
        content=iter([body[:10], body[10:]]),
    )
    assert response.status_code == 201, response.text


def test_trailing_slash_is_ignored(module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]) -> None:
    response = http.get(module_stub.event_url("webinars", SAMPLE_ID) + "/", headers=auth())
    assert response.status_code == 200


class _BrokenStore(MemoryStore):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def find(self, event_id: str, kind: str | None = None) -> list[Event]:
        raise self.error


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (RuntimeError("boom"), 500, "generalException"),
        (StoreUnavailable("database is locked"), 503, "serviceNotAvailable"),
    ],
)
def test_unexpected_and_store_errors_are_envelopes(
    start_stub: Callable[..., Stub],
    http: httpx.Client,
    auth: Callable[..., dict[str, str]],
    error: Exception,
    status: int,
    code: str,
) -> None:
    stub = start_stub(Settings(memory=True), _BrokenStore(error))
    response = http.get(stub.event_url("webinars", SAMPLE_ID), headers=auth())
    body = assert_graph_error(response, status, code)
    assert "boom" not in body["message"]
    if status == 503:
        assert response.headers["retry-after"] == "1"


def test_no_problem_json_and_ids_on_every_response(
    module_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    requests: Sequence[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/v1.0/ui/", {}),
        ("GET", "/v1.0/openapi.json", {}),
        ("GET", f"/v1.0{WEBINARS}/{SAMPLE_ID}", {}),
        ("GET", f"/v1.0{WEBINARS}/{SAMPLE_ID}", {"headers": auth()}),
        ("OPTIONS", f"/v1.0{WEBINARS}", {"headers": auth()}),
        ("POST", f"/beta{WEBINARS}", {"headers": auth(), "content": b"[1]"}),
    ]
    for method, path, kwargs in requests:
        response = http.request(method, module_stub.base_url + path, **kwargs)
        assert "problem" not in response.headers.get("content-type", ""), (method, path)
        assert response.headers["request-id"] and response.headers["client-request-id"], (method, path)
