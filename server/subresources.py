"""The operations on an event's sub-resources: registrations, registration configuration and
questions, sessions, presenters (Graph's navigation properties of a virtual event).

Like `handlers.py`, each handler is `async (scope, receive) -> Response`, after Connexion has
routed the request, checked the token's permissions and validated the parameters and body
against the spec. What is left here is what the spec says in prose: ids, tenancy, who may act
(`info.x-vevents-roles`), what the event's status allows (`info.x-vevents-lifecycle.subresources`)
and a registration's own status (`info.x-vevents-lifecycle.registration`).

The sub-resources live in the store's `ChildStore` part (`children.py`); the event is read from
the event store, which it never changes.
"""

from __future__ import annotations

import datetime
import functools
import json
import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from vevents.server.auth import Principal, co_organizers_of, organizer_of
from vevents.server.children import Child, ChildStore
from vevents.server.errors import error_response, json_response
from vevents.server.ids import parse_event_id
from vevents.server.middleware import read_body
from vevents.server.security import principal_of
from vevents.server.store import Event, Store
from vevents.spec import GUID_PATTERN

if TYPE_CHECKING:
    from starlette.types import Receive, Scope

    from vevents.spec import Contract, Operation, Outcome

__all__ = ["REGISTRATIONS", "SESSIONS", "SubresourceHandlers", "session_of"]

REGISTRATIONS = "registrations"
QUESTIONS = "questions"
SESSIONS = "sessions"
PRESENTERS = "presenters"
_MAX_ATTEMPTS = 10
_GUID = re.compile(GUID_PATTERN)
_SESSION_ID = re.compile(rf"{GUID_PATTERN}(?:@{GUID_PATTERN})?")
_TYPE = "#microsoft.graph."
_CUSTOM_QUESTION = _TYPE + "virtualEventRegistrationCustomQuestion"
_PREDEFINED_QUESTION = _TYPE + "virtualEventRegistrationPredefinedQuestion"
_CHOICE_INPUTS = frozenset({"singleChoice", "multiChoice"})
_SESSION_NAMESPACE = uuid.UUID("6c1e8a52-3d6b-4b7e-9a55-2b5f0c7d9e41")
"""Sessions' ids derive from their event's (uuid5): fixed for the event, across restarts."""
_SESSION_SUMMARY = ("@odata.type", "id", "subject", "startDateTime", "endDateTime", "joinWebUrl")
_NOUNS = {
    REGISTRATIONS: "registration",
    QUESTIONS: "registration question",
    SESSIONS: "session",
    PRESENTERS: "presenter",
}
_NAMES = {"organizer": "the organizer", "coOrganizer": "a co-organizer", "registrant": "the registrant"}

