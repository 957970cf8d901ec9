"""Who may use the control API, and the control token's place on the Graph routes.

    off        the stub listens on a non-loopback address without a control token (or runs
               several worker processes): every control path answers 404, as Graph answers
               an unknown path
    token      `--control-token` given: every control call needs `Authorization: Bearer
               <token>`; the Graph routes refuse that token (401)
    loopback   no token, loopback address: open to this machine only; the request must name
               a loopback host (`Host`) and carry no other site's `Origin`, so that a web page
               the developer opens cannot reach it (DNS rebinding, cross-site requests)

Tokens are compared in constant time (`hmac.compare_digest`).
"""

from __future__ import annotations

import hmac
import ipaddress
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from connexion.security import AbstractSecurityHandler

from vevents.server.errors import GraphError

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.types import Scope

__all__ = ["ControlGate", "PassedGateHandler", "is_loopback"]

_LOCAL_NAMES = frozenset({"localhost", "localhost."})


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or `localhost`) can only be reached from this machine."""
    host = host.strip().strip("[]").lower()
    if host in _LOCAL_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _hostname(value: str) -> str | None:
    """The host part of a Host header or an Origin (`scheme://host[:port]`)."""
    try:
        parts = urlsplit(value if "//" in value else "//" + value)
        return parts.hostname
    except ValueError:
        return None


class ControlGate:
    def __init__(self, *, listen_host: str, token: str | None, workers: int = 1) -> None:
        self.token = token.encode() if token else None
        self.enabled = workers == 1 and (self.token is not None or is_loopback(listen_host))

    def refusal(self, scope: Scope) -> GraphError | None:
        """Why this control request may not go on (None: it may)."""
        if not self.enabled:
            return GraphError(404, "Resource not found for the request URL.")
        authorization = host = origin = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"host":
                host = value
            elif name == b"origin":
                origin = value
        if self.token is not None:
            if authorization is None or not self._is_token(authorization):
                return GraphError(
                    401, "The control API needs the stub's control token: 'Authorization: Bearer <control token>'."
                )
            return None
        if host is None or not is_loopback(_hostname(host.decode("latin-1")) or ""):
            return GraphError(
                403,
                "Without a control token, the control API answers only requests "
                "addressed to a loopback host (127.0.0.1, ::1 or localhost).",
            )
        if origin is not None and origin != b"null" and not is_loopback(_hostname(origin.decode("latin-1")) or ""):
            return GraphError(403, "The control API does not answer requests made by another site's web page.")
        return None

    def carries_token(self, scope: Scope) -> bool:
        """Whether a Graph request carries the control token (which the Graph routes refuse)."""
        if self.token is None:
            return False
        return any(name == b"authorization" and self._is_token(value) for name, value in scope["headers"])

    def _is_token(self, authorization: bytes) -> bool:
        assert self.token is not None
        scheme, _, credentials = authorization.strip().partition(b" ")
        return scheme.lower() == b"bearer" and hmac.compare_digest(credentials.strip(), self.token)


class PassedGateHandler(AbstractSecurityHandler):
    """Connexion's handler for `http` `bearer` schemes: the control document's `controlToken`.

    The gate has checked the token before routing (so that a caller without it learns
    nothing, not even a validation error); every request Connexion sees has passed it. This
    lets the stub serve the document with its `security` as written - clients generated from
    `/_vevents/openapi.json` send the token - without Connexion checking it a second way.
    """

    def get_fn(self, security_scheme: Any, required_scopes: Any) -> Callable[..., dict[str, str]]:
        def passed(request: Any) -> dict[str, str]:
            return {"sub": "control"}

        return passed
