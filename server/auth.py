"""Bearer tokens as Graph sees them: minting, verification, and who may do what to an event.

No Connexion here (the conformance suite imports `mint_token` without the server); the glue
that plugs a verifier into Connexion's security middleware is `server/security.py`.

Tokens look like Microsoft identity platform access tokens for Graph: `aud` is Graph,
`iss` is `https://sts.windows.net/<tid>/`, `tid`/`oid` name the tenant and the user (or the
application's service principal), delegated permissions are the space-separated `scp`
claim and application permissions the `roles` list. The stub signs and verifies them with
HS256 and one shared secret; it refuses every other algorithm, `none` included.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from vevents.spec import GUID_PATTERN, contract

__all__ = [
    "GRAPH_AUDIENCES",
    "SEED_ORGANIZER",
    "SEED_TENANT",
    "InvalidToken",
    "PermissiveVerifier",
    "Principal",
    "TokenVerifier",
    "may",
    "mint_token",
]

SEED_TENANT = contract().sample.tenant
"""The tenant of the documentation's sample event (and of the default seed)."""
SEED_ORGANIZER = contract().sample.organizer
"""The organizer (`createdBy.user.id`) of the default seed's events."""
SEED_ORGANIZER_NAME = contract().sample.organizer_name

GRAPH_AUDIENCES = ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000")
ALGORITHM = "HS256"
_GUID = re.compile(GUID_PATTERN)
_CACHE_SIZE = 4096


class InvalidToken(Exception):
    """The bearer token is missing, malformed, expired or not signed by a trusted issuer (-> 401)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a user (delegated token) or an application, in one tenant."""

    tenant: str
    user: str
    """`oid`: the user's object id, or the application's service principal id."""
    delegated: bool
    permissions: frozenset[str]
    """The spec's permission names this token grants: delegated ones from `scp`, or
    application ones from `roles` (never a mix: an app cannot hold a delegated scope)."""
    name: str | None = None
    application: str | None = None
    """The calling application's id (`appid`, or `azp` in v2.0 tokens); None if the token names none."""


def mint_token(
    *,
    secret: str,
    tenant: str = SEED_TENANT,
    user: str = SEED_ORGANIZER,
    scopes: Iterable[str] | None = None,
    roles: Iterable[str] = (),
    expires_in: int = 3600,
    **claims: Any,
) -> str:
    """A Graph-like access token the stub trusts when it runs with the same `secret`.

    `scopes` (default `VirtualEvent.ReadWrite`) become the delegated `scp` claim. With
    `roles` and no `scopes` the token is an application token: `roles` is set and `scp` is
    absent, as the identity platform issues them. Extra keyword arguments become
    claims and override the defaults (e.g. `aud=...`, `iss=...`, `nbf=...`).
    """
    now = int(time.time())
    roles = list(roles)
    scopes = list(scopes) if scopes is not None else ([] if roles else ["VirtualEvent.ReadWrite"])
    payload: dict[str, Any] = {
        "aud": GRAPH_AUDIENCES[0],
        "iss": f"https://sts.windows.net/{tenant}/",
        "iat": now,
        "nbf": now,
        "exp": now + expires_in,
        "tid": tenant,
        "oid": user,
        "sub": user,
        "ver": "1.0",
        "uti": uuid.uuid4().hex,
    }
    if roles and not scopes:
        payload["roles"] = roles
        payload["idtyp"] = "app"
        payload["appid"] = user
    else:
        payload["scp"] = " ".join(scopes)
        if roles:
            payload["roles"] = roles
    payload.update(claims)
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise InvalidToken("Access token is empty.")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise InvalidToken("Access token is empty.")
    return token