Clock = Callable[[], datetime.datetime]


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _timestamp(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def session_of(event: Event) -> dict[str, Any]:
    """The one session of an event created through the API, derived from the event."""
    guid = uuid.uuid5(_SESSION_NAMESPACE, event.id)
    resource = event.resource
    return {
        "@odata.type": _TYPE + "virtualEventSession",
        "id": f"{guid}@{event.tenant}",
        "subject": resource.get("displayName"),
        "startDateTime": resource.get("startDateTime"),
        "endDateTime": resource.get("endDateTime"),
        "joinWebUrl": f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{guid.hex}%40thread.v2/0",
        "capacity": resource.get("capacity"),
        "videoOnDemandWebUrl": None,
    }


class SubresourceHandlers:
    """The sub-resource operations over the event store and its children."""

    def __init__(self, events: Store, children: ChildStore, contract: Contract, *, clock: Clock = _utc_now) -> None:
        self.events = events
        self.children = children
        self.contract = contract
        self.rows = contract.subresource_lifecycle
        self.registration_rows = contract.registration_lifecycle
        self.registration_create = contract.registration_create
        self.clock = clock

    def handles(self, operation_id: str) -> bool:
        return self.contract.operation(operation_id).action in self.rows

    def resolve(self, operation_id: str) -> Callable[[Scope, Receive], Awaitable[Response]]:
        operation = self.contract.operation(operation_id)
        target = getattr(self, "_" + re.sub(r"(?<!^)([A-Z])", r"_\1", operation.action).lower(), None)
        if target is None:
            raise LookupError(f"no handler for action {operation.action!r} of {operation_id}")
        return functools.partial(target, operation)

    # ------------------------------------------------------------ registrations
    async def _list_registrations(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        found = self._opened(op, scope)
        if isinstance(found, Response):
            return found
        _, event = found
        registrations = self.children.children(REGISTRATIONS, event.kind, event.id)
        registrations.sort(key=lambda c: (str(c.resource.get("registrationDateTime") or ""), c.id))
        return json_response(200, {"value": [dict(c.resource) for c in registrations]})

    async def _create_registration(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        body = await self._body(scope, receive)
        if isinstance(body, Response):
            return body
        found = self._opened(op, scope)
        if isinstance(found, Response):
            return found
        principal, event = found
        person = self._registrant(scope, principal, body)
        if isinstance(person, Response):
            return person
        answers = self._answers(scope, event, body.get("registrationQuestionAnswers") or [])
        if isinstance(answers, Response):
            return answers
        active = self._active(event, person)
        if active is not None:
            return error_response(scope, 409, f"'{active}' is already registered for this virtual event.")
        outcome = self.registration_create
        registration_id = str(uuid.uuid4())
        resource = {
            "@odata.type": _TYPE + "virtualEventRegistration",
            "id": registration_id,
            **person,
            "status": outcome.to,
            "registrationDateTime": _timestamp(self.clock()),
            "cancelationDateTime": None,
            "preferredTimezone": body.get("preferredTimezone"),
            "preferredLanguage": body.get("preferredLanguage"),
            "registrationQuestionAnswers": answers,
            "externalRegistrationInformation": body.get("externalRegistrationInformation"),
        }
        child = Child(REGISTRATIONS, event.kind, event.id, registration_id, event.tenant, resource)
        if not self.children.add_child(child):
            return error_response(
                scope, 503, "Could not allocate a registration id; retry.", headers={"Retry-After": "1"}
            )
        return json_response(outcome.status, resource)

    async def _get_registration(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        found = self._registration(op, scope)
        if isinstance(found, Response):
            return found
        _, _, registration = found
        outcome = self.registration_rows[op.action][str(registration.resource["status"])]
        return json_response(outcome.status, dict(registration.resource))

    async def _cancel_registration(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        raw = await read_body(receive)
        if raw.strip() and not _is_empty_object(raw):
            return error_response(scope, 400, "Don't supply a request body for this method.")
        for _ in range(_MAX_ATTEMPTS):
            found = self._registration(op, scope)
            if isinstance(found, Response):
                return found
            principal, _, registration = found
            if not principal.delegated and registration.resource.get("userId"):
                return error_response(
                    scope, 403, "Applications can cancel only the registrations of anonymous registrants."
                )
            status = str(registration.resource["status"])
            outcome = self.registration_rows[op.action][status]
            if outcome.error is not None or outcome.status >= 400:
                return error_response(scope, outcome.status, _refusal(op.action, status), code=outcome.error)
            if outcome.to == status:
                return Response(status_code=outcome.status)
            changed = registration.changed(status=outcome.to, cancelationDateTime=_timestamp(self.clock()))
            if self.children.replace_child(changed):
                return Response(status_code=outcome.status)
        return _busy(scope)

    # ------------------------------------------------------------ registration configuration, questions
    async def _get_registration_configuration(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        found = self._opened(op, scope)
        if isinstance(found, Response):
            return found
        _, event = found
        odata_type = self.contract.odata_types[event.kind] + "RegistrationConfiguration"
        return json_response(
            200,
            {
                "@odata.type": odata_type,
                "id": event.id,
                "capacity": event.resource.get("capacity"),
                "registrationWebUrl": f"https://events.teams.microsoft.com/event/{event.id}",
                "isManualApprovalEnabled": False,
                "isWaitlistEnabled": False,
            },
        )

    async def _list_questions(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        return await self._list(op, scope, QUESTIONS)

    async def _create_question(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        body = await self._body(scope, receive)
        if isinstance(body, Response):
            return body
        problem = _question_problem(body)
        if problem is not None:
            return error_response(scope, 400, problem)
        return await self._create(op, scope, QUESTIONS, body)

    async def _delete_question(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        return await self._delete(op, scope, QUESTIONS)

    # ------------------------------------------------------------ sessions
    async def _list_sessions(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        found = self._opened(op, scope)
        if isinstance(found, Response):
            return found
        _, event = found
        summaries = [{**dict.fromkeys(s), **{n: s.get(n) for n in _SESSION_SUMMARY}} for s in self._sessions(event)]
        return json_response(200, {"value": summaries})

    async def _get_session(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        found = self._context(op, scope)
        if isinstance(found, Response):
            return found
        principal, event = found
        session_id = self._member_id(scope, op, SESSIONS)
        if isinstance(session_id, Response):
            return session_id
        refused = self._gate(scope, principal, op.action, event)
        if refused is not None:
            return refused
        for session in self._sessions(event):
            if str(session.get("id", "")).lower() == session_id:
                return json_response(200, session)
        return error_response(scope, 404, f"The session '{session_id}' was not found in this virtual event.")

    def _sessions(self, event: Event) -> list[dict[str, Any]]:
        stored = self.children.children(SESSIONS, event.kind, event.id)
        return [dict(s.resource) for s in stored] if stored else [session_of(event)]

    # ------------------------------------------------------------ presenters
    async def _list_presenters(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        return await self._list(op, scope, PRESENTERS)

    async def _create_presenter(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        body = await self._body(scope, receive)
        if isinstance(body, Response):
            return body
        if not isinstance(body.get("identity"), dict):
            return error_response(scope, 400, "A presenter needs an 'identity'.")
        return await self._create(op, scope, PRESENTERS, body)

    async def _get_presenter(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        found = self._member(op, scope, PRESENTERS)
        if isinstance(found, Response):
            return found
        return json_response(200, dict(found[2].resource))

    async def _update_presenter(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        body = await self._body(scope, receive)
        if isinstance(body, Response):
            return body
        if "identity" in body and not isinstance(body["identity"], dict):
            return error_response(scope, 400, "A presenter's 'identity' cannot be removed.")
        for _ in range(_MAX_ATTEMPTS):
            found = self._member(op, scope, PRESENTERS)
            if isinstance(found, Response):
                return found
            _, event, presenter = found
            properties = self._presenter_properties(scope, event, body)
            if isinstance(properties, Response):
                return properties
            changed = presenter.changed(**properties)
            if self.children.replace_child(changed):
                return json_response(200, dict(changed.resource))
        return _busy(scope)

    async def _delete_presenter(self, op: Operation, scope: Scope, receive: Receive) -> Response:
        return await self._delete(op, scope, PRESENTERS)

    def _presenter_properties(self, scope: Scope, event: Event, body: Mapping[str, Any]) -> dict[str, Any] | Response:
        properties = {name: value for name, value in body.items() if name != "@odata.type"}
        if event.kind != "webinars" and properties.get("presenterDetails") is not None:
            return error_response(scope, 400, "'presenterDetails' is not supported for the presenters of a town hall.")
        identity = properties.get("identity")
        if isinstance(identity, dict) and identity.get("email") and not properties.get("email"):
            properties["email"] = identity["email"]
        return properties

    # ------------------------------------------------------------ the shared steps
    async def _list(self, op: Operation, scope: Scope, collection: str) -> Response:
        found = self._opened(op, scope)
        if isinstance(found, Response):
            return found
        _, event = found
        return json_response(
            200, {"value": [dict(c.resource) for c in self.children.children(collection, event.kind, event.id)]}
        )

    async def _create(self, op: Operation, scope: Scope, collection: str, body: Mapping[str, Any]) -> Response:
        found = self._opened(op, scope)
        if isinstance(found, Response):
            return found
        _, event = found
        member_id = str(uuid.uuid4())
        if collection == PRESENTERS:
            properties = self._presenter_properties(scope, event, body)
            if isinstance(properties, Response):
                return properties
            resource: dict[str, Any] = {
                "@odata.type": _TYPE + "virtualEventPresenter",
                "id": member_id,
                "email": None,
                "presenterDetails": None,
                **properties,
            }
        else:
            resource = {"id": member_id, "displayName": None, "isRequired": False, **body}
        child = Child(collection, event.kind, event.id, member_id, event.tenant, resource)
        if not self.children.add_child(child):
            return _busy(scope)
        return json_response(201, resource)

    async def _delete(self, op: Operation, scope: Scope, collection: str) -> Response:
        for _ in range(_MAX_ATTEMPTS):
            found = self._member(op, scope, collection)
            if isinstance(found, Response):
                return found
            if self.children.delete_child(found[2]):
                return Response(status_code=204)
        return _busy(scope)

    def _opened(self, op: Operation, scope: Scope) -> tuple[Principal, Event] | Response:
        """The caller and the event, once the caller may take the operation's action on it now."""
        found = self._context(op, scope)
        if isinstance(found, Response):
            return found
        refused = self._gate(scope, found[0], op.action, found[1])
        return found if refused is None else refused

    def _context(self, op: Operation, scope: Scope) -> tuple[Principal, Event] | Response:
        """The caller and the event the path names (400 malformed id, 404 not in the caller's tenant)."""
        principal = principal_of(scope)
        raw = _path_values(scope)[0]
        event_id = parse_event_id(raw, principal.tenant)
        if event_id is None:
            return error_response(scope, 400, f"Invalid virtual event id {raw!r}: expected '<guid>@<tenant-guid>'.")
        events = [e for e in self.events.find(event_id, op.kind) if e.tenant == principal.tenant]
        if not events:
            return error_response(scope, 404, f"The virtual event '{event_id}' was not found.")
        return principal, events[0]

    def _gate(
        self, scope: Scope, principal: Principal, action: str, event: Event, registration: Child | None = None
    ) -> Response | None:
        """403 if the caller may not take `action`; the event status's refusal (the lifecycle's
        `subresources` row); None if the action may go ahead."""
        if not self._may(principal, action, event, registration):
            roles = self.contract.roles
            who = " or ".join(_NAMES.get(r, r) for r in roles if action in roles[r] and r in _NAMES)
            return error_response(
                scope, 403, f"Only {who or 'an authorized caller'} of this virtual event can do this."
            )
        outcome: Outcome = self.rows[action][event.status]
        if outcome.error is not None or outcome.status >= 400:
            return error_response(scope, outcome.status, _refusal(action, event.status), code=outcome.error)
        return None

    def _may(self, principal: Principal, action: str, event: Event, registration: Child | None) -> bool:
        roles = self.contract.roles
        if action in roles["anyone"]:
            return True
        if not principal.delegated:
            return action in roles.get("application", ())
        if principal.user == organizer_of(event.resource) and action in roles["organizer"]:
            return True
        if principal.user in co_organizers_of(event.resource) and action in roles["coOrganizer"]:
            return True
        return (
            registration is not None
            and str(registration.resource.get("userId") or "").lower() == principal.user
            and action in roles.get("registrant", ())
        )

    def _member_id(self, scope: Scope, op: Operation, collection: str) -> str | Response:
        raw = _path_values(scope)[1]
        if collection == SESSIONS:
            raw = raw.replace("%40", "@")  # as an event id: the `@` raw or encoded
        pattern = _SESSION_ID if collection == SESSIONS else _GUID
        if pattern.fullmatch(raw) is None:
            noun = {REGISTRATIONS: "registration", QUESTIONS: "question", SESSIONS: "session"}.get(
                collection, "presenter"
            )
            expected = "'<guid>@<tenant-guid>'" if collection == SESSIONS else "a GUID"
            return error_response(scope, 400, f"Invalid {noun} id {raw!r}: expected {expected}.")
        return raw.lower()

    def _member(self, op: Operation, scope: Scope, collection: str) -> tuple[Principal, Event, Child] | Response:
        found = self._context(op, scope)
        if isinstance(found, Response):
            return found
        principal, event = found
        member_id = self._member_id(scope, op, collection)
        if isinstance(member_id, Response):
            return member_id
        refused = self._gate(scope, principal, op.action, event)
        if refused is not None:
            return refused
        child = self.children.child(collection, event.kind, event.id, member_id)
        if child is None:
            noun = _NOUNS[collection]
            return error_response(scope, 404, f"The {noun} '{member_id}' was not found in this virtual event.")
        return principal, event, child

    def _registration(self, op: Operation, scope: Scope) -> tuple[Principal, Event, Child] | Response:
        """The registration the path names: by id, or by `email`/`userId` key."""
        found = self._context(op, scope)
        if isinstance(found, Response):
            return found
        principal, event = found
        key = op.path_parameters[1]
        registration: Child | None
        if key == "email" or key == "userId":
            value = _path_values(scope)[1].replace("%40", "@").lower()
            registration = self._by_key(event, key, value)
            named = f"{key} '{value}'"
        else:
            registration_id = self._member_id(scope, op, REGISTRATIONS)
            if isinstance(registration_id, Response):
                return registration_id
            registration = self.children.child(REGISTRATIONS, event.kind, event.id, registration_id)
            named = f"'{registration_id}'"
        # Roles first: a caller who may not read registrations learns nothing of which exist.
        refused = self._gate(scope, principal, op.action, event, registration)
        if refused is not None:
            return refused
        if registration is None:
            return error_response(scope, 404, f"The registration {named} was not found in this virtual event.")
        return principal, event, registration

    def _by_key(self, event: Event, key: str, value: str) -> Child | None:
        matching = [
            c
            for c in self.children.children(REGISTRATIONS, event.kind, event.id)
            if str(c.resource.get(key) or "").lower() == value
        ]
        canceled = self.contract.registration_lifecycle["cancelRegistration"][self.registration_create.to].to
        matching.sort(key=lambda c: (c.resource.get("status") != canceled, str(c.resource.get("registrationDateTime"))))
        return matching[-1] if matching else None

    def _active(self, event: Event, person: Mapping[str, Any]) -> str | None:
        """The user id or email of `person` if they hold a registration not canceled, else None."""
        canceled = self.contract.registration_lifecycle["cancelRegistration"][self.registration_create.to].to
        for key in ("userId", "email"):
            value = person.get(key)
            found = self._by_key(event, key, str(value).lower()) if value else None
            if found is not None and found.resource.get("status") != canceled:
                return str(value)
        return None

    @staticmethod
    def _registrant(scope: Scope, principal: Principal, body: Mapping[str, Any]) -> dict[str, Any] | Response:
        names = ("firstName", "lastName", "email")
        if principal.delegated:
            # The signed-in user registers: who they are comes from the token. Graph's page lists
            # the names only for application permissions; a delegated body's names are not used
            # (a choice: refusing them would refuse a body the spec's one schema allows).
            first, _, last = (principal.name or "").partition(" ")
            return {"userId": principal.user, "firstName": first or None, "lastName": last or None, "email": None}
        missing = [n for n in names if not body.get(n)]
        if missing:
            return error_response(scope, 400, f"An anonymous registration needs '{missing[0]}'.")
        return {"userId": None, **{n: body[n] for n in names}}

    def _answers(self, scope: Scope, event: Event, answers: Sequence[Any]) -> list[dict[str, Any]] | Response:
        questions = {q.id: q.resource for q in self.children.children(QUESTIONS, event.kind, event.id)}
        result = []
        answered = set()
        for answer in answers:
            question_id = str(answer.get("questionId") or "").lower() if isinstance(answer, dict) else ""
            if question_id not in questions:
                # As any id the event does not have (a choice): the spec's shape allows any GUID here.
                return error_response(
                    scope, 404, f"The registration question '{question_id}' was not found in this virtual event."
                )
            answered.add(question_id)
            result.append(
                {**answer, "questionId": question_id, "displayName": questions[question_id].get("displayName")}
            )
        for question_id, question in questions.items():
            if question.get("isRequired") and question_id not in answered:
                # The body is well-formed; what refuses it is the event's configuration (its state), as
                # for a second active registration: 409 (a choice; no schema can say which are required).
                return error_response(
                    scope, 409, f"The registration question '{question_id}' needs an answer.", code="notAllowed"
                )
        return result

    @staticmethod
    async def _body(scope: Scope, receive: Receive) -> dict[str, Any] | Response:
        raw = await read_body(receive)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            return error_response(scope, 400, "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return error_response(scope, 400, "The request body must be a JSON object.")
        return body


def _question_problem(body: Mapping[str, Any]) -> str | None:
    odata_type = body.get("@odata.type")
    if odata_type == _CUSTOM_QUESTION:
        if "label" in body:
            return "'label' is a property of predefined questions only."
        if body.get("answerInputType") in _CHOICE_INPUTS and not body.get("answerChoices"):
            return f"A '{body['answerInputType']}' question needs 'answerChoices'."
        return None
    if odata_type == _PREDEFINED_QUESTION:
        if "answerInputType" in body or "answerChoices" in body:
            return "'answerInputType' and 'answerChoices' are properties of custom questions only."
        if not body.get("label"):
            return "A predefined question needs a 'label'."
        return None
    return f"'@odata.type' must be '{_CUSTOM_QUESTION}' or '{_PREDEFINED_QUESTION}'."


def _path_values(scope: Scope) -> list[str]:
    # The path parameters in path order (Starlette keeps the route's order): the event id first.
    return [str(v) for v in scope["path_params"].values()]


def _refusal(action: str, state: str) -> str:
    words = re.sub(r"([A-Z])", r" \1", action).lower()
    return f"The virtual event is {state}; '{words}' is not allowed in this state."


def _busy(scope: Scope) -> Response:
    return error_response(
        scope, 503, "The resource is being changed concurrently; retry.", headers={"Retry-After": "1"}
    )


def _is_empty_object(body: bytes) -> bool:
    try:
        return bool(json.loads(body) == {})
    except ValueError:
        return False
