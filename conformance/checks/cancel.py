"""The suite's own checks: lifecycle scenarios on events the suite created (or was given).

Each check is a small function registered with `@check`; its docstring's first line is its
description in `--list-checks`. A check raises `Violation` (through `ctx.fail`) for the first
thing it cannot accept, records further independent findings with `ctx.report`, and raises
`Skip` when it does not apply. Statuses, operations and answers come from `vevents.spec`.
"""

from __future__ import annotations

from collections.abc import Iterator

from vevents.spec import Operation, contract, singular

from ..context import CANCELED, DRAFT, PUBLISHED, CheckContext
from ..definitions import check, fresh, shareable
from ..failures import Skip
from .common import (
    CANCEL_OF_PUBLISHED,
    KINDS,
    SDK_KIND,
    Event,
    cancel_of_published,
    encode_id,
    envelope_problem,
    fresh_canceled,
    shareable_canceled,
    shareable_untouched,
)

__all__: list[str] = []

# Answers the spec documents through its shared responses (not restated here).
NOT_FOUND_CODE = contract().error_code(404)


def _id_operations(*actions: str) -> Iterator[Operation]:
    for op in contract().operations:
        if op.action in actions and op.id_parameter is not None:
            yield op


@check(needs=(CANCEL_OF_PUBLISHED,))
def cancel_no_content(ctx: CheckContext) -> None:
    """Cancel of a published event answers 204 No Content with an empty body."""
    expected = contract().outcome("cancel", PUBLISHED).status
    for kind in KINDS:
        seen = cancel_of_published(ctx, kind)
        event, exchange = seen.event, seen.cancel
        ctx.no_server_error(exchange, events=[event])
        if exchange.status != expected:
            ctx.fail(
                f"cancel of a published {singular(kind)} answered {exchange.status}, expected {expected}",
                exchange.describe(),
                events=[event],
            )
        if exchange.content:
            ctx.fail(f"cancel answered {expected} with a body", exchange.describe(), events=[event])
        if ctx.strict and "content-type" in exchange.headers:
            ctx.fail(
                f"cancel answered {expected} with a Content-Type ({exchange.content_type})",
                events=[event],
                documented=False,
            )


@check(needs=(CANCEL_OF_PUBLISHED,))
def cancel_is_visible(ctx: CheckContext) -> None:
    """Right after cancel, GET answers 200 with status `canceled` (exactly that spelling)."""
    for kind in KINDS:
        seen = cancel_of_published(ctx, kind)
        event, exchange = seen.event, seen.cancel
        ctx.no_server_error(exchange, events=[event])
        if not exchange.is_success:
            ctx.fail(f"cancel of a published {singular(kind)} was refused", exchange.describe(), events=[event])
        read = ctx.get(event)
        ctx.no_server_error(read, events=[event])
        if read.status != 200:
            ctx.fail(
                f"GET of a canceled {singular(kind)} answered {read.status}: a canceled event stays readable",
                read.describe(),
                events=[event],
            )
        status = ctx.status_of(event, expect=CANCELED)
        if status != CANCELED:
            ctx.fail(
                f"after cancel the {singular(kind)}'s status is {status!r}, expected {CANCELED!r}",
                read.describe(),
                events=[event],
            )
        ctx.pool.adopt(event)


@check(needs=(fresh(PUBLISHED, count=2, provides=CANCELED),))
def cancel_every_kind_and_route(ctx: CheckContext) -> None:
    """Webinars and town halls both cancel, through their own route and the SDK route /events/{id}/cancel."""
    for kind in KINDS:
        for route in (kind, SDK_KIND):
            event = ctx.event(kind)
            # Through the SDK route the id goes as the SDKs send it: `%40`.
            style = "percent" if route == SDK_KIND else "raw"
            if ctx.judge("cancel", PUBLISHED, ctx.cancel(event, kind=route, style=style), event) == CANCELED:
                ctx.pool.adopt(event)


@check(needs=(fresh(DRAFT),))
def cancel_draft(ctx: CheckContext) -> None:
    """Cancel of a draft answers no 5xx: accepted means canceled, refused means still draft (strict: the table)."""
    for kind in KINDS:
        event = ctx.event(kind, DRAFT)
        ctx.judge("cancel", DRAFT, ctx.cancel(event), event)


