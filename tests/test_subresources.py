"""Registrations, registration configuration and questions, sessions, presenters over plain HTTP.

In-process (httpx over ASGI: the socket is not the point here), both kinds, both versions,
each caller: the organizer, a read-only token, another user of the tenant, an application
token and no token. Statuses and envelopes are Graph's (and the spec's choices, whose rows come
from `contract().subresource_lifecycle` rather than from this file).
"""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from conftest import OTHER_TENANT, OTHER_USER, SAMPLE_ID, SECRET, put_event

from vevents.server.app import create_app
from vevents.server.auth import mint_token
from vevents.server.settings import Settings
from vevents.server.store import SqliteStore
from vevents.spec import contract

KINDS = contract().kinds
VERSIONS = contract().versions
CO_ORGANIZER = "77777777-6666-4555-8444-333333333333"
APP_ROLES = ["VirtualEvent.Read.All", "VirtualEventRegistration-Anon.ReadWrite.All"]
ANONYMOUS = {"firstName": "Kenna", "lastName": "Moreno", "email": "Kenna@contoso.com"}
DELEGATED = {"preferredTimezone": "Pacific Standard Time", "preferredLanguage": "en-us"}
GUEST = {
    "identity": {
        "@odata.type": "#microsoft.graph.communicationsGuestIdentity",
        "displayName": "Guest Speaker",
        "email": "speaker@fabrikam.com",
    }
}
QUESTION = {
    "@odata.type": "#microsoft.graph.virtualEventRegistrationCustomQuestion",
    "displayName": "Which city do you work in?",
    "answerInputType": "singleChoice",
    "answerChoices": ["Seattle", "London"],
    "isRequired": True,
}
CALLERS: dict[str, dict[str, Any]] = {
    "organizer": {},
    "read-only": {"scopes": ["VirtualEvent.Read"]},
    "other user": {"user": OTHER_USER},
    "application": {"scopes": [], "roles": APP_ROLES},
}


def _headers(caller: str | None) -> dict[str, str]:
    if caller is None:
        return {}
    return {"Authorization": "Bearer " + mint_token(secret=SECRET, **CALLERS[caller])}


