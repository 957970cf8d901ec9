"""`GET /healthz`: whether this stub can answer, for container and CI health checks.

The control API's `/_vevents/health` says more (the store's kind, the fault rules, the read lag)
and is switched off on a non-loopback address or with several workers; a container's health
check needs neither a token nor that detail. So this route is open everywhere and says only
`{"status": "ok"}` after the same one indexed read of the store; a store that cannot answer
raises, and the app's error handler answers Graph's 503 envelope with a generic message
(nothing about the store). Fault rules, read lag and the journal never apply to it
(`ControlPlane.around`): a test that throttles every request must not make its stub unhealthy.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vevents.server.store import Store

__all__ = ["Liveness", "probe_store"]

_PROBE_ID = "00000000-0000-0000-0000-000000000000@00000000-0000-0000-0000-000000000000"


def probe_store(store: Store) -> None:
    """One indexed read, cheap whatever the store holds; raises `StoreUnavailable` when it cannot answer."""
    store.find(_PROBE_ID)


class Liveness:
    """The endpoint of `GET /healthz` over one store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def page(self, request: Request) -> Response:
        probe_store(self.store)  # StoreUnavailable -> 503 in Graph's envelope (error_handlers)
        return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})