@check(needs=(shareable(CANCELED),))
def second_cancel_keeps_canceled(ctx: CheckContext) -> None:
    """A second cancel answers no 5xx and the event stays canceled (strict: the lifecycle table's answer)."""
    for kind in KINDS:
        event = shareable_canceled(ctx, kind)
        ctx.judge("cancel", CANCELED, ctx.cancel(event), event)
        ctx.judge("cancel", CANCELED, ctx.cancel(event, kind=SDK_KIND), event)


@check(needs=(shareable(CANCELED),))
def publish_keeps_canceled(ctx: CheckContext) -> None:
    """Publish of a canceled event answers no 5xx and the event stays canceled (strict: the table's answer)."""
    for kind in KINDS:
        event = shareable_canceled(ctx, kind)
        ctx.judge("publish", CANCELED, ctx.call("publish", event), event)
        ctx.judge("publish", CANCELED, ctx.call("publish", event, kind=SDK_KIND), event)


@check(needs=(shareable(CANCELED),))
def update_keeps_canceled(ctx: CheckContext) -> None:
    """Update of a canceled event answers no 5xx, it stays canceled, and a refused update changes nothing."""
    for kind in KINDS:
        event = shareable_canceled(ctx, kind)
        before = ctx.get(event).json() or {}
        exchange = ctx.call("update", event, json_body={"displayName": "vevents: renamed after cancel"})
        ctx.judge("update", CANCELED, exchange, event)
        after = ctx.get(event).json() or {}
        if not exchange.is_success and after.get("displayName") != before.get("displayName"):
            ctx.fail(
                f"a refused update ({exchange.status}) still renamed the canceled {singular(kind)}",
                exchange.describe(),
                events=[event],
            )


@check(
    needs=(
        shareable(PUBLISHED),
        shareable(CANCELED),
        fresh(PUBLISHED, kind=KINDS[0]),
    )
)
def canceled_on_other_version(ctx: CheckContext) -> None:
    """Both API versions share one state: a cancel through either reads `canceled` through the other."""
    versions = contract().versions
    if ctx.target.version not in versions:
        raise Skip(f"the base URL does not end with a version segment ({', '.join(versions)})")
    others = [version for version in versions if version != ctx.target.version]
    for kind in KINDS:
        # A target may serve one version only; that is no violation. It serves another one if
        # a published event reads there (before the cancel, so a vanishing canceled event is
        # still caught below).
        probe = shareable_untouched(ctx, kind)
        served = [v for v in others if ctx.get(probe, base_url=ctx.target.with_version(v)).status == 200]
        if not served:
            raise Skip(f"the target serves no other version than {ctx.target.version} (tried {', '.join(others)})")
        event = shareable_canceled(ctx, kind)
        for version in served:
            status = ctx.status_of(event, expect=CANCELED, base_url=ctx.target.with_version(version))
            if status != CANCELED:
                ctx.fail(f"on {version} the canceled {singular(kind)}'s status is {status!r}", events=[event])
        # And the other way round: a cancel sent through the other version takes effect here
        # (one fresh event, for the first kind).
        for version in served[:1] if kind == KINDS[0] else ():
            other, exchange = fresh_canceled(ctx, kind, base_url=ctx.target.with_version(version))
            if exchange.status != 204:
                ctx.fail(
                    f"cancel on {version} answered {exchange.status}, expected 204", exchange.describe(), events=[other]
                )
            status = ctx.status_of(other, expect=CANCELED)
            if status != CANCELED:
                ctx.fail(
                    f"after a cancel on {version} the {singular(kind)}'s status on {ctx.target.version} is {status!r}",
                    exchange.describe(),
                    events=[other],
                )
            ctx.pool.adopt(other)


