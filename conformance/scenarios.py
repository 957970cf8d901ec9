"""Where events come from: created through the create operation (then published), or given.

The suite only ever cancels events it created itself or that were given with `--event-id`;
every other id it sends is random and unknown to the target.
"""

from __future__ import annotations

import datetime
import itertools
import re
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from vevents.spec import contract, singular

from .errors import NotThisApi, SetupError, UsageError
from .failures import PreconditionFailed, Skip, Violation
from .target import Exchange, Target, encode_id

__all__ = ["CANCELED", "DRAFT", "PUBLISHED", "Event", "EventSource", "GivenEvent", "parse_event_id"]

# The states, read from the lifecycle table: create leads to draft, publish of a draft to
# published, cancel of a published event to canceled.
DRAFT = contract().create_outcome.to
PUBLISHED = contract().outcome("publish", DRAFT).to
CANCELED = contract().outcome("cancel", PUBLISHED).to
# How often a settling read is repeated (--settle).
_SETTLE_POLL = 0.2


@dataclass(frozen=True, slots=True)
class Event:
    """An event the suite may change: its kind (collection name) and id."""

    kind: str
    id: str


@dataclass(frozen=True, slots=True)
class GivenEvent:
    """An `--event-id` argument: an id, with its kind if the user named it (`webinars:ID`)."""

    id: str
    kind: str | None = None


def parse_event_id(value: str) -> GivenEvent:
    """Parse `ID` or `KIND:ID` (KIND is webinars or townhalls)."""
    kind, sep, event_id = value.partition(":")
    if sep and kind in contract().kinds:
        value, given_kind = event_id, kind
    else:
        given_kind = None
    if not value.strip():
        raise UsageError(f"--event-id needs an id, got {value!r}")
    return GivenEvent(id=value.strip(), kind=given_kind)


def _example_body(kind: str) -> dict[str, Any]:
    """The create example the spec gives for this kind, moved into the future."""
    body: dict[str, Any] = contract().create_example(kind)
    start = datetime.datetime.now(datetime.UTC).replace(microsecond=0, second=0, minute=0) + datetime.timedelta(days=30)
    for name, moment in (("startDateTime", start), ("endDateTime", start + datetime.timedelta(hours=1))):
        if isinstance(body.get(name), dict):
            body[name]["dateTime"] = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return body


def read_status(exchange: Exchange) -> str | None:
    """The `status` of a GET answer, if it is a JSON object carrying one."""
    body = exchange.json()
    return body.get("status") if isinstance(body, dict) else None


