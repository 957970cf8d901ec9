"""What a check gets: the target, fresh events, the mode, and the judging helpers they share.

Beside it: `event_pool` (every event someone else may use), `envelope` (Graph's error
envelope), `ids` (made-up ids shaped like the target's).

The helpers encode the two judging modes in one place:
- default: what Graph documents for cancel and get, plus the rules that hold for any correct
  implementation (no 5xx, errors in Graph's envelope, canceled is permanent, a refused request
  changes nothing); the other operations only set up state;
- strict: additionally every row of the spec's lifecycle table, including the stub's choices.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import NoReturn

from vevents.spec import Contract, Operation, contract, singular

from .event_pool import EventPool
from .failures import Skip, Violation
from .ids import unknown_id_like
from .scenarios import DRAFT, PUBLISHED, Event, EventSource, read_status
from .target import Exchange, Target, encode_id

__all__ = ["CANCELED", "DRAFT", "JUDGED_ACTIONS", "PUBLISHED", "CheckContext"]

CANCELED = contract().outcome("cancel", PUBLISHED).to
# The operations the default mode judges; the others only set up state.
JUDGED_ACTIONS = frozenset({"cancel", "get"})


@dataclass(slots=True)
class CheckContext:
    """Per-check state: what was sent during this check, and the soft findings so far."""

    target: Target
    events: EventSource
    pool: EventPool
    """The run's one pool of events someone else may use (every fork shares it)."""
    strict: bool = False
    rng: random.Random = field(default_factory=random.Random)
    extra_tokens: frozenset[str] = frozenset()
    settle: float = 0.0
    """How long a read may lag a write (`--settle`): status_of polls this long for `expect`."""
    permanence_wait: float = 0.0
    """`--permanence-wait`: how long the end-of-run sweep waits before looking at canceled events again."""
    findings: list[Violation] = field(default_factory=list)
    _log: list[Exchange] = field(default_factory=list)
    _leased: list[Event] = field(default_factory=list)

    @property
    def contract(self) -> Contract:
        return contract()

    def begin(self) -> None:
        """Mark the start of a check (its repros only quote its own requests)."""
        self._log = []
        self.findings = []
        self.pool.check_started(id(self), self._may_hand_back)

    def fork(self) -> CheckContext:
        """A context for one check: its own log, findings and random ids (drawn here, so a seed repeats a run)."""
        return replace(self, findings=[], rng=random.Random(self.rng.getrandbits(64)), _log=[], _leased=[])

    @property
    def sent(self) -> list[Exchange]:
        """What this check sent (its own requests only, whatever the other workers send meanwhile)."""
        return self._log

    def finish(self) -> None:
        """Hand every event this check used to the pool, with the status it last read, for later checks."""
        for event in self._leased:
            # An event a cancel was accepted for is never handed on, whatever it reads now: if it
            # reads published again, that is a finding (canceled_stays_canceled), not a spare event.
            if not self._canceled_here(event):
                self.pool.give_back(event, self._last_status(event))
        self.pool.check_finished(id(self))
        self._leased = []

    def _may_hand_back(self, kind: str) -> bool:
        """Whether `finish` may still hand on an event of `kind` (asked from other workers while this check runs)."""
        return any(event.kind == kind and not self._canceled_here(event) for event in list(self._leased))

    def _canceled_here(self, event: Event) -> bool:
        needles = [f"/{encode_id(event.id, style)}/" for style in ("raw", "percent")]
        return any(
            exchange.method == "POST"
            and exchange.is_success
            and exchange.url.endswith("/cancel")
            and any(needle in exchange.url for needle in needles)
            for exchange in self._log
        )

    def _last_status(self, event: Event) -> str | None:
        for exchange in reversed(self._log):
            body = exchange.json() if exchange.method == "GET" and exchange.status == 200 else None
            if isinstance(body, dict) and body.get("id") == event.id and isinstance(body.get("status"), str):
                return str(body["status"])
        return None

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
                f"GET of an existing {singular(event.kind)} did not answer 200 with a status",
                exchange.describe(),
                events=[event],
            )
        return status

    def event(self, kind: str, state: str = PUBLISHED) -> Event:
        """An event of `kind` in `state` (draft or published) for this check alone, to change as it likes.

        Taken from the pool when an earlier check left one in that state (re-read first, and
        passed over if it no longer is), else created: each create counts against --max-events
        and can never be deleted. Once the check is over, the event goes back to the pool with
        the status it last read. For an event the check leaves as it is, see `shareable`.
        """
        event = self.pool.take(kind, state, id(self)) or self.events.event(kind, state)
        self._leased.append(event)
        return event

    def shareable(self, kind: str, state: str = PUBLISHED) -> Event:
        """An event in `state` that other checks use at the same time: this one only reads it or sends it
        requests that must change nothing (on a correct target). Canceled ones too (probed, never revived)."""
        return self.pool.shareable(kind, state)

    def unknown_id(self) -> str:
        """A well-formed id that no event has, shaped like the target's own ids (see `ids.unknown_id_like`)."""
        return unknown_id_like(self.events.sample_id, self.rng)

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
            if creation.method == "POST"
            and creation.is_success
            and event.id.encode() in creation.content
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
        what = f"{action} of a {before} {singular(event.kind)}"
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
