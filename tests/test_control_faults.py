"""Every fault kind over a real socket: what the client saw (status, headers, envelope, timing)
and that the stub's state is as arranged (a faulted write changed nothing).

Also the one uvicorn internal the drop fault uses (server/control/uvicorn.py): a dropped
connection is a reset the client sees, never a 500.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from conftest import SAMPLE_ID, Stub
from test_control_api import assert_envelope, control

from vevents.server.control.faults import parse_rule
from vevents.server.settings import Settings


def add(http: httpx.Client, stub: Stub, **rule: object) -> dict[str, object]:
    response = http.post(control(stub, "/faults"), json=rule)
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.parametrize(
    ("action", "status", "code"),
    [
        ("throttle", 429, "TooManyRequests"),
        ("unavailable", 503, "serviceNotAvailable"),
    ],
)
def test_throttle_and_unavailable_answer_graphs_error_with_retry_after(
    stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]], action: str, status: int, code: str
) -> None:
    rule = add(http, stub, action=action, retryAfterSeconds=7, match={"operationId": "cancelWebinar"}, times=2)
    for _ in range(2):
        response = http.post(
            stub.event_url("webinars", SAMPLE_ID, "cancel"), headers={**auth(), "client-request-id": "mine"}
        )
        assert_envelope(response, status, code)
        assert response.headers["retry-after"] == "7"
        assert response.headers["client-request-id"] == "mine"
        # Nothing changed: the write was refused before it reached the store.
        assert stub.store.find(SAMPLE_ID, "webinars")[0].status == "published"
    # The third matching request is answered normally; other operations were never touched.
    assert http.get(stub.event_url("townhalls", SAMPLE_ID), headers=auth()).status_code == 200
    assert http.post(stub.event_url("webinars", SAMPLE_ID, "cancel"), headers=auth()).status_code == 204
    assert stub.store.find(SAMPLE_ID, "webinars")[0].status == "canceled"
    listed = http.get(control(stub, f"/faults/{rule['id']}")).json()
    assert (listed["matched"], listed["fired"]) == (3, 2)
    journal = http.get(control(stub, "/journal"), params={"operationId": "cancelWebinar"}).json()["value"]
    assert [(e["status"], e["faultId"]) for e in journal] == [(status, rule["id"]), (status, rule["id"]), (204, None)]


def test_gateway_timeout_is_a_504_envelope_without_retry_after(
    stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    add(http, stub, action="gatewayTimeout", match={"method": "GET", "kind": "townhalls"})
    response = http.get(stub.event_url("townhalls", SAMPLE_ID), headers=auth())
    assert_envelope(response, 504, "gatewayTimeout")
    assert "retry-after" not in response.headers
    assert http.get(stub.event_url("webinars", SAMPLE_ID), headers=auth()).status_code == 200


def test_delay_answers_normally_but_late(stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]) -> None:
    add(http, stub, action="delay", delayMs=300, match={"operationId": "getWebinar"}, times=1)
    started = time.perf_counter()
    response = http.get(stub.event_url("webinars", SAMPLE_ID), headers=auth())
    elapsed = time.perf_counter() - started
    assert response.status_code == 200 and response.json()["id"] == SAMPLE_ID
    assert 0.3 <= elapsed < 5
    entry = http.get(control(stub, "/journal")).json()["value"][-1]
    assert entry["durationMs"] >= 300 and entry["faultId"] is not None


def test_drop_closes_the_connection_without_an_answer(stub: Stub, auth: Callable[..., dict[str, str]]) -> None:
    with httpx.Client(timeout=10) as http:
        add(http, stub, action="drop", match={"operationId": "cancelTownhall"}, times=1)
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            http.post(stub.event_url("townhalls", SAMPLE_ID, "cancel"), headers=auth())
        # Nothing reached the handler; the next request on a new connection is answered.
        assert stub.store.find(SAMPLE_ID, "townhalls")[0].status == "published"
        assert http.post(stub.event_url("townhalls", SAMPLE_ID, "cancel"), headers=auth()).status_code == 204
        entries = http.get(control(stub, "/journal"), params={"operationId": "cancelTownhall"}).json()["value"]
        assert [e["status"] for e in entries] == [0, 204]


def test_every_nth_fires_on_every_nth_matching_request(
    stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    add(
        http,
        stub,
        action="throttle",
        retryAfterSeconds=0,
        every=3,
        match={"eventId": SAMPLE_ID.upper().replace("@", "%40")},
    )
    statuses = [http.get(stub.event_url("webinars", SAMPLE_ID), headers=auth()).status_code for _ in range(7)]
    assert statuses == [200, 200, 429, 200, 200, 429, 200]


def test_probability_under_a_seed_repeats_exactly(
    stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    def run() -> list[int]:
        rule = add(http, stub, action="unavailable", retryAfterSeconds=0, probability=0.5, seed=7)
        statuses = [http.get(stub.event_url("webinars", SAMPLE_ID), headers=auth()).status_code for _ in range(20)]
        assert http.delete(control(stub, f"/faults/{rule['id']}")).status_code == 204
        return statuses

    first, second = run(), run()
    assert first == second
    assert 0 < first.count(503) < 20 and set(first) == {200, 503}


def test_first_matching_rule_decides_and_removed_rules_stop(
    stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    throttle = add(http, stub, action="throttle", match={"operationId": "getWebinar"})
    add(http, stub, action="gatewayTimeout")
    assert http.get(stub.event_url("webinars", SAMPLE_ID), headers=auth()).status_code == 429
    assert http.get(stub.event_url("townhalls", SAMPLE_ID), headers=auth()).status_code == 504
    http.delete(control(stub, f"/faults/{throttle['id']}"))
    assert http.get(stub.event_url("webinars", SAMPLE_ID), headers=auth()).status_code == 504
    http.delete(control(stub, "/faults"))
    assert http.get(stub.event_url("webinars", SAMPLE_ID), headers=auth()).status_code == 200


@pytest.mark.parametrize("fast_path", [True, False])
def test_faults_apply_on_the_fast_path_and_the_full_stack(
    start_stub: Callable[..., Stub], http: httpx.Client, auth: Callable[..., dict[str, str]], fast_path: bool
) -> None:
    stub = start_stub(Settings(memory=True, fast_path=fast_path))
    add(http, stub, action="throttle", match={"operationId": "getWebinar"}, times=1)
    assert http.get(stub.event_url("webinars", SAMPLE_ID), headers=auth()).status_code == 429
    assert http.get(stub.event_url("webinars", SAMPLE_ID), headers=auth()).status_code == 200


def test_command_line_rules_are_set_at_start_and_restored_by_reset(
    start_stub: Callable[..., Stub], http: httpx.Client, auth: Callable[..., dict[str, str]]
) -> None:
    stub = start_stub(Settings(memory=True, faults=("throttle:getTownhall:times=1:retry-after=2",)))
    first = http.get(stub.event_url("townhalls", SAMPLE_ID), headers=auth())
    assert_envelope(first, 429, "TooManyRequests")
    assert first.headers["retry-after"] == "2"
    assert http.get(stub.event_url("townhalls", SAMPLE_ID), headers=auth()).status_code == 200
    assert http.post(control(stub, "/reset")).status_code == 204
    assert http.get(stub.event_url("townhalls", SAMPLE_ID), headers=auth()).status_code == 429


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "throttle:cancelWebinar:times=2:retry-after=1",
            {"action": "throttle", "match": {"operationId": "cancelWebinar"}, "times": 2, "retryAfterSeconds": 1},
        ),
        ("unavailable:method=POST:every=3", {"action": "unavailable", "match": {"method": "POST"}, "every": 3}),
        (
            "gateway-timeout:kind=townhalls:probability=0.25:seed=7",
            {"action": "gatewayTimeout", "match": {"kind": "townhalls"}, "probability": 0.25, "seed": 7},
        ),
        ("delay:getWebinar:ms=250", {"action": "delay", "match": {"operationId": "getWebinar"}, "delayMs": 250}),
        ("drop:event=x@y", {"action": "drop", "match": {"eventId": "x@y"}}),
        ("drop", {"action": "drop"}),
    ],
)
def test_rule_syntax(text: str, expected: dict[str, object]) -> None:
    assert parse_rule(text) == expected


@pytest.mark.parametrize("text", ["", "explode", "throttle:times=x", "throttle:colour=red", "throttle:a:b"])
def test_bad_rule_syntax_is_explained(text: str) -> None:
    with pytest.raises(ValueError, match=r"\S"):
        parse_rule(text)


@pytest.mark.parametrize("rule", ["explode", "throttle:deleteWebinar", "drop:kind=meetings"])
def test_serve_refuses_a_bad_fault_rule(rule: str) -> None:
    from click.testing import CliRunner

    from vevents.cli import main

    result = CliRunner().invoke(main, ["serve", "--memory", "--port", "0", "--fault", rule])
    assert result.exit_code == 2
    assert "--fault" in result.output and rule in result.output
