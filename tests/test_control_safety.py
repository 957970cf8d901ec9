"""Who may use the control API, over real sockets (server/control/gate.py).

The stub's listen address decides (`Settings.host`): a test cannot bind a public interface,
so a "non-loopback" stub is one whose settings say 0.0.0.0 while the test serves it on
127.0.0.1 - exactly the decision `vevents serve --host 0.0.0.0` makes. A second loopback
address (127.0.0.2) shows that every 127.x address is loopback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest
from conftest import SAMPLE_ID, Stub, running_stub
from test_control_api import assert_envelope, control

from vevents.server.app import create_app
from vevents.server.background import serve_in_background
from vevents.server.control.gate import is_loopback
from vevents.server.settings import Settings

TOKEN = "control-token-for-the-safety-tests"
CONTROL_PATHS = [
    ("GET", "/health"),
    ("POST", "/reset"),
    ("GET", "/events"),
    ("GET", "/journal"),
    ("DELETE", "/journal"),
    ("GET", "/faults"),
    ("POST", "/faults"),
    ("DELETE", "/faults"),
    ("GET", "/lag"),
    ("PUT", "/lag"),
    ("DELETE", "/lag"),
    ("POST", "/tokens"),
    ("GET", "/nothing"),
]


def request(http: httpx.Client, stub: Stub, method: str, path: str, **kwargs: object) -> httpx.Response:
    body = {"action": "throttle"} if path == "/faults" and method == "POST" else {"ms": 5} if path == "/lag" else None
    return http.request(method, control(stub, path), json=body, **kwargs)  # type: ignore[arg-type]


def assert_untouched(stub: Stub) -> None:
    assert stub.app.control.faults.rules() == []
    assert stub.app.control.lag.global_ms == 0
    assert [e.status for e in stub.store.find(SAMPLE_ID)] == ["published", "published"]


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.0.0.2", "127.255.0.9"])
def test_loopback_hosts(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "10.0.0.1", "example.com", "localhost.example.com"])
def test_other_hosts(host: str) -> None:
    assert not is_loopback(host)


# Module-wide stubs: the tests that use them are refused and must leave them untouched.
@pytest.fixture(scope="module")
def public_stub() -> Iterator[Stub]:
    with running_stub(Settings(memory=True, host="0.0.0.0")) as stub:
        yield stub


@pytest.mark.parametrize(("method", "path"), CONTROL_PATHS)
def test_off_on_a_public_address_without_a_token(
    public_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]], method: str, path: str
) -> None:
    response = request(http, public_stub, method, path, headers=auth())
    error = assert_envelope(response, 404, "itemNotFound")
    assert error["message"] == "Resource not found for the request URL."
    assert_untouched(public_stub)


def test_graph_routes_still_answer_when_control_is_off(
    public_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    assert http.get(public_stub.event_url("webinars", SAMPLE_ID), headers=auth()).status_code == 200
    unknown = http.get(f"{public_stub.base_url}/v1.0/nothing", headers=auth())
    off = http.get(control(public_stub, "/health"))
    # Off looks exactly like a path Graph does not have.
    assert (off.status_code, off.json()["error"]["code"], off.json()["error"]["message"]) == (
        unknown.status_code,
        unknown.json()["error"]["code"],
        unknown.json()["error"]["message"],
    )


@pytest.fixture(scope="module", params=["0.0.0.0", "127.0.0.1"])
def token_stub(request: pytest.FixtureRequest) -> Iterator[Stub]:
    with running_stub(Settings(memory=True, host=request.param, control_token=TOKEN)) as stub:
        yield stub


@pytest.mark.parametrize(("method", "path"), CONTROL_PATHS)
@pytest.mark.parametrize("who", ["none", "wrong", "graph", "basic", "prefix"])
def test_with_a_token_every_control_call_needs_it(
    token_stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]], method: str, path: str, who: str
) -> None:
    headers = {
        "none": {},
        "wrong": {"Authorization": f"Bearer {TOKEN}x"},
        "graph": auth(),
        "basic": {"Authorization": f"Basic {TOKEN}"},
        "prefix": {"Authorization": f"Bearer {TOKEN[:-1]}"},
    }[who]
    response = request(http, token_stub, method, path, headers=headers)
    error = assert_envelope(response, 401, "InvalidAuthenticationToken")
    assert "control token" in error["message"]
    assert_untouched(token_stub)


def test_with_the_token_the_control_api_answers(token_stub: Stub, http: httpx.Client) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert http.get(control(token_stub, "/health"), headers=headers).status_code == 200
    added = http.post(control(token_stub, "/faults"), headers=headers, json={"action": "delay", "delayMs": 1})
    assert added.status_code == 201
    # The Host and Origin rules are for token-less stubs only: the token is the proof.
    foreign = {**headers, "Host": "stub.example.com", "Origin": "https://elsewhere.example"}
    assert http.get(control(token_stub, "/faults"), headers=foreign).json()["value"][0]["id"] == added.json()["id"]
    assert http.delete(control(token_stub, "/faults"), headers=headers).status_code == 204


def test_graph_routes_refuse_the_control_token(token_stub: Stub, http: httpx.Client) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    read = http.get(token_stub.event_url("webinars", SAMPLE_ID), headers=headers)
    assert_envelope(read, 401, "InvalidAuthenticationToken")
    assert read.headers["www-authenticate"].startswith("Bearer")
    cancel = http.post(token_stub.event_url("webinars", SAMPLE_ID, "cancel"), headers=headers)
    assert_envelope(cancel, 401, "InvalidAuthenticationToken")
    assert_untouched(token_stub)


def test_permissive_graph_routes_refuse_the_control_token_too(
    start_stub: Callable[..., Stub], http: httpx.Client
) -> None:
    stub = start_stub(Settings(memory=True, auth_mode="permissive", control_token=TOKEN))
    cancel = http.post(stub.event_url("webinars", SAMPLE_ID, "cancel"), headers={"Authorization": f"Bearer {TOKEN}"})
    assert_envelope(cancel, 401, "InvalidAuthenticationToken")
    assert_untouched(stub)
    assert (
        http.post(
            stub.event_url("webinars", SAMPLE_ID, "cancel"), headers={"Authorization": "Bearer anything-else"}
        ).status_code
        == 204
    )


def test_several_workers_turn_it_off(start_stub: Callable[..., Stub], http: httpx.Client) -> None:
    # The settings of one worker of `vevents serve --workers 2` (state would not be shared).
    stub = start_stub(Settings(memory=True, workers=2, control_token=TOKEN))
    response = http.get(control(stub, "/health"), headers={"Authorization": f"Bearer {TOKEN}"})
    assert_envelope(response, 404, "itemNotFound")


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "attacker.example"},
        {"Host": "attacker.example:8080"},
        {"Host": "127.0.0.1.attacker.example"},
        {"Origin": "https://attacker.example"},
        {"Origin": "http://127.0.0.1.attacker.example:8080"},
    ],
)
def test_tokenless_stub_refuses_foreign_hosts_and_origins(
    stub: Stub, http: httpx.Client, headers: dict[str, str]
) -> None:
    response = http.post(control(stub, "/faults"), json={"action": "throttle"}, headers=headers)
    assert_envelope(response, 403, "Forbidden")
    assert_untouched(stub)


@pytest.mark.parametrize(
    "headers", [{"Host": "localhost"}, {"Origin": "http://localhost:3000"}, {"Origin": "null"}, {"Host": "[::1]:8080"}]
)
def test_tokenless_stub_answers_loopback_hosts_and_origins(
    stub: Stub, http: httpx.Client, headers: dict[str, str]
) -> None:
    assert http.get(control(stub, "/health"), headers=headers).status_code == 200


@pytest.fixture
def second_loopback_stub() -> Iterator[str]:
    settings = Settings(memory=True, host="127.0.0.2")
    try:
        with serve_in_background(create_app(settings), host="127.0.0.2") as base_url:
            yield base_url
    except OSError as exc:  # some sandboxes route only 127.0.0.1
        pytest.skip(f"cannot bind 127.0.0.2: {exc}")


def test_another_loopback_address_is_loopback(second_loopback_stub: str, http: httpx.Client) -> None:
    assert second_loopback_stub.startswith("http://127.0.0.2:")
    response = http.get(f"{second_loopback_stub}/_vevents/health")
    assert response.status_code == 200 and response.json()["status"] == "ok"
