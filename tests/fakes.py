"""A catalogue of deliberately broken implementations ("fakes"), plus correct-but-different ones.

Each fake is the real stub with exactly ONE fault, made from outside the server: a modified
lifecycle table (`Settings(lifecycle=...)`), a wrapped store (`create_app(settings, store=...)`)
or a small ASGI middleware around the app. Each names the check that must catch it
(`expected_check`). `VARIANTS` are implementations that make a different, legitimate choice
where Graph's documentation is silent; the default mode must find nothing wrong with them.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import datetime
import functools
import inspect
import json
import re
import time
import urllib.parse
import uuid
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import jwt

from vevents.server.app import create_app
from vevents.server.auth import SEED_ORGANIZER, SEED_TENANT, mint_token
from vevents.server.background import serve_in_background
from vevents.server.settings import Settings
from vevents.server.store import Event, MemoryStore
from vevents.spec import Outcome, contract

__all__ = [
    "FAKES",
    "LAGGING_READS",
    "LAGGING_WRITES",
    "SECRET",
    "SLOW_REVERT",
    "SLOW_REVERT_SECONDS",
    "VARIANTS",
    "Fake",
    "serve",
]

SECRET = "vevents-conformance-fakes-secret-0123456789abcdef"
CANCELED = contract().outcome("cancel", "published").to
PUBLISHED = contract().outcome("publish", "draft").to
DRAFT = contract().create_outcome.to
GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"

App = Callable[..., Awaitable[None]]


# ---------------------------------------------------------------------------- building blocks
@dataclass(slots=True)
class Request:
    method: str
    path: str
    raw_path: bytes
    headers: dict[str, str]
    body: bytes
    query: bytes = b""

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def with_json(self, value: Any) -> Request:
        self.body = json.dumps(value).encode()
        self.headers["content-length"] = str(len(self.body))
        return self


@dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.decode("latin-1").lower() == name:
                return value.decode("latin-1")
        return None

    def with_body(self, body: bytes, content_type: str | None = "application/json") -> Response:
        headers = [(k, v) for k, v in self.headers if k.lower() not in (b"content-type", b"content-length")]
        if content_type is not None:
            headers.append((b"content-type", content_type.encode()))
        return Response(self.status, headers, body)


def envelope(status: int, code: str, message: str) -> Response:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    return Response(status, [(b"content-type", b"application/json")], body)


RequestHook = Callable[[Request], "Request | Response | Awaitable[Request | Response]"]
ResponseHook = Callable[[Request, Response], Response]
Wrap = Callable[[App, MemoryStore, Settings], App]


class Rewrite:
    """ASGI middleware: rewrite the request before the stub sees it, or its answer after."""

    def __init__(self, app: App, *, request: RequestHook | None = None, response: ResponseHook | None = None) -> None:
        self.app = app
        self.on_request = request
        self.on_response = response

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        request = Request(
            scope["method"],
            scope["path"],
            scope.get("raw_path") or b"",
            headers,
            b"".join(chunks),
            scope.get("query_string") or b"",
        )
        if self.on_request is not None:
            outcome = self.on_request(request)
            if inspect.isawaitable(outcome):
                outcome = await outcome
            if isinstance(outcome, Response):
                await _send(send, outcome)
                return
            request = outcome
        scope = dict(scope)
        scope["method"] = request.method
        scope["path"] = request.path
        scope["raw_path"] = request.raw_path
        scope["query_string"] = request.query
        scope["headers"] = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in request.headers.items()]
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": request.body, "more_body": False}

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": []}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))

        await self.app(scope, replay, capture)
        response = Response(captured["status"], captured["headers"], b"".join(captured["body"]))
        if self.on_response is not None:
            response = self.on_response(request, response)
        await _send(send, response)


async def _send(send: Any, response: Response) -> None:
    headers = [(k, v) for k, v in response.headers if k.lower() != b"content-length"]
    if response.status != 204 and response.status >= 200:
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body if response.status != 204 else b""})


def _is_cancel(request: Request) -> bool:
    return request.method == "POST" and request.path.endswith("/cancel")


def _table(changes: Mapping[tuple[str, str], Mapping[str, Any]]) -> dict[str, dict[str, Outcome]]:
    """The spec's lifecycle table with some rows changed: {(action, state): {field: value}}."""
    table = {name: dict(rows) for name, rows in contract().lifecycle.items()}
    for (action, state), fields in changes.items():
        table[action][state] = replace(table[action][state], **fields)
    return table


def _claims(request: Request) -> dict[str, Any] | None:
    """The verified claims of the request's bearer token, or None (missing or invalid)."""
    value = request.headers.get("authorization", "")
    if not value.lower().startswith("bearer "):
        return None
    try:
        return jwt.decode(value[7:], SECRET, algorithms=["HS256"], options={"verify_aud": False})
    except jwt.PyJWTError:
        return None


def _as_organizer(request: Request) -> Request:
    request.headers["authorization"] = "Bearer " + mint_token(secret=SECRET, tenant=SEED_TENANT, user=SEED_ORGANIZER)
    return request


# ---------------------------------------------------------------------------- store faults
class ForgetfulCancelStore(MemoryStore):
    """Answers cancel as done but never writes the canceled status."""

    def replace(self, events: Sequence[Event]) -> bool:
        kept = [event for event in events if event.status != CANCELED]
        return super().replace(kept) if kept else True


class VanishingStore(MemoryStore):
    """A canceled event can no longer be found."""

    def find(self, event_id: str, kind: str | None = None) -> list[Event]:
        return [event for event in super().find(event_id, kind) if event.status != CANCELED]


class GreedyCancelStore(MemoryStore):
    """Canceling one event cancels every other event of its tenant too."""

    def replace(self, events: Sequence[Event]) -> bool:
        if not any(event.status == CANCELED for event in events):
            return super().replace(events)
        targets = {(event.kind, event.id) for event in events}
        others = [
            other.changed(status=CANCELED)
            for kind in contract().kinds
            for other in self.list(kind, events[0].tenant)
            if (other.kind, other.id) not in targets and other.status != CANCELED
        ]
        return super().replace([*events, *others])


# ---------------------------------------------------------------------------- middleware faults
def _cancel_200_with_body(request: Request, response: Response) -> Response:
    if _is_cancel(request) and response.status == 204:
        response = response.with_body(json.dumps({"status": CANCELED}).encode())
        response.status = 200
    return response


def _unknown_cancel_204(request: Request, response: Response) -> Response:
    if _is_cancel(request) and response.status == 404:
        return Response(204, [], b"")
    return response


