"""Subscribing through the official Python SDKs' builders (issue 23, acceptance 1).

`client.subscriptions.post(Subscription(...))` of msgraph-sdk against `/v1.0` and of
msgraph-beta-sdk against `/beta`: the receiver is validated before the SDK gets its 201, and a
cancel made through the SDK's route brings the `updated` notification within 2 s.
"""

from __future__ import annotations

import asyncio
import datetime
import importlib
import time
from typing import Any

import pytest
from conftest import SAMPLE_ID, Stub
from test_server_sdk import _client, _no_retries

from vevents.receiver import Receiver

pytestmark = [
    pytest.mark.sdk,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph_beta"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota"),
]

WEBINAR = f"solutions/virtualEvents/webinars/{SAMPLE_ID}"


async def _subscribe_and_cancel(package: str, client: Any, receiver: Receiver) -> tuple[Any, float]:
    subscription_type = importlib.import_module(f"{package}.generated.models.subscription").Subscription
    try:
        body = subscription_type(
            change_type="updated",
            notification_url=receiver.url,
            lifecycle_notification_url=receiver.lifecycle_url,
            resource=WEBINAR,
            expiration_date_time=datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=12),
            client_state="sdk-secret",
        )
        created = await client.subscriptions.post(body, request_configuration=_no_retries())
        assert len(receiver.handshakes()) == 2  # both URLs validated before the 201 came back
        fetched = await client.subscriptions.by_subscription_id(created.id).get()
        assert fetched.resource == WEBINAR
        canceled_at = time.monotonic()
        await client.solutions.virtual_events.events.by_virtual_event_id(SAMPLE_ID).cancel.post()
        return created, canceled_at
    finally:
        http_client = client.request_adapter._http_client
        await getattr(http_client._transport, "transport", http_client._transport).aclose()
        await http_client.aclose()


@pytest.mark.parametrize(("package", "version"), [("msgraph", "v1.0"), ("msgraph_beta", "beta")])
def test_sdk_subscription_gets_the_updated_notification(
    stub: Stub, make_token: Any, package: str, version: str
) -> None:
    with Receiver() as receiver:
        client = _client(package, f"{stub.base_url}/{version}", make_token())
        created, canceled_at = asyncio.run(_subscribe_and_cancel(package, client, receiver))
        (note,) = receiver.wait_for(1, timeout=2)
        assert time.monotonic() - canceled_at < 2
    assert created.client_state == "sdk-secret" and created.change_type == "updated"
    assert note["subscriptionId"] == created.id
    assert note["clientState"] == "sdk-secret"
    assert note["resource"] == WEBINAR
    assert note["resourceData"] == {"@odata.type": "#microsoft.graph.virtualEvent", "@odata.id": WEBINAR, "id": WEBINAR}