@check(
    needs=(
        shareable(PUBLISHED),
        shareable(DRAFT, kind=KINDS[0]),
        fresh(PUBLISHED),
    )
)
def cancel_affects_only_target(ctx: CheckContext) -> None:
    """Cancel changes its target only: other events of both kinds keep their status."""
    # Published events of both kinds and a draft stand by (shared: requests that change nothing use them too).
    bystanders = [(shareable_untouched(ctx, kind), PUBLISHED) for kind in KINDS]
    bystanders.append((shareable_untouched(ctx, KINDS[0], DRAFT), DRAFT))
    # One victim per kind, through its own route and through the SDK route in turn.
    for kind, route in zip(KINDS, (KINDS[0], SDK_KIND), strict=False):
        victim, exchange = fresh_canceled(ctx, kind, kind=route)
        for other, state in bystanders:
            status = ctx.status_of(other, expect=state)
            if status != state:
                ctx.fail(
                    f"cancel of one {singular(kind)} changed another {singular(other.kind)} "
                    f"from {state!r} to {status!r}",
                    exchange.describe(),
                    events=[victim, other],
                )


@check()
def unknown_id_not_found(ctx: CheckContext) -> None:
    """Get and cancel (strict: also publish, update) of an unknown id answer 404 in Graph's error envelope."""
    unknown = ctx.unknown_id()
    actions = ("get", "cancel", "publish", "update") if ctx.strict else ("get", "cancel")
    for op in _id_operations(*actions):
        body = {"displayName": "vevents"} if op.has_request_body else None
        exchange = ctx.target.call(op.method, op.url_path(encode_id(unknown)), json_body=body)
        if exchange.status != 404:
            ctx.report(
                f"{op.operation_id} of an unknown id answered {exchange.status}, expected 404",
                exchange.describe(),
                exchanges=[exchange],
            )
            continue
        problem = envelope_problem(exchange)
        if problem:
            ctx.report(
                f"{op.operation_id}'s 404 is not in Graph's error envelope: {problem}",
                exchange.describe(),
                exchanges=[exchange],
            )
        elif ctx.strict and exchange.json()["error"]["code"] != NOT_FOUND_CODE:
            ctx.report(
                f"{op.operation_id}'s 404 has code {exchange.json()['error']['code']!r}, expected {NOT_FOUND_CODE!r}",
                exchange.describe(),
                exchanges=[exchange],
                documented=False,
            )


@check()
def malformed_id_rejected(ctx: CheckContext) -> None:
    """Ids that cannot exist (not a GUID, too long, odd characters) answer 4xx, never 5xx (strict: 400)."""
    guid = ctx.unknown_id().partition("@")[0]
    samples = ("not-an-id", "12345", "x" * 300, f"{guid}@not-a-tenant", f"{guid}@", "'\"<>")
    for op in _id_operations("get", "cancel"):
        for sample in samples:
            exchange = ctx.target.call(op.method, op.url_path(encode_id(sample)))
            if not 400 <= exchange.status < 500:
                ctx.report(
                    f"{op.operation_id} of the malformed id {sample[:40]!r} answered {exchange.status}",
                    exchange.describe(),
                    exchanges=[exchange],
                )
            elif ctx.strict and exchange.status != 400:
                ctx.report(
                    f"{op.operation_id} of the malformed id {sample[:40]!r} answered {exchange.status}, expected 400",
                    exchange.describe(),
                    exchanges=[exchange],
                    documented=False,
                )


@check(
    needs=(
        shareable(PUBLISHED),
        shareable(CANCELED),
    )
)
def id_encoding(ctx: CheckContext) -> None:
    """Ids work both raw (`@`) and percent-encoded (`%40`, as the official SDKs send them)."""
    for kind in KINDS:
        for event, state in ((shareable_untouched(ctx, kind), PUBLISHED), (shareable_canceled(ctx, kind), CANCELED)):
            if "@" not in event.id:
                raise Skip("the target's ids contain no '@'")
            for style in ("raw", "percent"):
                read = ctx.get(event, style=style)
                ctx.no_server_error(read, events=[event])
                body = read.json()
                if read.status != 200 or not isinstance(body, dict) or body.get("id") != event.id:
                    ctx.fail(
                        f"GET of a {singular(kind)} with its id {style}-encoded did not answer 200 with that id",
                        read.describe(),
                        events=[event],
                    )
                if body.get("status") != state:
                    ctx.fail(
                        f"GET of a {state} {singular(kind)} with its id {style}-encoded says {body.get('status')!r}",
                        read.describe(),
                        events=[event],
                    )


