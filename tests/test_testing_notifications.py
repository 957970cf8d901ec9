"""The `vevents_stub` fixture's notification controls, as an integrator uses them (docs/notifications.md)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from vevents.receiver import Receiver

SAMPLE = "bce9a3ca-a310-48fa-baf3-1cedcd04bb3f@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba"
WEBINAR = f"solutions/virtualEvents/webinars/{SAMPLE}"


@pytest.fixture
def subscribed(vevents_stub: Any) -> Iterator[tuple[Receiver, dict[str, Any]]]:
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    with Receiver() as receiver:
        answer = httpx.post(
            vevents_stub.base_url + "/subscriptions",
            headers=vevents_stub.headers(),
            json={
                "changeType": "updated",
                "notificationUrl": receiver.url,
                "lifecycleNotificationUrl": receiver.lifecycle_url,
                "resource": WEBINAR,
                "expirationDateTime": expires.isoformat(),
                "clientState": "fixture-secret",
            },
        )
        assert answer.status_code == 201, answer.text
        yield receiver, answer.json()


def test_wait_for_the_next_delivery_after_a_cancel(vevents_stub: Any, subscribed: Any) -> None:
    receiver, sub = subscribed
    after = vevents_stub.last_delivery_seq()
    httpx.post(vevents_stub.event_url("webinars", SAMPLE, "cancel"), headers=vevents_stub.headers()).raise_for_status()
    delivery = vevents_stub.next_delivery(after=after, timeout=2)
    assert delivery["outcome"] == "delivered" and delivery["subscriptionId"] == sub["id"]
    assert delivery["payload"]["value"][0]["changeType"] == "updated"
    assert receiver.wait_for(1)[0]["clientState"] == "fixture-secret"
    assert [s["id"] for s in vevents_stub.subscriptions()] == [sub["id"]]


def test_fire_a_notification_and_a_lifecycle_event(vevents_stub: Any, subscribed: Any) -> None:
    receiver, sub = subscribed
    vevents_stub.fire_notification(sub["id"])
    assert vevents_stub.next_delivery(after=0, subscription_id=sub["id"])["label"] == "updated"
    assert vevents_stub.fire_lifecycle(sub["id"], "reauthorizationRequired") is True
    lifecycle = vevents_stub.next_delivery(after=0, kind="lifecycle")
    assert lifecycle["payload"]["value"][0]["lifecycleEvent"] == "reauthorizationRequired"
    assert receiver.wait_for(1, path="/lifecycle")[0]["subscriptionId"] == sub["id"]


def test_expire_and_failures(vevents_stub: Any, subscribed: Any) -> None:
    receiver, sub = subscribed
    vevents_stub.shape_deliveries(fail=1, fail_status=503)
    vevents_stub.fire_notification(sub["id"])
    failed = vevents_stub.next_delivery(after=0, outcome="failed")
    assert failed["status"] == 503 and failed["willRetry"] is True
    vevents_stub.expire_subscription(sub["id"])
    assert vevents_stub.subscriptions() == []
    # The retry finds the subscription expired: journaled as not sent, nothing arrives.
    assert vevents_stub.next_delivery(after=failed["seq"], outcome="not sent", timeout=5)["attempt"] == 2
    assert receiver.notifications() == []


def test_a_reset_forgets_subscriptions_and_deliveries(vevents_stub: Any, subscribed: Any) -> None:
    vevents_stub.reset()
    assert vevents_stub.subscriptions() == []
    assert vevents_stub.deliveries() == []
