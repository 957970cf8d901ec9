"""The Python `msgraph-sdk` over HTTPS with the local CA: its retry handler against injected 429s.

The stub serves HTTPS (`vevents.server.tls.local_ca`); the SDK is given an httpx client that
trusts that CA (`verify=`), as docs/sdk.md shows. Throttling is injected through the control API
(`POST /_vevents/faults`: 429 `TooManyRequests` with `Retry-After: 1`). A recording transport
under the SDK's middleware sees every attempt, so the tests assert what went over the wire:
how many attempts, their statuses, and that the SDK waited what `Retry-After` said (its own
default delay is 3 s plus backoff, so a wait near 1 s can only come from the header).
"""

from __future__ import annotations

import asyncio
import itertools
import ssl
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from conftest import SAMPLE_ID

from vevents.server.app import create_app
from vevents.server.background import serve_in_background
from vevents.server.settings import Settings
from vevents.server.tls import TlsFiles, local_ca

pytestmark = [
    pytest.mark.sdk,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota"),
]

RETRY_AFTER = 1


@dataclass
class Attempt:
    status: int
    sent: float
    received: float
    retry_after: str | None


@dataclass
class RecordingTransport(httpx.AsyncBaseTransport):
    """The real transport, noting each attempt the SDK's retry middleware makes through it."""

    inner: httpx.AsyncBaseTransport
    attempts: list[Attempt] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent = time.monotonic()
        response = await self.inner.handle_async_request(request)
        self.attempts.append(Attempt(response.status_code, sent, time.monotonic(), response.headers.get("retry-after")))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass
class HttpsStub:
    root: str
    tls: TlsFiles

    def trusting(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.tls.ca_cert))

    def add_fault(self, rule: dict[str, Any]) -> dict[str, Any]:
        with httpx.Client(verify=self.trusting(), timeout=10) as client:
            response = client.post(f"{self.root}/_vevents/faults", json=rule)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created


@pytest.fixture
def https_stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpsStub]:
    tls = local_ca(tmp_path_factory.getbasetemp() / "tls")
    with serve_in_background(create_app(Settings(memory=True)), tls=tls) as root:
        yield HttpsStub(root, tls)


class FakeCredential:
    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        from azure.core.credentials import AccessToken

        return AccessToken(self.token, int(time.time()) + 3600)


def _sdk_client(stub: HttpsStub, token: str, transport: RecordingTransport) -> Any:
    """GraphServiceClient over HTTPS: an httpx client that trusts the local CA, under the SDK's
    default middleware (retry included), given to the SDK's request adapter."""
    msgraph = pytest.importorskip("msgraph")
    from kiota_authentication_azure.azure_identity_authentication_provider import (
        AzureIdentityAuthenticationProvider,
    )
    from msgraph_core import GraphClientFactory

    http_client = GraphClientFactory.create_with_default_middleware(
        client=httpx.AsyncClient(transport=transport, timeout=30)
    )
    auth = AzureIdentityAuthenticationProvider(FakeCredential(token), scopes=["https://graph.microsoft.com/.default"])
    adapter = msgraph.GraphRequestAdapter(auth, client=http_client)
    adapter.base_url = f"{stub.root}/v1.0"
    return msgraph.GraphServiceClient(request_adapter=adapter)


async def _get_sample(client: Any, transport: RecordingTransport, options: list[Any] | None = None) -> Any:
    from kiota_abstractions.base_request_configuration import RequestConfiguration

    config = RequestConfiguration(options=options or [])
    try:
        item = client.solutions.virtual_events.webinars.by_virtual_event_webinar_id(SAMPLE_ID)
        return await item.get(request_configuration=config)
    finally:
        # msgraph-core's transport has no aclose(): closing the client would leave our pool open.
        await transport.aclose()
        await client.request_adapter._http_client.aclose()


def _throttle(stub: HttpsStub, **rule: Any) -> None:
    stub.add_fault(
        {
            "action": "throttle",
            "retryAfterSeconds": RETRY_AFTER,
            "match": {"operationId": "getWebinar", "eventId": SAMPLE_ID},
            **rule,
        }
    )


def _recording(stub: HttpsStub) -> RecordingTransport:
    return RecordingTransport(httpx.AsyncHTTPTransport(verify=stub.trusting()))


def test_sdk_retry_handler_succeeds_after_two_429s(https_stub: HttpsStub, make_token: Callable[..., str]) -> None:
    _throttle(https_stub, times=2)
    transport = _recording(https_stub)
    webinar = asyncio.run(_get_sample(_sdk_client(https_stub, make_token(), transport), transport))
    assert webinar.id == SAMPLE_ID and webinar.status.value == "published"
    attempts = transport.attempts
    assert [(a.status, a.retry_after) for a in attempts] == [
        (429, str(RETRY_AFTER)),
        (429, str(RETRY_AFTER)),
        (200, None),
    ]
    for before, after in itertools.pairwise(attempts):
        waited = after.sent - before.received
        assert RETRY_AFTER - 0.05 <= waited < RETRY_AFTER + 1.5, f"waited {waited:.2f} s, Retry-After {RETRY_AFTER}"


def test_sdk_reports_the_429_once_its_retries_run_out(https_stub: HttpsStub, make_token: Callable[..., str]) -> None:
    from kiota_http.middleware.options import RetryHandlerOption
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError

    _throttle(https_stub)  # every matching request
    transport = _recording(https_stub)
    client = _sdk_client(https_stub, make_token(), transport)
    with pytest.raises(ODataError) as caught:
        asyncio.run(_get_sample(client, transport, [RetryHandlerOption(max_retries=1)]))
    error = caught.value
    assert error.response_status_code == 429
    assert error.error.code == "TooManyRequests"
    assert len(error.error.inner_error.request_id) == 36
    assert [a.status for a in transport.attempts] == [429, 429]  # the first try and one retry
    assert transport.attempts[1].sent - transport.attempts[0].received >= RETRY_AFTER - 0.05