class Client:
    """One in-process stub and a synchronous face for the tests."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.store = app.store
        self._loop = asyncio.new_event_loop()
        self._http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://stub")

    def call(
        self, method: str, path: str, caller: str | None = "organizer", body: Any = None, version: str = "v1.0"
    ) -> httpx.Response:
        return self.send(method, path, _headers(caller), json=body, version=version)

    def send(self, method: str, path: str, headers: dict[str, str], version: str = "v1.0", **kw: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._http.request(method, f"/{version}{path}", headers=headers, **kw))

    def close(self) -> None:
        self._loop.run_until_complete(self._http.aclose())
        self._loop.close()


@pytest.fixture
def client() -> Iterator[Client]:
    stub = Client(create_app(Settings(memory=True)))
    yield stub
    stub.close()


def event_path(kind: str, event_id: str, tail: str = "") -> str:
    return f"/solutions/virtualEvents/{kind}/{quote(event_id, safe='')}{tail}"


def _error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert isinstance(error["message"], str) and error["message"]
    assert error["innerError"]["request-id"] == response.headers["request-id"]
    if code is not None:
        assert error["code"] == code
    assert "^" not in error["message"] and "does not match" not in error["message"]  # Graph's words, no regex
    return error


def _published(client: Client, kind: str, **properties: Any) -> str:
    return put_event(client.store, kind, "published", co_organizers=[CO_ORGANIZER], **properties).id


# ------------------------------------------------------------ registrations


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", KINDS)
def test_registration_lifecycle_create_list_get_cancel(client: Client, kind: str, version: str) -> None:
    event_id = _published(client, kind)
    created = client.call("POST", event_path(kind, event_id, "/registrations"), "application", ANONYMOUS, version)
    assert created.status_code == 201, created.text
    registration = created.json()
    assert registration["status"] == "registered" and registration["cancelationDateTime"] is None
    assert registration["email"] == ANONYMOUS["email"] and registration["userId"] is None
    assert datetime.datetime.fromisoformat(registration["registrationDateTime"]).tzinfo is not None
    by_id = event_path(kind, event_id, f"/registrations/{registration['id']}")
    assert client.call("GET", by_id, version=version).json() == registration
    listed = client.call("GET", event_path(kind, event_id, "/registrations"), version=version)
    assert listed.status_code == 200 and listed.json()["value"] == [registration]

    canceled = client.call("POST", by_id + "/cancel", version=version)
    assert canceled.status_code == 204 and canceled.content == b"" and "content-type" not in canceled.headers
    after = client.call("GET", by_id, version=version).json()
    assert after["status"] == "canceled" and after["cancelationDateTime"] is not None
    # Permanent: a second cancel changes nothing, not even the time of the first.
    assert client.call("POST", by_id + "/cancel", version=version).status_code == 204
    assert client.call("GET", by_id, version=version).json() == after


@pytest.mark.parametrize("key", ["email", "userId"])
def test_registration_by_key_get_and_cancel(client: Client, key: str) -> None:
    event_id = _published(client, "webinars")
    if key == "email":
        made = client.call("POST", event_path("webinars", event_id, "/registrations"), "application", ANONYMOUS)
        value, caller = quote(ANONYMOUS["email"].upper(), safe=""), "application"
    else:
        made = client.call("POST", event_path("webinars", event_id, "/registrations"), "other user", DELEGATED)
        value, caller = OTHER_USER, "other user"
    assert made.status_code == 201, made.text
    keyed = event_path("webinars", event_id, f"/registrations({key}='{value}')")
    assert client.call("GET", keyed).json()["id"] == made.json()["id"]
    assert client.call("POST", keyed + "/cancel", caller).status_code == 204
    assert client.call("GET", keyed).json()["status"] == "canceled"
    missing = event_path("webinars", event_id, f"/registrations({key}='nobody%40contoso.com')")
    _error(client.call("GET", missing), 404, "itemNotFound")


def test_delegated_registration_is_the_signed_in_user(client: Client) -> None:
    event_id = _published(client, "webinars")
    path = event_path("webinars", event_id, "/registrations")
    made = client.call("POST", path, "other user", DELEGATED)
    assert made.status_code == 201 and made.json()["userId"] == OTHER_USER
    # The registrant reads and cancels their own; a second active registration is refused.
    registration = event_path("webinars", event_id, f"/registrations/{made.json()['id']}")
    assert client.call("GET", registration, "other user").status_code == 200
    _error(client.call("POST", path, "other user", DELEGATED), 409, "notAllowed")
    assert client.call("POST", registration + "/cancel", "other user").status_code == 204
    # After a cancel the user may register again; the key then names the active registration.
    # The registrant is the token's user: a delegated body's email is not used (a choice).
    again = client.call("POST", path, "other user", {**DELEGATED, "email": "x@contoso.com"})
    assert again.status_code == 201 and again.json()["userId"] == OTHER_USER
    assert again.json()["email"] != "x@contoso.com"
    keyed = event_path("webinars", event_id, f"/registrations(userId='{OTHER_USER}')")
    assert client.call("GET", keyed).json()["id"] == again.json()["id"]


def test_application_registration_needs_the_registrants_names(client: Client) -> None:
    path = event_path("webinars", _published(client, "webinars"), "/registrations")
    _error(client.call("POST", path, "application", {"firstName": "A", "lastName": "B"}), 400, "invalidRequest")
    assert client.call("POST", path, "application", ANONYMOUS).status_code == 201
    _error(client.call("POST", path, "application", ANONYMOUS), 409, "notAllowed")


def test_an_application_cancels_only_anonymous_registrations(client: Client) -> None:
    event_id = _published(client, "webinars")
    made = client.call("POST", event_path("webinars", event_id, "/registrations"), "other user", DELEGATED)
    cancel = event_path("webinars", event_id, f"/registrations/{made.json()['id']}/cancel")
    _error(client.call("POST", cancel, "application"), 403, "Forbidden")
    assert client.call("GET", cancel[: -len("/cancel")]).json()["status"] == "registered"


# caller -> expected status for: list registrations, register (delegated body or anonymous), get the
# registration, cancel it; None = not tried (the caller's body differs).
_REGISTRATION_MATRIX = {
    "organizer": (200, 201, 200, 204),
    "read-only": (200, 403, 200, 403),
    "other user": (403, 201, 403, 403),
    "application": (200, 201, 200, 204),
    None: (401, 401, 401, 401),
}


@pytest.mark.parametrize("caller", list(_REGISTRATION_MATRIX), ids=lambda c: c or "no token")
def test_registration_permissions_per_caller(client: Client, caller: str | None) -> None:
    expected = _REGISTRATION_MATRIX[caller]
    event_id = _published(client, "webinars")
    made = client.call("POST", event_path("webinars", event_id, "/registrations"), "application", ANONYMOUS)
    one = event_path("webinars", event_id, f"/registrations/{made.json()['id']}")
    body = ANONYMOUS if caller == "application" else DELEGATED
    if caller == "application":
        body = {**ANONYMOUS, "email": "someone.else@contoso.com"}
    answers = (
        client.call("GET", event_path("webinars", event_id, "/registrations"), caller),
        client.call("POST", event_path("webinars", event_id, "/registrations"), caller, body),
        client.call("GET", one, caller),
        client.call("POST", one + "/cancel", caller),
    )
    assert tuple(a.status_code for a in answers) == expected, [a.text for a in answers]
    for answer in answers:
        if answer.status_code >= 400:
            _error(answer, answer.status_code)
            if answer.status_code == 401:
                assert answer.headers["www-authenticate"].startswith("Bearer")


def test_another_tenants_event_is_not_revealed(client: Client) -> None:
    foreign = put_event(client.store, "webinars", "published", tenant=OTHER_TENANT).id
    for tail in ("/registrations", "/sessions", "/presenters", "/registrationConfiguration"):
        _error(client.call("GET", event_path("webinars", foreign, tail)), 404, "itemNotFound")


def test_malformed_and_unknown_ids_are_graph_errors(client: Client) -> None:
    event_id = _published(client, "webinars")
    for tail in ("/registrations/zzz", "/presenters/1", "/sessions/x", "/registrations/zzz/cancel"):
        method = "POST" if tail.endswith("cancel") else "GET"
        assert (
            "'" in _error(client.call(method, event_path("webinars", event_id, tail)), 400, "invalidRequest")["message"]
        )
    unknown = "00000000-0000-4000-8000-000000000000"
    for tail in (f"/registrations/{unknown}", f"/presenters/{unknown}", f"/sessions/{unknown}@{OTHER_TENANT}"):
        assert (
            unknown
            in _error(client.call("GET", event_path("webinars", event_id, tail)), 404, "itemNotFound")["message"]
        )
    # A malformed event id: refused by the spec's id pattern (its wording is the `lists` work's, issue 22).
    malformed = client.call("GET", event_path("webinars", "not-an-id", "/registrations"))
    assert malformed.status_code == 400 and malformed.json()["error"]["code"] == "invalidRequest"


# ------------------------------------------------------------ registration configuration and questions


@pytest.mark.parametrize("kind", KINDS)
def test_registration_configuration_and_questions(client: Client, kind: str) -> None:
    event_id = _published(client, kind)
    configuration = client.call("GET", event_path(kind, event_id, "/registrationConfiguration"), "read-only")
    assert configuration.status_code == 200
    assert configuration.json()["@odata.type"] == contract().odata_types[kind] + "RegistrationConfiguration"
    questions = event_path(kind, event_id, "/registrationConfiguration/questions")
    custom = client.call("POST", questions, body=QUESTION)
    predefined = client.call(
        "POST",
        questions,
        body={"@odata.type": "#microsoft.graph.virtualEventRegistrationPredefinedQuestion", "label": "jobTitle"},
    )
    assert custom.status_code == predefined.status_code == 201, (custom.text, predefined.text)
    listed = client.call("GET", questions, "application").json()["value"]
    assert sorted(q["id"] for q in listed) == sorted([custom.json()["id"], predefined.json()["id"]])
    # A required question must be answered; an unknown one is refused; the answer carries its name.
    register = event_path(kind, event_id, "/registrations")
    _error(client.call("POST", register, "other user", DELEGATED), 409, "notAllowed")
    stray = {**DELEGATED, "registrationQuestionAnswers": [{"questionId": "00000000-0000-4000-8000-000000000000"}]}
    _error(client.call("POST", register, "other user", stray), 404, "itemNotFound")
    answered = {**DELEGATED, "registrationQuestionAnswers": [{"questionId": custom.json()["id"], "value": "Seattle"}]}
    made = client.call("POST", register, "other user", answered)
    assert (
        made.status_code == 201
        and made.json()["registrationQuestionAnswers"][0]["displayName"] == QUESTION["displayName"]
    )
    # Only the organizer (and co-organizers) change the questions.
    one = f"{questions}/{custom.json()['id']}"
    _error(client.call("DELETE", one, "other user"), 403, "Forbidden")
    _error(client.call("POST", questions, "read-only", QUESTION), 403)
    assert client.call("DELETE", one).status_code == 204
    _error(client.call("DELETE", one), 404, "itemNotFound")


@pytest.mark.parametrize(
    "body",
    [
        {**QUESTION, "answerChoices": None},
        {"@odata.type": "#microsoft.graph.virtualEventRegistrationPredefinedQuestion"},
        {**QUESTION, "label": "city"},
        {"displayName": "no type"},
    ],
)
def test_malformed_questions_are_refused(client: Client, body: dict[str, Any]) -> None:
    questions = event_path("webinars", _published(client, "webinars"), "/registrationConfiguration/questions")
    _error(client.call("POST", questions, body=body), 400, "invalidRequest")
    assert client.call("GET", questions).json()["value"] == []


# ------------------------------------------------------------ sessions


@pytest.mark.parametrize("kind", KINDS)
def test_an_event_created_through_the_api_has_one_session(client: Client, kind: str) -> None:
    created = client.call("POST", f"/solutions/virtualEvents/{kind}", body=contract().create_example(kind)).json()
    sessions = client.call("GET", event_path(kind, created["id"], "/sessions"), "read-only")
    assert sessions.status_code == 200
    (summary,) = sessions.json()["value"]
    assert summary["subject"] == created["displayName"]
    assert summary["startDateTime"] == created["startDateTime"] and summary["joinWebUrl"].startswith("https://")
    assert summary["capacity"] is None and summary["videoOnDemandWebUrl"] is None  # a summary: the rest null
    one = client.call(
        "GET", event_path(kind, created["id"], "/sessions/" + quote(summary["id"], safe="")), "application"
    )
    assert one.status_code == 200 and one.json()["id"] == summary["id"]
    # The same session, every time (its id is fixed for the event).
    assert client.call("GET", event_path(kind, created["id"], "/sessions")).json()["value"] == [summary]


# ------------------------------------------------------------ presenters


@pytest.mark.parametrize("kind", KINDS)
def test_presenters_create_get_update_delete(client: Client, kind: str) -> None:
    event_id = _published(client, kind)
    presenters = event_path(kind, event_id, "/presenters")
    made = client.call("POST", presenters, body=GUEST)
    assert made.status_code == 201, made.text
    presenter = made.json()
    assert presenter["presenterDetails"] is None and presenter["email"] == "speaker@fabrikam.com"
    one = f"{presenters}/{presenter['id']}"
    assert client.call("GET", one, "read-only").json() == presenter
    assert client.call("GET", presenters, "application").json()["value"] == [presenter]
    details = {"presenterDetails": {"company": "Fabrikam", "jobTitle": "Speaker"}}
    updated = client.call("PATCH", one, "organizer", details)
    if kind == "webinars":
        assert updated.status_code == 200 and updated.json()["presenterDetails"]["company"] == "Fabrikam"
    else:
        _error(updated, 400, "invalidRequest")  # null for town halls (Graph's resource page)
    co_organizer = {"Authorization": "Bearer " + mint_token(secret=SECRET, user=CO_ORGANIZER)}
    renamed = client.send("PATCH", one, co_organizer, json={"email": "new@fabrikam.com"})
    assert renamed.status_code == 200 and renamed.json()["email"] == "new@fabrikam.com"
    _error(client.call("PATCH", one, "other user", {"email": "x@y.z"}), 403, "Forbidden")
    _error(client.call("POST", presenters, "application", GUEST), 403)
    _error(client.call("DELETE", one, "read-only"), 403)
    _error(client.call("POST", presenters, body={"email": "no-identity@x.com"}), 400, "invalidRequest")
    assert client.call("DELETE", one).status_code == 204
    _error(client.call("GET", one), 404, "itemNotFound")


# ------------------------------------------------------------ an event's cancel


@pytest.mark.parametrize("kind", KINDS)
def test_a_canceled_events_parts_stay_readable_and_refuse_changes(client: Client, kind: str) -> None:
    event_id = _published(client, kind)
    registrations = event_path(kind, event_id, "/registrations")
    made = client.call("POST", registrations, "application", ANONYMOUS).json()
    presenter = client.call("POST", event_path(kind, event_id, "/presenters"), body=GUEST).json()
    assert client.call("POST", event_path(kind, event_id, "/cancel")).status_code == 204
    rows = contract().subresource_lifecycle
    answers = {
        "listRegistrations": client.call("GET", registrations),
        "getRegistration": client.call("GET", f"{registrations}/{made['id']}"),
        "createRegistration": client.call("POST", registrations, "other user", DELEGATED),
        "listSessions": client.call("GET", event_path(kind, event_id, "/sessions")),
        "getPresenter": client.call("GET", event_path(kind, event_id, f"/presenters/{presenter['id']}")),
        "createPresenter": client.call("POST", event_path(kind, event_id, "/presenters"), body=GUEST),
        "deletePresenter": client.call("DELETE", event_path(kind, event_id, f"/presenters/{presenter['id']}")),
        "createQuestion": client.call(
            "POST", event_path(kind, event_id, "/registrationConfiguration/questions"), body=QUESTION
        ),
    }
    for action, answer in answers.items():
        outcome = rows[action]["canceled"]
        assert answer.status_code == outcome.status, (action, answer.text)
        if outcome.error:
            _error(answer, outcome.status, outcome.error)
    # The registration is as it was: the event's cancel does not cancel it.
    assert answers["getRegistration"].json()["status"] == "registered"
    assert client.call("POST", f"{registrations}/{made['id']}/cancel", "application").status_code == 204
    assert [r["id"] for r in client.call("GET", registrations).json()["value"]] == [made["id"]]


# ------------------------------------------------------------ bodies and state


@pytest.mark.parametrize(
    "raw",
    [b"{", b"[]", b'"x"', b'{"status": "canceled"}', b'{"bogus": 1}', b'{"registrationQuestionAnswers": "x"}'],
)
def test_bad_registration_bodies_are_graph_errors(client: Client, raw: bytes) -> None:
    path = event_path("webinars", SAMPLE_ID, "/registrations")
    answer = client.send("POST", path, {**_headers("organizer"), "Content-Type": "application/json"}, content=raw)
    _error(answer, 400)
    assert client.call("GET", path).json()["value"] == []


def test_sub_resources_survive_a_restart(tmp_path: Any) -> None:
    db = str(tmp_path / "vevents.db")
    first = Client(create_app(Settings(db=db), store=SqliteStore(db)))
    try:
        made = first.call("POST", event_path("webinars", SAMPLE_ID, "/registrations"), "application", ANONYMOUS).json()
        presenter = first.call("POST", event_path("webinars", SAMPLE_ID, "/presenters"), body=GUEST).json()
    finally:
        first.close()
        first.store.close()
    second = Client(create_app(Settings(db=db), store=SqliteStore(db)))
    try:
        assert second.call("GET", event_path("webinars", SAMPLE_ID, f"/registrations/{made['id']}")).json() == made
        assert second.call("GET", event_path("webinars", SAMPLE_ID, "/presenters")).json()["value"] == [presenter]
    finally:
        second.close()
        second.store.close()
