"""Checks derived from the contract's matrix: who calls x which state (and how it was reached) x
which action or view x what is compared.

The cells are generated from the contract, never listed here: the states and the ways to reach
them from the lifecycle table (`Contract.reached_states`), the routes and versions from the
operations, the callers from the tokens given (organizer, read-only, another user, another
tenant, no token). One walk per way through the lifecycle takes a fresh draft along it, the
kinds taking turns (a webinar: draft, canceled from the draft; a town hall: draft, published,
canceled after publication); in every state it

- reads the event through every view (its route raw and `%40`, on every version the target
  serves, `$select`, the list if the token may list, the other kind's route), compares each
  view with the plain GET and with what the same view showed before the change (so a view that
  caches what it served once is caught: read, change, read again through every view);
- lets every other caller read it and try every write (refused, changes nothing);
- in a canceled state, lets the organizer try every write on every route (nothing revives it).

The bodies are compared whole (annotations included), minus what legitimately changes: the
status on a transition, the members an update sets, and bookkeeping members (`lastModified...`,
etags, `@odata.context`). Lenient where a correct real tenant differs: --settle re-reads, extra
properties the contract does not name are not compared, a view the target does not serve (a
4xx to `$select`, to the list or on the other version) is not judged, another user may get 403
or 404 where Graph allows either, and any refusal (4xx) of a forbidden write is fine by
default (--strict: the spec's status).

The walk runs once per run and the four checks below each judge one dimension of what it saw:
it costs two events, whichever of them run.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from vevents.spec import contract, singular

from ..context import CANCELED, DRAFT, CheckContext
from ..definitions import Need, check, fresh
from ..failures import Skip, Violation
from .common import KINDS, SDK_KIND, Event, Exchange, body_of, encode_id

__all__ = ["CALLERS", "DIMENSIONS", "walk_paths", "walk_plan"]

# The four dimensions of the matrix, one check each.
DIMENSIONS = ("caller", "state", "view", "body")
# Callers other than the organizer: (token role, what the run needs for it, the status --strict expects
# for what the caller may not do). The roles' rights come from the contract (scopes and roles table).
CALLERS: tuple[tuple[str | None, str, int], ...] = (
    ("read_only", "--read-only-token", 403),
    ("other_user", "--other-user-token", 403),
    ("other_tenant", "--other-tenant-token", 404),
    (None, "", 401),
)
# Bookkeeping members that change on any write (and annotations that depend on the URL): never compared.
_VOLATILE = re.compile(r"(?i)lastmodified|etag|changekey|^@odata\.(context|nextlink|deltalink|id|editlink)$")
MAX_LIST_PAGES = 10
# Requests of one step sent at the same time (reads and refused writes are independent of each other).
PARALLEL = 8
_READ_SCOPE = next(
    iter(
        sorted(
            contract().find(action="get", kind=KINDS[0]).delegated_scopes
            - contract().find(action="cancel", kind=KINDS[0]).delegated_scopes
        )
    )
)


def walk_paths() -> list[tuple[str, ...]]:
    """The ways through the lifecycle that reach every (state, how reached): the longest paths, one event each."""
    paths = [path for _, path in contract().reached_states()]
    return [path for path in paths if not any(other[: len(path)] == path and other != path for other in paths)]


def walk_plan() -> list[tuple[int, str, tuple[str, ...]]]:
    """(kind's index, kind, path) of each walk: one event per path, the kinds taking turns (a real tenant keeps
    every event, and the kind is no dimension of the matrix: both kinds are walked, each on its own path)."""
    paths = walk_paths()
    count = max(len(paths), len(KINDS))
    return [(n % len(KINDS), KINDS[n % len(KINDS)], paths[n % len(paths)]) for n in range(count)]


def _label(state: str, path: Sequence[str]) -> str:
    return f"{state} (after {' then '.join(path)})" if path else state


def _unset(value: Any) -> Any:
    return None if value in (None, [], {}) else value


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _compared(kind: str, body: Mapping[str, Any]) -> set[str]:
    """The members compared: every property the contract names and every OData annotation, minus bookkeeping."""
    known = set(contract().select_properties[kind])
    return {name for name in body if (name in known or name.startswith("@")) and not _VOLATILE.search(name)}


def _changed(kind: str, before: Mapping[str, Any], after: Mapping[str, Any], allowed: Iterable[str] = ()) -> list[str]:
    """Members set before that read differently after (one that only appears after is an extra, not a change)."""
    names = _compared(kind, before) - set(allowed)
    return sorted(name for name in names if _unset(before.get(name)) != _unset(after.get(name)))


def _disagree(kind: str, plain: Mapping[str, Any], view: Mapping[str, Any]) -> list[str]:
    """Members both show (and `status`, which every view must show) that differ between two views."""
    names = (_compared(kind, plain) & _compared(kind, view)) | {"status"}
    return sorted(name for name in names if _unset(plain.get(name)) != _unset(view.get(name)))


def _details(names: Iterable[str], before: Mapping[str, Any], after: Mapping[str, Any]) -> str:
    return "; ".join(f"{name}: {_short(before.get(name))} -> {_short(after.get(name))}" for name in names)


@dataclass(slots=True)
class _Findings:
    """What the walk saw, by dimension; `skip` when it could not walk at all."""

    by_dimension: dict[str, list[Violation]] = field(default_factory=lambda: {name: [] for name in DIMENSIONS})
    skip: str | None = None
    crash: Exception | None = None
    cells: int = 0


@dataclass(slots=True)
class _View:
    label: str
    read: Callable[[], Exchange | None]
    pick: Callable[[Exchange], dict[str, Any] | None]


class _Walk:
    """One event of one kind along one path of the lifecycle, every cell judged on the way."""

    def __init__(self, ctx: CheckContext, findings: _Findings, kind: str, index: int) -> None:
        self.ctx = ctx
        self.findings = findings
        self.kind = kind
        self.other_kind = next(item for item in KINDS if item != kind)
        self.index = index
        self.versions = self._other_versions()
        self.served: set[str] | None = None
        self.seen: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ plumbing
    def note(self, dimension: str, title: str, message: str = "", **kwargs: Any) -> None:
        self.findings.by_dimension[dimension].append(self.ctx.violation(title, message, **kwargs))

    def together(self, calls: Sequence[Callable[[], Any]]) -> list[Any]:
        """Run independent requests at the same time; each is recorded as the check's own."""
        ctx = self.ctx

        def one(call: Callable[[], Any]) -> Any:
            with ctx.target.recording(ctx.sent):
                return call()

        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            return list(pool.map(one, calls))

    def _other_versions(self) -> list[str]:
        versions = contract().versions
        if self.ctx.target.version not in versions:
            return []
        return [version for version in versions if version != self.ctx.target.version]

    def base(self, version: str | None) -> str | None:
        return None if version is None else self.ctx.target.with_version(version)

    def style(self, event: Event, percent: bool) -> str:
        return "percent" if percent and "@" in event.id else "raw"

    # ------------------------------------------------------------------ views
    def views(self, event: Event) -> list[_View]:
        ctx, kind = self.ctx, self.kind
        found: list[_View] = []
        styles = ("raw", "percent") if "@" in event.id else ("raw",)
        for version in (None, *self.versions):
            for style in styles:
                label = f"GET {style}{'' if version is None else ' on ' + version}"
                read = _bound(ctx.get, event, style=style, base_url=self.base(version))
                found.append(_View(label, read, _whole))
        names = [
            name
            for name in ("id", "status", "displayName", "description")
            if name in contract().select_properties[kind]
        ]
        select_path = ctx.op("get", kind).url_path(encode_id(event.id)) + "?$select=" + ",".join(names)
        found.append(_View("$select", _bound(ctx.target.call, "GET", select_path), _whole))
        found.append(_View("the list", lambda: self._list_page(event), lambda exchange: _item(exchange, event.id)))
        return found

    def _list_page(self, event: Event) -> Exchange | None:
        """The list page that holds the event (following `@odata.nextLink` on the same host), else the last page."""
        op = self.ctx.op("list", event.kind)
        exchange = self.ctx.target.call(op.method, op.url_path())
        for _ in range(MAX_LIST_PAGES):
            if exchange.status != 200 or _item(exchange, event.id) is not None:
                return exchange
            link = str(body_of(exchange).get("@odata.nextLink") or "")
            here, there = urllib.parse.urlsplit(self.ctx.target.base_url), urllib.parse.urlsplit(link)
            if not link or (there.scheme, there.netloc) != (here.scheme, here.netloc):
                return exchange  # a link elsewhere would carry the token to another host: never followed
            origin = f"{there.scheme}://{there.netloc}"
            exchange = self.ctx.target.call("GET", link[len(origin) :], base_url=origin)
        return exchange

    def read_views(
        self, event: Event, where: str, expect: str, require: Mapping[str, Any]
    ) -> dict[str, dict[str, Any] | None]:
        """Every view the target serves, as it shows the event now (--settle: until the plain GET shows `expect`)."""
        views = self.views(event)
        deadline = time.monotonic() + self.ctx.settle
        while True:
            answers = self.together([view.read for view in views])
            shown = {
                view.label: (view.pick(answer) if answer is not None else None)
                for view, answer in zip(views, answers, strict=True)
            }
            plain = shown[views[0].label] or {}
            settled = plain.get("status") == expect and all(plain.get(k) == v for k, v in require.items())
            # With --settle, every view is given the time to agree (a replica behind another is no fault).
            settled = settled and all(body is None or not _disagree(self.kind, plain, body) for body in shown.values())
            if settled or time.monotonic() >= deadline:
                break
            time.sleep(0.2)
        for answer in answers:
            if answer is not None and answer.is_server_error:
                self.note(
                    "view",
                    f"a read of a {where} {singular(self.kind)} answered {answer.status}",
                    answer.describe(),
                    events=[event],
                    exchanges=[answer],
                )
        if self.served is None:
            # What the target serves is learnt on the fresh draft: a view that answers it is judged ever after.
            self.served = {label for label, body in shown.items() if body is not None}
            self.versions = [version for version in self.versions if f"GET raw on {version}" in self.served]
        plain_label = views[0].label
        return {
            label: body for label, body in shown.items() if body is not None or label in {*self.served, plain_label}
        }

    def compare_views(self, event: Event, where: str, shown: dict[str, dict[str, Any] | None]) -> None:
        plain_label = next(iter(shown))
        plain = shown[plain_label] or {}
        for label, body in shown.items():
            if label == plain_label:
                continue
            if body is None:
                self.note(
                    "view", f"{label} no longer shows a {where} {singular(self.kind)} it showed before", events=[event]
                )
                continue
            differ = _disagree(self.kind, plain, body)
            if differ:
                self.note(
                    "view",
                    f"{label} shows a {where} {singular(self.kind)} differently from the plain GET: "
                    f"{', '.join(differ)}",
                    _details(differ, plain, body),
                    events=[event],
                )

    def compare_times(
        self, event: Event, where: str, shown: dict[str, dict[str, Any] | None], allowed: Iterable[str], change: str
    ) -> None:
        for label, body in shown.items():
            before = self.seen.get(label)
            if before is None or body is None:
                continue
            differ = _changed(self.kind, before, body, allowed)
            if differ:
                self.note(
                    "body",
                    f"{change} changed {', '.join(differ)} of a {singular(self.kind)} as {label} shows it "
                    f"({'only ' + ', '.join(sorted(allowed)) if allowed else 'nothing'} may change)",
                    _details(differ, before, body),
                    events=[event],
                )
        self.seen = {label: body for label, body in shown.items() if body is not None}

    def look(
        self,
        event: Event,
        where: str,
        expect: str,
        allowed: Mapping[str, Any] | Iterable[str],
        change: str,
        cause: Sequence[Exchange] = (),
    ) -> dict[str, Any]:
        """Read through every view, judge what it shows against the plain GET and against the view's last read.

        `allowed`: the members the change may alter; a mapping also says what they must read now (an update's values).
        """
        required: Mapping[str, Any] = allowed if isinstance(allowed, Mapping) else {}
        shown = self.read_views(event, where, expect, required)
        plain = next(iter(shown.values()), None) or {}
        for label, body in shown.items():
            for name, value in required.items():
                if body is not None and (name in body or body is plain) and body.get(name) != value:
                    self.note(
                        "view",
                        f"{label} does not show what an accepted update set on a {where} {singular(self.kind)}: {name}",
                        f"{name}: {_short(body.get(name))}, the update set {_short(value)}",
                        events=[event],
                    )
        if plain.get("status") != expect:
            self.note(
                "state",
                f"after {change} the {singular(self.kind)} reads status {plain.get('status')!r}, expected {expect!r}",
                events=[event],
                exchanges=cause,
            )
        self.compare_views(event, where, shown)
        self.compare_times(event, where, shown, allowed, change)
        # The other kind's route names no event of this kind.
        other = self.ctx.get(event, kind=self.other_kind)
        if other.is_success and body_of(other).get("id") == event.id:
            self.note(
                "view",
                f"GET through /{self.other_kind} answered {other.status} with a {where} {singular(self.kind)}",
                other.describe(),
                events=[event],
                exchanges=[other],
            )
        return plain

    # ------------------------------------------------------------------ callers
    def variants(self) -> list[tuple[str, str, str | None, bool]]:
        """(action, route, version, `%40`?) for every action on one event, each route the contract has for it:
        through this version with the id raw, and through the other version (if served) with `%40`."""
        found: list[tuple[str, str, str | None, bool]] = []
        for action in contract().lifecycle:
            routes = [op.kind for op in contract().operations if op.action == action and op.id_parameter]
            for route in [item for item in routes if item == self.kind or item not in KINDS]:
                found.append((action, route, None, False))
                if self.versions:
                    found.append((action, route, self.versions[0], True))
        return found

    def callers(self, event: Event, where: str, state: str, plain: Mapping[str, Any]) -> None:
        """Every other caller given: reads as the contract lets it, every write refused and without effect."""
        ctx = self.ctx
        given = [(role, option, status) for role, option, status in CALLERS if role is None or role in ctx.extra_tokens]
        if not given:
            return
        sends: list[tuple[str | None, str, Callable[[], Exchange]]] = []
        rename = {"displayName": f"vevents: renamed by another caller ({where})"}
        for role, _, _ in given:
            for action, route, version, percent in self.variants():
                send = _bound(
                    ctx.call,
                    action,
                    event,
                    kind=route,
                    token=role,
                    style=self.style(event, percent),
                    base_url=self.base(version),
                    json_body=rename if action == "update" else None,
                )
                sends.append((role, action, send))
        answers = self.together([send for _, _, send in sends])
        strict_status = {role: status for role, _, status in given}
        for (role, action, _), answer in zip(sends, answers, strict=True):
            who = _who(role)
            if answer.is_server_error:
                self.note(
                    "caller",
                    f"{action} of a {where} {singular(self.kind)} by {who} answered {answer.status}",
                    answer.describe(),
                    events=[event],
                    exchanges=[answer],
                )
            elif action == "get":
                self._judge_read(event, where, role, answer, plain, strict_status[role])
            elif answer.is_success or (answer.status != strict_status[role] and (ctx.strict or role is None)):
                expected = strict_status[role] if (ctx.strict or role is None) else "a refusal (4xx)"
                self.note(
                    "caller",
                    f"{action} of a {where} {singular(self.kind)} by {who} answered {answer.status}, "
                    f"expected {expected}",
                    answer.describe(),
                    events=[event],
                    exchanges=[answer],
                    documented=answer.is_success or role is None,
                )
        after = body_of(_settled(ctx, _bound(ctx.get, event), lambda x: body_of(x).get("status") == state))
        differ = _changed(self.kind, plain, after)
        if differ or after.get("status") != state:
            self.note(
                "caller",
                f"requests of other callers changed a {where} {singular(self.kind)}: {', '.join(differ) or 'status'}",
                _details(differ or ["status"], plain, after),
                events=[event],
                exchanges=[answer for answer in answers if answer.is_success],
            )

    def _judge_read(
        self, event: Event, where: str, role: str | None, answer: Exchange, plain: Mapping[str, Any], refusal: int
    ) -> None:
        op = self.ctx.op("get", self.kind)
        may_read = (role == "read_only" and _READ_SCOPE in op.delegated_scopes) or role == "other_user"
        who = _who(role)
        if not may_read:
            if answer.is_success or (answer.status != refusal and (self.ctx.strict or role is None)):
                expected = refusal if (self.ctx.strict or role is None) else "a refusal (4xx)"
                self.note(
                    "caller",
                    f"GET of a {where} {singular(self.kind)} by {who} answered {answer.status}, expected {expected}",
                    answer.describe(),
                    events=[event],
                    exchanges=[answer],
                )
            return
        if role == "other_user" and answer.status in (403, 404):
            return  # Graph shows an event to its attendees; to another user it may answer either
        body = body_of(answer)
        if answer.status != 200 or not body:
            self.note(
                "caller",
                f"GET of a {where} {singular(self.kind)} by {who} answered {answer.status}, expected 200",
                answer.describe(),
                events=[event],
                exchanges=[answer],
            )
            return
        differ = _caller_differs(self.kind, role, plain, body)
        if differ and self.ctx.settle > 0:
            # This caller's reads may come from a replica that is behind: given the settle time too.
            send = _bound(self.ctx.get, event, token=role)
            answer = _settled(self.ctx, send, lambda x: not _caller_differs(self.kind, role, plain, body_of(x)))
            body = body_of(answer)
            differ = _caller_differs(self.kind, role, plain, body) if body else []
        if differ:
            self.note(
                "caller",
                f"{who} reads a {where} {singular(self.kind)} differently from its organizer: {', '.join(differ)}",
                _details(differ, plain, body),
                events=[event],
                exchanges=[answer],
            )

    # ------------------------------------------------------------------ the organizer
    def revive_attempts(self, event: Event, where: str) -> None:
        """In a canceled state, every write of the organizer on every route and version leaves it canceled.

        One action at a time (its routes and versions together), then a read: a later cancel must not
        hide what an earlier publish did."""
        ctx = self.ctx
        rename = {"displayName": f"vevents: renamed when {where}"}
        for action in (action for action in contract().lifecycle if action != "get"):
            writes = [variant for variant in self.variants() if variant[0] == action]
            sends = [
                _bound(
                    ctx.call,
                    action,
                    event,
                    kind=route,
                    style=self.style(event, percent),
                    base_url=self.base(version),
                    json_body=rename if action == "update" else None,
                )
                for _, route, version, percent in writes
            ]
            answers = self.together(sends)
            outcome = contract().outcome(action, CANCELED)
            for (_, route, version, _), answer in zip(writes, answers, strict=True):
                through = f"/{route}{'' if version is None else ' on ' + version}"
                if answer.is_server_error or (ctx.strict and answer.status != outcome.status):
                    self.note(
                        "state",
                        f"{action} of a {where} {singular(self.kind)} through {through} answered {answer.status}"
                        + ("" if answer.is_server_error else f", expected {outcome.status}"),
                        answer.describe(),
                        events=[event],
                        exchanges=[answer],
                        documented=answer.is_server_error or outcome.documented,
                    )
            read = _settled(ctx, _bound(ctx.get, event), lambda x: body_of(x).get("status") == CANCELED)
            status = body_of(read).get("status")
            if status != CANCELED:
                accepted = [answer for answer in answers if answer.is_success]
                self.note(
                    "state",
                    f"{action} of a {where} {singular(self.kind)} (every route and version) turned it {status!r}: "
                    "canceled must be permanent",
                    read.describe(),
                    events=[event],
                    exchanges=[*accepted, read],
                )
                return

    def transition(self, event: Event, action: str, state: str, where: str) -> str | None:
        """Take one step of the path through a route chosen by the walk; the status after it, or None if refused."""
        ctx = self.ctx
        # Each step through a route the rest of the suite uses least: the SDK route for cancel (`%40`
        # after publication, raw for a draft), the other version for publish.
        other = self.versions[0] if self.versions else None
        route, version, percent = (SDK_KIND, None, state != DRAFT) if action == "cancel" else (self.kind, other, False)
        exchange = ctx.call(action, event, kind=route, style=self.style(event, percent), base_url=self.base(version))
        try:
            after = ctx.judge(action, state, exchange, event)
        except Violation as violation:
            self.findings.by_dimension["state"].append(violation)
            return None
        return after if exchange.is_success else None

    def organizer_writes(self, event: Event, where: str, state: str) -> dict[str, Any]:
        """The organizer's writes that keep the state (the table's rows from `state` to itself): judged, and
        what they set (an update renames the event: documented 200)."""
        ctx = self.ctx
        routes = {"update": (self.kind, self.index % 2 == 1), "publish": (SDK_KIND, False), "cancel": (self.kind, True)}
        renamed: dict[str, Any] = {}
        for action, rows in contract().lifecycle.items():
            if action == "get" or state not in rows or rows[state].to != state:
                continue
            route, other_version = routes.get(action, (self.kind, False))
            body = {"displayName": f"vevents matrix {self.kind} {self.index} {where}"} if action == "update" else None
            version = self.versions[0] if other_version and self.versions else None
            style = self.style(event, self.index % 2 == 0)
            exchange = ctx.call(action, event, kind=route, json_body=body, base_url=self.base(version), style=style)
            if exchange.is_success and body is not None:
                renamed.update(body)
            try:
                ctx.judge(action, state, exchange, event)
            except Violation as violation:
                self.findings.by_dimension["state"].append(violation)
        return renamed

    def other_route_writes(self, event: Event, where: str) -> None:
        """The other kind's routes name no event of this kind: their writes are refused (a change shows next)."""
        ctx = self.ctx
        rename = {"displayName": f"vevents: renamed through /{self.other_kind}"}
        actions = [action for action in contract().lifecycle if action != "get"]
        ways = [(None, False), *((version, True) for version in self.versions[:1])]
        tried = [(action, version, percent) for action in actions for version, percent in ways]
        sends = [
            _bound(
                ctx.call,
                action,
                event,
                kind=self.other_kind,
                style=self.style(event, percent),
                base_url=self.base(version),
                json_body=rename if action == "update" else None,
            )
            for action, version, percent in tried
        ]
        for (action, _, _), answer in zip(tried, self.together(sends), strict=True):
            if answer.is_success or answer.is_server_error or (ctx.strict and answer.status != 404):
                self.note(
                    "view",
                    f"{action} of a {where} {singular(self.kind)} through /{self.other_kind} answered {answer.status}, "
                    f"expected {404 if ctx.strict else 'a refusal (4xx)'}: the id names no {singular(self.other_kind)}",
                    answer.describe(),
                    events=[event],
                    exchanges=[answer],
                    documented=not (ctx.strict and 400 <= answer.status < 500),
                )

    # ------------------------------------------------------------------ the walk
    def in_state(self, event: Event, where: str, state: str, plain: dict[str, Any]) -> dict[str, Any]:
        """Every cell of one state: the other callers, then the organizer's writes, then every view again."""
        self.callers(event, where, state, plain)
        if state == CANCELED:
            self.revive_attempts(event, where)
            return self.look(event, where, CANCELED, (), f"writes to a {where} {singular(self.kind)}")
        self.other_route_writes(event, where)
        renamed = self.organizer_writes(event, where, state)
        return self.look(event, where, state, renamed, f"the organizer's writes to a {where} {singular(self.kind)}")

    def run(self, path: Sequence[str]) -> None:
        event = self.ctx.event(self.kind, DRAFT)
        state = DRAFT
        plain = self.look(event, DRAFT, DRAFT, (), "create")
        plain = self.in_state(event, DRAFT, DRAFT, plain)
        taken: list[str] = []
        for action in path:
            after = self.transition(event, action, state, _label(state, taken))
            self.findings.cells += 1
            if after is None:
                return  # refused (or judged already): the rest of the path is not reachable
            taken.append(action)
            where = _label(after, taken)
            change = f"{action} of a {_label(state, taken[:-1])} {singular(self.kind)}"
            plain = self.look(event, where, after, ("status",), change)
            state = after
            plain = self.in_state(event, where, state, plain)


