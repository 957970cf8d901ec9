"""The tokens of a run, by caller, refreshed while it lasts (`--token-command` and friends).

A Graph delegated token lives about an hour and a run may last longer (`--permanence-wait`, a
slow tenant). A caller (`main` the organizer, `read_only`, `other_user`) is given either a
static token or a command that prints one: the token itself (a JWT's `exp` says when it
expires) or JSON with the token and its expiry, as `az account get-access-token`, the stub's
`POST /_vevents/tokens` or `vevents login --print-token` print it. The command is run again

- before the token expires (a quarter of its life or a minute before, whichever is sooner), and
- once after a 401 that says the token expired (a clock that disagrees, an expiry not given).

The transport asks `Tokens[role]` for every request and `renewed_after_401` after a 401, so
neither the checks nor the Schemathesis phase hold a token long enough to see it expire.

Tokens are secrets: never printed, never in an error message (a failing command's stderr is
shown masked, its stdout never), and every token ever issued is masked in reports
(`every_secret`), the retired ones too.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from .errors import SetupError

__all__ = ["Issued", "Provider", "TokenCommand", "Tokens", "parse_issued", "renewed_after_401"]

COMMAND_TIMEOUT = 120.0
"""The longest a token command may take (a device-code sign-in is `vevents login`'s, not this)."""
_EARLY = 60.0
_TOKEN_KEYS = ("accessToken", "access_token", "token")
# Epoch seconds first: `az` prints both `expires_on` (epoch) and `expiresOn` (a local time without a zone).
_EXPIRY_KEYS = ("expires_on", "expiresOn", "expires_at", "expiresAt")
_LIFETIME_KEYS = ("expiresIn", "expires_in")


@dataclass(frozen=True, slots=True)
class Issued:
    """One token and when it expires (seconds since the epoch; None: not known)."""

    value: str
    expires_at: float | None
    issued_at: float


def _jwt_expiry(token: str) -> float | None:
    try:
        exp = jwt.decode(token, options={"verify_signature": False}).get("exp")
    except jwt.PyJWTError:
        return None
    return float(exp) if isinstance(exp, (int, float)) else None


def _moment(value: Any) -> float | None:
    """Epoch seconds from a number or a date-time text (ISO 8601; naive means local, as `az` prints it)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def parse_issued(output: str, *, now: float) -> Issued:
    """A token command's output: the token alone, or a JSON object with it and (optionally) its expiry."""
    text = output.strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise SetupError("the token command printed something that starts like JSON but is not JSON") from None
        value = next((data[key] for key in _TOKEN_KEYS if isinstance(data.get(key), str)), None)
        if not value:
            raise SetupError(f"the token command's JSON has no token ({', '.join(_TOKEN_KEYS)})")
        expires = next((m for key in _EXPIRY_KEYS if (m := _moment(data.get(key))) is not None), None)
        if expires is None:
            lifetime = next((_moment(data.get(key)) for key in _LIFETIME_KEYS if key in data), None)
            expires = now + lifetime if lifetime is not None else None
        return Issued(value.strip(), expires if expires is not None else _jwt_expiry(value), now)
    if not text or len(text.split()) != 1:
        raise SetupError("the token command printed no token (one token, or JSON with accessToken and expiresOn)")
    return Issued(text, _jwt_expiry(text), now)


class TokenCommand:
    """A shell command that prints a token (run with `/bin/sh -c`, so pipes and `$VARS` work)."""

    def __init__(self, command: str, *, role: str, timeout: float = COMMAND_TIMEOUT) -> None:
        self.command = command
        self.role = role
        self.timeout = timeout

    def __call__(self, now: float) -> Issued:
        where = f"the {self.role.replace('_', '-')} token command"
        try:
            proc = subprocess.run(
                ["/bin/sh", "-c", self.command], capture_output=True, text=True, timeout=self.timeout, check=False
            )
        except subprocess.TimeoutExpired:
            raise SetupError(f"{where} did not finish within {self.timeout:g} s") from None
        except OSError as exc:
            raise SetupError(f"{where} could not start: {exc}") from None
        if proc.returncode != 0:
            # stderr only (stdout may hold a token), its last line, cut short.
            last = (proc.stderr.strip().splitlines() or [""])[-1][:200]
            raise SetupError(f"{where} exited {proc.returncode}" + (f": {last}" if last else ""))
        return parse_issued(proc.stdout, now=now)


Provider = Callable[[float], Issued]


class Tokens(Mapping[str, str]):
    """Role -> the current token; static ones as given, the others from their provider (thread-safe)."""

    def __init__(
        self,
        static: Mapping[str, str],
        providers: Mapping[str, Provider],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._static = dict(static)
        self._providers = dict(providers)
        self._clock = clock
        self._current: dict[str, Issued] = {}
        self._retired: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def __getitem__(self, role: str) -> str:
        if role in self._static:
            return self._static[role]
        provider = self._providers[role]
        with self._lock:
            issued = self._current.get(role)
            if issued is None or self._due(issued):
                issued = self._fetch(role, provider)
            return issued.value

    def __iter__(self) -> Iterator[str]:
        return iter([*self._static, *self._providers])

    def __len__(self) -> int:
        return len(self._static) + len(self._providers)

    def _due(self, issued: Issued) -> bool:
        if issued.expires_at is None:
            return False  # not known: renewed after a 401 only
        early = min(_EARLY, max(0.0, issued.expires_at - issued.issued_at) / 4)
        return self._clock() >= issued.expires_at - early

    def _fetch(self, role: str, provider: Provider) -> Issued:
        old = self._current.get(role)
        issued = provider(self._clock())
        if old is not None and old.value != issued.value:
            self._retired.append((role, old.value))
        self._current[role] = issued
        return issued

    def renew(self, role: str, stale: str) -> str | None:
        """A fresh token for `role` after `stale` was refused as expired; None if it cannot be renewed."""
        provider = self._providers.get(role)
        if provider is None:
            return None
        with self._lock:
            issued = self._current.get(role)
            if issued is not None and issued.value != stale:
                return issued.value  # another request renewed it meanwhile
            fresh = self._fetch(role, provider)
        return fresh.value if fresh.value != stale else None

    def now(self) -> float:
        return self._clock()

    def every_secret(self) -> list[tuple[str, str]]:
        """(role, token) for every token given or issued in the run, retired ones included (for masking)."""
        with self._lock:
            current = [(role, issued.value) for role, issued in self._current.items()]
            return [*self._static.items(), *current, *self._retired]

    def role_of(self, token: str) -> str | None:
        """The role a token (current or retired) was issued for."""
        return next((role for role, value in self.every_secret() if value == token), None)


def renewed_after_401(tokens: Mapping[str, str], role: str | None, sent: str, body: bytes) -> str | None:
    """After a 401 to a request sent with `sent` for `role`: the token to send it again with, or None.

    Only for a token the run can renew (a command's) and only when the answer says it expired,
    or its own expiry has passed: any other 401 is the target's verdict, judged as it is.
    """
    if role is None or not isinstance(tokens, Tokens):
        return None
    expiry = _jwt_expiry(sent)
    if b"expired" not in body.lower() and (expiry is None or expiry > tokens.now()):
        return None
    return tokens.renew(role, sent)
