"""405 for a method the spec does not describe on a path it does, before Connexion routes it.

Starlette's router tries the spec's paths in order and takes the first that matches with the
request's method: `PATCH .../webinars/$count` (or `.../getByUserRole(...)`) matches the
`{id}` path's PATCH, and the request would be refused as a malformed id (400). Graph answers
405 for a method a resource does not support; the contract's one route matcher
(`Contract.route`, `methods_at`) knows which path the request names, so this middleware asks it
and raises Starlette's 405 (which `error_handlers` turns into Graph's envelope with `Allow`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.exceptions import HTTPException

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from vevents.spec import Contract

__all__ = ["MethodGuard"]


class MethodGuard:
    """ASGI middleware (inside Connexion's exception middleware): 405 where the path's methods exclude this one."""

    def __init__(self, app: ASGIApp, *, contract: Contract) -> None:
        self.app = app
        self.contract = contract

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] != "HEAD":  # HEAD is GET's: Connexion serves it
            path = scope["path"]
            if self.contract.route(scope["method"], path) is None and self.contract.methods_at(path):
                version = path.split("/")[1:2]
                if version and version[0] in self.contract.versions:
                    raise HTTPException(405)
        await self.app(scope, receive, send)
