"""Checks of the canceled event itself: what cancel keeps, what every view shows, what no write undoes.

Each follows from one sentence of Graph's documentation: "a canceled event has its status set
to `canceled` permanently, and you can still get it". Cancel changes the status and nothing
else; every way of reading the event agrees; no later write (update, publish, cancel again,
on any route or version) brings it back; and it still reads `canceled` at the end of the run.

They share canceled events where they only probe them (`shareable_canceled`), so that the run
creates few events: a real tenant keeps every event forever.
"""

from __future__ import annotations

import functools
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from vevents.spec import contract, singular

from ..context import CANCELED, PUBLISHED, CheckContext
from ..definitions import check, shareable
from .common import (
    CANCEL_OF_PUBLISHED,
    KINDS,
    SDK_KIND,
    Event,
    Exchange,
    body_of,
    cancel_of_published,
    encode_id,
    find_listed,
    read_status,
    read_until,
    shareable_canceled,
    shareable_untouched,
)

__all__: list[str] = []

# Properties compared between views taken at different moments (other properties may be
# legitimately changed meanwhile, e.g. by an accepted update of a canceled event).
_VIEW_PROPERTIES = ("id", "status")


def _unset(value: Any) -> Any:
    # Graph may return an unset property as null, [] (collections) or leave it out: all the same.
    return None if value in (None, [], {}) else value


def _compared_properties(kind: str) -> list[str]:
    """Every property of the kind but `status`: writable ones and the other read-only ones (id, createdBy)."""
    the_contract = contract()
    names = the_contract.writable_properties(kind) | the_contract.read_only_properties[kind]
    return sorted(names - {"status"})


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@check(needs=(CANCEL_OF_PUBLISHED,))
def cancel_keeps_other_properties(ctx: CheckContext) -> None:
    """Cancel changes only the status: every other property (name, description, times, ...) reads as before."""
    for kind in KINDS:
        seen = cancel_of_published(ctx, kind)
        event, exchange = seen.event, seen.cancel
        ctx.no_server_error(seen.before, events=[event])
        before = body_of(seen.before) if read_status(seen.before) == PUBLISHED else {}
        if not before:
            ctx.fail(f"GET of a published {singular(kind)} did not answer 200 with the event", events=[event])
        ctx.no_server_error(exchange, events=[event])
        if not exchange.is_success:
            ctx.fail(f"cancel of a published {singular(kind)} was refused", exchange.describe(), events=[event])
        read = read_until(ctx, functools.partial(ctx.get, event), lambda x: read_status(x) == CANCELED)
        after = body_of(read)
        if after.get("status") != CANCELED:
            ctx.fail(
                f"after cancel the {singular(kind)}'s status is {after.get('status')!r}, expected {CANCELED!r}",
                read.describe(),
                events=[event],
            )
        ctx.pool.adopt(event)
        changed = [name for name in _compared_properties(kind) if _unset(before.get(name)) != _unset(after.get(name))]
        if changed:
            details = "; ".join(f"{name}: {_short(before.get(name))} -> {_short(after.get(name))}" for name in changed)
            ctx.fail(
                f"cancel of a {singular(kind)} changed {', '.join(changed)} (only the status may change)",
                details,
                events=[event],
            )


def _served_versions(ctx: CheckContext, kind: str) -> list[str]:
    """The other version prefixes that serve this target's events (a published one reads 200 there)."""
    versions = contract().versions
    if ctx.target.version not in versions:
        return []
    probe = shareable_untouched(ctx, kind)
    return [
        version
        for version in versions
        if version != ctx.target.version and ctx.get(probe, base_url=ctx.target.with_version(version)).status == 200
    ]


def _listed(ctx: CheckContext, event: Event) -> dict[str, Any] | None:
    """The event as the list shows it (following `@odata.nextLink`), or None if the list is not served or omits it."""
    return find_listed(ctx, ctx.op("list", event.kind).url_path(), event)[0]


def _disagreement(view: str, plain: dict[str, Any], other: dict[str, Any], names: Iterable[str]) -> str | None:
    if other.get("status") != CANCELED:
        return f"{view} shows status {other.get('status')!r}"
    for name in names:
        if name in other and name in plain and _unset(other[name]) != _unset(plain[name]):
            return f"{view} shows {name} {_short(other[name])}, plain GET {_short(plain[name])}"
    return None


def _select_view(ctx: CheckContext, event: Event, names: list[str]) -> dict[str, Any] | None:
    # A target may refuse $select (Graph documents no query options on get): then it is not judged.
    path = ctx.op("get", event.kind).url_path(encode_id(event.id)) + "?$select=" + ",".join(names)
    answer = ctx.target.call("GET", path)
    ctx.no_server_error(answer, events=[event])
    body = body_of(answer)
    return body if "status" in body else None


