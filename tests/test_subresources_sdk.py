"""The official SDKs' own builders on registrations, registration questions, sessions and presenters.

`msgraph-sdk` against `/v1.0` and `msgraph-beta-sdk` against `/beta`, over a real socket (the
SDKs bring their own HTTP stack): register (an application token for an anonymous registrant,
a delegated one for the signed-in user), list, get by id and by key, cancel by id and by key;
the registration configuration and its questions (custom and predefined); the one session;
presenters created, read, updated and deleted, on a webinar and a town hall.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import Any

import pytest
from conftest import OTHER_USER, SAMPLE_ID, Stub
from test_server_sdk import _client, _no_retries

pytestmark = [
    pytest.mark.sdk,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:kiota"),
]


def _model(package: str, module: str, name: str) -> Any:
    return getattr(importlib.import_module(f"{package}.generated.models.{module}"), name)


async def _closing(client: Any, calls: Any) -> None:
    try:
        await calls
    finally:
        http_client = client.request_adapter._http_client
        await getattr(http_client._transport, "transport", http_client._transport).aclose()
        await http_client.aclose()


async def _registrations(package: str, app: Any, user: Any) -> None:
    registration_type = _model(package, "virtual_event_registration", "VirtualEventRegistration")
    config = _no_retries()
    anonymous = registration_type(first_name="Kenna", last_name="Moreno", email="kenna@contoso.com")
    webinar = app.solutions.virtual_events.webinars.by_virtual_event_webinar_id(SAMPLE_ID)
    created = await webinar.registrations.post(anonymous, request_configuration=config)
    # 201 with the registration (the stub's choice; a 204 would make this None).
    assert created is not None and created.status.value == "registered" and created.cancelation_date_time is None
    listed = await webinar.registrations.get(request_configuration=config)
    assert [r.id for r in listed.value] == [created.id]
    by_id = webinar.registrations.by_virtual_event_registration_id(created.id)
    assert (await by_id.get(request_configuration=config)).email == "kenna@contoso.com"
    assert (
        await webinar.registrations_with_email("kenna@contoso.com").get(request_configuration=config)
    ).id == created.id
    assert await by_id.cancel.post(request_configuration=config) is None
    read = await by_id.get(request_configuration=config)
    assert read.status.value == "canceled" and read.cancelation_date_time is not None

    # The signed-in user registers for the town hall, reads it by user id and cancels by key.
    townhall = user.solutions.virtual_events.townhalls.by_virtual_event_townhall_id(SAMPLE_ID)
    mine = await townhall.registrations.post(
        registration_type(preferred_timezone="UTC", preferred_language="en-us"), request_configuration=config
    )
    assert mine.user_id == OTHER_USER
    keyed = townhall.registrations_with_user_id(OTHER_USER)
    assert (await keyed.get(request_configuration=config)).id == mine.id
    assert await keyed.cancel.post(request_configuration=config) is None
    assert (await keyed.get(request_configuration=config)).status.value == "canceled"


async def _configuration_sessions_presenters(package: str, organizer: Any) -> None:
    custom_type = _model(
        package, "virtual_event_registration_custom_question", "VirtualEventRegistrationCustomQuestion"
    )
    input_type = _model(
        package,
        "virtual_event_registration_question_answer_input_type",
        "VirtualEventRegistrationQuestionAnswerInputType",
    )
    presenter_type = _model(package, "virtual_event_presenter", "VirtualEventPresenter")
    guest_type = _model(package, "communications_guest_identity", "CommunicationsGuestIdentity")
    details_type = _model(package, "virtual_event_presenter_details", "VirtualEventPresenterDetails")
    odata_error = _model(package, "o_data_errors.o_data_error", "ODataError")
    config = _no_retries()
    events = organizer.solutions.virtual_events
    webinar = events.webinars.by_virtual_event_webinar_id(SAMPLE_ID)

    configuration = await webinar.registration_configuration.get(request_configuration=config)
    assert configuration.registration_web_url.startswith("https://")
    questions = webinar.registration_configuration.questions
    question = custom_type(display_name="City?", answer_input_type=input_type.SingleChoice, answer_choices=["A", "B"])
    made = await questions.post(question, request_configuration=config)
    assert isinstance(made, custom_type) and made.answer_choices == ["A", "B"]
    assert [q.id for q in (await questions.get(request_configuration=config)).value] == [made.id]
    assert (
        await questions.by_virtual_event_registration_question_base_id(made.id).delete(request_configuration=config)
        is None
    )

    (session,) = (await webinar.sessions.get(request_configuration=config)).value
    assert session.subject and session.join_web_url
    one = await webinar.sessions.by_virtual_event_session_id(session.id).get(request_configuration=config)
    assert one.id == session.id

    for kind in ("webinars", "townhalls"):
        builder = getattr(events, kind)
        item = (
            builder.by_virtual_event_webinar_id(SAMPLE_ID)
            if kind == "webinars"
            else builder.by_virtual_event_townhall_id(SAMPLE_ID)
        )
        presenter = presenter_type(identity=guest_type(display_name="Guest", email="guest@fabrikam.com"))
        created = await item.presenters.post(presenter, request_configuration=config)
        assert created.email == "guest@fabrikam.com" and created.presenter_details is None
        by_id = item.presenters.by_virtual_event_presenter_id(created.id)
        assert (await by_id.get(request_configuration=config)).identity.display_name == "Guest"
        if kind == "webinars":
            patched = await by_id.patch(
                presenter_type(presenter_details=details_type(company="Fabrikam")), request_configuration=config
            )
            assert patched.presenter_details.company == "Fabrikam"
        assert [p.id for p in (await item.presenters.get(request_configuration=config)).value] == [created.id]
        assert await by_id.delete(request_configuration=config) is None
        with pytest.raises(odata_error) as caught:
            await by_id.get(request_configuration=config)
        assert caught.value.response_status_code == 404 and caught.value.error.code == "itemNotFound"


@pytest.mark.parametrize(("package", "version"), [("msgraph", "v1.0"), ("msgraph_beta", "beta")])
def test_official_sdk_builders_on_sub_resources(
    stub: Stub, make_token: Callable[..., str], package: str, version: str
) -> None:
    base = f"{stub.base_url}/{version}"
    app = _client(
        package,
        base,
        make_token(scopes=[], roles=["VirtualEvent.Read.All", "VirtualEventRegistration-Anon.ReadWrite.All"]),
    )
    user = _client(package, base, make_token(user=OTHER_USER))
    organizer = _client(package, base, make_token())

    async def scenario() -> None:
        await _closing(app, _closing(user, _registrations(package, app, user)))
        await _closing(organizer, _configuration_sessions_presenters(package, organizer))

    asyncio.run(scenario())