# What the stub does with a body on cancel (spec: "a request body other than empty or `{}` answers 400").
_BODIES = (
    ("a JSON object", b'{"comment": "vevents"}', "application/json", 400),
    ("invalid JSON", b'{"', "application/json", 400),
    ("plain text", b"please cancel", "text/plain", 400),
    ("an empty JSON object", b"{}", "application/json", 204),
)


@check(
    needs=(
        fresh(PUBLISHED, kind=KINDS[0], count=2),
        fresh(PUBLISHED, kind=KINDS[1], count=2),
    )
)
def cancel_with_body(ctx: CheckContext) -> None:
    """A body sent to cancel never yields a 5xx: if ignored the event is canceled, if rejected (4xx) unchanged."""
    # A refused body leaves the event published: the next body is tried on it (fewer events).
    event: Event | None = None
    for index, (label, content, media_type, strict_status) in enumerate(_BODIES):
        if event is None:
            event = ctx.event(KINDS[index % len(KINDS)])
        exchange = ctx.cancel(event, content=content, headers={"Content-Type": media_type})
        ctx.no_server_error(exchange, events=[event])
        status = ctx.status_of(event, expect=CANCELED if exchange.is_success else PUBLISHED)
        if exchange.is_success and status != CANCELED:
            ctx.fail(
                f"cancel with {label} answered {exchange.status} but the status is {status!r}",
                exchange.describe(),
                events=[event],
            )
        if exchange.is_success and (exchange.status != 204 or exchange.content):
            ctx.fail(f"cancel with {label} was accepted without 204 No Content", exchange.describe(), events=[event])
        if not exchange.is_success and status != PUBLISHED:
            ctx.fail(
                f"cancel with {label} was refused ({exchange.status}) but the status is {status!r}",
                exchange.describe(),
                events=[event],
            )
        if ctx.strict and exchange.status != strict_status:
            ctx.fail(
                f"cancel with {label} answered {exchange.status}, expected {strict_status}",
                exchange.describe(),
                events=[event],
                documented=False,
            )
        if exchange.is_success:
            event = None


@check(needs=(shareable(PUBLISHED, kind=KINDS[0]),))
def cancel_path_other_methods(ctx: CheckContext) -> None:
    """GET, PUT, PATCH and DELETE on a cancel path never yield a 5xx nor change the event (strict: 405 + Allow)."""
    event = shareable_untouched(ctx, KINDS[0])
    for route in (KINDS[0], SDK_KIND):
        path = ctx.op("cancel", route).url_path(encode_id(event.id))
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            exchange = ctx.target.call(method, path)
            ctx.no_server_error(exchange, events=[event])
            status = ctx.status_of(event, expect=PUBLISHED)
            if status != PUBLISHED:
                ctx.fail(
                    f"{method} on the cancel path changed the event to {status!r}", exchange.describe(), events=[event]
                )
            if ctx.strict and (exchange.status != 405 or "POST" not in exchange.headers.get("allow", "")):
                ctx.report(
                    f"{method} on the cancel path answered {exchange.status} "
                    f"(Allow: {exchange.headers.get('allow')!r}), expected 405 with Allow: POST",
                    exchange.describe(),
                    events=[event],
                    documented=False,
                )


@check(needs=(shareable(PUBLISHED, kind=KINDS[0]),))
def auth_required(ctx: CheckContext) -> None:
    """Without a token or with a garbage one, get and cancel answer 401 and change nothing."""
    event = shareable_untouched(ctx, KINDS[0])
    for token, label in ((None, "no token"), ("garbage", "a garbage token")):
        for action, route in (("get", KINDS[0]), ("cancel", KINDS[0]), ("cancel", SDK_KIND)):
            exchange = ctx.call(action, event, kind=route, token=token)
            if exchange.status != 401:
                ctx.fail(
                    f"{ctx.op(action, route).operation_id} with {label} answered {exchange.status}, expected 401",
                    exchange.describe(),
                    events=[event],
                )
    status = ctx.status_of(event, expect=PUBLISHED)
    if status != PUBLISHED:
        ctx.fail(f"unauthenticated cancels changed the event to {status!r}", events=[event])