def _path_view(ctx: CheckContext, event: Event, path: str, base_url: str | None = None) -> dict[str, Any]:
    answer = ctx.target.call("GET", path, base_url=base_url)
    ctx.no_server_error(answer, events=[event])
    return body_of(answer) or {"status": f"(answer {answer.status})"}


def _views(ctx: CheckContext, event: Event) -> list[tuple[str, Callable[[], dict[str, Any] | None], tuple[str, ...]]]:
    """Every other way to read the event: (label, read, properties compared with plain GET)."""
    kind = event.kind
    names: tuple[str, ...] = ("id", "status", "displayName")
    selected = [name for name in names if name in contract().select_properties[kind]]
    views: list[tuple[str, Callable[[], dict[str, Any] | None], tuple[str, ...]]] = [
        ("a $select read", functools.partial(_select_view, ctx, event, selected), _VIEW_PROPERTIES),
        ("the list", functools.partial(_listed, ctx, event), _VIEW_PROPERTIES),
    ]
    own_path = ctx.op("get", kind).url_path(encode_id(event.id))
    for version in _served_versions(ctx, kind):
        read = functools.partial(_path_view, ctx, event, own_path, ctx.target.with_version(version))
        views.append((f"the {version} prefix", read, _VIEW_PROPERTIES))
    # The base-type route, if the contract has a GET there (the SDKs' /events/{id}).
    for op in contract().operations:
        if op.action == "get" and op.kind == SDK_KIND:
            read = functools.partial(_path_view, ctx, event, op.url_path(encode_id(event.id)))
            views.append((f"GET {op.path}", read, _VIEW_PROPERTIES))
    return views


@check(
    needs=(
        shareable(CANCELED),
        shareable(PUBLISHED),
    )
)
def canceled_views_agree(ctx: CheckContext) -> None:
    """A canceled event reads `canceled` through plain GET, `$select`, the list (every page) and the other version."""
    for kind in KINDS:
        event = shareable_canceled(ctx, kind)
        plain = body_of(read_until(ctx, functools.partial(ctx.get, event), lambda x: read_status(x) == CANCELED))
        for label, read, names in _views(ctx, event):
            seen = read()
            deadline = time.monotonic() + ctx.settle
            while seen is not None and _disagreement(label, plain, seen, names) and time.monotonic() < deadline:
                time.sleep(0.2)
                seen = read()
            problem = None if seen is None else _disagreement(label, plain, seen, names)
            if problem:
                ctx.report(f"a canceled {singular(kind)} reads differently: {problem}", events=[event])


def _read_only_bodies(ctx: CheckContext, event: Event, current: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Update bodies a careless implementation might apply: the name unchanged, plus one read-only member each."""
    name = {"displayName": current.get("displayName")}
    bodies = [("an update", dict(name)), ("an update carrying status", {**name, "status": PUBLISHED})]
    for member in sorted(contract().read_only_properties[event.kind] - {"status"}):
        value = event.id if member == "id" else current.get(member)
        bodies.append((f"an update carrying {member}", {**name, member: value}))
    return bodies


@check(
    needs=(
        shareable(CANCELED, kind=KINDS[0]),
        shareable(PUBLISHED, kind=KINDS[0]),
    )
)
def no_write_revives_canceled(ctx: CheckContext) -> None:
    """No write revives a canceled event: update (even with `status` in the body), publish, cancel, every route."""
    kind = KINDS[0]
    event = shareable_canceled(ctx, kind)
    current = body_of(ctx.get(event))
    versions = [None, *(ctx.target.with_version(version) for version in _served_versions(ctx, kind))]
    read_only = contract().read_only_properties[kind]
    for base_url in versions:
        where = f" on {urllib.parse.urlsplit(base_url).path.rsplit('/', 1)[-1]}" if base_url else ""
        writes: list[tuple[str, Callable[[], Exchange], bool]] = []
        for label, body in _read_only_bodies(ctx, event, current):
            update = functools.partial(ctx.call, "update", event, json_body=body, base_url=base_url)
            writes.append((label, update, bool(set(body) & read_only)))
        for action in ("publish", "cancel"):
            for route in (kind, SDK_KIND):
                other = functools.partial(ctx.call, action, event, kind=route, base_url=base_url)
                writes.append((f"{action} through /{route}", other, False))
        for label, send, carries_read_only in writes:
            exchange = send()
            ctx.no_server_error(exchange, events=[event])
            status = ctx.status_of(event, expect=CANCELED)
            if status != CANCELED:
                ctx.fail(
                    f"{label}{where} turned a canceled {singular(kind)} {status!r}: canceled must be permanent",
                    exchange.describe(),
                    events=[event],
                )
            if ctx.strict and carries_read_only and exchange.is_success:
                ctx.report(
                    f"{label}{where} answered {exchange.status}: the spec refuses read-only members (400)",
                    exchange.describe(),
                    events=[event],
                    documented=False,
                )