def _ignore_auth(request: Request) -> Request:
    return request if _claims(request) is not None else _as_organizer(request)


def _invalid_token_acts_as_organizer(request: Request) -> Request:
    # A missing token is refused, but any bearer value is taken at its word.
    if request.headers.get("authorization") and _claims(request) is None:
        return _as_organizer(request)
    return request


def _problem_json(request: Request, response: Response) -> Response:
    if response.status < 400:
        return response
    error = (response.json() or {}).get("error", {})
    problem = {
        "type": "about:blank",
        "title": error.get("code", "Error"),
        "status": response.status,
        "detail": error.get("message", ""),
    }
    return response.with_body(json.dumps(problem).encode(), "application/problem+json")


def _misspell(request: Request, response: Response) -> Response:
    if b'"canceled"' in response.body:
        return response.with_body(response.body.replace(b'"canceled"', b'"cancelled"'), response.header("content-type"))
    return response


def _townhalls_not_cancelable(request: Request) -> Request | Response:
    if _is_cancel(request) and "/townhalls/" in request.path:
        return envelope(400, "invalidRequest", "Town halls cannot be canceled.")
    return request


def _percent_crash(request: Request) -> Request | Response:
    if b"%40" in request.raw_path:
        return envelope(500, "generalException", "An internal error occurred.")
    return request


def _body_on_cancel_crashes(request: Request) -> Request | Response:
    if _is_cancel(request) and request.body.strip() not in (b"", b"{}"):
        return envelope(500, "generalException", "An internal error occurred.")
    return request


def _delete_cancels(request: Request) -> Request:
    if request.method == "DELETE" and request.path.endswith("/cancel"):
        request.method = "POST"
    return request


def _beta_forgets_cancel(request: Request, response: Response) -> Response:
    if request.method == "GET" and request.path.startswith("/beta/") and b'"canceled"' in response.body:
        published = contract().outcome("publish", "draft").to.encode()
        return response.with_body(response.body.replace(b'"canceled"', b'"' + published + b'"'))
    return response


def _beta_cancel_noop(request: Request) -> Request | Response:
    if request.method == "POST" and request.path.startswith("/beta/") and request.path.endswith("/cancel"):
        return Response(204, [], b"")
    return request


def _read_only_may_cancel(request: Request) -> Request:
    claims = _claims(request)
    if _is_cancel(request) and claims and "VirtualEvent.ReadWrite" not in claims.get("scp", "").split():
        return _as_organizer(request)
    return request


def _anyone_may_cancel(request: Request) -> Request:
    claims = _claims(request)
    if _is_cancel(request) and claims and claims.get("oid") != SEED_ORGANIZER:
        return _as_organizer(request)
    return request


def _malformed_id_crash(request: Request) -> Request | Response:
    segments = request.path.split("/")
    is_item = len(segments) > 5 and segments[4] in (*contract().kinds, "events")
    if is_item and not re.fullmatch(rf"{GUID}(@{GUID})?", segments[5]):
        return envelope(500, "generalException", "An internal error occurred.")
    return request


# ---------------------------------------------------------------------------- correct, but different
def _other_choices_request(request: Request) -> Request | Response:
    # A body on cancel is ignored (Graph's docs: "don't supply a request body"; ignoring it is fine).
    if _is_cancel(request):
        request.body = b""
        request.headers.pop("content-type", None)
        request.headers["content-length"] = "0"
    return request


def _role_list_hides_canceled(request: Request, response: Response) -> Response:
    # The organizer's own list leaves canceled events out (GET by id still shows them).
    body = response.json()
    listed = body.get("value") if isinstance(body, dict) else None
    if request.method == "GET" and "/getByUserRole(" in request.path and isinstance(listed, list):
        body["value"] = [e for e in listed if not (isinstance(e, dict) and e.get("status") == "canceled")]
        return response.with_body(json.dumps(body).encode())
    return response


def _other_choices_response(request: Request, response: Response) -> Response:
    # Unsupported methods and malformed ids answer 404, no request-id headers, extra annotations.
    if response.status == 405 or (response.status == 400 and not request.body):
        return envelope(404, "itemNotFound", "The virtual event was not found.")
    response.headers = [(k, v) for k, v in response.headers if k.lower() not in (b"request-id", b"client-request-id")]
    body = response.json()
    if isinstance(body, dict) and response.status < 300:
        body = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#solutions/virtualEvents", **body}
        return response.with_body(json.dumps(body).encode())
    return response


_TENANT_SUFFIX = re.compile(rf"({GUID})@{SEED_TENANT}")


# An eventually consistent replica: reads show a cancel only LAG seconds after it was answered.
LAG_SECONDS = 0.6
_CANCELED_AT: dict[str, float] = {}


def _lagging_reads(request: Request, response: Response) -> Response:
    found = re.search(GUID, request.path)
    if found is None:
        return response
    if request.method == "POST" and request.path.endswith("/cancel") and response.status == 204:
        _CANCELED_AT.setdefault(found.group(0), time.monotonic())
    elif request.method == "GET" and time.monotonic() - _CANCELED_AT.get(found.group(0), -LAG_SECONDS) < LAG_SECONDS:
        published = contract().outcome("publish", "draft").to.encode()
        return response.with_body(
            response.body.replace(f'"{CANCELED}"'.encode(), b'"' + published + b'"'), response.header("content-type")
        )
    return response


def _v1_only(request: Request) -> Request | Response:
    if request.path.startswith("/beta/"):
        return envelope(404, "itemNotFound", "This implementation serves v1.0 only.")
    return request


def _plain_guid_request(request: Request) -> Request:
    segments = request.path.split("/")
    if len(segments) > 5 and re.fullmatch(GUID, segments[5]):
        segments[5] = f"{segments[5]}@{SEED_TENANT}"
        request.path = "/".join(segments)
        request.raw_path = request.path.encode()
    return request


def _plain_guid_response(request: Request, response: Response) -> Response:
    if response.body and b"@" in response.body:
        text = _TENANT_SUFFIX.sub(r"\1", response.body.decode("utf-8"))
        return response.with_body(text.encode(), response.header("content-type"))
    return response


# ---------------------------------------------------------------------------- issue 10: subtle faults
def _item(request: Request) -> tuple[str | None, str] | None:
    """(kind, canonical id) of a request on one event; kind None for the base-type /events routes."""
    segments = request.path.split("/")
    if len(segments) < 6 or segments[4] not in (*contract().kinds, "events") or not segments[5]:
        return None
    kind = segments[4] if segments[4] in contract().kinds else None
    return kind, segments[5].lower()


