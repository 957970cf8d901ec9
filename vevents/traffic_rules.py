"""The contract's side of recorded traffic: which operation an exchange hit, and the lifecycle
replayed over a whole recording (once a cancel was answered 204, the event reads back as
canceled forever). Pure: no openapi-core, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from vevents.recordings import Exchange
from vevents.spec import Operation, contract

__all__ = ["Finding", "lifecycle_findings", "match", "split"]

_ANCHOR = "/solutions/"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong with one recorded exchange."""

    index: int
    exchange: str
    rule: str
    severity: str  # "violation" fails the run; "warning" is reported only
    message: str


def split(exchange: Exchange) -> tuple[str, str, dict[str, str]]:
    """(version, path below the version, query args), whatever host the traffic went to.

    Recordings come from Graph, from a stub on 127.0.0.1 or from a proxy; the contract
    only cares about what follows the version segment.
    """
    parts = urlsplit(exchange.url)
    anchor = parts.path.find(_ANCHOR)
    query = dict(parse_qsl(parts.query))
    if anchor < 0:
        return "v1.0", parts.path, query
    version = parts.path[:anchor].rstrip("/").rsplit("/", 1)[-1]
    return (version if version in contract().versions else "v1.0"), parts.path[anchor:], query


def match(method: str, path: str) -> tuple[Operation, str | None] | None:
    """The contract operation a recorded request hit, and its (decoded) event id."""
    route = contract().route(method, path)
    if route is None:
        return None
    return route.operation, unquote(route.event_id) if route.event_id is not None else None


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return None


def lifecycle_findings(exchanges: Iterable[Exchange]) -> Iterator[Finding]:
    """Replay cancels: after a 204 cancel, the event must stay readable and `canceled`."""
    canceled_at: dict[str, int] = {}
    for exchange in exchanges:
        _, path, _ = split(exchange)
        matched = match(exchange.method, path)
        if matched is None:
            continue
        op, event_id = matched
        if event_id is None:
            continue

        def finding(rule: str, message: str, ex: Exchange = exchange) -> Finding:
            return Finding(ex.index, ex.label, rule, "violation", message)

        if op.action == "cancel" and 200 <= exchange.status < 300:
            if exchange.status != 204 or exchange.response_body:
                yield finding(
                    "cancel_answers_204",
                    f"cancel answered {exchange.status} with "
                    f"{len(exchange.response_body)} body bytes; Graph answers 204 No Content",
                )
            canceled_at.setdefault(event_id, exchange.index)
            continue
        since = canceled_at.get(event_id)
        if since is None:
            continue
        if op.action == "get" and exchange.status == 404:
            yield finding(
                "canceled_event_readable",
                f"event canceled in #{since} is gone (404); a canceled event can still be read with GET",
            )
        elif op.action in ("get", "update") and exchange.status == 200:
            body = _json(exchange.response_body)
            status = body.get("status") if isinstance(body, dict) else None
            if status is not None and status != contract().canceled:
                yield finding(
                    "canceled_is_permanent",
                    f"event canceled in #{since} reads back with status {status!r}; canceled is permanent",
                )
