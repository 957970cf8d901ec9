"""Checks that cancel holds against what happens around it: racing writes, other tenants, other prefixes.

- a cancel that was acknowledged (204) is not undone by a publish or update that raced it;
- an id is `<guid>@<tenant-guid>`: another tenant's suffix on a known GUID names no event;
- the version prefixes (`/v1.0`, `/beta`) are two doors to one store.

Bounded: a few rounds of a few requests, on few events.
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from vevents.spec import contract, singular

from ..context import CANCELED, DRAFT, PUBLISHED, CheckContext
from ..definitions import check, fresh, shareable
from ..failures import Skip
from .common import KINDS, SDK_KIND, Event, Exchange, read_until, shareable_untouched

__all__: list[str] = []

# Seconds the cancel is sent after the other writes, per round (each round costs an event, and a
# real tenant keeps every event): a little after them (a write that read the event before the
# cancel must not land on top of it), and together.
RACE_ROUNDS = (0.05, 0.0)


def _race(ctx: CheckContext, event: Event, offset: float, name: str) -> list[Exchange]:
    """Cancel, an update and two publishes (own route, SDK route) in flight together; the cancel's answer first."""
    writes: list[Callable[[], Exchange]] = [
        functools.partial(ctx.call, "update", event, json_body={"displayName": name}),
        functools.partial(ctx.call, "publish", event),
        functools.partial(ctx.call, "publish", event, kind=SDK_KIND),
    ]

    def after(delay: float, send: Callable[[], Exchange]) -> Exchange:
        time.sleep(max(0.0, delay))
        return send()

    with ThreadPoolExecutor(max_workers=len(writes) + 1) as pool:
        cancel = pool.submit(after, offset, functools.partial(ctx.cancel, event))
        others = [pool.submit(after, -offset, send) for send in writes]
        return [future.result() for future in (cancel, *others)]


@check(needs=(fresh(PUBLISHED, provides=CANCELED),))
def cancel_wins_races(ctx: CheckContext) -> None:
    """Cancel racing publish and update (two bounded rounds): once cancel answered 204, reads say `canceled`."""
    for round_number, offset in enumerate(RACE_ROUNDS, 1):
        kind = KINDS[round_number % len(KINDS)]
        event = ctx.event(kind)
        answers = _race(ctx, event, offset, f"vevents race {round_number}")
        for exchange in answers:
            ctx.no_server_error(exchange, events=[event])
        if not answers[0].is_success:
            continue  # a refused cancel (e.g. a conflict) promises nothing
        status = ctx.status_of(event, expect=CANCELED)
        if status != CANCELED:
            ctx.fail(
                f"cancel answered {answers[0].status} while a publish and an update raced it, but the "
                f"{singular(kind)} then reads {status!r}: an acknowledged cancel was overwritten",
                answers[0].describe(),
                events=[event],
                exchanges=answers,
            )
        ctx.pool.adopt(event)


def _other_tenant(ctx: CheckContext, event_id: str) -> str:
    guid, _, tenant = event_id.partition("@")
    other = str(uuid.UUID(int=ctx.rng.getrandbits(128), version=4))
    return f"{guid}@{other if other != tenant else uuid.uuid4()}"


@check(needs=(shareable(PUBLISHED, kind=KINDS[0]),))
def other_tenant_id_not_found(ctx: CheckContext) -> None:
    """Another tenant's suffix on a known event's GUID never yields the event (4xx); cancel through it does nothing."""
    kind = KINDS[0]
    event = shareable_untouched(ctx, kind)
    if "@" not in event.id:
        raise Skip("the target's ids have no tenant part")
    foreign = _other_tenant(ctx, event.id)
    read = ctx.call("get", foreign, kind=kind)
    ctx.no_server_error(read, events=[event])
    if read.is_success:
        ctx.fail(
            f"GET of the {singular(kind)}'s GUID with another tenant's suffix answered {read.status}: an id names "
            "an event of one tenant only",
            read.describe(),
            events=[event],
            exchanges=[read],
        )
    for route in (kind, SDK_KIND):
        exchange = ctx.call("cancel", foreign, kind=route)
        ctx.no_server_error(exchange, events=[event])
        status = ctx.status_of(event, expect=PUBLISHED)
        if exchange.is_success or status != PUBLISHED:
            ctx.fail(
                f"cancel through /{route} of the GUID with another tenant's suffix answered {exchange.status} "
                f"and the {singular(kind)} is now {status!r}",
                exchange.describe(),
                events=[event],
                exchanges=[exchange],
            )


@check(
    needs=(
        fresh(DRAFT, kind=KINDS[0]),
        shareable(PUBLISHED, kind=KINDS[0]),
    )
)
def versions_share_one_store(ctx: CheckContext) -> None:
    """A version prefix that creates events serves the ones created on the other prefix, and the other way round."""
    versions = contract().versions
    if ctx.target.version not in versions:
        raise Skip(f"the base URL does not end with a version segment ({', '.join(versions)})")
    kind = KINDS[0]
    judged = False
    for version in (item for item in versions if item != ctx.target.version):
        there = ctx.target.with_version(version)
        created = ctx.events.create_on(kind, there)
        if created is None:
            continue  # this prefix does not serve the collection (a target may serve one version)
        judged = True
        read = read_until(ctx, functools.partial(ctx.get, created), lambda x: x.status == 200)
        if read.status != 200:
            ctx.fail(
                f"a {singular(kind)} created on {version} answers {read.status} on {ctx.target.version}: the "
                "versions must share one store",
                read.describe(),
                events=[created],
                exchanges=[read],
            )
        here = shareable_untouched(ctx, kind)
        read = read_until(ctx, functools.partial(ctx.get, here, base_url=there), lambda x: x.status == 200)
        if read.status != 200:
            ctx.fail(
                f"a {singular(kind)} created on {ctx.target.version} answers {read.status} on {version}: the "
                "versions must share one store",
                read.describe(),
                events=[here],
                exchanges=[read],
            )
    if not judged:
        raise Skip(f"the target creates events on {ctx.target.version} only")
