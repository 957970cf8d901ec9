"""A local OpenID/OAuth authority over TLS for the MSAL path's tests (client credentials).

It answers what MSAL asks of Microsoft's identity platform, on 127.0.0.1 and a free port,
with a certificate of the project's local CA (server/tls.py): the tenant's discovery document
(`/{tenant}/v2.0/.well-known/openid-configuration`) and its token endpoint
(`/{tenant}/oauth2/v2.0/token`, `grant_type=client_credentials` with a client secret). Each
registered client gets the tokens its `mint` makes (the bundled stub's, short-lived), so a
run's callers can be told apart; a wrong secret gets Entra's answer (`invalid_client`,
AADSTS7000215). Every token request is kept in `requests`, every token issued in `issued`.
"""

from __future__ import annotations

import http.server
import json
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from vevents.server.tls import TlsFiles

__all__ = ["Client", "LocalAuthority", "local_authority"]

TENANT = "11111111-2222-4333-8444-555555555555"
_INVALID_SECRET = 7000215  # Entra's "Invalid client secret provided"


@dataclass(frozen=True)
class Client:
    secret: str
    mint: Callable[[], str]
    lifetime: int = 10


@dataclass
class LocalAuthority:
    host: str
    """https://127.0.0.1:PORT: what `--msal-authority` takes."""
    tenant: str
    clients: dict[str, Client]
    requests: list[dict[str, str]] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def token_requests(self, client_id: str) -> int:
        with self.lock:
            return sum(1 for form in self.requests if form.get("client_id") == client_id)

    def discovery(self) -> dict[str, object]:
        base = f"{self.host}/{self.tenant}"
        return {
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
            "response_types_supported": ["code", "token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def token(self, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        with self.lock:
            self.requests.append({key: value for key, value in form.items() if key != "client_secret"})
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "AADSTS70003: not supported here."}
        client = self.clients.get(form.get("client_id", ""))
        if client is None:
            return 400, {
                "error": "unauthorized_client",
                "error_description": "AADSTS700016: Application not found in the directory.",
                "error_codes": [700016],
            }
        if form.get("client_secret") != client.secret:
            return 401, {
                "error": "invalid_client",
                "error_description": f"AADSTS{_INVALID_SECRET}: Invalid client secret provided. "
                "Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
                "error_codes": [_INVALID_SECRET],
            }
        token = client.mint()
        with self.lock:
            self.issued.append(token)
        return 200, {"token_type": "Bearer", "expires_in": client.lifetime, "access_token": token}


def _handler(authority: LocalAuthority) -> type[http.server.BaseHTTPRequestHandler]:
    discovery_path = f"/{authority.tenant}/v2.0/.well-known/openid-configuration"
    token_path = f"/{authority.tenant}/oauth2/v2.0/token"

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self, status: int, body: dict[str, object]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if urllib.parse.urlsplit(self.path).path == discovery_path:
                self._answer(200, authority.discovery())
            else:
                self._answer(400, {"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found."})

        def do_POST(self) -> None:
            length = min(int(self.headers.get("Content-Length") or 0), 65536)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            if urllib.parse.urlsplit(self.path).path != token_path:
                self._answer(404, {"error": "not_found"})
                return
            self._answer(*authority.token(form))

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: a request line may carry a form field

    return Handler


@contextmanager
def local_authority(tls: TlsFiles, clients: dict[str, Client], *, tenant: str = TENANT) -> Iterator[LocalAuthority]:
    """The authority, serving on 127.0.0.1 and a free port until the block ends."""
    authority = LocalAuthority(host="", tenant=tenant, clients=clients)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(authority))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls.cert, tls.key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    authority.host = f"https://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield authority
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