def _caller_differs(kind: str, role: str | None, plain: Mapping[str, Any], body: Mapping[str, Any]) -> list[str]:
    """What a caller allowed to read sees differently from the organizer."""
    if role == "read_only":
        # The organizer's own read-only token: the same event, the same body.
        differ = _disagree(kind, plain, body) + [name for name in _changed(kind, plain, body) if name not in body]
    else:
        # Another user sees no more than the organizer: a member may be hidden (organizer-only), never different.
        differ = [
            name for name in _disagree(kind, plain, body) if _unset(body.get(name)) is not None or name == "status"
        ]
        differ += [
            name
            for name in _compared(kind, body)
            if _unset(body.get(name)) is not None and _unset(plain.get(name)) is None
        ]
    return sorted(set(differ))


def _who(role: str | None) -> str:
    return "a request without a token" if role is None else f"the {role.replace('_', '-')} token"


def _bound(function: Callable[..., Exchange], *args: Any, **kwargs: Any) -> Callable[[], Exchange]:
    def send() -> Exchange:
        return function(*args, **kwargs)

    return send


def _whole(exchange: Exchange) -> dict[str, Any] | None:
    body = body_of(exchange)
    return body or None


def _item(exchange: Exchange, event_id: str) -> dict[str, Any] | None:
    items = body_of(exchange).get("value")
    if not isinstance(items, list):
        return None
    return next((item for item in items if isinstance(item, dict) and item.get("id") == event_id), None)


