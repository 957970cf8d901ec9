"""Change notifications over real sockets (issue 23, acceptance 1).

A receiver in the test (vevents.receiver.Receiver, on 127.0.0.1) subscribes through plain HTTP
(the official SDKs' builders: tests/test_notifications_sdk.py), gets the handshake before the
201, and receives Graph's `updated` notification after a cancel. A failing handshake stores
nothing; renew, delete and expiry (an injected clock, never a sleep) behave as Graph
documents; failed deliveries are retried, every attempt journaled; a hostile receiver costs
the others nothing.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import OTHER_USER, SAMPLE_ID, Stub

from vevents.receiver import Receiver
from vevents.server.notifications.subscriptions import format_instant
from vevents.server.settings import Settings

WEBINAR = f"solutions/virtualEvents/webinars/{SAMPLE_ID}"
TOWNHALL = f"solutions/virtualEvents/townhalls/{SAMPLE_ID}"
NOW = datetime.datetime.now(datetime.UTC)


def _in(hours: float) -> str:
    return format_instant(datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=hours))


def _subscription(receiver: Receiver, resource: str = WEBINAR, **overrides: Any) -> dict[str, Any]:
    return {
        "changeType": "updated",
        "notificationUrl": receiver.url,
        "lifecycleNotificationUrl": receiver.lifecycle_url,
        "resource": resource,
        "expirationDateTime": _in(2),
        "clientState": "secretClientState",
        **overrides,
    }


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as running:
        yield running


@pytest.fixture
def quick(start_stub: Callable[..., Stub]) -> Stub:
    """A stub whose failed deliveries are retried after 10 ms, 20 ms (three attempts)."""
    return start_stub(Settings(memory=True, notify_retry_ms=10, notify_attempts=3))


def _subscribe(stub: Stub, headers: dict[str, str], body: dict[str, Any], version: str = "v1.0") -> httpx.Response:
    return httpx.post(stub.url("/subscriptions", version), headers=headers, json=body, timeout=15)


def _cancel(stub: Stub, headers: dict[str, str], kind: str = "webinars") -> None:
    answer = httpx.post(stub.event_url(kind, SAMPLE_ID, "cancel"), headers=headers, timeout=10)
    assert answer.status_code == 204


def _journal(stub: Stub, **filters: Any) -> list[dict[str, Any]]:
    entries = httpx.get(stub.base_url + "/_vevents/deliveries", params=filters, timeout=10).json()["value"]
    return list(entries)


@pytest.mark.parametrize("version", ["v1.0", "beta"])
def test_subscribe_handshake_first_then_updated_after_cancel(
    stub: Stub, auth: Callable[..., dict[str, str]], receiver: Receiver, version: str
) -> None:
    created = _subscribe(stub, auth(), _subscription(receiver), version)
    answered = time.monotonic()
    assert created.status_code == 201, created.text
    sub = created.json()
    # Both URLs were validated before the 201, each with the URL-decoded token echoed.
    assert [h.path for h in receiver.handshakes()] == ["/notifications", "/lifecycle"]
    assert all(h.at < answered for h in receiver.handshakes())
    assert sub["resource"] == WEBINAR and sub["changeType"] == "updated" and sub["clientState"] == "secretClientState"
    canceled_at = time.monotonic()
    _cancel(stub, auth())
    (note,) = receiver.wait_for(1, timeout=2)
    assert time.monotonic() - canceled_at < 2
    assert note == {
        "subscriptionId": sub["id"],
        "clientState": "secretClientState",
        "changeType": "updated",
        "tenantId": SAMPLE_ID.split("@")[1],
        "resource": WEBINAR,
        "subscriptionExpirationDateTime": sub["expirationDateTime"],
        "resourceData": {"@odata.type": "#microsoft.graph.virtualEvent", "@odata.id": WEBINAR, "id": WEBINAR},
    }
    (delivered,) = _journal(stub, kind="notification")
    assert delivered["outcome"] == "delivered" and delivered["status"] == 202 and delivered["attempt"] == 1


def test_publish_and_update_notify_too_and_townhalls_like_webinars(
    stub: Stub, auth: Callable[..., dict[str, str]], receiver: Receiver, make_event: Callable[..., Any]
) -> None:
    draft = make_event(stub.store, "townhalls", "draft")
    resource = f"solutions/virtualEvents/townhalls/{draft.id}"
    assert _subscribe(stub, auth(), _subscription(receiver, resource)).status_code == 201
    url = stub.event_url("townhalls", draft.id)
    assert httpx.patch(url, headers=auth(), json={"displayName": "renamed"}).status_code == 200
    assert httpx.post(url + "/publish", headers=auth()).status_code == 204
    notes = receiver.wait_for(2, timeout=2)
    assert [n["changeType"] for n in notes] == ["updated", "updated"]
    assert {n["resource"] for n in notes} == {resource}


def test_failing_handshake_is_400_and_stores_nothing(stub: Stub, auth: Callable[..., dict[str, str]]) -> None:
    with Receiver(echo="wrong") as wrong, Receiver(echo_content_type="application/json") as json_echo:
        for broken, message in ((wrong, "exactly match"), (json_echo, "text/plain")):
            answer = _subscribe(stub, auth(), _subscription(broken))
            assert answer.status_code == 400
            assert answer.json()["error"]["code"] == "invalidRequest"
            assert message in answer.json()["error"]["message"]
    assert httpx.get(stub.url("/subscriptions"), headers=auth()).json() == {"value": []}
    assert httpx.get(stub.base_url + "/_vevents/subscriptions").json() == {"value": []}
    # Nothing is ever sent for it.
    _cancel(stub, auth())
    assert _journal(stub, kind="notification") == []


def test_unreachable_receiver_is_400(stub: Stub, auth: Callable[..., dict[str, str]]) -> None:
    with Receiver() as gone:
        url = gone.url
    answer = _subscribe(stub, auth(), {**_subscription(gone), "notificationUrl": url})
    assert answer.status_code == 400
    assert "validation request failed" in answer.json()["error"]["message"]


def test_renew_get_list_delete(stub: Stub, auth: Callable[..., dict[str, str]], receiver: Receiver) -> None:
    sub = _subscribe(stub, auth(), _subscription(receiver)).json()
    url = stub.url(f"/subscriptions/{sub['id']}")
    later = _in(20)
    renewed = httpx.patch(url, headers=auth(), json={"expirationDateTime": later})
    assert renewed.status_code == 200 and renewed.json()["expirationDateTime"] == later
    assert httpx.get(url, headers=auth()).json()["expirationDateTime"] == later
    too_far = httpx.patch(url, headers=auth(), json={"expirationDateTime": _in(25)})
    assert too_far.status_code == 400
    assert too_far.json()["error"]["code"] == "ExtensionError"
    assert "1440 minutes" in too_far.json()["error"]["message"]
    assert [s["id"] for s in httpx.get(stub.url("/subscriptions"), headers=auth()).json()["value"]] == [sub["id"]]
    assert httpx.delete(url, headers=auth()).status_code == 204
    assert httpx.get(url, headers=auth()).status_code == 404
    _cancel(stub, auth())
    time.sleep(0.05)  # nothing may come: give a wrong delivery the chance to show
    assert receiver.notifications() == []
    assert _journal(stub, kind="notification") == []


def test_lifetime_limits_on_create(stub: Stub, auth: Callable[..., dict[str, str]], receiver: Receiver) -> None:
    for expiration, code in ((_in(24.5), "ExtensionError"), (_in(-1), "invalidRequest")):
        answer = _subscribe(stub, auth(), _subscription(receiver, expirationDateTime=expiration))
        assert answer.status_code == 400 and answer.json()["error"]["code"] == code
    assert receiver.handshakes() == []  # refused before any call to the receiver


def test_expiry_by_the_clock(stub: Stub, auth: Callable[..., dict[str, str]], receiver: Receiver) -> None:
    sub = _subscribe(stub, auth(), _subscription(receiver)).json()
    expires = datetime.datetime.fromisoformat(sub["expirationDateTime"].replace("0Z", "+00:00"))
    stub.app.notifications.clock = lambda: expires + datetime.timedelta(seconds=1)
    assert httpx.get(stub.url(f"/subscriptions/{sub['id']}"), headers=auth()).status_code == 404
    _cancel(stub, auth())
    time.sleep(0.05)
    assert receiver.notifications() == []
    # Expired, it no longer holds the resource: a new subscription to it is accepted.
    stub.app.notifications.clock = lambda: datetime.datetime.now(datetime.UTC)
    assert _subscribe(stub, auth(), _subscription(receiver)).status_code == 201


def test_one_subscription_per_resource_per_application(
    stub: Stub, auth: Callable[..., dict[str, str]], receiver: Receiver
) -> None:
    assert _subscribe(stub, auth(), _subscription(receiver)).status_code == 201
    again = _subscribe(stub, auth(), _subscription(receiver))
    assert again.status_code == 409
    # Another application (an application token) may subscribe to the same webinar.
    app = auth(roles=["VirtualEvent.Read.All"], user="12345678-1234-4234-8234-123456789012")
    assert _subscribe(stub, app, _subscription(receiver)).status_code == 201


def test_permissions_per_resource(stub: Stub, auth: Callable[..., dict[str, str]], receiver: Receiver) -> None:
    tenant_events = _subscription(receiver, "solutions/virtualEvents/events", changeType="created")
    # The tenant-level resource: application permissions only.
    assert _subscribe(stub, auth(), tenant_events).status_code == 403
    app = auth(roles=["VirtualEvent.Read.All"], user="12345678-1234-4234-8234-123456789012")
    assert _subscribe(stub, app, tenant_events).status_code == 201
    # A delegated user who does not organize the webinar may not subscribe to it.
    assert _subscribe(stub, auth(user=OTHER_USER), _subscription(receiver)).status_code == 403
    # Read.Chat is not a permission of change notifications.
    chat = auth(roles=["VirtualEvent.Read.Chat"], user="12345678-1234-4234-8234-123456789012")
    assert _subscribe(stub, chat, _subscription(receiver, TOWNHALL)).status_code == 403
    # Only the documented change types.
    assert _subscribe(stub, auth(), _subscription(receiver, changeType="deleted")).status_code == 400
    # The created notification of the tenant-level subscription.
    created = httpx.post(
        stub.url("/solutions/virtualEvents/webinars"),
        headers=auth(),
        json={
            "displayName": "new",
            "startDateTime": {"dateTime": "2026-12-01T17:00:00", "timeZone": "UTC"},
            "endDateTime": {"dateTime": "2026-12-01T18:00:00", "timeZone": "UTC"},
        },
    )
    assert created.status_code == 201, created.text
    (note,) = receiver.wait_for(1, timeout=2)
    assert note["changeType"] == "created" and note["resource"] == "solutions/virtualEvents/events"
    assert note["resourceData"]["@odata.id"] == f"solutions/virtualEvents/webinars/{created.json()['id']}"


def test_unknown_or_foreign_event_is_404(stub: Stub, auth: Callable[..., dict[str, str]], receiver: Receiver) -> None:
    missing = (
        "solutions/virtualEvents/webinars/00000000-0000-4000-8000-000000000000@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba"
    )
    assert _subscribe(stub, auth(), _subscription(receiver, missing)).status_code == 404
    assert _subscribe(stub, auth(), _subscription(receiver, "users/me/messages")).status_code == 400


def test_failed_deliveries_are_retried_and_journaled(
    quick: Stub, auth: Callable[..., dict[str, str]], receiver: Receiver
) -> None:
    sub = _subscribe(quick, auth(), _subscription(receiver)).json()
    httpx.put(quick.base_url + "/_vevents/deliveries/behaviour", json={"fail": 2}).raise_for_status()
    _cancel(quick, auth())
    (note,) = receiver.wait_for(1, timeout=3)
    assert note["subscriptionId"] == sub["id"]
    attempts = [(e["attempt"], e["outcome"], e["willRetry"]) for e in _journal(quick, kind="notification")]
    assert attempts == [(1, "failed", True), (2, "failed", True), (3, "delivered", False)]


def test_a_receiver_answering_500_is_retried_then_given_up(quick: Stub, auth: Callable[..., dict[str, str]]) -> None:
    with Receiver(notify_status=500) as failing:
        _subscribe(quick, auth(), _subscription(failing)).raise_for_status()
        _cancel(quick, auth())
        failing.wait_for(3, timeout=3)
    deadline = time.monotonic() + 3
    while len(_journal(quick, kind="notification")) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    entries = _journal(quick, kind="notification")
    assert [(e["attempt"], e["status"], e["willRetry"]) for e in entries] == [
        (1, 500, True),
        (2, 500, True),
        (3, 500, False),
    ]


def test_a_hostile_receiver_costs_the_others_nothing(stub: Stub, auth: Callable[..., dict[str, str]]) -> None:
    stub.app.notifications.delivery_timeout = 0.3
    with Receiver(notify_delay=30) as silent, Receiver() as healthy:
        _subscribe(stub, auth(), _subscription(silent)).raise_for_status()
        _subscribe(stub, auth(), _subscription(healthy, TOWNHALL)).raise_for_status()
        started = time.monotonic()
        _cancel(stub, auth())  # the silent one's webinar: never answered
        assert time.monotonic() - started < 2.5  # the API call never waits for the 30 s the receiver takes
        _cancel(stub, auth(), "townhalls")
        healthy.wait_for(1, timeout=2)
        deadline = time.monotonic() + 3
        while not _journal(stub, kind="notification", outcome="failed") and time.monotonic() < deadline:
            time.sleep(0.01)
        # Retries of the silent delivery may fail too before the journal is read (a loaded machine).
        failed = _journal(stub, kind="notification", outcome="failed")
        assert failed and all("no answer within 0.3 s" in entry["error"] for entry in failed)


def test_lifecycle_notifications_go_to_the_lifecycle_url(
    stub: Stub, auth: Callable[..., dict[str, str]], receiver: Receiver
) -> None:
    sub = _subscribe(stub, auth(), _subscription(receiver)).json()
    control = stub.base_url + f"/_vevents/subscriptions/{sub['id']}"
    for event in ("reauthorizationRequired", "missed", "subscriptionRemoved"):
        fired = httpx.post(control + "/lifecycle", json={"lifecycleEvent": event})
        assert fired.status_code == 202 and fired.json()["sent"] is True
    notes = receiver.wait_for(3, timeout=2, path="/lifecycle")
    assert [n["lifecycleEvent"] for n in notes] == ["reauthorizationRequired", "missed", "subscriptionRemoved"]
    assert {n["subscriptionId"] for n in notes} == {sub["id"]} and notes[0]["clientState"] == "secretClientState"
    assert all("resource" not in n for n in notes)
    assert httpx.get(stub.url(f"/subscriptions/{sub['id']}"), headers=auth()).status_code == 404  # removed


def test_targets_outside_loopback_need_the_allow_list(
    start_stub: Callable[..., Stub], auth: Callable[..., dict[str, str]], receiver: Receiver
) -> None:
    stub = start_stub()
    answer = _subscribe(stub, auth(), _subscription(receiver, notificationUrl="https://192.0.2.10/hook"))
    assert answer.status_code == 400 and "allow-listed" in answer.json()["error"]["message"]
    for url in ("ftp://127.0.0.1/x", "https://user:pw@127.0.0.1/x", "/relative"):
        assert _subscribe(stub, auth(), _subscription(receiver, notificationUrl=url)).status_code == 400


def test_subscriptions_survive_a_restart(
    tmp_path: Path, start_stub: Callable[..., Stub], auth: Callable[..., dict[str, str]], receiver: Receiver
) -> None:
    settings = Settings(db=str(tmp_path / "stub.db"))
    first = start_stub(settings)
    sub = _subscribe(first, auth(), _subscription(receiver)).json()
    first.app.notifications.store.close()
    second = start_stub(settings)
    assert httpx.get(second.url(f"/subscriptions/{sub['id']}"), headers=auth()).json()["id"] == sub["id"]
    _cancel(second, auth())
    assert receiver.wait_for(1, timeout=2)[0]["subscriptionId"] == sub["id"]
