"""The HTTP side of the suite: one client for the target, a log of every exchange, curl repros.

Paths are sent exactly as built (no URL normalisation keeps `@` and `%40` apart), tokens are
named by role so that reproductions never print a secret: `Authorization: Bearer $VEVENTS_TOKEN`.

A real target is slow, throttles and may be hostile, so every request here is bounded:
- total time (`timeout`, answer body included: a drip-fed answer is cut off at the deadline,
  enforced on every socket read by `DeadlineBackend`);
- size (`MAX_BODY_BYTES`: an endless body is never held in memory);
- redirects are never followed, so the token never leaves for another host;
- 429, and 503 with `Retry-After`, are waited out and sent again (`RetryPolicy`: bounded
  attempts and a bounded total wait for the run); a throttled answer is never judged;
- creates draw on the run's event budget (`EventLedger`), which also remembers every event
  the run created so that the runner can cancel them at the end.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import shlex
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpcore
import httpx

from vevents.spec import contract

from .errors import TargetUnreachable, Throttled, UnusableAnswer, UsageError
from .failures import BudgetExhausted
from .tokens import Tokens, renewed_after_401

__all__ = [
    "DEFAULT_TIMEOUT",
    "GARBAGE_TOKEN",
    "MAX_BODY_BYTES",
    "TOKEN_ENV",
    "CreatedEvent",
    "DeadlineBackend",
    "EventLedger",
    "Exchange",
    "RetryPolicy",
    "Target",
    "encode_id",
    "mask_secrets",
    "retry_after_seconds",
]

# The environment variable each token role stands for in reproductions.
TOKEN_ENV: Mapping[str, str] = {
    "main": "VEVENTS_TOKEN",
    "read_only": "VEVENTS_READ_ONLY_TOKEN",
    "other_user": "VEVENTS_OTHER_USER_TOKEN",
}
# A bearer value no service can accept: not a JWT, not base64.
GARBAGE_TOKEN = "not-a-token.vevents-garbage"
DEFAULT_TIMEOUT = 10.0
# Graph's answers for this API are a few KiB; a list page stays well under a MiB.
MAX_BODY_BYTES = 4 * 1024 * 1024
# Statuses that mean "come back later", never "this is wrong": 503 only when it says when.
THROTTLE_STATUSES = frozenset({429, 503})


def encode_id(event_id: str, style: str = "raw") -> str:
    """The id as a path segment: `raw` keeps `@` (as the docs write it), `percent` sends `%40` (as the SDKs do)."""
    if style == "raw":
        return urllib.parse.quote(event_id, safe="@")
    if style == "percent":
        return urllib.parse.quote(event_id, safe="")
    raise ValueError(style)


def mask_secrets(text: str, secrets: Mapping[str, str]) -> str:
    """`text` with every token replaced by the variable its role stands for (a target may echo a header).

    Refreshed tokens (`tokens.Tokens`) mask every token the run was issued, the retired ones too.
    """
    pairs = secrets.every_secret() if isinstance(secrets, Tokens) else secrets.items()
    for role, secret in pairs:
        if len(secret) >= 8:
            text = text.replace(secret, f"${TOKEN_ENV.get(role, 'VEVENTS_TOKEN')}")
    return text


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    with contextlib.suppress(TypeError, ValueError, IndexError):
        moment = email.utils.parsedate_to_datetime(value)
        return max(0.0, moment.timestamp() - time.time())
    return None


# ---------------------------------------------------------------------------- bounded sockets
_deadline = threading.local()


def _remaining(timeout: float | None) -> float | None:
    """The socket timeout for the next read/write: never past the current request's deadline."""
    deadline: float | None = getattr(_deadline, "at", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the request's total time is over")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _remaining(timeout)))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, with every read and write cut at the calling thread's deadline.

    A per-read timeout alone lets a target that sends one byte per second hold a request forever.
    """

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.connect_tcp(host, port, _remaining(timeout), local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:  # pragma: no cover - unused
        return _DeadlineStream(self._inner.connect_unix_socket(path, _remaining(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Bound every socket operation of this thread (through `DeadlineBackend`) to `seconds` from now."""
    previous = getattr(_deadline, "at", None)
    _deadline.at = time.monotonic() + seconds
    try:
        yield
    finally:
        _deadline.at = previous


# ---------------------------------------------------------------------------- run-wide accounting
DEFAULT_MAX_RETRIES = 4
"""Resends of one request answered 429 (or 503) with Retry-After (`--max-retries`)."""
DEFAULT_MAX_RETRY_WAIT = 60.0
"""The run's total time waiting on Retry-After (`--max-retry-wait`)."""


@dataclass(slots=True)
class RetryPolicy:
    """How 429/503 answers are waited out, and what the run spent doing so (thread-safe)."""

    max_retries: int = DEFAULT_MAX_RETRIES
    max_wait: float = DEFAULT_MAX_RETRY_WAIT
    throttled: int = 0
    """429/503 answers received (each retried or given up on)."""
    retries: int = 0
    waited: float = 0.0
    gave_up: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def delay_for(self, status: int, headers: Mapping[str, str], attempt: int) -> float | None:
        """Seconds to wait before resending, or None to give up; counts the answer as throttled."""
        if status not in THROTTLE_STATUSES:
            return None
        after = retry_after_seconds(headers.get("retry-after"))
        if after is None and status == 503:
            return None  # a 503 that does not say when is a server error, judged as such
        delay = after if after is not None else min(2.0**attempt, 8.0)
        with self._lock:
            self.throttled += 1
            if attempt >= self.max_retries or self.waited + delay > self.max_wait:
                self.gave_up += 1
                return -1.0
            self.retries += 1
            self.waited += delay
        return delay

    def to_dict(self) -> dict[str, Any]:
        return {
            "throttled_answers": self.throttled,
            "retries": self.retries,
            "waited_seconds": round(self.waited, 3),
            "gave_up": self.gave_up,
            "max_retries": self.max_retries,
            "max_wait_seconds": self.max_wait,
        }


@dataclass(slots=True)
class CreatedEvent:
    """An event the run created; `final_status` is filled by the cleanup at the end of the run."""

    kind: str
    id: str
    base_url: str
    by: str = "vevents"
    """Who created it: "vevents" (the suite's checks) or "schemathesis"."""
    final_status: str | None = None
    cleanup: str = ""
    """What the cleanup did: "canceled", "already canceled", or why it could not cancel."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "created_by": self.by,
            "final_status": self.final_status,
            "cleanup": self.cleanup,
        }


@dataclass(slots=True)
class EventLedger:
    """The run's event budget (`--max-events`; None: unlimited) and every event it created."""

    max_events: int | None = None
    created: list[CreatedEvent] = field(default_factory=list)
    refused: int = 0
    """Creates not sent because the budget was spent."""
    _reserved: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def reserve(self, keep: int = 0) -> None:
        """Hold a place for one create, leaving `keep` places for later; raises `BudgetExhausted` if none is left."""
        with self._lock:
            if self.max_events is not None and len(self.created) + self._reserved >= self.max_events - keep:
                self.refused += 1
                raise BudgetExhausted(f"needs more events than --max-events {self.max_events} allows")
            self._reserved += 1

    def settle(self, event: CreatedEvent | None) -> None:
        """Release a reservation, recording the event if the create made one."""
        with self._lock:
            self._reserved -= 1
            if event is not None:
                self.created.append(event)

    @property
    def left(self) -> int | None:
        with self._lock:
            return None if self.max_events is None else self.max_events - len(self.created) - self._reserved


def _create_paths() -> dict[str, str]:
    """Path (relative to the versioned base URL) -> kind, for every create operation of the contract."""
    return {op.url_path(): op.kind for op in contract().operations if op.action == "create"}


def created_id(status: int, content: bytes) -> str | None:
    """The id of the event a create answer made (2xx JSON object with a string id), or None."""
    if not 200 <= status < 300:
        return None
    try:
        body = json.loads(content)
    except ValueError:
        return None
    value = body.get("id") if isinstance(body, dict) else None
    return value if isinstance(value, str) and value else None


# ---------------------------------------------------------------------------- exchanges
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
    secrets: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @property
    def content_type(self) -> str:
        return str(self.headers.get("content-type", ""))

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
        """`POST /v1.0/...: 404 application/json {"error": ...}` (body cut to 200 characters, tokens masked)."""
        # Masked before it is cut, so that no part of a token the target echoed is shown either.
        text = mask_secrets(" ".join(self.content[:8192].decode("utf-8", "replace").split()), self.secrets)
        body, more = text[:200], "..." if len(text) > 200 or len(self.content) > 8192 else ""
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
        return mask_secrets(" ".join(parts), self.secrets)


# ---------------------------------------------------------------------------- the target
@dataclass(slots=True)
class Target:
    """A base URL (`http://host:port/v1.0`) plus the tokens the run may use, by role.

    Thread-safe: the runner's workers share one target (one connection pool, one log, one
    budget); `recording()` gives each check its own view of what it sent.
    """

    base_url: str
    tokens: Mapping[str, str]
    """Role -> token: a dict, or `tokens.Tokens` (re-run commands) asked afresh for every request."""
    timeout: float = DEFAULT_TIMEOUT
    exchanges: list[Exchange] = field(default_factory=list)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    ledger: EventLedger = field(default_factory=EventLedger)
    max_connections: int = 8
    keep_events: int = 0
    """Places in the budget the suite's own checks leave for the Schemathesis phases."""
    _pool: httpcore.ConnectionPool | None = None
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _creates: dict[str, str] = field(default_factory=_create_paths)

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            example = "http://127.0.0.1:8080/v1.0"
            raise UsageError(f"--base-url must be an http(s) URL such as {example}, not {self.base_url!r}")
        self.base_url = self.base_url.rstrip("/")

    @property
    def pool(self) -> httpcore.ConnectionPool:
        with self._lock:
            if self._pool is None:
                self._pool = httpcore.ConnectionPool(
                    max_connections=self.max_connections, network_backend=DeadlineBackend(), keepalive_expiry=30.0
                )
            return self._pool

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None

    @property
    def version(self) -> str | None:
        """The last segment of the base URL (the Graph version, such as `v1.0`), if any."""
        segment = urllib.parse.urlsplit(self.base_url).path.rstrip("/").rsplit("/", 1)[-1]
        return segment or None

    def with_version(self, version: str) -> str:
        """The base URL with its version segment replaced."""
        head, _, _ = self.base_url.rpartition("/")
        return f"{head}/{version}"

    @contextlib.contextmanager
    def recording(self, log: list[Exchange]) -> Iterator[list[Exchange]]:
        """Also append this thread's exchanges to `log` (what one check sent, amid other workers)."""
        previous = getattr(self._local, "log", None)
        self._local.log = log
        try:
            yield log
        finally:
            self._local.log = previous

    def create_kind(self, method: str, path: str) -> str | None:
        """The kind a request creates (a POST to a create route, on any version), or None."""
        if method != "POST":
            return None
        relative = "/" + path.split("?", 1)[0].lstrip("/")
        return self._creates.get(relative)

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
        """Send one request; `token` is a role (`main`, `read_only`, `other_user`), `garbage`, or None.

        Raises `TargetUnreachable` (no answer), `UnusableAnswer` (too big or too slow), `Throttled`
        (still throttled when the retries are spent) and `BudgetExhausted` (a create past the budget).
        """
        url = (base_url or self.base_url) + path
        extra: dict[str, str] = dict(headers or {})
        if json_body is not None:
            content = json.dumps(json_body).encode()
            extra.setdefault("Content-Type", "application/json")
        sent = dict(extra)
        if token is not None:
            value = GARBAGE_TOKEN if token == "garbage" else self.tokens[token]
            sent["Authorization"] = f"Bearer {value}"
        kind = self.create_kind(method, path)
        if kind is not None:
            self.ledger.reserve(keep=self.keep_events)
        made: CreatedEvent | None = None
        try:
            attempt = 0
            renewed = False
            while True:
                status, answer_headers, body = self._send(method, url, sent, content)
                if status == 401 and not renewed and token not in (None, "garbage"):
                    # Once: a token that expired mid-run is renewed (its command re-run) and the request sent again.
                    fresh = renewed_after_401(self.tokens, token, sent["Authorization"][len("Bearer ") :], body)
                    if fresh is not None:
                        sent["Authorization"] = f"Bearer {fresh}"
                        renewed = True
                        continue
                delay = self.retry.delay_for(status, answer_headers, attempt)
                if delay is None:
                    break
                if delay < 0:
                    raise Throttled(
                        f"{method} {urllib.parse.urlsplit(url).path} was still answered {status} after "
                        f"{attempt} retr{'y' if attempt == 1 else 'ies'} (--max-retries {self.retry.max_retries}, "
                        f"--max-retry-wait {self.retry.max_wait:g} s for the run)"
                    )
                time.sleep(delay)
                attempt += 1
            if kind is not None:
                new_id = created_id(status, body)
                made = CreatedEvent(kind=kind, id=new_id, base_url=base_url or self.base_url) if new_id else None
        finally:
            if kind is not None:
                self.ledger.settle(made)
        exchange = Exchange(
            method=method,
            url=url,
            token_role=token,
            request_headers=tuple(extra.items()),
            request_body=content,
            status=status,
            headers=answer_headers,
            content=body,
            secrets=self.tokens,
        )
        self.exchanges.append(exchange)
        log = getattr(self._local, "log", None)
        if log is not None:
            log.append(exchange)
        return exchange

    def _send(
        self, method: str, url: str, headers: Mapping[str, str], content: bytes | None
    ) -> tuple[int, httpx.Headers, bytes]:
        """One request, bounded in time (the whole exchange) and size; no redirect is ever followed."""
        host = urllib.parse.urlsplit(url).netloc
        raw_headers = [(b"Host", host.encode("ascii", "replace")), (b"Accept", b"application/json")]
        raw_headers += [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
        if content is not None:
            raw_headers.append((b"Content-Length", str(len(content)).encode()))
        timeouts = {"connect": self.timeout, "read": self.timeout, "write": self.timeout, "pool": self.timeout}
        where = f"{method} {urllib.parse.urlsplit(url).path}"
        try:
            with (
                deadline(self.timeout),
                self.pool.stream(
                    method.encode(),
                    url.encode(),
                    headers=raw_headers,
                    content=content,
                    extensions={"timeout": timeouts},
                ) as response,
            ):
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_stream():
                    size += len(chunk)
                    if size > MAX_BODY_BYTES:
                        raise UnusableAnswer(
                            f"{where} answered {response.status} with a body larger than "
                            f"{MAX_BODY_BYTES // (1024 * 1024)} MiB; the suite stopped reading"
                        )
                    chunks.append(chunk)
                return response.status, httpx.Headers(response.headers), b"".join(chunks)
        except httpcore.ConnectTimeout as exc:
            raise TargetUnreachable(f"{where}: no connection to {host} within {self.timeout:g} s") from exc
        except httpcore.TimeoutException as exc:
            raise UnusableAnswer(f"{where} did not complete within {self.timeout:g} s (--timeout)") from exc
        except (httpcore.ConnectError, httpcore.NetworkError, httpcore.ProtocolError, OSError) as exc:
            raise TargetUnreachable(f"cannot reach {url}: {exc or type(exc).__name__}") from exc
