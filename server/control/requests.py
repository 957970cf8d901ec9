"""Which Graph operation a request is for, from the contract's paths (no route named by hand)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from vevents.server.ids import parse_event_id
from vevents.spec import Operation

__all__ = ["RequestClassifier", "RequestInfo"]


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """What a fault rule or a journal filter may ask about a request."""

    method: str
    operation_id: str | None
    """The Graph contract's operationId; None when the request matches no operation."""
    kind: str | None
    """The path's collection: webinars, townhalls or events (the base-type routes)."""
    event_id: str | None
    """The id in the path, canonical (lower case) when well-formed, else as sent."""


class RequestClassifier:
    """Maps (method, path) to a `RequestInfo`, for every version the contract serves."""

    def __init__(self, operations: Iterable[Operation], versions: Iterable[str]) -> None:
        prefix = "/(?:" + "|".join(re.escape(v) for v in versions) + ")"
        self._routes: list[tuple[re.Pattern[str], str, Operation]] = []
        for op in operations:
            # The event id (a whole segment) is captured; a function's arguments are not.
            parts = re.split(r"(\{[^}]+\})", op.path)
            body = "".join(
                ("([^/]+)" if "{" + str(op.id_parameter) + "}" == part else "[^/]*")
                if part.startswith("{")
                else re.escape(part)
                for part in parts
            )
            self._routes.append((re.compile(prefix + body), op.method, op))

    def __call__(self, method: str, path: str) -> RequestInfo:
        method = method.upper()
        for regex, op_method, op in self._routes:
            if op_method != method:
                continue
            match = regex.fullmatch(path)
            if match is not None:
                raw = match.group(1) if match.groups() else None
                return RequestInfo(method, op.operation_id, op.kind, canonical_event_id(raw))
        return RequestInfo(method, None, None, None)


def canonical_event_id(raw: str | None) -> str | None:
    """`<guid>@<tenant>` in lower case when `raw` is well-formed; `raw` itself otherwise."""
    if raw is None:
        return None
    raw = raw.replace("%40", "@")  # as the SDKs send it
    return parse_event_id(raw, "") if "@" in raw and parse_event_id(raw, "") else raw