@dataclass(slots=True)
class EventSource:
    """Hands out events in a wanted state: created (default) or taken from the given ids.

    Every event the suite creates cannot be deleted (the contract has no DELETE): the checks get
    theirs through the run's `EventPool` (event_pool.py), which uses an event more than once
    where a check's isolation allows and asks this source only for new ones. With `settle`
    (--settle), every preparatory write is re-read until it shows, so that no check is judged on
    a write that has not arrived yet.
    """

    target: Target
    given: list[GivenEvent] | None = None
    # An id the target issued, to shape unknown ids like real ones.
    sample_id: str | None = None
    settle: float = 0.0
    known: dict[str, Event] = field(default_factory=dict)
    """Every event created or given in this run, by id."""
    _pool: list[tuple[Event, str]] = field(default_factory=list)
    _spare: list[Event] = field(default_factory=list)
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.RLock = field(default_factory=threading.RLock)

    @property
    def can_create(self) -> bool:
        return self.given is None

    # ---------------------------------------------------------------- start-up
    def probe(self) -> None:
        """Show that the target is this API (or raise a one-line `ConformanceError`)."""
        if self.given is None:
            first = contract().kinds[0]
            self._spare.append(self._create(first, probing=True))
            return
        if not self.given:
            raise UsageError("--event-id was given without an id")
        for given in self.given:
            event, status = self._identify(given)
            self._pool.append((event, status))
            self.known[event.id] = event

    def _identify(self, given: GivenEvent) -> tuple[Event, str]:
        kinds = [given.kind] if given.kind else list(contract().kinds)
        answers = []
        for kind in kinds:
            exchange = self.target.call("GET", contract().find(action="get", kind=kind).url_path(encode_id(given.id)))
            status = read_status(exchange)
            if exchange.status == 200 and isinstance(status, str):
                self.sample_id = self.sample_id or given.id
                return Event(kind=kind, id=given.id), status
            answers.append(exchange)
        last = answers[-1]
        if any(item.status in (401, 403) for item in answers):
            raise SetupError(f"the token was refused reading event {given.id}: {last.describe()}")
        if all(isinstance((item.json() or {}), dict) and "error" in (item.json() or {}) for item in answers):
            raise SetupError(f"event {given.id} was not found as any of {', '.join(kinds)}: {last.describe()}")
        raise NotThisApi(f"{self.target.base_url} does not look like the Graph virtual events API: {last.describe()}")

    # ---------------------------------------------------------------- handing out
    def event(self, kind: str, state: str = PUBLISHED) -> Event:
        """A fresh event of `kind` in `state` (draft or published) that nothing else will touch."""
        if self.can_create:
            with self._lock:
                spare = next((item for item in self._spare if item.kind == kind), None)
                if spare is not None:
                    self._spare.remove(spare)
            event = spare if spare is not None else self._create(kind)
            if state == PUBLISHED:
                self._publish(event)
            return event
        with self._lock:
            for index, (event, current) in enumerate(self._pool):
                if event.kind == kind and (current == state or (current == DRAFT and state == PUBLISHED)):
                    del self._pool[index]
                    break
            else:
                raise Skip(f"no given {kind} event left in the {state} state (pass more --event-id {kind}:ID)")
        if current != state:
            self._publish(event)
        return event

    def create_on(self, kind: str, base_url: str) -> Event | None:
        """A new (draft) event created through another base URL (another version); None if it refuses."""
        if not self.can_create:
            raise Skip("needs a target that creates events (no --event-id)")
        try:
            return self._create(kind, base_url=base_url)
        except (SetupError, PreconditionFailed):
            return None

    def _create(self, kind: str, *, probing: bool = False, base_url: str | None = None) -> Event:
        op = contract().find(action="create", kind=kind)
        body = _example_body(kind)
        body["displayName"] = f"vevents check {next(self._counter)}"
        exchange = self.target.call(op.method, op.url_path(), json_body=body, base_url=base_url)
        created = exchange.json()
        if exchange.is_success and isinstance(created, dict) and isinstance(created.get("id"), str) and created["id"]:
            self.sample_id = self.sample_id or created["id"]
            event = Event(kind=kind, id=created["id"])
            with self._lock:
                self.known[event.id] = event
            self._settle(event, DRAFT, readable_only=True)
            self._is_an_event_id(event, exchange, base_url)
            return event
        if probing and exchange.status in (401, 403):
            raise SetupError(
                f"the token was refused creating a {singular(kind)} ({exchange.describe()}); pass a delegated token "
                f"with {', '.join(sorted(op.delegated_scopes))}, or --event-id for a target that cannot create"
            )
        # No create route (404/405) or an answer no Graph service gives: the base URL is wrong.
        if probing and (exchange.status in (404, 405) or not (isinstance(created, dict) and "error" in created)):
            versioned = self.target.version in contract().versions
            hint = "" if versioned else " (the base URL should end with a version, e.g. /v1.0)"
            raise NotThisApi(
                f"{self.target.base_url} does not look like the Graph virtual events API{hint}: {exchange.describe()}"
            )
        if probing:
            # The very first create refused: nothing can be judged (exit 2), not one check's violation.
            raise SetupError(f"could not create a {singular(kind)} to work on: {exchange.describe()}")
        raise _broken("create", f"create of a {singular(kind)} answered {exchange.status}", exchange)

    def _is_an_event_id(self, event: Event, created: Exchange, base_url: str | None) -> None:
        """The id create answered names the event: shaped like the spec's ids, or else readable by GET.

        A mock that answers its schema's example (`"id": "string"`) would otherwise send every
        check on to publish an event that does not exist, and each fail with the same 4xx.
        """
        if re.fullmatch(contract().id_pattern, urllib.parse.unquote(event.id)):
            return
        op = contract().find(action="get", kind=event.kind)
        read = self.target.call(op.method, op.url_path(encode_id(event.id)), base_url=base_url)
        body = read.json()
        if read.status == 200 and isinstance(body, dict) and body.get("id") == event.id:
            return
        if self.sample_id == event.id:
            self.sample_id = None  # made-up ids are shaped like the target's real ones, not like this
        raise _broken(
            "create",
            f"create of a {singular(event.kind)} answered an id that is not an event id",
            created,
            read,
            detail=f"id {event.id[:80]!r}; GET of it answered {read.status}",
        )

    def _publish(self, event: Event) -> None:
        op = contract().find(action="publish", kind=event.kind)
        exchange = self.target.call(op.method, op.url_path(encode_id(event.id)))
        if not exchange.is_success:
            problem = f"publish of a fresh {singular(event.kind)} draft answered {exchange.status}"
            raise _broken("publish", problem, exchange)
        self._settle(event, PUBLISHED)

    def cancel(self, event: Event) -> None:
        """Cancel an event as preparation (a check that needs a canceled one to probe)."""
        op = contract().find(action="cancel", kind=event.kind)
        exchange = self.target.call(op.method, op.url_path(encode_id(event.id)))
        if not exchange.is_success:
            problem = f"cancel of a published {singular(event.kind)} answered {exchange.status}"
            raise _broken("cancel", problem, exchange)
        self._settle(event, CANCELED)

    def _settle(self, event: Event, state: str, *, readable_only: bool = False) -> None:
        """With --settle, re-read the event until it shows `state` (or only answers 200), at most `settle` s.

        A preparatory write that has not shown yet would make the next step judge a stale
        replica; if it never shows, the check that uses the event judges what it reads.
        """
        if self.settle <= 0:
            return
        op = contract().find(action="get", kind=event.kind)
        deadline = time.monotonic() + self.settle
        while True:
            exchange = self.target.call(op.method, op.url_path(encode_id(event.id)))
            if exchange.status == 200 and (readable_only or read_status(exchange) == state):
                return
            if time.monotonic() >= deadline:
                return
            time.sleep(min(_SETTLE_POLL, max(0.0, deadline - time.monotonic())))


def _broken(operation: str, title: str, *exchanges: Exchange, detail: str = "") -> PreconditionFailed:
    """A failed precondition: one violation of `operation`, titled alike for every check it stops."""
    message = "\n".join(part for part in (detail, exchanges[-1].describe()) if part)
    repro = tuple(exchange.curl() for exchange in exchanges)
    return PreconditionFailed(operation, Violation(title=title, message=message, repro=repro))
