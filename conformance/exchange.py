"""One request and the answer to it, as the suite keeps, quotes and reproduces it.

Paths are kept exactly as sent (no URL normalisation keeps `@` and `%40` apart), tokens are
named by role so that reproductions never print a secret: `Authorization: Bearer $VEVENTS_TOKEN`.
Everything the target sent is quoted through `escaping.printable`. No HTTP library here: the
transport (`transport.py`) builds these records, everyone else reads them.
"""

from __future__ import annotations

import base64
import functools
import json
import shlex
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .escaping import printable
from .tokens import Tokens

__all__ = [
    "GARBAGE_TOKEN",
    "LOGGED_BODY_BYTES",
    "TOKEN_ENV",
    "Exchange",
    "Headers",
    "encode_id",
    "mask_secrets",
]

# The environment variable each token role stands for in reproductions.
TOKEN_ENV: Mapping[str, str] = {
    "main": "VEVENTS_TOKEN",
    "read_only": "VEVENTS_READ_ONLY_TOKEN",
    "other_user": "VEVENTS_OTHER_USER_TOKEN",
    "other_tenant": "VEVENTS_OTHER_TENANT_TOKEN",
}
# A bearer value no service can accept: not a JWT, not base64.
GARBAGE_TOKEN = "not-a-token.vevents-garbage"
# What the run's log keeps of each body: enough for any answer of this API (a create's id, an
# event's status), never a hostile target's megabytes times the run's thousand requests.
LOGGED_BODY_BYTES = 16 * 1024


def encode_id(event_id: str, style: str = "raw") -> str:
    """The id as a path segment: `raw` keeps `@` (as the docs write it), `percent` sends `%40` (as the SDKs do)."""
    if style == "raw":
        return urllib.parse.quote(event_id, safe="@")
    if style == "percent":
        return urllib.parse.quote(event_id, safe="")
    raise ValueError(style)


@functools.lru_cache(maxsize=256)
def secret_forms(secret: str) -> tuple[str, ...]:
    """How a target may echo a secret: as is, URL-encoded, or inside base64 (standard or URL-safe).

    A secret inside a base64 text (`Bearer <token>` encoded, a debug header) shows as a run of
    characters that depends on where it starts modulo 3 bytes: for each of the three, the
    characters made of the secret's bits alone, which appear whatever surrounds it.
    """
    raw = secret.encode()
    forms = {secret, urllib.parse.quote(secret, safe="")}
    for offset in range(3):
        first, last = -(-8 * offset // 6), 8 * (offset + len(raw)) // 6
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            forms.add(encode(b"\0" * offset + raw).decode("ascii")[first:last])
    return tuple(sorted((form for form in forms if len(form) >= 8), key=len, reverse=True))


def mask_secrets(text: str, secrets: Mapping[str, str]) -> str:
    """`text` with every token replaced by the variable its role stands for (a target may echo a header).

    Refreshed tokens (`tokens.Tokens`) mask every token the run was issued, the retired ones too;
    the encoded forms of each (`secret_forms`) as well.
    """
    pairs = secrets.every_secret() if isinstance(secrets, Tokens) else secrets.items()
    for role, secret in pairs:
        if len(secret) >= 8:
            for form in secret_forms(secret):
                text = text.replace(form, f"${TOKEN_ENV.get(role, 'VEVENTS_TOKEN')}")
    return text


class Headers(Mapping[str, str]):
    """An answer's headers: case-insensitive, in the order received; repeated names read joined by ", "."""

    __slots__ = ("_items", "_joined")

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
        self._items: tuple[tuple[str, str], ...] = tuple((str(name), str(value)) for name, value in pairs)
        joined: dict[str, str] = {}
        for name, value in self._items:
            key = name.lower()
            joined[key] = f"{joined[key]}, {value}" if key in joined else value
        self._joined = joined

    def __getitem__(self, name: str) -> str:
        return self._joined[name.lower()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._joined

    def __iter__(self) -> Iterator[str]:
        return iter(self._joined)

    def __len__(self) -> int:
        return len(self._joined)

    def get_list(self, name: str) -> list[str]:
        """Every value of `name`, one per header line."""
        key = name.lower()
        return [value for item, value in self._items if item.lower() == key]

    def multi_items(self) -> list[tuple[str, str]]:
        """Every header line, names as received."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and the answer to it; `content` is the decoded body."""

    method: str
    url: str
    token_role: str | None
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes | None
    status: int
    headers: Headers
    content: bytes
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)
    problems: tuple[str, ...] = ()
    """How the answer broke HTTP (framing, an encoding it cannot be read in): evidence, already printable."""
    truncated: bool = False
    """The body is a prefix (`bounded()`): what the run's log keeps."""

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", ""))

    @property
    def media_type(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()

    @property
    def path(self) -> str:
        return urllib.parse.urlsplit(self.url).path

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

    def bounded(self, limit: int = LOGGED_BODY_BYTES) -> Exchange:
        """This exchange with both bodies cut to `limit` bytes (what a long-lived log may keep)."""
        request_body = self.request_body[:limit] if self.request_body is not None else None
        if len(self.content) <= limit and request_body is self.request_body:
            return self
        return replace(self, content=self.content[:limit], request_body=request_body, truncated=True)

    def describe(self) -> str:
        """`POST /v1.0/...: 404 application/json {"error": ...}` (body cut to 200 characters, tokens masked)."""
        # Masked before it is cut, so that no part of a token the target echoed is shown either.
        text = mask_secrets(" ".join(self.content[:8192].decode("utf-8", "replace").split()), self.secrets)
        body, more = text[:200], "..." if len(text) > 200 or len(self.content) > 8192 else ""
        kind = f" {self.media_type}" if self.media_type else ""
        tail = f" {body}{more}" if body else " (empty body)"
        return printable(f"{self.method} {self.path}: {self.status}{kind}{tail}")

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
        return printable(mask_secrets(" ".join(parts), self.secrets))
