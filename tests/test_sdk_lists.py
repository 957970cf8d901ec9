"""Lists by role, `$count`, `/$count` and setExternalEventInformation through the official SDKs.

`msgraph-sdk` against `/v1.0` and `msgraph-beta-sdk` against `/beta`, each call through the
SDK's own builder (`get_by_user_role_with_role`, `get_by_user_id_and_role_with_user_id_with_role`,
`count`, the list's `$count` query parameter, `events.by_virtual_event_id(...)
.set_external_event_information`), as an integrator's code makes it.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import Any

import pytest
from conftest import SAMPLE_ID, Stub
from test_server_sdk import _client, _model, _no_retries

from vevents.server.auth import SEED_ORGANIZER

pytestmark = [
    pytest.mark.sdk,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota"),
]


def _builder_module(package: str, path: str) -> Any:
    return importlib.import_module(f"{package}.generated.solutions.virtual_events.{path}")


async def _close(client: Any) -> None:
    http_client = client.request_adapter._http_client
    await getattr(http_client._transport, "transport", http_client._transport).aclose()
    await http_client.aclose()


async def _scenario(package: str, organizer: Any, app: Any) -> None:
    try:
        await _calls(package, organizer, app)
    finally:
        await _close(organizer)
        await _close(app)


async def _calls(package: str, organizer: Any, app: Any) -> None:
    from kiota_abstractions.base_request_configuration import RequestConfiguration

    config = _no_retries()
    mine = organizer.solutions.virtual_events
    tenant = app.solutions.virtual_events
    townhall_type = _model(package, "virtual_event_townhall", "VirtualEventTownhall")
    date_time = _model(package, "date_time_time_zone", "DateTimeTimeZone")
    odata_error = _model(package, "o_data_errors.o_data_error", "ODataError")

    # A town hall of the organizer's, canceled: it stays in getByUserRole, status canceled.
    created = await mine.townhalls.post(
        townhall_type(
            display_name="Listed town hall",
            start_date_time=date_time(date_time="2026-12-02T17:00:00", time_zone="UTC"),
            end_date_time=date_time(date_time="2026-12-02T18:00:00", time_zone="UTC"),
        ),
        request_configuration=config,
    )
    await mine.events.by_virtual_event_id(created.id).cancel.post(request_configuration=config)

    webinars = await mine.webinars.get_by_user_role_with_role("organizer").get(request_configuration=config)
    assert [w.id for w in webinars.value] == [SAMPLE_ID]
    townhalls = await mine.townhalls.get_by_user_role_with_role("organizer").get(request_configuration=config)
    statuses = {t.id: t.status.value for t in townhalls.value}
    assert statuses == {SAMPLE_ID: "published", created.id: "canceled"}
    co = await mine.webinars.get_by_user_role_with_role("coOrganizer").get(request_configuration=config)
    assert co.value == []

    # getByUserIdAndRole: webinars for a delegated caller, town halls for an application.
    by_user = mine.webinars.get_by_user_id_and_role_with_user_id_with_role("organizer", SEED_ORGANIZER)
    assert [w.id for w in (await by_user.get(request_configuration=config)).value] == [SAMPLE_ID]
    by_user = tenant.townhalls.get_by_user_id_and_role_with_user_id_with_role("organizer", SEED_ORGANIZER)
    assert {t.id for t in (await by_user.get(request_configuration=config)).value} == {SAMPLE_ID, created.id}

    # The tenant list with $count=true, and the /$count segment: application permission.
    webinars_builder = _builder_module(package, "townhalls.townhalls_request_builder").TownhallsRequestBuilder
    query = webinars_builder.TownhallsRequestBuilderGetQueryParameters(count=True)
    listed = await tenant.townhalls.get(
        request_configuration=RequestConfiguration(query_parameters=query, options=config.options)
    )
    assert listed.odata_count == 2 and len(listed.value) == 2
    assert await tenant.townhalls.count.get(request_configuration=config) == 2
    assert await tenant.webinars.count.get(request_configuration=config) == 1
    with pytest.raises(odata_error) as caught:
        await mine.webinars.count.get(request_configuration=config)  # delegated: Graph's list is app-only
    assert caught.value.response_status_code == 403

    # setExternalEventInformation on the SDK's route; the organizer then reads it back.
    body_type = _builder_module(
        package, "events.item.set_external_event_information.set_external_event_information_post_request_body"
    ).SetExternalEventInformationPostRequestBody
    action = mine.events.by_virtual_event_id(SAMPLE_ID).set_external_event_information
    assert await action.post(body_type(external_event_id="crm-42"), request_configuration=config) is None
    webinar = await mine.webinars.by_virtual_event_webinar_id(SAMPLE_ID).get(request_configuration=config)
    assert [e.external_event_id for e in webinar.external_event_information] == ["crm-42"]
    with pytest.raises(odata_error) as caught:  # canceled: as update, 409 (a choice)
        await mine.events.by_virtual_event_id(created.id).set_external_event_information.post(
            body_type(external_event_id="crm-43"), request_configuration=config
        )
    assert caught.value.response_status_code == 409


@pytest.mark.parametrize(("package", "version"), [("msgraph", "v1.0"), ("msgraph_beta", "beta")])
def test_sdk_builders_for_lists_count_and_external_information(
    stub: Stub, make_token: Callable[..., str], package: str, version: str
) -> None:
    base = f"{stub.base_url}/{version}"
    organizer = _client(package, base, make_token())
    app = _client(package, base, make_token(roles=["VirtualEvent.Read.All"], scopes=[]))
    asyncio.run(_scenario(package, organizer, app))
