"""The state-transition coverage table: which (state x action x route x version) cells a run exercised.

The cells come from the contract (`vevents.spec.contract()`: the lifecycle table's actions and
states, the operations that take an event id, the versions), never from a list written here.
A cell is exercised when the run sent that action, through that route and version, with the main
token, to an event it knew to be in that state; the state is followed along the run's exchanges
(a create makes a draft, an accepted action moves the event as the lifecycle table says, a
successful GET shows where it really is).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vevents.spec import contract

from .target import CreatedEvent, Exchange

__all__ = ["Cell", "Coverage", "all_cells", "measure"]


@dataclass(frozen=True, slots=True, order=True)
class Cell:
    state: str
    action: str
    route: str
    version: str


@dataclass(frozen=True, slots=True)
class Coverage:
    """Exercised cells with how often, and the cells the run could not reach."""

    exercised: dict[Cell, int]
    unreached: tuple[Cell, ...]

    @property
    def total(self) -> int:
        return len(self.exercised) + len(self.unreached)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cells": self.total,
            "exercised": [{**_cell(cell), "requests": count} for cell, count in sorted(self.exercised.items())],
            "unreached": [_cell(cell) for cell in self.unreached],
        }


def _cell(cell: Cell) -> dict[str, str]:
    return {"state": cell.state, "action": cell.action, "route": cell.route, "version": cell.version}


def all_cells() -> tuple[Cell, ...]:
    """Every cell the contract defines, in a stable order."""
    spec = contract()
    cells = [
        Cell(state, op.action, op.kind, version)
        for version in spec.versions
        for op in spec.operations
        if op.id_parameter is not None and op.action in spec.lifecycle
        for state in spec.lifecycle[op.action]
    ]
    return tuple(sorted(set(cells)))


def _routes() -> list[tuple[re.Pattern[str], str, str, str]]:
    """(path pattern, action, route, version) for every id-taking operation and version."""
    spec = contract()
    routes = []
    for version in spec.versions:
        for op in spec.operations:
            if op.id_parameter is None or op.action not in spec.lifecycle:
                continue
            head, _, tail = op.path.partition("{" + op.id_parameter + "}")
            pattern = re.compile(f"/{re.escape(version)}{re.escape(head)}(?P<id>[^/?]+){re.escape(tail)}$")
            routes.append((pattern, op.action, op.kind, version))
    return routes


def measure(exchanges: Iterable[Exchange], created: Iterable[CreatedEvent]) -> Coverage:
    """Follow each event's state along the exchanges and count the cells they exercised."""
    spec = contract()
    routes = _routes()
    state = {event.id: spec.create_outcome.to for event in created}
    creates = {op.url_path() for op in spec.operations if op.action == "create"}
    counts: dict[Cell, int] = {}
    for exchange in list(exchanges):
        path = urllib.parse.urlsplit(exchange.url).path
        if exchange.method == "POST" and exchange.is_success and any(path.endswith(item) for item in creates):
            body = exchange.json()
            if isinstance(body, dict) and isinstance(body.get("id"), str):
                state[body["id"]] = spec.create_outcome.to
            continue
        match = next(
            (
                (found, action, route, version)
                for pattern, action, route, version in routes
                if (found := pattern.search(path)) and exchange.method == _method(action, route)
            ),
            None,
        )
        if match is None or exchange.token_role != "main":
            continue
        found, action, route, version = match
        event_id = urllib.parse.unquote(found.group("id"))
        before = state.get(event_id)
        if action == "get" and exchange.status == 200:
            body = exchange.json()
            status = body.get("status") if isinstance(body, dict) else None
            if isinstance(status, str):
                before = status
                state[event_id] = status
        if before is None or before not in spec.lifecycle[action]:
            continue
        cell = Cell(before, action, route, version)
        counts[cell] = counts.get(cell, 0) + 1
        if exchange.is_success and action != "get":
            state[event_id] = spec.outcome(action, before).to
    unreached = tuple(cell for cell in all_cells() if cell not in counts)
    return Coverage(exercised=counts, unreached=unreached)


def _method(action: str, route: str) -> str:
    return contract().find(action=action, kind=route).method