def _stored(store: MemoryStore, request: Request) -> Event | None:
    item = _item(request)
    found = store.find(item[1], item[0]) if item else []
    return found[0] if found else None


def _force(store: MemoryStore, event: Event, resource: Mapping[str, Any]) -> Event:
    """Write `resource` over whatever the event holds now (no version check: the fault)."""
    current = store.find(event.id, event.kind)[0]
    written = replace(current, resource=dict(resource))
    store.replace([written])
    return written


def _json_response(status: int, value: Any) -> Response:
    return Response(status, [(b"content-type", b"application/json")], json.dumps(value).encode())


class _CancelRewritesStore(MemoryStore):
    """Cancel also rewrites other properties (`tombstone`), as a careless "mark as canceled" does.

    A subclass may move the rewrite to another transition: into `into` from any state of `out_of`.
    """

    into = CANCELED
    out_of: frozenset[str] = frozenset(contract().statuses) - {CANCELED}

    def tombstone(self, resource: Mapping[str, Any]) -> Mapping[str, Any]:
        raise NotImplementedError

    def replace(self, events: Sequence[Event]) -> bool:
        written = []
        for event in events:
            before = super().find(event.id, event.kind)
            if event.status == self.into and before and before[0].status in self.out_of:
                event = event.changed(**self.tombstone(event.resource))
            written.append(event)
        return super().replace(written)


class BlankingTombstoneStore(_CancelRewritesStore):
    """Cancel blanks the description (the event becomes a tombstone)."""

    def tombstone(self, resource: Mapping[str, Any]) -> Mapping[str, Any]:
        return {"description": None}


class CanceledPrefixStore(_CancelRewritesStore):
    """Cancel prefixes the display name with "Canceled: " (as calendar invitations do)."""

    def tombstone(self, resource: Mapping[str, Any]) -> Mapping[str, Any]:
        return {"displayName": f"Canceled: {resource.get('displayName')}"}


class EndsNowStore(_CancelRewritesStore):
    """Cancel sets the end to the moment of the cancel ("it ended now")."""

    def tombstone(self, resource: Mapping[str, Any]) -> Mapping[str, Any]:
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return {"endDateTime": {"dateTime": now, "timeZone": "UTC"}}


REVERT_AFTER_SECONDS = 0.5


class RevertingStore(MemoryStore):
    """A cancel lives in a cache whose entry expires: REVERT_AFTER_SECONDS later the event is published again."""

    revert_after = REVERT_AFTER_SECONDS

    def __init__(self) -> None:
        super().__init__()
        self._canceled_at: dict[tuple[str, str], float] = {}

    def replace(self, events: Sequence[Event]) -> bool:
        done = super().replace(events)
        if done:
            for event in events:
                if event.status == CANCELED:
                    self._canceled_at[(event.kind, event.id)] = time.monotonic()
        return done

    def _expired(self, events: Iterable[Event]) -> list[Event]:
        now = time.monotonic()

        def expired(event: Event) -> bool:
            canceled_at = self._canceled_at.get((event.kind, event.id), now)
            return event.status == CANCELED and now - canceled_at > self.revert_after

        return [event.changed(status=PUBLISHED) if expired(event) else event for event in events]

    def find(self, event_id: str, kind: str | None = None) -> list[Event]:
        return self._expired(super().find(event_id, kind))

    def list(self, kind: str, tenant: str) -> list[Event]:
        return self._expired(super().list(kind, tenant))


SLOW_REVERT_SECONDS = 4.0


class SlowRevertingStore(RevertingStore):
    """As RevertingStore, but the cache keeps the cancel for SLOW_REVERT_SECONDS."""

    revert_after = SLOW_REVERT_SECONDS


EVICTION_CAPACITY = 4


class EvictingStore(MemoryStore):
    """Cancels live in a write-back cache of EVICTION_CAPACITY entries whose evictions are dropped.

    Each new cancel beyond the capacity evicts the oldest one, and that event reads published
    again: right after its cancel every read is fine; later in the run it is not.
    """

    def __init__(self) -> None:
        super().__init__()
        self._cached: list[tuple[str, str]] = []

    def replace(self, events: Sequence[Event]) -> bool:
        fresh = []
        for event in events:
            before = super().find(event.id, event.kind)
            if event.status == CANCELED and before and before[0].status != CANCELED:
                fresh.append(event)
        done = super().replace(events)
        if done:
            self._cached.extend((event.kind, event.id) for event in fresh)
            while len(self._cached) > EVICTION_CAPACITY:
                kind, event_id = self._cached.pop(0)
                current = super().find(event_id, kind)
                if current and current[0].status == CANCELED:
                    super().replace([current[0].changed(status=PUBLISHED)])
        return done


class FlushingStore(MemoryStore):
    """Every create writes the tenant's collection back from the snapshot taken at the previous create."""

    def __init__(self) -> None:
        super().__init__()
        self._snapshot: dict[tuple[str, str], str] = {}

    def create(self, event: Event) -> bool:
        done = super().create(event)
        for (kind, event_id), status in self._snapshot.items():
            current = super().find(event_id, kind)
            if current and current[0].status == CANCELED and status != CANCELED:
                super().replace([current[0].changed(status=status)])
        self._snapshot = {
            (other.kind, other.id): other.status for kind in contract().kinds for other in self.list(kind, event.tenant)
        }
        return done


def _app_token() -> str:
    return "Bearer " + mint_token(secret=SECRET, tenant=SEED_TENANT, roles=("VirtualEvent.Read.All",))


PAGE_SIZE = 2


def _is_list(request: Request) -> bool:
    return request.method == "GET" and request.path.rstrip("/").split("/")[-1] in contract().kinds


def _lists_for_delegated_users(request: Request) -> Request:
    # Lists open to delegated tokens (Graph: application tokens only), in pages of PAGE_SIZE.
    if _is_list(request) and _claims(request) is not None:
        request.headers["authorization"] = _app_token()
        query = urllib.parse.parse_qsl(request.query.decode("latin-1"))
        skip = next((value for name, value in query if name == "$skiptoken"), "0")
        request.headers["x-fake-skip"] = skip if skip.isdigit() else "0"
        request.query = urllib.parse.urlencode([(n, v) for n, v in query if n != "$skiptoken"]).encode()
    return request