def _settled(ctx: CheckContext, send: Callable[[], Exchange], done: Callable[[Exchange], bool]) -> Exchange:
    deadline = time.monotonic() + ctx.settle
    while True:
        exchange = send()
        if done(exchange) or time.monotonic() >= deadline:
            return exchange
        time.sleep(0.2)


# ---------------------------------------------------------------------------- one walk per run
_WALKS: dict[tuple[int, int, str | None], tuple[threading.Lock, _Findings | None]] = {}
_WALKS_LOCK = threading.Lock()
_KEPT_RUNS = 4


def _walk(ctx: CheckContext) -> _Findings:
    """The run's walk (the first of the four checks to ask runs it; the others wait for it)."""
    # The run's own objects and the first id its target issued (ids of objects are reused after a run).
    key = (id(ctx.events), id(ctx.target), ctx.events.sample_id)
    with _WALKS_LOCK:
        if key not in _WALKS:
            while len(_WALKS) >= _KEPT_RUNS:
                _WALKS.pop(next(iter(_WALKS)))
            _WALKS[key] = (threading.Lock(), None)
        lock, _ = _WALKS[key]
    with lock:
        done = _WALKS.get(key, (lock, None))[1]
        if done is not None:
            return done
        findings = _Findings()

        def one(index: int, kind: str, path: tuple[str, ...]) -> None:
            with ctx.target.recording(ctx.sent):
                try:
                    _Walk(ctx, findings, kind, index).run(path)
                except Skip as skip:
                    findings.skip = str(skip)
                except Violation as violation:
                    findings.by_dimension["state"].append(violation)
                except Exception as exc:  # reported by each of the four checks, never run again
                    findings.crash = exc

        # The walks are independent (an event each): side by side, so that a slow target waits once.
        walks = walk_plan()
        with ThreadPoolExecutor(max_workers=len(walks)) as pool:
            for future in [pool.submit(one, *walk) for walk in walks]:
                future.result()
        with _WALKS_LOCK:
            _WALKS[key] = (lock, findings)
        return findings


