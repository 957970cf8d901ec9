"""Checks of the lists by role: what the signed-in user's `getByUserRole` shows of a canceled event.

Graph's pages: `getByUserRole(role='organizer')` lists the events where the signed-in user is
the organizer, and a canceled event "can still be read": it stays in the organizer's list, with
status `canceled` (an integration that finds its events this way must still see the ones it
canceled, to tell the registrants). The run's events are created with the run's token, whose
user is therefore their organizer.
"""

from __future__ import annotations

import time

from vevents.spec import singular

from ..context import CANCELED, CheckContext
from ..definitions import check, shareable
from ..failures import Skip
from .common import KINDS, find_listed, shareable_canceled

__all__: list[str] = []

# Only a 200 is judged: a target built to an older contract may not serve the function
# (404, 405, 501, or a 400 that reads `getByUserRole(...)` as a malformed id), or may refuse the
# run's token (403, an application's); a 5xx is reported by `no_server_error` as everywhere.


@check(needs=(shareable(CANCELED),))
def canceled_in_get_by_user_role(ctx: CheckContext) -> None:
    """A canceled event still appears in getByUserRole(role='organizer') with status `canceled`."""
    if not ctx.events.can_create:
        raise Skip("events given with --event-id may have another organizer than the token's user")
    judged = 0
    for kind in KINDS:
        event = shareable_canceled(ctx, kind)
        path = ctx.op("listByUserRole", kind).url_path().replace("{role}", "organizer")
        deadline = time.monotonic() + ctx.settle
        while True:
            listed, first = find_listed(ctx, path, event)
            if first.status != 200:
                break
            if (listed is not None and listed.get("status") == CANCELED) or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        if first.status != 200:
            continue
        judged += 1
        problem = None
        if listed is None:
            problem = f"a canceled {singular(kind)} of the token's user is missing from getByUserRole(role='organizer')"
        elif listed.get("status") != CANCELED:
            problem = f"getByUserRole(role='organizer') shows a canceled {singular(kind)} as {listed.get('status')!r}"
        if problem is not None:
            ctx.report(problem, first.describe(), events=[event], exchanges=[first])
    if not judged:
        raise Skip("the target does not serve getByUserRole to this token")