def _paged(request: Request, response: Response) -> Response:
    body = response.json()
    if not (_is_list(request) and response.status == 200 and isinstance(body, dict)):
        return response
    skip = int(request.headers.get("x-fake-skip", "0"))
    items = body.get("value", [])
    page = {"value": items[skip : skip + PAGE_SIZE]}
    if skip + PAGE_SIZE < len(items):
        host = request.headers.get("host", "127.0.0.1")
        page["@odata.nextLink"] = f"http://{host}{request.path}?$skiptoken={skip + PAGE_SIZE}"
    return response.with_body(json.dumps(page).encode())


def _list_caches_status(request: Request, response: Response) -> Response:
    # The list is served from a cache filled before the cancel: it still says published.
    response = _paged(request, response)
    if _is_list(request) and response.status == 200:
        return response.with_body(response.body.replace(f'"{CANCELED}"'.encode(), f'"{PUBLISHED}"'.encode()))
    return response


def _select_reads_stale_copy(request: Request, response: Response) -> Response:
    # $select reads go to a projection that cancel does not update.
    if request.method == "GET" and "$select" in urllib.parse.unquote(request.query.decode("latin-1")):
        return response.with_body(
            response.body.replace(f'"{CANCELED}"'.encode(), f'"{PUBLISHED}"'.encode()), response.header("content-type")
        )
    return response


def _beta_hides_canceled(request: Request, response: Response) -> Response:
    if request.method == "GET" and request.path.startswith("/beta/") and f'"{CANCELED}"'.encode() in response.body:
        return envelope(404, "itemNotFound", "The virtual event was not found.")
    return response


async def _update_applies_status(store: MemoryStore, request: Request) -> Request | Response:
    # Every member of an update body is applied, the read-only status included.
    body = request.json()
    event = _stored(store, request)
    if request.method == "PATCH" and isinstance(body, dict) and "status" in body and event is not None:
        _force(store, event, {**event.resource, "status": body.pop("status")})
        return request.with_json(body)
    return request


async def _update_with_id_replaces(store: MemoryStore, request: Request) -> Request | Response:
    # An update naming the id is taken as a replacement of the whole event (an upsert), published.
    body = request.json()
    event = _stored(store, request)
    if request.method == "PATCH" and isinstance(body, dict) and "id" in body and event is not None:
        resource = {
            "@odata.type": event.resource["@odata.type"],
            "createdBy": event.resource.get("createdBy"),
            **body,
            "id": event.id,
            "status": PUBLISHED,
        }
        return _json_response(200, _force(store, event, resource).resource)
    return request


async def _beta_publish_revives(store: MemoryStore, request: Request) -> Request | Response:
    # The beta prefix's publish forgot the canceled guard.
    event = _stored(store, request)
    if (
        request.method == "POST"
        and request.path.startswith("/beta/")
        and request.path.endswith("/publish")
        and event is not None
        and event.status == CANCELED
    ):
        _force(store, event, {**event.resource, "status": PUBLISHED})
        return Response(204, [], b"")
    return request


RACE_WINDOW_SECONDS = 0.2


def _stale_write(action: str) -> Callable[[MemoryStore, Request], Awaitable[Request | Response]]:
    """A write decided on the event as read RACE_WINDOW_SECONDS earlier, stored without checking it changed."""

    async def hook(store: MemoryStore, request: Request) -> Request | Response:
        is_action = request.method == "PATCH" if action == "update" else request.path.endswith(f"/{action}")
        before = _stored(store, request) if is_action and request.method in ("PATCH", "POST") else None
        if before is None or before.status != PUBLISHED:
            return request
        await asyncio.sleep(RACE_WINDOW_SECONDS)
        now = _stored(store, request)
        if now is None or now.status != CANCELED:
            return request
        body = request.json() if action == "update" else {}
        written = _force(store, now, {**before.resource, **(body if isinstance(body, dict) else {})})
        return _json_response(200, written.resource) if action == "update" else Response(204, [], b"")

    return hook


def _tenant_ignored(only_cancel: bool) -> RequestHook:
    pattern = re.compile(rf"/({GUID})(@|%40)({GUID})(/|$)")

    def hook(request: Request) -> Request:
        if only_cancel and not _is_cancel(request):
            return request
        request.path = pattern.sub(rf"/\1@{SEED_TENANT}\4", request.path)
        request.raw_path = pattern.sub(rf"/\1@{SEED_TENANT}\4", request.raw_path.decode("latin-1")).encode()
        return request

    return hook


def _separate_stores(app: App, store: MemoryStore, settings: Settings) -> App:
    """/beta is served by a second stub with its own store."""
    beta = create_app(settings, store=MemoryStore())

    async def route(scope: dict[str, Any], receive: Any, send: Any) -> None:
        chosen = beta if scope["type"] == "http" and scope["path"].startswith("/beta/") else app
        await chosen(scope, receive, send)

    return route


def _with_store(hook: Callable[[MemoryStore, Request], Awaitable[Request | Response]]) -> Wrap:
    def wrap(app: App, store: MemoryStore, settings: Settings) -> App:
        return Rewrite(app, request=functools.partial(hook, store))

    return wrap


# Correct, but every read lags every write by WRITE_LAG_SECONDS (create, publish, update, cancel).
# Long enough that a read right after a write is stale even on a busy machine (`make test` runs
# several pytest workers; at 0.15 s a slow read could miss the lag and the plain run pass).
WRITE_LAG_SECONDS = 0.5
_READING: contextvars.ContextVar[bool] = contextvars.ContextVar("vevents_fake_reading", default=False)


class LaggingStore(MemoryStore):
    """Writes land at once; GETs see every event as it was WRITE_LAG_SECONDS ago (a replica)."""

    def __init__(self) -> None:
        super().__init__()
        self._history: dict[tuple[str, str], list[tuple[float, Event]]] = {}

    def _remember(self, events: Iterable[Event]) -> None:
        now = time.monotonic()
        for event in events:
            self._history.setdefault((event.kind, event.id), []).append((now, event))

    def create(self, event: Event) -> bool:
        done = super().create(event)
        if done:
            self._remember([event])
        return done

    def replace(self, events: Sequence[Event]) -> bool:
        done = super().replace(events)
        if done:
            self._remember(events)
        return done

    def _lagged(self, events: Iterable[Event]) -> list[Event]:
        if not _READING.get():
            return list(events)
        horizon = time.monotonic() - WRITE_LAG_SECONDS
        shown = []
        for event in events:
            history = self._history.get((event.kind, event.id))
            if history is None:  # the seed: older than any lag
                shown.append(event)
                continue
            seen = [item for moment, item in history if moment <= horizon]
            if seen:
                shown.append(event.changed(**seen[-1].resource))
        return shown

    def find(self, event_id: str, kind: str | None = None) -> list[Event]:
        return self._lagged(super().find(event_id, kind))

    def list(self, kind: str, tenant: str) -> list[Event]:
        return self._lagged(super().list(kind, tenant))


