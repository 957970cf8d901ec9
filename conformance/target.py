"""The HTTP side of the suite: one client for the target, a log of every exchange, curl repros.

Paths are sent exactly as built (httpx keeps `@` and `%40` apart), tokens are named by role
so that reproductions never print a secret: `Authorization: Bearer $VEVENTS_TOKEN`.
"""

from __future__ import annotations

import json
import shlex
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .errors import TargetUnreachable, UsageError

__all__ = ["GARBAGE_TOKEN", "TOKEN_ENV", "Exchange", "Target", "encode_id"]

# The environment variable each token role stands for in reproductions.
TOKEN_ENV: Mapping[str, str] = {
    "main": "VEVENTS_TOKEN",
    "read_only": "VEVENTS_READ_ONLY_TOKEN",
    "other_user": "VEVENTS_OTHER_USER_TOKEN",
}
# A bearer value no service can accept: not a JWT, not base64.
GARBAGE_TOKEN = "not-a-token.vevents-garbage"
DEFAULT_TIMEOUT = 10.0


def encode_id(event_id: str, style: str = "raw") -> str:
    """The id as a path segment: `raw` keeps `@` (as the docs write it), `percent` sends `%40` (as the SDKs do)."""
    if style == "raw":
        return urllib.parse.quote(event_id, safe="@")
    if style == "percent":
        return urllib.parse.quote(event_id, safe="")
    raise ValueError(style)


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and the answer to it."""

    method: str
    url: str
    token_role: str | None
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes | None
    status: int
    headers: httpx.Headers
    content: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    @property
    def media_type(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()

    def json(self) -> Any:
        """The parsed body, or None when it is not JSON."""
        try:
            return json.loads(self.content)
        except ValueError:
            return None

    @property
    def is_server_error(self) -> bool:
        return self.status >= 500

    @property
    def is_success(self) -> bool:
        return 200 <= self.status < 300

    def describe(self) -> str:
        """`POST /v1.0/...: 404 application/json {"error": ...}` (body cut to 200 characters)."""
        body = self.content[:200].decode("utf-8", "replace")
        more = "..." if len(self.content) > 200 else ""
        kind = f" {self.media_type}" if self.media_type else ""
        tail = f" {body}{more}" if body else " (empty body)"
        return f"{self.method} {urllib.parse.urlsplit(self.url).path}: {self.status}{kind}{tail}"

    def curl(self) -> str:
        """A curl command that sends this request again (the token comes from the environment)."""
        parts = ["curl", "-sS", "-i", "--globoff", "--path-as-is", "-X", self.method, shlex.quote(self.url)]
        if self.token_role is not None:
            role = self.token_role
            value = f"Bearer ${TOKEN_ENV[role]}" if role in TOKEN_ENV else "Bearer " + GARBAGE_TOKEN
            parts += ["-H", f'"Authorization: {value}"']
        for name, value in self.request_headers:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.request_body is not None:
            parts += ["--data-binary", shlex.quote(self.request_body.decode("utf-8", "replace"))]
        return " ".join(parts)


@dataclass(slots=True)
class Target:
    """A base URL (`http://host:port/v1.0`) plus the tokens the run may use, by role."""

    base_url: str
    tokens: dict[str, str]
    timeout: float = DEFAULT_TIMEOUT
    exchanges: list[Exchange] = field(default_factory=list)
    _client: httpx.Client | None = None

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            example = "http://127.0.0.1:8080/v1.0"
            raise UsageError(f"--base-url must be an http(s) URL such as {example}, not {self.base_url!r}")
        self.base_url = self.base_url.rstrip("/")

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, follow_redirects=False, trust_env=False)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def version(self) -> str | None:
        """The last segment of the base URL (the Graph version, such as `v1.0`), if any."""
        segment = urllib.parse.urlsplit(self.base_url).path.rstrip("/").rsplit("/", 1)[-1]
        return segment or None

    def with_version(self, version: str) -> str:
        """The base URL with its version segment replaced."""
        head, _, _ = self.base_url.rpartition("/")
        return f"{head}/{version}"

    def call(
        self,
        method: str,
        path: str,
        *,
        token: str | None = "main",
        json_body: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        base_url: str | None = None,
    ) -> Exchange:
        """Send one request; `token` is a role (`main`, `read_only`, `other_user`), `garbage`, or None."""
        url = (base_url or self.base_url) + path
        extra: dict[str, str] = dict(headers or {})
        if json_body is not None:
            content = json.dumps(json_body).encode()
            extra.setdefault("Content-Type", "application/json")
        sent = dict(extra)
        if token is not None:
            value = GARBAGE_TOKEN if token == "garbage" else self.tokens[token]
            sent["Authorization"] = f"Bearer {value}"
        try:
            response = self.client.request(method, url, content=content, headers=sent)
        except httpx.TimeoutException as exc:
            raise TargetUnreachable(f"{method} {url} got no answer within {self.timeout:g} s") from exc
        except httpx.TransportError as exc:
            raise TargetUnreachable(f"cannot reach {url}: {exc or type(exc).__name__}") from exc
        exchange = Exchange(
            method=method,
            url=url,
            token_role=token,
            request_headers=tuple(extra.items()),
            request_body=content,
            status=response.status_code,
            headers=response.headers,
            content=response.content,
        )
        self.exchanges.append(exchange)
        return exchange
