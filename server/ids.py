"""Event ids: `<guid>@<tenant-guid>`, or a bare `<guid>` meaning "in the caller's tenant"."""

from __future__ import annotations

import re
import uuid

from vevents.spec import GUID_PATTERN

__all__ = ["malformed_id_message", "new_event_id", "parse_event_id"]

# `%40` after percent-decoding: a client that encoded the id's `%40` once more (the spec's
# pattern admits `%40`, so tools that generate values from it send `%2540`).
_EVENT_ID = re.compile(rf"({GUID_PATTERN})(?:(?:@|%40)({GUID_PATTERN}))?")


def parse_event_id(raw: str, tenant: str) -> str | None:
    """The canonical (lower-case) `<guid>@<tenant>` for `raw`, or None if `raw` is malformed.

    `raw` arrives percent-decoded (`%40` is already `@`). A bare `<guid>` is taken to be in
    `tenant`, the caller's tenant (the town hall GET examples in Graph's docs use bare GUIDs).
    """
    match = _EVENT_ID.fullmatch(raw)
    if match is None:
        return None
    guid, event_tenant = match.groups()
    return f"{guid}@{event_tenant or tenant}".lower()


def new_event_id(tenant: str) -> str:
    return f"{uuid.uuid4()}@{tenant}".lower()


def malformed_id_message(raw: str) -> str:
    """What a 400 for a malformed event id says (the handlers' and Connexion's refusals alike)."""
    return f"Invalid virtual event id {raw!r}: expected '<guid>@<tenant-guid>'."