def _reads_lag(app: App, store: MemoryStore, settings: Settings) -> App:
    async def marked(scope: dict[str, Any], receive: Any, send: Any) -> None:
        token = _READING.set(scope["type"] == "http" and scope["method"] == "GET")
        try:
            await app(scope, receive, send)
        finally:
            _READING.reset(token)

    return marked


# ---------------------------------------------------------------------------- issue 20: one cell of the matrix each
# Each fake gets exactly one cell of caller x state (and how it was reached) x action or view x
# what is compared wrong, and is right everywhere else.
OTHER_TENANT = "0f0f0f0f-1e1e-4d2d-8c3c-4b4b4b4b4b4b"


def _scopes(claims: Mapping[str, Any]) -> list[str]:
    return str(claims.get("scp", "")).split()


def _is_read_only(request: Request) -> bool:
    claims = _claims(request)
    return claims is not None and "VirtualEvent.ReadWrite" not in _scopes(claims)


def _is_other_user(request: Request) -> bool:
    claims = _claims(request)
    return claims is not None and claims.get("tid") == SEED_TENANT and claims.get("oid") != SEED_ORGANIZER


def _action_of(request: Request) -> str | None:
    """get, update, publish or cancel for a request on one event; None for anything else."""
    if _item(request) is None:
        return None
    tail = request.path.rstrip("/").rsplit("/", 1)[-1]
    if request.method == "POST" and tail in ("publish", "cancel"):
        return tail
    if len(request.path.split("/")) == 6:
        return {"GET": "get", "PATCH": "update"}.get(request.method)
    return None


def _replace_status(response: Response, old: str, new: str) -> Response:
    return response.with_body(
        response.body.replace(f'"{old}"'.encode(), f'"{new}"'.encode()), response.header("content-type")
    )


# The ways each event went through the lifecycle, as the fakes that remember them saw it.
_PUBLISHED_ONCE: set[str] = set()


def _remember_publish(store: MemoryStore, request: Request) -> Event | None:
    event = _stored(store, request)
    claims = _claims(request) or {}
    organizer = claims.get("oid") == SEED_ORGANIZER and "VirtualEvent.ReadWrite" in _scopes(claims)
    if event is not None and organizer and _action_of(request) == "publish" and event.status == DRAFT:
        _PUBLISHED_ONCE.add(event.id)
    return event


async def _read_only_cancels_canceled(store: MemoryStore, request: Request) -> Request | Response:
    # The permission check sits after the "already canceled: nothing to do" shortcut.
    event = _stored(store, request)
    if _action_of(request) == "cancel" and _is_read_only(request) and event is not None and event.status == CANCELED:
        return Response(204, [], b"")
    return request


def _other_user_reads_stale(request: Request, response: Response) -> Response:
    # Another user's reads come from a per-user cache that a cancel never reaches.
    if _action_of(request) == "get" and _is_other_user(request) and response.status == 200:
        return _replace_status(response, CANCELED, PUBLISHED)
    return response


def _other_user_sees_organizer_fields(request: Request, response: Response) -> Response:
    # Another user of the tenant gets the organizer-only external information too.
    body = response.json()
    if _action_of(request) == "get" and _is_other_user(request) and response.status == 200 and isinstance(body, dict):
        body["externalEventInformation"] = [{"applicationId": str(uuid.UUID(int=1)), "externalEventId": "crm-7"}]
        return response.with_body(json.dumps(body).encode(), response.header("content-type"))
    return response


def _other_tenant_reads(request: Request) -> Request:
    # Reads ignore the token's tenant: any valid token of any tenant reads the event.
    claims = _claims(request)
    if _action_of(request) == "get" and claims is not None and claims.get("tid") != SEED_TENANT:
        return _as_organizer(request)
    return request


async def _no_token_reads_canceled(store: MemoryStore, request: Request) -> Request | Response:
    # Canceled events are served from a public tombstone cache, without looking at the token.
    event = _stored(store, request)
    if _action_of(request) == "get" and "authorization" not in request.headers and event and event.status == CANCELED:
        return _as_organizer(request)
    return request


async def _other_user_publishes_draft(store: MemoryStore, request: Request) -> Request | Response:
    # The role is checked on publish of a published event only: anyone of the tenant publishes a draft.
    event = _stored(store, request)
    if _action_of(request) == "publish" and _is_other_user(request) and event is not None and event.status == DRAFT:
        return _as_organizer(request)
    return request


def _read_only_updates(request: Request) -> Request:
    # Update forgets the scope check (VirtualEvent.Read may rename the event).
    if _action_of(request) == "update" and _is_read_only(request):
        return _as_organizer(request)
    return request


async def _publish_revives_canceled_draft(store: MemoryStore, request: Request) -> Request | Response:
    # The canceled guard knows events that were published: one canceled as a draft is published.
    event = _remember_publish(store, request)
    if _action_of(request) == "publish" and event and event.status == CANCELED and event.id not in _PUBLISHED_ONCE:
        _force(store, event, {**event.resource, "status": PUBLISHED})
        return Response(204, [], b"")
    return request


async def _update_restores_canceled_draft(store: MemoryStore, request: Request) -> Request | Response:
    # An update of an event canceled as a draft "restores" the draft it was.
    event = _remember_publish(store, request)
    if _action_of(request) == "update" and event and event.status == CANCELED and event.id not in _PUBLISHED_ONCE:
        _force(store, event, {**event.resource, "status": DRAFT})
    return request


async def _sdk_cancel_of_draft_noop(store: MemoryStore, request: Request) -> Request | Response:
    # The SDK route's cancel answers 204 for a draft and leaves it a draft.
    event = _stored(store, request)
    if _action_of(request) == "cancel" and "/events/" in request.path and event and event.status == DRAFT:
        return Response(204, [], b"")
    return request


def _beta_percent_stale(request: Request, response: Response) -> Response:
    # /beta reads with a %40 in the id come from a copy that never sees a cancel.
    if _action_of(request) == "get" and request.path.startswith("/beta/") and b"%40" in request.raw_path:
        return _replace_status(response, CANCELED, PUBLISHED)
    return response


