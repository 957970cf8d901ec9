"""Acceptance 4: the official Microsoft Graph Python SDKs work against the stub.

`msgraph-sdk` against `/v1.0` and `msgraph-beta-sdk` against `/beta` (test extra): get the
sample webinar and town hall, create a town hall, publish and cancel it through the SDK's only
route (`/events/{id}/cancel|publish`), read back `canceled`, and see a 404 as an `ODataError`
with Graph's code and request id.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable
from typing import Any

import pytest
from conftest import SAMPLE_ID, Stub

pytestmark = [
    pytest.mark.sdk,
    pytest.mark.slow,
    # Import-time deprecation noise from the SDKs and their Kiota runtime; nothing to act on here.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota"),
]

MISSING_ID = "00000000-0000-4000-8000-000000000000@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba"


class FakeCredential:
    """An azure-identity credential that hands out a token the stub trusts."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 3600)


def _client(package: str, base_url: str, token: str) -> Any:
    sdk = pytest.importorskip(package)
    client = sdk.GraphServiceClient(credentials=FakeCredential(token), scopes=["https://graph.microsoft.com/.default"])
    client.request_adapter.base_url = base_url
    return client


def _no_retries() -> Any:
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from kiota_http.middleware.options import RetryHandlerOption

    return RequestConfiguration(options=[RetryHandlerOption(max_retries=0, should_retry=False)])


def _model(package: str, module: str, name: str) -> Any:
    return getattr(importlib.import_module(f"{package}.generated.models.{module}"), name)


async def _scenario(package: str, client: Any) -> None:
    try:
        await _calls(package, client)
    finally:
        # msgraph-core's AsyncGraphTransport has no aclose(), so closing the client leaves the
        # connection pool it wraps open: close that pool ourselves.
        http_client = client.request_adapter._http_client
        await getattr(http_client._transport, "transport", http_client._transport).aclose()
        await http_client.aclose()


async def _calls(package: str, client: Any) -> None:
    webinar_type = _model(package, "virtual_event_webinar", "VirtualEventWebinar")
    townhall_type = _model(package, "virtual_event_townhall", "VirtualEventTownhall")
    date_time = _model(package, "date_time_time_zone", "DateTimeTimeZone")
    audience = _model(package, "meeting_audience", "MeetingAudience")
    odata_error = _model(package, "o_data_errors.o_data_error", "ODataError")
    events = client.solutions.virtual_events
    config = _no_retries()

    webinar = await events.webinars.by_virtual_event_webinar_id(SAMPLE_ID).get(request_configuration=config)
    assert isinstance(webinar, webinar_type)
    assert webinar.id == SAMPLE_ID and webinar.status.value == "published"
    assert webinar.created_by.user.id == "b7ef013a-c73c-4ec7-8ccb-e56290f45f68"
    townhall = await events.townhalls.by_virtual_event_townhall_id(SAMPLE_ID).get(request_configuration=config)
    assert isinstance(townhall, townhall_type)
    assert townhall.capacity == 10000

    new = townhall_type(
        display_name="SDK town hall",
        start_date_time=date_time(date_time="2026-12-02T17:00:00", time_zone="UTC"),
        end_date_time=date_time(date_time="2026-12-02T18:00:00", time_zone="UTC"),
        audience=audience.Organization,
    )
    created = await events.townhalls.post(new, request_configuration=config)
    assert created.status.value == "draft" and "@" in created.id

    item = events.events.by_virtual_event_id(created.id)
    assert await item.publish.post(request_configuration=config) is None
    read = await events.townhalls.by_virtual_event_townhall_id(created.id).get(request_configuration=config)
    assert read.status.value == "published"
    assert await item.cancel.post(request_configuration=config) is None
    read = await events.townhalls.by_virtual_event_townhall_id(created.id).get(request_configuration=config)
    assert read.status.value == "canceled"

    with pytest.raises(odata_error) as caught:
        await events.webinars.by_virtual_event_webinar_id(MISSING_ID).get(request_configuration=config)
    error = caught.value
    assert error.response_status_code == 404
    assert error.error.code == "itemNotFound"
    assert len(error.error.inner_error.request_id) == 36
    assert error.error.inner_error.client_request_id
    assert error.error.inner_error.date is not None


@pytest.mark.parametrize(("package", "version"), [("msgraph", "v1.0"), ("msgraph_beta", "beta")])
def test_official_sdk_against_the_stub(stub: Stub, make_token: Callable[..., str], package: str, version: str) -> None:
    client = _client(package, f"{stub.base_url}/{version}", make_token())
    asyncio.run(_scenario(package, client))
