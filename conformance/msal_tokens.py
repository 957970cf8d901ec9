"""A caller's token from Microsoft's identity platform through MSAL: client credentials.

`vevents check --msal-tenant T --msal-client-id C --msal-client-secret-env VAR` signs the
application in with its client secret (read from the environment variable VAR, never from a
flag: a flag's value shows in `ps` and in CI logs) and gives the run its tokens through the
same door as `--token-command` (`tokens.Tokens`): asked again when a quarter of the token's
life is left, and once after a 401 for an expired one. MSAL keeps the token in its own
in-memory cache (`acquire_token_for_client` answers from it while the token is not about to
expire), so asking it is cheap.

The authority is `https://login.microsoftonline.com/{tenant}` unless `--msal-authority`
names another host (a sovereign cloud, a local authority in tests): MSAL's instance
discovery (a call to login.microsoftonline.com asking whether the host is Microsoft's) is
then switched off with `instance_discovery=False`, so a host it does not know is accepted;
the tenant's OpenID discovery document (`{authority}/v2.0/.well-known/openid-configuration`)
still names the token endpoint. HTTPS is verified as `requests` does (`REQUESTS_CA_BUNDLE`
for a private CA).

Client credentials give an *application* token (the `roles` of the app's application
permissions, no `scp`): Graph lets an application read virtual events (`VirtualEvent.Read.All`)
but not create or cancel them, so on a real tenant this fits the read-only caller; the
organizer needs a delegated token (docs/real-tenant.md).

Neither the secret nor a token is ever in a message: an error names the authority and the
error code it answered (`invalid_client`, `AADSTS7000215`), and its description is masked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .errors import SetupError
from .tokens import Issued

__all__ = ["DEFAULT_AUTHORITY_HOST", "MsalClientCredentials", "graph_scope"]

DEFAULT_AUTHORITY_HOST = "https://login.microsoftonline.com"


def graph_scope(base_url: str) -> str:
    """The client-credentials scope of the target: its origin's `.default` (https://graph.microsoft.com/.default)."""
    parts = urlsplit(base_url)
    return f"{parts.scheme}://{parts.netloc}/.default"


def _masked(text: str, secrets: tuple[str, ...]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class MsalClientCredentials:
    """A token provider (`tokens.Provider`): the application's token for `scope`, by client secret."""

    def __init__(
        self,
        *,
        role: str,
        tenant: str,
        client_id: str,
        client_secret: str,
        scope: str,
        authority_host: str | None = None,
        http_client: Any = None,
        app_factory: Callable[..., Any] | None = None,
    ) -> None:
        self.role = role
        self.client_id = client_id
        self.scope = scope
        host = (authority_host or DEFAULT_AUTHORITY_HOST).rstrip("/")
        self.authority = f"{host}/{tenant.strip('/')}"
        self._custom_host = authority_host is not None
        self._secret = client_secret
        self._http_client = http_client
        self._app_factory = app_factory
        self._app: Any = None
        self._lock = threading.Lock()

    def _where(self) -> str:
        return f"the {self.role.replace('_', '-')} MSAL sign-in at {self.authority}"

    def _application(self) -> Any:
        if self._app is not None:
            return self._app
        try:
            import msal
        except ImportError:
            raise SetupError("the MSAL sign-in needs msal: pip install 'vevents[check]'") from None
        factory = self._app_factory or msal.ConfidentialClientApplication
        try:
            self._app = factory(
                self.client_id,
                client_credential=self._secret,
                authority=self.authority,
                # A host MSAL does not know (a local authority, a private cloud) is the user's choice.
                instance_discovery=False if self._custom_host else None,
                # None: msal builds its own requests session (the authority is no target of the suite's).
                http_client=self._http_client,
            )
        except (ValueError, OSError) as exc:  # discovery failed: unreachable, TLS, no such tenant
            raise SetupError(f"{self._where()} failed: {self._why(exc)}") from None
        return self._app

    def _why(self, exc: BaseException) -> str:
        text = str(exc)
        if "CERTIFICATE_VERIFY_FAILED" in text:
            return "its certificate is not trusted (a private CA: set REQUESTS_CA_BUNDLE to its PEM file)"
        return (_masked(text, (self._secret,)).splitlines() or [type(exc).__name__])[0][:300]

    def __call__(self, now: float) -> Issued:
        with self._lock:
            app = self._application()
            try:
                result = app.acquire_token_for_client(scopes=[self.scope])
            except OSError as exc:  # requests' ConnectionError, SSLError, Timeout are OSErrors
                raise SetupError(f"{self._where()} failed: {self._why(exc)}") from None
        if not isinstance(result, dict):
            raise SetupError(f"{self._where()} answered no token")
        token = result.get("access_token")
        if not isinstance(token, str) or not token:
            error = str(result.get("error") or "no access_token")
            codes = result.get("error_codes")
            description = str(result.get("error_description") or "").strip().splitlines()
            coded = f" (AADSTS{codes[0]})" if isinstance(codes, list) and codes else ""
            if coded and description and description[0].startswith(coded[2:-1]):
                description[0] = description[0][len(coded) - 2 :].lstrip(": ")  # the code once, not twice
            detail = _masked(description[0], (self._secret,))[:200] if description else ""
            raise SetupError(f"{self._where()} failed: {error}{coded}" + (f": {detail}" if detail else ""))
        lifetime = result.get("expires_in")
        expires = None
        if isinstance(lifetime, (int, float)) and not isinstance(lifetime, bool):
            expires = now + float(lifetime)
        return Issued(token, expires, now)