async def _other_kind_route_cancels(store: MemoryStore, request: Request) -> Request | Response:
    # The cancel route finds the event by id alone: a webinar cancels through /townhalls/{id}/cancel.
    item = _item(request)
    if _action_of(request) == "cancel" and item is not None and item[0] is not None:
        found = store.find(item[1])
        if found and found[0].kind != item[0]:
            request.path = request.path.replace(f"/{item[0]}/", f"/{found[0].kind}/")
            request.raw_path = request.path.encode()
    return request


_SELECT_CACHE: dict[str, bytes] = {}


def _select_caches_once_read(request: Request, response: Response) -> Response:
    # $select reads are cached by id once served (and the cache is never invalidated).
    query = urllib.parse.unquote(request.query.decode("latin-1"))
    item = _item(request)
    if _action_of(request) != "get" or "$select" not in query or item is None or response.status != 200:
        return response
    cached = _SELECT_CACHE.setdefault(f"{item[1]}?{query}", response.body)
    return response.with_body(cached, response.header("content-type"))


async def _beta_update_noop(store: MemoryStore, request: Request) -> Request | Response:
    # An update through /beta answers 200 with the new body and stores nothing.
    event = _stored(store, request)
    body = request.json()
    if _action_of(request) == "update" and request.path.startswith("/beta/") and event and isinstance(body, dict):
        return _json_response(200, {**event.resource, **body})
    return request


def _list_drops_annotation(request: Request, response: Response) -> Response:
    # Lists (open to delegated tokens) leave out the items' @odata.type once they are canceled.
    response = _paged(request, response)
    body = response.json()
    if _is_list(request) and response.status == 200 and isinstance(body, dict):
        for item in body.get("value", []):
            if isinstance(item, dict) and item.get("status") == CANCELED:
                item.pop("@odata.type", None)
        return response.with_body(json.dumps(body).encode())
    return response


class PublishDropsDescriptionStore(_CancelRewritesStore):
    """Publish of a draft drops the description (it is "sent out" to the attendees and not kept)."""

    into = PUBLISHED
    out_of = frozenset({DRAFT})

    def tombstone(self, resource: Mapping[str, Any]) -> Mapping[str, Any]:
        return {"description": None}


class DraftCancelRenamesStore(_CancelRewritesStore):
    """Cancel of a draft (never of a published event) renames it "Withdrawn: <name>"."""

    out_of = frozenset({DRAFT})

    def tombstone(self, resource: Mapping[str, Any]) -> Mapping[str, Any]:
        return {"displayName": f"Withdrawn: {resource.get('displayName')}"}


class UpdateRewritesCreatorStore(MemoryStore):
    """An update also rewrites the read-only `createdBy` (the last writer becomes the creator's name)."""

    def replace(self, events: Sequence[Event]) -> bool:
        written = []
        for event in events:
            before = super().find(event.id, event.kind)
            same = before and before[0].status == event.status
            if same and before[0].resource.get("displayName") != event.resource.get("displayName"):
                creator = dict(event.resource.get("createdBy") or {})
                creator["user"] = {**(creator.get("user") or {}), "displayName": "Last writer"}
                event = event.changed(createdBy=creator)
            written.append(event)
        return super().replace(written)


# ---------------------------------------------------------------------------- the catalogue
@dataclass(frozen=True, slots=True)
class Fake:
    """One implementation: how it differs from the stub, and the check that must catch it."""

    name: str
    description: str
    expected_check: str | None = None
    lifecycle: Mapping[str, Mapping[str, Outcome]] | None = None
    store: type[MemoryStore] | None = None
    request: RequestHook | None = None
    response: ResponseHook | None = None
    # Schemathesis built-ins that must catch it too (the catalogue test runs only these).
    schemathesis_checks: tuple[str, ...] = field(default=())
    # Wraps the app with access to its store (faults that write behind the stub's back).
    wrap: Wrap | None = None

    def app(self) -> Any:
        settings = Settings(memory=True, port=0, secret=SECRET, log_level="critical", lifecycle=self.lifecycle)
        store = self.store() if self.store else MemoryStore()
        app = create_app(settings, store=store)
        if self.wrap is not None:
            app = self.wrap(app, store, settings)
        if self.request or self.response:
            return Rewrite(app, request=self.request, response=self.response)
        return app


