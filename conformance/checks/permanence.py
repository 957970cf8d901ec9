"""The end-of-run sweep: "canceled permanently" judged over time, not only right after the cancel.

Runs after every other check, the Schemathesis phase included (`final`), and re-reads every
event a cancel was accepted for during the run, whichever check sent it. A target whose cancel
lives in a cache that expires, or that a later write of the collection overwrites, passes the
checks that read right after the cancel and fails here. `--permanence-wait SECONDS` waits and
sweeps once more, for faults that take longer to show.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from vevents.spec import singular

from ..context import CANCELED, CheckContext
from ..definitions import check
from ..failures import Skip
from .common import Event, Exchange, encode_id, read_status, read_until

__all__ = ["canceled_by_run"]

# Reads the sweep sends at the same time (a run may have canceled a few dozen events).
SWEEP_CONCURRENCY = 4


def canceled_by_run(ctx: CheckContext) -> list[Event]:
    """Every event (created or given) that a cancel in this run was accepted for, in order."""
    found: list[Event] = []
    for event in list(ctx.events.known.values()):
        needles = [f"/{encode_id(event.id, style)}/" for style in ("raw", "percent")]
        for exchange in list(ctx.target.exchanges):
            if (
                exchange.method == "POST"
                and exchange.is_success
                and exchange.url.endswith("/cancel")
                and any(needle in exchange.url for needle in needles)
            ):
                found.append(event)
                break
    return found


def _sweep(ctx: CheckContext, events: list[Event], when: str) -> None:
    def look(event: Event) -> tuple[Event, Exchange]:
        return event, read_until(ctx, lambda: ctx.get(event), lambda x: x.status == 200 and read_status(x) == CANCELED)

    with ThreadPoolExecutor(max_workers=SWEEP_CONCURRENCY) as pool:
        answers = list(pool.map(look, events))
    for event, exchange in answers:
        if exchange.status != 200:
            ctx.report(
                f"{when}, a {singular(event.kind)} the run canceled answers {exchange.status}: "
                "a canceled event stays readable",
                exchange.describe(),
                events=[event],
                exchanges=[exchange],
            )
        elif read_status(exchange) != CANCELED:
            ctx.report(
                f"{when}, a {singular(event.kind)} the run canceled reads {read_status(exchange)!r}: "
                "canceled must be permanent",
                exchange.describe(),
                events=[event],
                exchanges=[exchange],
            )


@check(final=True)
def canceled_stays_canceled(ctx: CheckContext) -> None:
    """At the end of the run (and again after --permanence-wait), every event the run canceled reads `canceled`."""
    events = canceled_by_run(ctx)
    if not events:
        raise Skip("the run canceled no event")
    _sweep(ctx, events, "at the end of the run")
    if ctx.permanence_wait > 0:
        time.sleep(ctx.permanence_wait)
        _sweep(ctx, events, f"{ctx.permanence_wait:g} s after the end of the run")