def _judge(ctx: CheckContext, dimension: str) -> None:
    findings = _walk(ctx)
    if findings.crash is not None:
        raise RuntimeError(f"the matrix walk crashed: {type(findings.crash).__name__}: {findings.crash}")
    if findings.skip is not None:
        raise Skip(findings.skip)
    ctx.findings.extend(findings.by_dimension[dimension])


# The walk's two drafts (one per kind): one experiment the four checks judge, counted once by the planner
# whichever of them run (the first of them to run walks).
WALK: Need = fresh(DRAFT, experiment="the matrix walk")


@check(needs=(WALK,))
def callers_in_every_state(ctx: CheckContext) -> None:
    """Every caller (read-only, other user, other tenant, no token) in every state: reads as allowed, writes refused."""
    _judge(ctx, "caller")


@check(needs=(WALK,))
def states_as_reached(ctx: CheckContext) -> None:
    """Every state, however reached (published, canceled from a draft or after publication): the table's rows hold."""
    _judge(ctx, "state")


@check(needs=(WALK,))
def views_agree_across_changes(ctx: CheckContext) -> None:
    """Every view (both encodings, both versions, $select, the list) agrees with GET before and after each change."""
    _judge(ctx, "view")


@check(needs=(WALK,))
def bodies_kept_across_transitions(ctx: CheckContext) -> None:
    """Each transition changes only what it must: the whole body, annotations included, read through every view."""
    _judge(ctx, "body")