FAKES: tuple[Fake, ...] = (
    Fake(
        "cancel_200_with_body",
        "cancel answers 200 with a JSON body",
        "cancel_no_content",
        response=_cancel_200_with_body,
        schemathesis_checks=("status_code_conformance",),
    ),
    Fake(
        "cancel_not_persisted",
        "cancel answers 204 but the status never changes",
        "cancel_is_visible",
        store=ForgetfulCancelStore,
    ),
    Fake("canceled_disappears", "a canceled event answers 404", "cancel_is_visible", store=VanishingStore),
    Fake(
        "publish_revives",
        "publish of a canceled event makes it published",
        "publish_keeps_canceled",
        lifecycle=_table({("publish", "canceled"): {"status": 204, "to": "published", "error": None}}),
    ),
    Fake(
        "second_cancel_toggles",
        "a second cancel makes the event published again",
        "second_cancel_keeps_canceled",
        lifecycle=_table({("cancel", "canceled"): {"to": "published"}}),
    ),
    Fake(
        "update_revives",
        "update of a canceled event makes it published",
        "update_keeps_canceled",
        lifecycle=_table({("update", "canceled"): {"status": 200, "to": "published", "error": None}}),
    ),
    Fake(
        "draft_cancel_noop",
        "cancel of a draft answers 204 but it stays draft",
        "cancel_draft",
        lifecycle=_table({("cancel", "draft"): {"to": "draft"}}),
    ),
    Fake("unknown_id_204", "cancel of an unknown id answers 204", "unknown_id_not_found", response=_unknown_cancel_204),
    Fake(
        "auth_ignored",
        "missing or invalid tokens act as the organizer",
        "auth_required",
        request=_ignore_auth,
        schemathesis_checks=("ignored_auth",),
    ),
    Fake(
        "invalid_token_accepted",
        "any invalid bearer token acts as the organizer (a missing one is refused)",
        "auth_required",
        request=_invalid_token_acts_as_organizer,
    ),
    Fake(
        "problem_json_errors",
        "errors are RFC 7807 application/problem+json",
        "error_envelope",
        response=_problem_json,
        schemathesis_checks=("content_type_conformance",),
    ),
    Fake("misspelt_status", "the canceled status is spelt `cancelled`", "cancel_is_visible", response=_misspell),
    Fake(
        "role_list_hides_canceled",
        "getByUserRole(role='organizer') leaves canceled events out",
        "canceled_in_get_by_user_role",
        response=_role_list_hides_canceled,
    ),
    Fake(
        "townhalls_not_cancelable",
        "cancel of a town hall answers 400",
        "cancel_every_kind_and_route",
        request=_townhalls_not_cancelable,
    ),
    Fake("percent_ids_crash", "ids sent with %40 answer 500", "id_encoding", request=_percent_crash),
    Fake(
        "cancel_hits_others",
        "cancel cancels every event of the tenant",
        "cancel_affects_only_target",
        store=GreedyCancelStore,
    ),
    Fake(
        "body_on_cancel_crashes",
        "a body sent to cancel answers 500",
        "cancel_with_body",
        request=_body_on_cancel_crashes,
    ),
    Fake(
        "delete_cancels",
        "DELETE on the cancel path cancels the event",
        "cancel_path_other_methods",
        request=_delete_cancels,
    ),
    Fake(
        "beta_forgets_cancel",
        "the beta prefix shows a canceled event as published",
        "canceled_on_other_version",
        response=_beta_forgets_cancel,
    ),
    Fake(
        "beta_cancel_noop",
        "cancel through the beta prefix answers 204 and does nothing",
        "canceled_on_other_version",
        request=_beta_cancel_noop,
    ),
    Fake(
        "read_only_may_cancel",
        "a VirtualEvent.Read token may cancel",
        "read_only_token_forbidden",
        request=_read_only_may_cancel,
    ),
    Fake(
        "anyone_may_cancel",
        "any user of the tenant may cancel any event",
        "other_user_forbidden",
        request=_anyone_may_cancel,
    ),
    Fake(
        "malformed_id_crash",
        "an id that is not a GUID answers 500",
        "malformed_id_rejected",
        request=_malformed_id_crash,
    ),
    # Cancel changes only the status.
    Fake(
        "tombstone_blanks_description",
        "cancel blanks the description",
        "cancel_keeps_other_properties",
        store=BlankingTombstoneStore,
    ),
    Fake(
        "cancel_prefixes_name",
        'cancel renames the event "Canceled: <name>"',
        "cancel_keeps_other_properties",
        store=CanceledPrefixStore,
    ),
    Fake(
        "cancel_ends_now",
        "cancel sets the end time to the moment of the cancel",
        "cancel_keeps_other_properties",
        store=EndsNowStore,
    ),
    # Every view agrees.
    Fake(
        "list_caches_status",
        "lists (paged, open to delegated tokens) still show a canceled event as published",
        "canceled_views_agree",
        request=_lists_for_delegated_users,
        response=_list_caches_status,
    ),
    Fake(
        "select_reads_stale_copy",
        "a $select read shows a canceled event as published",
        "canceled_views_agree",
        response=_select_reads_stale_copy,
    ),
    Fake(
        "beta_hides_canceled",
        "the beta prefix answers 404 for a canceled event",
        "canceled_views_agree",
        response=_beta_hides_canceled,
    ),
    # Permanent over time.
    Fake(
        "cancel_lost_on_eviction",
        f"cancels live in a cache of {EVICTION_CAPACITY}; each further cancel evicts "
        "the oldest, which reads published again",
        "canceled_stays_canceled",
        store=EvictingStore,
    ),
    Fake(
        "create_flushes_cancels",
        "each create writes the collection back from a stale snapshot, undoing cancels",
        "canceled_stays_canceled",
        store=FlushingStore,
    ),
    # No write revives a canceled event.
    Fake(
        "update_applies_status",
        "an update applies a read-only `status` in its body",
        "no_write_revives_canceled",
        wrap=_with_store(_update_applies_status),
    ),
    Fake(
        "update_with_id_replaces",
        "an update naming the id replaces the event, published",
        "no_write_revives_canceled",
        wrap=_with_store(_update_with_id_replaces),
    ),
    Fake(
        "beta_publish_revives",
        "publish through the beta prefix revives a canceled event",
        "no_write_revives_canceled",
        wrap=_with_store(_beta_publish_revives),
    ),
    # Concurrency.
    Fake(
        "update_race_overwrites_cancel",
        "an update racing a cancel overwrites it with its stale read",
        "cancel_wins_races",
        wrap=_with_store(_stale_write("update")),
    ),
    Fake(
        "publish_race_overwrites_cancel",
        "a publish racing a cancel overwrites it with its stale read",
        "cancel_wins_races",
        wrap=_with_store(_stale_write("publish")),
    ),
    # Isolation.
    Fake(
        "tenant_suffix_ignored",
        "the tenant part of an id is ignored (another tenant's suffix finds the event)",
        "other_tenant_id_not_found",
        request=_tenant_ignored(only_cancel=False),
    ),
    Fake(
        "cancel_ignores_tenant",
        "cancel ignores the tenant part of the id",
        "other_tenant_id_not_found",
        request=_tenant_ignored(only_cancel=True),
    ),
    Fake(
        "separate_stores_per_prefix",
        "/v1.0 and /beta keep separate stores",
        "versions_share_one_store",
        wrap=_separate_stores,
    ),
    # The matrix (issue 20): caller x state, and how it was reached.
    Fake(
        "read_only_cancels_canceled",
        "a VirtualEvent.Read token's cancel of an already canceled event answers 204",
        "callers_in_every_state",
        wrap=_with_store(_read_only_cancels_canceled),
    ),
    Fake(
        "other_user_reads_stale_status",
        "another user reads a canceled event as published (a per-user cache)",
        "callers_in_every_state",
        response=_other_user_reads_stale,
    ),
    Fake(
        "other_user_sees_organizer_fields",
        "another user reads the organizer-only externalEventInformation",
        "callers_in_every_state",
        response=_other_user_sees_organizer_fields,
    ),
    Fake(
        "other_tenant_reads",
        "a token of another tenant reads the event",
        "callers_in_every_state",
        request=_other_tenant_reads,
    ),
    Fake(
        "no_token_reads_canceled",
        "a canceled event reads without a token",
        "callers_in_every_state",
        wrap=_with_store(_no_token_reads_canceled),
    ),
    Fake(
        "other_user_publishes_draft",
        "another user of the tenant may publish a draft",
        "callers_in_every_state",
        wrap=_with_store(_other_user_publishes_draft),
    ),
    Fake(
        "read_only_updates",
        "a VirtualEvent.Read token may update",
        "callers_in_every_state",
        request=_read_only_updates,
    ),
    Fake(
        "publish_revives_canceled_draft",
        "publish of an event canceled as a draft publishes it",
        "states_as_reached",
        wrap=_with_store(_publish_revives_canceled_draft),
    ),
    Fake(
        "update_restores_canceled_draft",
        "update of an event canceled as a draft makes it a draft again",
        "states_as_reached",
        wrap=_with_store(_update_restores_canceled_draft),
    ),
    Fake(
        "update_unpublishes",
        "update of a published event makes it a draft again",
        "states_as_reached",
        lifecycle=_table({("update", "published"): {"to": "draft"}}),
    ),
    Fake(
        "sdk_cancel_of_draft_noop",
        "cancel of a draft through /events/{id}/cancel answers 204 and leaves a draft",
        "states_as_reached",
        wrap=_with_store(_sdk_cancel_of_draft_noop),
    ),
    # The matrix: actions and views.
    Fake(
        "beta_percent_stale_status",
        "GET on /beta with the id's @ sent as %40 shows a canceled event as published",
        "views_agree_across_changes",
        response=_beta_percent_stale,
    ),
    Fake(
        "other_kind_route_cancels",
        "cancel through the other kind's route (/townhalls/{webinar id}/cancel) cancels the event",
        "views_agree_across_changes",
        wrap=_with_store(_other_kind_route_cancels),
    ),
    Fake(
        "select_caches_once_read",
        "a $select read is cached once served: after a cancel it still shows what it showed before",
        "views_agree_across_changes",
        response=_select_caches_once_read,
    ),
    Fake(
        "beta_update_noop",
        "update through /beta answers 200 with the new body and stores nothing",
        "views_agree_across_changes",
        wrap=_with_store(_beta_update_noop),
    ),
    # The matrix: what is compared (the whole body, across every transition).
    Fake(
        "list_drops_annotation_after_cancel",
        "lists (open to delegated tokens) drop a canceled item's @odata.type",
        "bodies_kept_across_transitions",
        request=_lists_for_delegated_users,
        response=_list_drops_annotation,
    ),
    Fake(
        "publish_drops_description",
        "publish of a draft blanks its description",
        "bodies_kept_across_transitions",
        store=PublishDropsDescriptionStore,
    ),
    Fake(
        "draft_cancel_renames",
        'cancel of a draft renames it "Withdrawn: <name>"',
        "bodies_kept_across_transitions",
        store=DraftCancelRenamesStore,
    ),
    Fake(
        "update_rewrites_creator",
        "an update also rewrites the read-only createdBy",
        "bodies_kept_across_transitions",
        store=UpdateRewritesCreatorStore,
    ),
)

