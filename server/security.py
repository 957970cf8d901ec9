"""Connexion's security middleware, bound to the spec's oauth2 scheme the way Graph checks tokens.

Connexion calls one verify function per security requirement of an operation (the spec lists
alternatives such as `[VirtualEvent.Read]` or `[VirtualEvent.ReadWrite]`); each one
authenticates the bearer token (cached by the verifier) and checks that the token grants the
requirement's permissions: delegated ones from `scp`, application ones from `roles`. Connexion
answers 403 if any alternative saw a valid token, 401 otherwise; `errors.py` turns both into
Graph's envelope.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol

from connexion.exceptions import OAuthProblem, OAuthScopeProblem
from connexion.lifecycle import ConnexionRequest
from connexion.security import AbstractSecurityHandler

from vevents.server._connexion import security_context
from vevents.server.auth import InvalidToken, Principal

__all__ = ["PRINCIPAL_KEY", "Authenticator", "principal_of", "security_map"]

PRINCIPAL_KEY = "principal"


class Authenticator(Protocol):
    def authenticate(self, authorization: str | None) -> Principal: ...


class GraphOAuthHandler(AbstractSecurityHandler):
    """Replaces Connexion's oauth2 handler (no `x-tokenInfoFunc` needed in the spec)."""

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator

    def get_fn(self, security_scheme: dict[str, Any], required_scopes: list[str]) -> Callable[..., Any]:
        required = frozenset(required_scopes)
        authenticate = self.authenticator.authenticate

        def verify(request: ConnexionRequest) -> dict[str, Any]:
            try:
                principal = authenticate(request.headers.get("authorization"))
            except InvalidToken as exc:
                raise OAuthProblem(detail=str(exc)) from None
            if not required <= principal.permissions:
                raise OAuthScopeProblem(token_scopes=sorted(principal.permissions), required_scopes=sorted(required))
            return {"sub": principal.user, PRINCIPAL_KEY: principal}

        return verify


def security_map(authenticator: Authenticator) -> dict[str, Callable[[], AbstractSecurityHandler]]:
    """Connexion's `security_map` argument: our handler for the `oauth2` scheme type."""
    return {"oauth2": functools.partial(GraphOAuthHandler, authenticator)}


def principal_of(scope: Any) -> Principal:
    """The caller, as the security middleware left it in the ASGI scope."""
    return security_context(scope)["token_info"][PRINCIPAL_KEY]  # type: ignore[no-any-return]