def _forbidden(ctx: CheckContext, role: str, accepted: frozenset[int]) -> None:
    event = shareable_untouched(ctx, KINDS[0])
    allowed = frozenset({403}) if ctx.strict else accepted
    for route in (KINDS[0], SDK_KIND):
        exchange = ctx.cancel(event, kind=route, token=role)
        ctx.no_server_error(exchange, events=[event])
        if exchange.status not in allowed:
            ctx.fail(
                f"cancel with the {role.replace('_', '-')} token answered {exchange.status}, "
                f"expected {' or '.join(map(str, sorted(allowed)))}",
                exchange.describe(),
                events=[event],
                documented=exchange.is_success,
            )
        status = ctx.status_of(event, expect=PUBLISHED)
        if status != PUBLISHED:
            ctx.fail(
                f"cancel with the {role.replace('_', '-')} token changed the event to {status!r}",
                exchange.describe(),
                events=[event],
            )


@check(needs=(shareable(PUBLISHED, kind=KINDS[0]),))
def read_only_token_forbidden(ctx: CheckContext) -> None:
    """With --read-only-token (VirtualEvent.Read), cancel answers 403 (default: 401 or 403) and changes nothing."""
    ctx.require_token("read_only", "--read-only-token")
    _forbidden(ctx, "read_only", frozenset({401, 403}))


@check(needs=(shareable(PUBLISHED, kind=KINDS[0]),))
def other_user_forbidden(ctx: CheckContext) -> None:
    """With --other-user-token, cancel of an event the user does not organize answers 403 and changes nothing."""
    ctx.require_token("other_user", "--other-user-token")
    _forbidden(ctx, "other_user", frozenset({401, 403, 404}))


@check(
    strict_only=True,
    needs=(
        shareable(PUBLISHED, kind=KINDS[0]),
        shareable(CANCELED, kind=KINDS[0]),
    ),
)
def diagnostic_headers(ctx: CheckContext) -> None:
    """Strict: answers carry a `request-id` header and echo the `client-request-id` they were sent."""
    # A cancel of an event already canceled changes nothing, so both events are shared ones.
    event = shareable_untouched(ctx, KINDS[0])
    canceled = shareable_canceled(ctx, KINDS[0])
    marker = "00000000-0000-4000-8000-00000000c0de"
    probes = [
        ctx.get(event, headers={"client-request-id": marker}),
        ctx.call("get", ctx.unknown_id(), kind=KINDS[0], headers={"client-request-id": marker}),
        ctx.cancel(canceled, headers={"client-request-id": marker}),
    ]
    for exchange in probes:
        if not exchange.headers.get("request-id"):
            ctx.report(
                "an answer has no request-id header", exchange.describe(), exchanges=[exchange], documented=False
            )
        if exchange.headers.get("client-request-id") != marker:
            ctx.report(
                "an answer does not echo client-request-id", exchange.describe(), exchanges=[exchange], documented=False
            )


@check()
def error_envelope(ctx: CheckContext) -> None:
    """Every error answer is application/json in Graph's envelope {"error": {"code", "message"}}, never problem+json."""
    unknown = ctx.unknown_id()
    kind = KINDS[0]
    ctx.call("get", unknown, kind=kind)
    ctx.call("get", unknown, kind=kind, token=None)
    ctx.call("cancel", unknown, kind=SDK_KIND, token="garbage")
    ctx.target.call("DELETE", ctx.op("cancel", kind).url_path(encode_id(unknown)))
    ctx.call("cancel", unknown, kind=kind, content=b'{"', headers={"Content-Type": "application/json"})
    # Then every error answer the run has seen so far, from any check.
    seen: set[tuple[str, int, str]] = set()
    for exchange in ctx.target.exchanges:
        problem = envelope_problem(exchange)
        key = (exchange.method, exchange.status, problem or "")
        if problem and key not in seen:
            seen.add(key)
            ctx.report(
                f"a {exchange.status} answer to {exchange.method} is not in Graph's error envelope: {problem}",
                exchange.describe(),
                exchanges=[exchange],
            )
