"""What a check gets: the target, fresh events, the mode, and the judging helpers they share.

The helpers encode the two judging modes in one place:
- default: what Graph documents for cancel and get, plus the rules that hold for any correct
  implementation (no 5xx, errors in Graph's envelope, canceled is permanent, a refused request
  changes nothing); the other operations only set up state;
- strict: additionally every row of the spec's lifecycle table, including the stub's choices.
"""

from __future__ import annotations

import random
import re
import string
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NoReturn

from vevents.spec import Contract, Operation, contract

from .failures import Skip, Violation
from .scenarios import DRAFT, PUBLISHED, Event, EventSource, read_status
from .target import Exchange, Target, encode_id

__all__ = ["CANCELED", "DRAFT", "JUDGED_ACTIONS", "PUBLISHED", "CheckContext", "envelope_problem"]

CANCELED = contract().outcome("cancel", PUBLISHED).to
# The operations the default mode judges; the others only set up state.
JUDGED_ACTIONS = frozenset({"cancel", "get"})
SDK_KIND = "events"
JSON = "application/json"
_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def envelope_problem(exchange: Exchange) -> str | None:
    """Why an error answer is not in Graph's envelope (`None` when it is, or when it is no error)."""
    if exchange.status < 400 or exchange.method == "HEAD":
        return None
    if exchange.media_type != JSON:
        return f"Content-Type is {exchange.content_type or 'missing'!r}, not {JSON}"
    body = exchange.json()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return 'the body is not {"error": {...}}'
    for member in ("code", "message"):
        if not isinstance(error.get(member), str):
            return f"error.{member} is missing or not a string"
    return None