class TokenVerifier:
    """Verifies HS256 tokens and turns them into `Principal`s; caches the ones that pass.

    The cache is keyed by the token string and bounded (oldest entries go first); a cached
    token is still refused once its `exp` has passed.

    `clock` (seconds since the epoch) is the one time `exp` and `nbf` are judged against, cached
    or not: a test moves it past a token's `exp` instead of sleeping. PyJWT checks them against
    the wall clock too, so a token passes only while both clocks say it is valid.
    """

    def __init__(
        self,
        *,
        secret: str,
        delegated_scopes: Iterable[str],
        application_scopes: Iterable[str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._delegated = frozenset(delegated_scopes)
        self._application = frozenset(application_scopes)
        self._cache: dict[str, tuple[Principal, float]] = {}
        self.clock = clock

    def authenticate(self, authorization: str | None) -> Principal:
        token = _bearer(authorization)
        cached = self._cache.get(token)
        if cached is not None:
            principal, expires = cached
            if expires > self.clock():
                return principal
            self._cache.pop(token, None)
            raise InvalidToken("Lifetime validation failed, the token is expired.")
        principal, expires = self._verify(token)
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.pop(next(iter(self._cache)), None)
        self._cache[token] = (principal, expires)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.DecodeError:
            raise InvalidToken("IDX14100: JWT is not well formed, there are no dots (.).") from None
        if header.get("alg") != ALGORITHM:
            alg = header.get("alg")
            raise InvalidToken(f"Signing algorithm {alg!r} is not accepted; tokens are signed with HS256.")
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=list(GRAPH_AUDIENCES),
                options={"require": ["exp", "iss", "aud", "tid", "oid"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("Lifetime validation failed, the token is expired.") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("Lifetime validation failed, the token is not yet valid (nbf).") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("Signature verification failed.") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("Invalid audience: the token is not for Microsoft Graph.") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"The token has no {exc.claim!r} claim.") from None
        except jwt.PyJWTError as exc:
            raise InvalidToken(f"Access token validation failure: {exc}.") from None
        now = self.clock()
        expires = float(claims["exp"])
        if expires <= now:
            raise InvalidToken("Lifetime validation failed, the token is expired.")
        not_before = claims.get("nbf")
        if isinstance(not_before, (int, float)) and not_before > now:
            raise InvalidToken("Lifetime validation failed, the token is not yet valid (nbf).")
        return self._principal(claims), expires

    def _principal(self, claims: Mapping[str, Any]) -> Principal:
        tenant, user = claims["tid"], claims["oid"]
        if not isinstance(tenant, str) or not _GUID.fullmatch(tenant):
            raise InvalidToken("The token's 'tid' claim is not a tenant id.")
        if not isinstance(user, str) or not user:
            raise InvalidToken("The token's 'oid' claim is empty.")
        tenant = tenant.lower()
        issuers = (f"https://sts.windows.net/{tenant}/", f"https://login.microsoftonline.com/{tenant}/v2.0")
        if str(claims["iss"]).lower() not in issuers:
            raise InvalidToken("Invalid issuer: the token was not issued for its tenant.")
        app_id = claims.get("appid", claims.get("azp"))
        application = app_id.lower() if isinstance(app_id, str) and app_id else None
        scp = claims.get("scp")
        if scp is not None:
            granted = set(scp.split()) if isinstance(scp, str) else set()
            name = claims.get("name")
            return Principal(tenant, user.lower(), True, frozenset(granted & self._delegated), name, application)
        roles = claims.get("roles")
        granted = {role for role in roles if isinstance(role, str)} if isinstance(roles, list) else set()
        app_name = claims.get("app_displayname")
        return Principal(tenant, user.lower(), False, frozenset(granted & self._application), app_name, application)


class PermissiveVerifier:
    """`--auth permissive`: any bearer token is the seed tenant's organizer, with every permission."""

    def __init__(self, *, delegated_scopes: Iterable[str], application_scopes: Iterable[str]) -> None:
        self._principal = Principal(
            SEED_TENANT,
            SEED_ORGANIZER,
            True,
            frozenset(delegated_scopes) | frozenset(application_scopes),
            SEED_ORGANIZER_NAME,
        )

    def authenticate(self, authorization: str | None) -> Principal:
        _bearer(authorization)
        return self._principal


# Who may do what to an event (Graph's role table: organizers do everything, co-organizers
# read and update, everyone else in the tenant - presenters, attendees, apps - only reads).
# The role table is the spec's (`info.x-vevents-roles`, from Graph's resource pages).
_ROLES = contract().roles
_ORGANIZER_ACTIONS = _ROLES["organizer"]
_CO_ORGANIZER_ACTIONS = _ROLES["coOrganizer"]
_ANYONE_ACTIONS = _ROLES["anyone"]


def organizer_of(resource: Mapping[str, Any]) -> str | None:
    created_by = resource.get("createdBy") or {}
    user = created_by.get("user") or {}
    user_id = user.get("id")
    return user_id.lower() if isinstance(user_id, str) else None


def co_organizers_of(resource: Mapping[str, Any]) -> frozenset[str]:
    people = resource.get("coOrganizers") or ()
    return frozenset(p["id"].lower() for p in people if isinstance(p, Mapping) and isinstance(p.get("id"), str))


def may(principal: Principal, action: str, resource: Mapping[str, Any]) -> bool:
    """Whether `principal` (already known to be in the event's tenant) may `action` the event."""
    if action in _ANYONE_ACTIONS:
        return True
    if not principal.delegated:
        return False
    if principal.user == organizer_of(resource):
        return action in _ORGANIZER_ACTIONS
    if principal.user in co_organizers_of(resource):
        return action in _CO_ORGANIZER_ACTIONS
    return False


def sees_organizer_fields(principal: Principal, resource: Mapping[str, Any]) -> bool:
    """Organizers and co-organizers see `externalEventInformation`; everyone else gets null."""
    return principal.delegated and (
        principal.user == organizer_of(resource) or principal.user in co_organizers_of(resource)
    )
