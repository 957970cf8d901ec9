"""The coverage table: the contract's matrix, each cell judged, not reachable, or not judged and why.

The matrix is caller x state (and how it was reached) x action or view. Every dimension comes
from the contract (`vevents.spec.contract()`), never from a list written here:

- callers: the organizer, the read-only token, another user, another tenant, no token (the
  suite's token roles; a garbage token counts as no token);
- states and how they were reached: `Contract.reached_states()` (the lifecycle table);
- actions and views: every operation on one event (get, update, publish, cancel) through each
  route that can name it (its kind's own, the other kind's, the base-type `/events` route),
  on each version, with the id's `@` raw or sent as `%40`, plus `$select` and the list.

A request is placed in its cell by the one route matcher (`Contract.route`); the event's state
is followed along the run's exchanges as the lifecycle table says (a create makes a draft, an
accepted action moves it). A cell is *judged* when the run sent a request in it (every answer
the suite receives is judged by the check that sent it, or by Schemathesis' checks); a state no
event of the run reached is *not reachable*; the other cells are *not judged*, with the reason.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from vevents.spec import contract

from .target import CreatedEvent, Exchange

__all__ = ["CALLERS", "Cell", "Coverage", "all_cells", "measure", "rows", "state_label"]

# The callers, by the suite's token roles (None: no token), with the option that gives each.
CALLERS: tuple[tuple[str | None, str, str], ...] = (
    ("main", "organizer", "--token"),
    ("read_only", "read-only", "--read-only-token"),
    ("other_user", "other user", "--other-user-token"),
    ("other_tenant", "other tenant", "--other-tenant-token"),
    (None, "no token", ""),
)
_CALLER_OF = {role: label for role, label, _ in CALLERS} | {"garbage": "no token"}


@dataclass(frozen=True, slots=True, order=True)
class Cell:
    """One cell: who called, the state and the way it was reached, the action and the view or route."""

    caller: str
    state: str
    reached: tuple[str, ...]
    action: str
    route: str
    """`own` (the event's kind), `other kind`, or the base-type route's name (`events`)."""
    version: str
    view: str
    """How the id was sent (`@`, `%40`), or `$select`, or `list`."""

    @property
    def state_label(self) -> str:
        return state_label(self.state, self.reached)

    def to_dict(self) -> dict[str, str]:
        return {
            "caller": self.caller,
            "state": self.state_label,
            "action": self.action,
            "route": self.route,
            "version": self.version,
            "view": self.view,
        }


def state_label(state: str, reached: Iterable[str]) -> str:
    path = tuple(reached)
    return f"{state} (after {' then '.join(path)})" if path else state


@dataclass(frozen=True, slots=True)
class Coverage:
    """The judged cells (with how many requests), the states not reached, and why the rest were not judged."""

    judged: dict[Cell, int]
    not_reachable: tuple[Cell, ...]
    not_judged: dict[Cell, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.judged) + len(self.not_reachable) + len(self.not_judged)

    @property
    def exercised(self) -> dict[Cell, int]:
        return self.judged

    def to_dict(self) -> dict[str, Any]:
        return {
            "cells": self.total,
            "judged": [{**cell.to_dict(), "requests": count} for cell, count in sorted(self.judged.items())],
            "not_reachable": [cell.to_dict() for cell in self.not_reachable],
            "not_judged": [{**cell.to_dict(), "why": why} for cell, why in sorted(self.not_judged.items())],
        }


def rows() -> list[tuple[str, str, str, str]]:
    """(action, route, version, view) for every action or view the contract has on one event."""
    spec = contract()
    rows: list[tuple[str, str, str, str]] = []
    for version in spec.versions:
        for action in spec.lifecycle:
            kinds_routes = {op.kind for op in spec.operations if op.action == action and op.id_parameter}
            routes = ["own", "other kind"] if set(spec.kinds) <= kinds_routes else []
            routes += sorted(kind for kind in kinds_routes if kind not in spec.kinds)
            for route in routes:
                views = ["@", "%40"] + (["$select"] if action == "get" and route == "own" else [])
                rows += [(action, route, version, view) for view in views]
        if any(op.action == "list" for op in spec.operations):
            rows.append(("list", "own", version, "list"))
    return rows


def all_cells() -> tuple[Cell, ...]:
    """Every cell the contract defines, in a stable order."""
    states = contract().reached_states()
    return tuple(
        sorted(
            Cell(label, state, reached, action, route, version, view)
            for _, label, _ in CALLERS
            for state, reached in states
            for action, route, version, view in rows()
        )
    )


def _advance(state: str, reached: tuple[str, ...], action: str) -> tuple[str, tuple[str, ...]]:
    """Where an accepted `action` takes an event, as the lifecycle table says (a step that keeps the state is none)."""
    rows = contract().lifecycle.get(action, {})
    after = rows[state].to if state in rows else state
    return (after, (*reached, action)) if after != state else (state, reached)


def measure(
    exchanges: Iterable[Exchange], created: Iterable[CreatedEvent], tokens: Iterable[str] = ("main",)
) -> Coverage:
    """Follow each event's state along the exchanges and place every request in its cell."""
    spec = contract()
    start = (spec.draft, ())
    where: dict[str, tuple[str, str, tuple[str, ...]]] = {event.id: (event.kind, *start) for event in created}
    counts: dict[Cell, int] = {}
    answers: dict[tuple[str, str], list[int]] = {}
    for exchange in list(exchanges):
        split = urllib.parse.urlsplit(exchange.url)
        route = spec.route(exchange.method, urllib.parse.unquote(split.path))
        if route is None:
            continue
        op = route.operation
        caller = _CALLER_OF.get(exchange.token_role, "no token")
        body = exchange.json()
        if op.action == "create":
            if exchange.is_success and isinstance(body, dict) and isinstance(body.get("id"), str):
                where[body["id"]] = (op.kind, *start)
            continue
        version = route.version or ""
        if op.action == "list":
            answers.setdefault((caller, version + " list"), []).append(exchange.status)
            items = body.get("value") if isinstance(body, dict) else None
            for item in items if isinstance(items, list) else ():
                known = where.get(str(item.get("id"))) if isinstance(item, dict) else None
                if known is not None and known[0] == op.kind:
                    cell = Cell(caller, known[1], known[2], "list", "own", version, "list")
                    counts[cell] = counts.get(cell, 0) + 1
            continue
        raw = split.path.split("/")
        segment = next((part for part in raw if "%40" in part.lower()), None)
        event_id = urllib.parse.unquote(route.event_id or "")
        known = where.get(event_id)
        answers.setdefault((caller, version), []).append(exchange.status)
        if known is None or op.action not in spec.lifecycle:
            continue
        kind, state, reached = known
        relation = "own" if op.kind == kind else "other kind" if op.kind in spec.kinds else op.kind
        view = "$select" if "$select" in urllib.parse.unquote(split.query) else "%40" if segment else "@"
        cell = Cell(caller, state, reached, op.action, relation, version, view)
        counts[cell] = counts.get(cell, 0) + 1
        if exchange.is_success and relation != "other kind" and op.action != "get":
            where[event_id] = (kind, *_advance(state, reached, op.action))
    return _classify(counts, answers, set(tokens))


def _classify(counts: Mapping[Cell, int], answers: Mapping[tuple[str, str], list[int]], tokens: set[str]) -> Coverage:
    reached = {(cell.state, cell.reached) for cell in counts}
    given = {label for role, label, _ in CALLERS if role is None or role in tokens}
    options = {label: option for _, label, option in CALLERS}
    not_reachable: list[Cell] = []
    not_judged: dict[Cell, str] = {}
    for cell in all_cells():
        if cell in counts:
            continue
        if (cell.state, cell.reached) not in reached:
            not_reachable.append(cell)
        elif cell.caller not in given:
            not_judged[cell] = f"needs {options[cell.caller]}"
        else:
            seen = answers.get((cell.caller, cell.version + (" list" if cell.view == "list" else "")), [])
            if seen and all(status in (401, 403, 404, 405) for status in seen):
                not_judged[cell] = f"the target serves this caller nothing here (answers {sorted(set(seen))})"
            else:
                not_judged[cell] = "no check sent this request"
    return Coverage(judged=dict(counts), not_reachable=tuple(not_reachable), not_judged=not_judged)