@dataclass(slots=True)
class CheckContext:
    """Per-check state: what was sent during this check, and the soft findings so far."""

    target: Target
    events: EventSource
    strict: bool = False
    rng: random.Random = field(default_factory=random.Random)
    extra_tokens: frozenset[str] = frozenset()
    settle: float = 0.0
    """How long a read may lag a write (`--settle`): status_of polls this long for `expect`."""
    permanence_wait: float = 0.0
    """`--permanence-wait`: how long the end-of-run sweep waits before looking at canceled events again."""
    findings: list[Violation] = field(default_factory=list)
    _start: int = 0

    @property
    def contract(self) -> Contract:
        return contract()

    def begin(self) -> None:
        """Mark the start of a check (its repros only quote its own requests)."""
        self._start = len(self.target.exchanges)
        self.findings = []

    @property
    def sent(self) -> list[Exchange]:
        return self.target.exchanges[self._start :]

    # ---------------------------------------------------------------- calls
    def op(self, action: str, kind: str) -> Operation:
        return self.contract.find(action=action, kind=kind)

    def call(
        self, action: str, event: Event | str, *, kind: str | None = None, style: str = "raw", **kwargs: object
    ) -> Exchange:
        """Perform `action` on an event (or a bare id) through the route of `kind` (default: the event's)."""
        event_id = event.id if isinstance(event, Event) else event
        route_kind = kind or (event.kind if isinstance(event, Event) else None)
        assert route_kind is not None
        op = self.op(action, route_kind)
        return self.target.call(op.method, op.url_path(encode_id(event_id, style)), **kwargs)  # type: ignore[arg-type]

    def cancel(self, event: Event, **kwargs: object) -> Exchange:
        return self.call("cancel", event, **kwargs)  # type: ignore[arg-type]

    def get(self, event: Event, **kwargs: object) -> Exchange:
        return self.call("get", event, **kwargs)  # type: ignore[arg-type]

    def status_of(self, event: Event, *, expect: str | None = None, **kwargs: object) -> str:
        """GET the event: it must answer 200 with a `status`, which is returned.

        With `--settle`, a read that does not (yet) show `expect` is repeated until it does or
        the settle time is over, so an eventually consistent target is judged on where it
        settles, not on a stale replica.
        """
        deadline = time.monotonic() + self.settle
        while True:
            exchange = self.get(event, **kwargs)
            self.no_server_error(exchange, events=[event])
            status = read_status(exchange)
            settled = exchange.status == 200 and (expect is None or status == expect)
            if settled or time.monotonic() >= deadline:
                break
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
        if exchange.status != 200 or not isinstance(status, str):
            self.fail(
                f"GET of an existing {event.kind[:-1]} did not answer 200 with a status",
                exchange.describe(),
                events=[event],
            )
        return status

    def event(self, kind: str, state: str = PUBLISHED) -> Event:
        return self.events.event(kind, state)

    def unknown_id(self) -> str:
        """A well-formed id that no event has, shaped like the target's own ids.

        `guid@tenant` keeps the tenant and gets a fresh GUID; an id with no GUID in it (an opaque
        format) keeps its length and punctuation with every letter and digit redrawn.
        """
        fresh = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        sample = self.events.sample_id
        if not sample:
            return fresh
        if _GUID.search(sample):
            return _GUID.sub(lambda _: fresh, sample, count=1)
        return "".join(self._redraw(char) for char in sample)

    def _redraw(self, char: str) -> str:
        for alphabet in (string.digits, string.ascii_lowercase, string.ascii_uppercase):
            if char in alphabet:
                return self.rng.choice(alphabet)
        return char

    def require_token(self, role: str, option: str) -> None:
        if role not in self.extra_tokens:
            raise Skip(f"needs {option}")

    # ---------------------------------------------------------------- judging
    def fail(self, title: str, message: str = "", **kwargs: object) -> NoReturn:
        """Stop the check with a violation (keyword arguments as for `violation`)."""
        raise self.violation(title, message, **kwargs)  # type: ignore[arg-type]

    def report(self, title: str, message: str = "", **kwargs: object) -> None:
        """Record a finding and carry on (for checks that judge several things independently)."""
        self.findings.append(self.violation(title, message, **kwargs))  # type: ignore[arg-type]

    def violation(
        self,
        title: str,
        message: str = "",
        *,
        events: Iterable[Event] = (),
        exchanges: Iterable[Exchange] = (),
        documented: bool = True,
    ) -> Violation:
        named = list(exchanges)
        wanted = {id(item) for item in named}
        events = list(events)
        needles = [needle for event in events for needle in {encode_id(event.id), encode_id(event.id, "percent")}]
        # How each event came to be (the create that answered its id), as a comment: a replay creates another.
        origins = [
            "# created by: " + creation.curl()
            for event in events
            for creation in self.target.exchanges
            if creation.method == "POST" and creation.is_success and event.id.encode() in creation.content
            and not any(needle in creation.url for needle in needles)
        ][: len(events)]
        sent = self.sent
        mine = {id(item) for item in sent}
        trail = [item for item in named if id(item) not in mine]
        trail += [item for item in sent if id(item) in wanted or any(needle in item.url for needle in needles)]
        repro = (*origins, *(item.curl() for item in trail))
        return Violation(title=title, message=message, repro=repro, documented=documented)

    def no_server_error(self, exchange: Exchange, *, events: Sequence[Event] = ()) -> None:
        if exchange.is_server_error:
            self.fail(
                f"{exchange.method} answered a server error", exchange.describe(), events=events, exchanges=[exchange]
            )

    def judge(self, action: str, before: str, exchange: Exchange, event: Event) -> str:
        """Judge `action` on an event that was `before`; returns the status the event has afterwards.

        Documented rows of judged actions (and every row with --strict) must match the lifecycle
        table exactly. Elsewhere any non-5xx answer is accepted, as long as the result is coherent:
        a canceled event stays canceled, an accepted action has its effect, a refused one none.
        """
        self.no_server_error(exchange, events=[event])
        outcome = self.contract.outcome(action, before)
        exact = self.strict or (outcome.documented and action in JUDGED_ACTIONS)
        after = self.status_of(event, expect=outcome.to if exact or exchange.is_success else before)
        what = f"{action} of a {before} {event.kind[:-1]}"
        if exact:
            if exchange.status != outcome.status:
                self.fail(
                    f"{what} answered {exchange.status}, expected {outcome.status}",
                    exchange.describe(),
                    events=[event],
                    documented=outcome.documented,
                )
            if outcome.error is not None and self.strict:
                body = exchange.json()
                code = body.get("error", {}).get("code") if isinstance(body, dict) else None
                if code != outcome.error:
                    self.fail(
                        f"{what} answered error code {code!r}, expected {outcome.error!r}",
                        exchange.describe(),
                        events=[event],
                        documented=False,
                    )
            if after != outcome.to:
                self.fail(f"after {what} the status is {after!r}, expected {outcome.to!r}", events=[event])
        elif before == CANCELED and after != CANCELED:
            self.fail(
                f"{what} turned it {after!r}: canceled must be permanent",
                exchange.describe(),
                events=[event],
            )
        elif exchange.is_success and after != outcome.to:
            self.fail(f"{what} was accepted ({exchange.status}) but the status is {after!r}", events=[event])
        elif not exchange.is_success and after != before:
            self.fail(f"{what} was refused ({exchange.status}) but changed the status to {after!r}", events=[event])
        return after
