"""What the check modules share: the kinds and routes, the events they share, and the preludes.

Every check module imports the check API (`..context`, `..definitions`, `..failures`) and this
module, and nothing else of the suite: no check module imports another (a test holds it), so
the modules stand side by side and a new one needs nothing but these two. What a check needs
from the rest of the suite (an event, an exchange, an id's encodings) comes through here.
"""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vevents.spec import contract, singular

from ..context import CANCELED, PUBLISHED, CheckContext
from ..definitions import Need, fresh
from ..envelope import envelope_problem
from ..scenarios import Event, read_status
from ..target import Exchange, encode_id

__all__ = [
    "CANCEL_OF_PUBLISHED",
    "KINDS",
    "SDK_KIND",
    "CancelOfPublished",
    "Event",
    "Exchange",
    "body_of",
    "cancel_expecting_no_5xx",
    "cancel_of_published",
    "encode_id",
    "envelope_problem",
    "find_listed",
    "fresh_canceled",
    "read_status",
    "read_until",
    "shareable_canceled",
    "shareable_untouched",
]

KINDS = contract().kinds
# The base-type routes the official SDKs call (`/events/{id}/cancel`), found as the kind no odata type names.
SDK_KIND = next(op.kind for op in contract().operations if op.kind not in KINDS)


def shareable_canceled(ctx: CheckContext, kind: str) -> Event:
    """A canceled event of `kind` that checks share (its cancel is judged by the checks of cancel itself).

    If the shared one no longer reads `canceled`, the check that changed it has said so (and the
    end-of-run sweep will); this check takes another instead of inheriting that finding.
    """
    for _ in range(2):
        event = ctx.shareable(kind, CANCELED)
        if ctx.status_of(event, expect=CANCELED) == CANCELED:
            return event
        ctx.pool.discard(event)
    ctx.fail(f"no canceled {singular(kind)} stays canceled: canceled must be permanent", events=[event])


def shareable_untouched(ctx: CheckContext, kind: str, state: str = PUBLISHED) -> Event:
    """A shared event of `kind` in `state` for a check whose requests must change nothing."""
    event = ctx.shareable(kind, state)
    if ctx.status_of(event, expect=state) != state:
        ctx.pool.discard(event)
        event = ctx.shareable(kind, state)
    return event


def cancel_expecting_no_5xx(ctx: CheckContext, event: Event, /, **kwargs: object) -> Exchange:
    """Cancel `event` (keyword arguments as for `ctx.cancel`); a 5xx answer ends the check as a violation."""
    exchange = ctx.cancel(event, **kwargs)
    ctx.no_server_error(exchange, events=[event])
    return exchange


def fresh_canceled(ctx: CheckContext, kind: str, /, **kwargs: object) -> tuple[Event, Exchange]:
    """The prelude of most checks of cancel: a published event of `kind` of its own, canceled, no 5xx.

    Keyword arguments go to `ctx.cancel` (e.g. `kind=` for another route, `base_url=` for another version).
    """
    event = ctx.event(kind)
    return event, cancel_expecting_no_5xx(ctx, event, **kwargs)


@dataclass(frozen=True, slots=True)
class CancelOfPublished:
    """The cancel of a published event, as several checks judge it: the read before, the cancel's answer."""

    event: Event
    before: Exchange
    """GET of the event before the cancel (repeated with --settle until it reads published)."""
    cancel: Exchange
    """The cancel through the kind's own route, the id raw, no body."""


CANCEL_OF_PUBLISHED: Need = fresh(PUBLISHED, provides=CANCELED, experiment="cancel of a published event")
"""The need of every check judging `cancel_of_published`: one event per kind for all of them."""


def cancel_of_published(ctx: CheckContext, kind: str) -> CancelOfPublished:
    """The run's one cancel of a published `kind` (made by the first check to ask; it judges nothing itself).

    Its answer (cancel_no_content), its effect (cancel_is_visible) and what it keeps of the body
    (cancel_keeps_other_properties) are three aspects of the same exchange, judged by one check
    each: one event per kind serves all three, as it would serve one. Each judges the exchanges
    itself (a 5xx included), so none inherits another's verdict.
    """

    def make() -> CancelOfPublished:
        event = ctx.event(kind)
        deadline = time.monotonic() + ctx.settle
        before = ctx.get(event)
        while read_status(before) != PUBLISHED and not before.status >= 500 and time.monotonic() < deadline:
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            before = ctx.get(event)
        return CancelOfPublished(event=event, before=before, cancel=ctx.cancel(event))

    return ctx.pool.observe((CANCEL_OF_PUBLISHED.experiment, kind), make)


def read_until(ctx: CheckContext, send: Callable[[], Exchange], done: Callable[[Exchange], bool]) -> Exchange:
    """Send a read; with --settle, repeat it until `done` holds or the settle time is over. The last answer."""
    deadline = time.monotonic() + ctx.settle
    while True:
        exchange = send()
        ctx.no_server_error(exchange)
        if done(exchange) or time.monotonic() >= deadline:
            return exchange
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))


# Pages of a list followed through `@odata.nextLink` before giving up looking for an event.
MAX_LIST_PAGES = 10


def _same_origin(url: str, base_url: str) -> bool:
    # A nextLink elsewhere would carry the token to another host: never followed.
    here, there = urllib.parse.urlsplit(base_url), urllib.parse.urlsplit(url)
    return (here.scheme, here.netloc) == (there.scheme, there.netloc)


def find_listed(ctx: CheckContext, path: str, event: Event) -> tuple[dict[str, Any] | None, Exchange]:
    """`event` as the list at `path` shows it (following `@odata.nextLink` on the target's own
    origin, at most MAX_LIST_PAGES pages), or None; and the first page's answer."""
    first = exchange = ctx.target.call("GET", path)
    for _ in range(MAX_LIST_PAGES):
        ctx.no_server_error(exchange, events=[event])
        page = body_of(exchange)
        items = page.get("value")
        if not isinstance(items, list):
            return None, first
        for item in items:
            if isinstance(item, dict) and item.get("id") == event.id:
                return item, first
        link = page.get("@odata.nextLink")
        if not isinstance(link, str) or not _same_origin(link, ctx.target.base_url):
            return None, first
        origin = "{0.scheme}://{0.netloc}".format(urllib.parse.urlsplit(link))
        exchange = ctx.target.call("GET", link[len(origin) :], base_url=origin)
    return None, first


def body_of(exchange: Exchange) -> dict[str, Any]:
    """The JSON object of a 200 answer; {} for any other answer."""
    body = exchange.json()
    return body if exchange.status == 200 and isinstance(body, dict) else {}