VARIANTS: tuple[Fake, ...] = (
    Fake(
        "refusing_lifecycle",
        "second cancel 409, cancel of a draft 400, publish of a canceled event 400, update of a canceled event 400",
        lifecycle=_table(
            {
                ("cancel", "canceled"): {"status": 409, "error": "notAllowed"},
                ("cancel", "draft"): {"status": 400, "to": "draft", "error": "invalidRequest"},
                ("publish", "canceled"): {"status": 400, "error": "invalidRequest"},
                ("update", "canceled"): {"status": 400, "error": "invalidRequest"},
            }
        ),
    ),
    Fake(
        "other_choices",
        "no request-id headers, @odata.context in bodies, 404 for malformed ids and unsupported "
        "methods, a body on cancel ignored",
        request=_other_choices_request,
        response=_other_choices_response,
    ),
    Fake(
        "plain_guid_ids",
        "event ids are plain GUIDs (no @tenant)",
        request=_plain_guid_request,
        response=_plain_guid_response,
    ),
    Fake("v1_only", "serves /v1.0 only: every /beta request answers 404", request=_v1_only),
    Fake(
        "delegated_lists_paged",
        f"lists open to delegated tokens, {PAGE_SIZE} events per page with @odata.nextLink",
        request=_lists_for_delegated_users,
        response=_paged,
    ),
)

# Correct, but its reads lag its writes (like Graph's replicas): caught by default, fine with --settle.
LAGGING_READS = Fake(
    "lagging_reads",
    f"reads show a cancel only {LAG_SECONDS} s after it was answered",
    "cancel_is_visible",
    response=_lagging_reads,
)
# A fault that shows only after the run: the reason for --permanence-wait.
SLOW_REVERT = Fake(
    "cancel_reverts_slowly",
    f"a canceled event reads published again {SLOW_REVERT_SECONDS:g} s later",
    "canceled_stays_canceled",
    store=SlowRevertingStore,
)
# Correct, but every read lags every write (create, publish, update, cancel): fine with --settle.
LAGGING_WRITES = Fake(
    "lagging_writes",
    f"reads show every write only {WRITE_LAG_SECONDS} s after it was answered",
    "cancel_is_visible",
    store=LaggingStore,
    wrap=_reads_lag,
)


@functools.cache
def tokens() -> dict[str, str]:
    """The tokens the fakes trust, by the suite's role names (minted once per process)."""
    return {
        "main": mint_token(secret=SECRET, tenant=SEED_TENANT, user=SEED_ORGANIZER),
        "read_only": mint_token(secret=SECRET, tenant=SEED_TENANT, user=SEED_ORGANIZER, scopes=("VirtualEvent.Read",)),
        "other_user": mint_token(secret=SECRET, tenant=SEED_TENANT, user=str(uuid.uuid4())),
        "other_tenant": mint_token(secret=SECRET, tenant=OTHER_TENANT, user=str(uuid.uuid4())),
    }


@contextlib.contextmanager
def serve(fake: Fake) -> Iterator[str]:
    """Serve a fake on 127.0.0.1; yield its versioned base URL."""
    with serve_in_background(fake.app(), log_level="critical") as url:
        yield f"{url}/{contract().versions[0]}"


def judge(fake: Fake, **options: Any) -> Any:
    """Serve `fake` and run the suite against it with every token role; returns the `RunResult`."""
    from vevents.conformance import CheckConfig, run

    role_tokens = tokens()
    with serve(fake) as base_url:
        config = CheckConfig(
            base_url=base_url,
            token=role_tokens["main"],
            read_only_token=role_tokens["read_only"],
            other_user_token=role_tokens["other_user"],
            other_tenant_token=role_tokens["other_tenant"],
            **options,
        )
        return run(config)


STUB = Fake("stub", "the stub itself, unchanged")
