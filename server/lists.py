"""Collections as Graph answers them: role filters, pages with `@odata.nextLink`, `$count`,
and the `@odata.context` annotation of every JSON answer.

Pure functions of the request scope and the events a store returned; the handlers
(`handlers.py`) call them. Pages are keyset pages over the store's order (by id): the
`$skiptoken` names the last id of the previous page, so an event created or canceled between
two page reads neither repeats nor hides another one.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlencode

from vevents.server.auth import co_organizers_of, organizer_of
from vevents.server.ids import parse_event_id
from vevents.server.store import Event

if TYPE_CHECKING:
    from starlette.types import Scope

__all__ = [
    "ListQuery",
    "QueryError",
    "base_url",
    "collection_context",
    "entity_context",
    "in_role",
    "next_link",
    "page",
    "parse_list_query",
]

SELECT, COUNT, TOP, SKIPTOKEN = "$select", "$count", "$top", "$skiptoken"
LIST_OPTIONS = frozenset({SELECT, COUNT, TOP, SKIPTOKEN})
"""The OData query options a list takes; any other `$` option answers 400."""
_DIGITS = re.compile(r"[0-9]{1,4000}")  # int() refuses more than 4300 digits


class QueryError(ValueError):
    """A query option the stub refuses (-> 400 `invalidRequest`, this message)."""


@dataclass(frozen=True, slots=True)
class ListQuery:
    """What a list request asks for."""

    select: list[str] | None
    count: bool
    top: int | None
    after: str | None
    """The id after which this page starts (from `$skiptoken`); None: the first page."""


def parse_list_query(query_string: bytes) -> ListQuery:
    """The list options of a query string (QueryError names the option that is wrong)."""
    select: list[str] | None = None
    count = False
    top: int | None = None
    after: str | None = None
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name == SELECT:
            select = [p for p in value.split(",") if p]
        elif name == COUNT:
            if value not in ("true", "false"):
                raise QueryError(f"The query option '$count' must be true or false, not '{value}'.")
            count = value == "true"
        elif name == TOP:
            if not _DIGITS.fullmatch(value):
                raise QueryError(f"The query option '$top' must be a non-negative integer, not '{value}'.")
            top = int(value)
        elif name == SKIPTOKEN:
            after = _decode_skiptoken(value)
        elif name.startswith("$"):
            options = ", ".join(sorted(LIST_OPTIONS))
            raise QueryError(f"The query option '{name}' is not supported here; only {options} are.")
    return ListQuery(select, count, top, after)


def _encode_skiptoken(event_id: str) -> str:
    return base64.urlsafe_b64encode(event_id.encode()).decode().rstrip("=")


def _decode_skiptoken(token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raw = ""
    event_id = parse_event_id(raw, "") if "@" in raw else None
    if event_id is None:
        raise QueryError("The $skiptoken is not one this service issued; start again from the first page.")
    return event_id


def in_role(resource: Mapping[str, Any], user: str, role: str) -> bool:
    """Whether `user` (lower case) holds `role` (organizer or coOrganizer) in the event."""
    if role == "organizer":
        return organizer_of(resource) == user
    return user in co_organizers_of(resource)


def page(events: Sequence[Event], query: ListQuery, page_size: int) -> tuple[list[Event], str | None]:
    """This page's events (the store's order: by id), and the last id if more follow."""
    start = 0
    if query.after is not None:
        start = next((i for i, e in enumerate(events) if e.id > query.after), len(events))
    size = page_size if query.top is None else min(query.top, page_size)
    items = list(events[start : start + size])
    more = start + size < len(events)
    return items, (items[-1].id if more and items else None)


def base_url(scope: Scope) -> str:
    """The URL of the Graph version the request was sent to, e.g. `http://127.0.0.1:8080/v1.0`."""
    host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
    if host is None:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    version = scope["path"].split("/")[1:2]
    return f"{scope.get('scheme', 'http')}://{host}{scope.get('root_path', '')}/{''.join(version)}"


def next_link(scope: Scope, after: str) -> str:
    """The request's URL with `$skiptoken` naming the page after `after` (other options kept)."""
    options = [
        (k, v) for k, v in parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True) if k != SKIPTOKEN
    ]
    options.append((SKIPTOKEN, _encode_skiptoken(after)))
    path = quote(scope["path"].split("/", 2)[2], safe="/()'=,$@")
    return f"{base_url(scope)}/{path}?{urlencode(options, safe='$,')}"


def _selected(select: Iterable[str] | None) -> str:
    return f"({','.join(select)})" if select else ""


def collection_context(scope: Scope, kind: str, odata_type: str, select: list[str] | None, *, tenant: bool) -> str:
    """`@odata.context` of a list: the entity set for the tenant list, a collection of the
    type for a function's answer (`getByUserRole`), as Graph writes them."""
    if tenant:
        return f"{base_url(scope)}/$metadata#solutions/virtualEvents/{kind}{_selected(select)}"
    return f"{base_url(scope)}/$metadata#Collection({odata_type.lstrip('#')}){_selected(select)}"


def entity_context(scope: Scope, kind: str, select: list[str] | None) -> str:
    """`@odata.context` of one event, e.g. `.../$metadata#solutions/virtualEvents/webinars/$entity`."""
    return f"{base_url(scope)}/$metadata#solutions/virtualEvents/{kind}{_selected(select)}/$entity"
