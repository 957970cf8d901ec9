"""The ONE guarded transport: every request the suite sends goes through `Target.send`.

The suite's own checks (`Target.call`), the Schemathesis phases (through the thin `requests`
adapter in `_requests.py`), the permanence sweep and the cleanup all end here, so each rule
below is enforced in one place. A real target is slow, throttles, compresses and may be hostile:
- one host only: a request for another host is never sent, so the token never leaves; redirects
  are never followed;
- total time (`timeout`, answer body included: a drip-fed answer is cut off at the deadline,
  enforced on every socket read by `DeadlineBackend`);
- size, on the wire and decoded (`MAX_BODY_BYTES`, `MAX_DECODED_BYTES`): gzip and deflate are
  offered and decoded incrementally, never past the cap (a 1 KiB gzip bomb stays 1 KiB);
  a Content-Encoding the suite did not offer is kept undecoded, as evidence, never a crash;
- framing: an answer that breaks HTTP (a body on a 204, headers past the parser's limit, a body
  cut short) is recorded as evidence (`Exchange.problems`, or `BrokenAnswer`), and its
  connection is never used again;
- 429, and 503 with `Retry-After`, are waited out and sent again (`RetryPolicy`: bounded
  attempts and a bounded total wait for the run); a throttled answer is never judged;
- creates draw on the run's event budget (`EventLedger`), which also remembers every event the
  run created so that the runner can cancel them at the end;
- every exchange is logged with its bodies cut to `LOGGED_BODY_BYTES`, tokens never stored in it
  (the role is), so the run's memory stays bounded whatever it sends.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import threading
import time
import urllib.parse
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpcore

from .errors import BrokenAnswer, ForeignHost, TargetUnreachable, Throttled, UnusableAnswer, UsageError
from .escaping import printable
from .exchange import GARBAGE_TOKEN, Exchange, Headers
from .ledger import CreatedEvent, EventLedger, create_paths, created_id
from .tokens import Tokens, renewed_after_401

__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_RETRY_WAIT",
    "DEFAULT_TIMEOUT",
    "MAX_BODY_BYTES",
    "MAX_DECODED_BYTES",
    "DeadlineBackend",
    "RetryPolicy",
    "Target",
    "retry_after_seconds",
]

DEFAULT_TIMEOUT = 10.0
# Graph's answers for this API are a few KiB; a list page stays well under a MiB.
MAX_BODY_BYTES = 4 * 1024 * 1024
"""The most an answer may send on the wire."""
MAX_DECODED_BYTES = 4 * 1024 * 1024
"""The most an answer may decode to (gzip, deflate): the memory a body may take, whatever it compresses."""
ACCEPT_ENCODING = "gzip, deflate"
"""What the suite offers, as Graph's SDKs do: a target that compresses must be read, not misjudged."""
# Statuses that mean "come back later", never "this is wrong": 503 only when it says when.
THROTTLE_STATUSES = frozenset({429, 503})
# Statuses that never have a body (RFC 9110 §6.4.1): the parser skips what a target sends anyway.
BODILESS_STATUSES = frozenset({204, 304})


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
        self.discarded = False
        """Set when an answer on this connection broke framing: the pool drops it instead of reusing it."""

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if self.discarded:
            # The pool can hand an idle connection out between its expiry check and the moment it
            # went idle: the request is then given back, and httpcore sends it on another one.
            raise httpcore.ConnectionNotAvailable()
        self._inner.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None) -> Any:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _remaining(timeout)))

    def get_extra_info(self, info: str) -> Any:
        # httpcore drops an idle connection that reads as readable (the server closed it or sent
        # more than it should): a discarded one reads so, and is never handed a request again.
        if info == "is_readable" and self.discarded:
            return True
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


# ---------------------------------------------------------------------------- decoding
class _TooLarge(Exception):
    pass


class _Inflater:
    """One content coding undone incrementally, never producing more than it is allowed."""

    def __init__(self, coding: str) -> None:
        self.coding = coding
        self._raw_fallback = coding == "deflate"
        # gzip: the gzip header; deflate: RFC 9110 says zlib-wrapped, some servers send it raw.
        self._inner = zlib.decompressobj(16 + zlib.MAX_WBITS if coding in ("gzip", "x-gzip") else zlib.MAX_WBITS)
        self._members = 0

    def feed(self, data: bytes, room: int) -> bytes:
        """Decode `data`; raises `_TooLarge` past `room` bytes of output, `zlib.error` on bad data."""
        out = b""
        while data:
            try:
                piece = self._inner.decompress(data, room - len(out) + 1)
            except zlib.error:
                if not self._raw_fallback:
                    raise
                self._raw_fallback = False
                self._inner = zlib.decompressobj(-zlib.MAX_WBITS)
                continue
            self._raw_fallback = False
            out += piece
            if len(out) > room or self._inner.unconsumed_tail:
                raise _TooLarge
            data = self._inner.unused_data if self._inner.eof else b""
            if data and self.coding in ("gzip", "x-gzip") and self._members < 16:
                # Another gzip member follows (RFC 1952 allows several): decoded as one body.
                self._members += 1
                self._inner = zlib.decompressobj(16 + zlib.MAX_WBITS)
            else:
                data = b""
        return out

    @property
    def complete(self) -> bool:
        return self._inner.eof


class _Decoder:
    """Undoes an answer's Content-Encoding (gzip, deflate, identity), capped at `MAX_DECODED_BYTES`.

    An encoding the suite did not offer, or data that does not decode, leaves the body as it came
    with a problem that says so: evidence for the check, never a crash of the run.
    """

    def __init__(self, header: str | None) -> None:
        codings = [item.strip().lower() for item in (header or "").split(",") if item.strip()]
        codings = [item for item in codings if item != "identity"]
        unknown = [item for item in codings if item not in ("gzip", "x-gzip", "deflate")]
        self.header = printable(header or "")
        self.problem = ""
        if unknown:
            self.problem = (
                f"Content-Encoding: {self.header}, which the request did not accept "
                f"(Accept-Encoding: {ACCEPT_ENCODING}); the body is kept undecoded"
            )
            codings = []
        # Applied in the order listed: undone in reverse.
        self._stages = [_Inflater(item) for item in reversed(codings)]
        self.size = 0
        self.fed = False

    @property
    def decodes(self) -> bool:
        return bool(self._stages) and not self.problem

    def feed(self, chunk: bytes) -> bytes:
        self.fed = self.fed or bool(chunk)
        for stage in self._stages:
            chunk = stage.feed(chunk, MAX_DECODED_BYTES - self.size)
        self.size += len(chunk)
        return chunk

    def finish(self) -> None:
        # An empty body needs no end marker (a server may label even that with its coding).
        if self.fed and any(not stage.complete for stage in self._stages):
            self.problem = f"the {self._stages[0].coding} data ends before its end marker (a truncated body)"


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


# ---------------------------------------------------------------------------- the target
@dataclass(slots=True)
class Target:
    """A base URL (`http://host:port/v1.0`), the tokens the run may use by role, and the one way to send.

    Thread-safe: the runner's workers share one target (one connection pool, one log, one
    budget); `recording()` gives each check its own view of what it sent.
    """

    base_url: str
    tokens: Mapping[str, str]
    """Role -> token: a dict, or `tokens.Tokens` (re-run commands) asked afresh for every request."""
    timeout: float = DEFAULT_TIMEOUT
    exchanges: list[Exchange] = field(default_factory=list)
    """Every exchange of the run, bodies cut to `LOGGED_BODY_BYTES` (coverage, origins of events)."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    ledger: EventLedger = field(default_factory=EventLedger)
    max_connections: int = 8
    keep_events: int = 0
    """Places in the budget the suite's own checks leave for the Schemathesis phases."""
    _pool: httpcore.ConnectionPool | None = None
    _local: threading.local = field(default_factory=threading.local)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _creates: dict[str, str] = field(default_factory=create_paths)

    def __post_init__(self) -> None:
        parsed = urllib.parse.urlsplit(self.base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            example = "http://127.0.0.1:8080/v1.0"
            raise UsageError(f"--base-url must be an http(s) URL such as {example}, not {self.base_url!r}")
        self.base_url = self.base_url.rstrip("/")

    @property
    def origin(self) -> tuple[str, str]:
        """The scheme and host (with port) every request must go to."""
        parsed = urllib.parse.urlsplit(self.base_url)
        return parsed.scheme, parsed.netloc

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
        """The kind a request creates (a POST to a create route, on any version), or None.

        `path` is relative to a versioned base URL (`/solutions/...`) or a whole URL's path.
        """
        if method != "POST":
            return None
        relative = "/" + path.split("?", 1)[0].lstrip("/")
        if relative in self._creates:
            return self._creates[relative]
        head = urllib.parse.urlsplit(self.base_url).path.rpartition("/")[0]
        if relative.startswith(head + "/"):
            # A whole path: the base URL's head, one version segment, then the route.
            rest = relative[len(head) + 1 :].partition("/")[2]
            return self._creates.get("/" + rest)
        return None

    def role_of(self, authorization: str | None) -> str | None:
        """The token role an Authorization header stands for (a renewed token's retired ones too; `garbage` else)."""
        if not authorization:
            return None
        scheme, _, value = authorization.partition(" ")
        if scheme != "Bearer":
            return "garbage"
        if isinstance(self.tokens, Tokens):
            return self.tokens.role_of(value) or "garbage"
        return next((name for name, token in self.tokens.items() if token == value), "garbage")

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
        """Send one of the suite's own requests; `token`: a role (`main`, `read_only`, `other_user`), `garbage`, None.

        Raises `TargetUnreachable` (no answer), `UnusableAnswer` (too big or too slow), `BrokenAnswer`
        (not HTTP), `Throttled` (still throttled when the retries are spent) and `BudgetExhausted`
        (a create past the budget).
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
        exchange, gave_up_after = self.send(
            method, url, sent, content, token_role=token, shown_headers=tuple(extra.items()), keep=self.keep_events
        )
        if gave_up_after is not None:
            raise Throttled(
                f"{method} {exchange.path} was still answered {exchange.status} after "
                f"{gave_up_after} retr{'y' if gave_up_after == 1 else 'ies'} (--max-retries {self.retry.max_retries}, "
                f"--max-retry-wait {self.retry.max_wait:g} s for the run)"
            )
        return exchange

    def send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        *,
        token_role: str | None,
        shown_headers: tuple[tuple[str, str], ...] = (),
        keep: int = 0,
        by: str = "vevents",
    ) -> tuple[Exchange, int | None]:
        """Send one request (the only way the suite sends); returns the exchange and, if the retries gave up
        on a throttled answer, how many were sent.

        `shown_headers` are the headers a reproduction repeats (never Authorization); `keep` places
        of the budget are left for later; `by` names who created an event.
        """
        parts = urllib.parse.urlsplit(url)
        if (parts.scheme, parts.netloc) != self.origin:
            raise ForeignHost(f"not sending {method} to {parts.scheme}://{parts.netloc}: the target is {self.base_url}")
        renewable = token_role is not None and token_role != "garbage" and token_role in self.tokens
        if renewable:
            # The role's current token, whatever the caller was configured with (Schemathesis: the run's start).
            headers = {**headers, "Authorization": f"Bearer {self.tokens[str(token_role)]}"}
        kind = self.create_kind(method, parts.path)
        if kind is not None:
            self.ledger.reserve(keep=keep)
        made: CreatedEvent | None = None
        try:
            attempt = 0
            renewed = False
            while True:
                status, answer_headers, body, problems = self._send(method, url, headers, content, shown_headers)
                if status == 401 and renewable and not renewed:
                    # Once: a token that expired mid-run is renewed (its command re-run) and the request sent again.
                    sent = headers["Authorization"][len("Bearer ") :]
                    fresh = renewed_after_401(self.tokens, token_role, sent, body)
                    if fresh is not None:
                        headers, renewed = {**headers, "Authorization": f"Bearer {fresh}"}, True
                        continue
                delay = self.retry.delay_for(status, answer_headers, attempt)
                if delay is None or delay < 0:
                    break
                time.sleep(delay)
                attempt += 1
            if kind is not None:
                new_id = created_id(status, body)
                made = CreatedEvent(kind=kind, id=new_id, base_url=self._version_base(url), by=by) if new_id else None
        finally:
            if kind is not None:
                self.ledger.settle(made)
        exchange = Exchange(
            method=method,
            url=url,
            token_role=token_role,
            request_headers=shown_headers,
            request_body=content,
            status=status,
            headers=answer_headers,
            content=body,
            secrets=self.tokens,
            problems=problems,
        )
        self.exchanges.append(exchange.bounded())
        log = getattr(self._local, "log", None)
        if log is not None:
            log.append(exchange)
        return exchange, (attempt if delay is not None and delay < 0 else None)

    def _version_base(self, url: str) -> str:
        """The versioned base URL a request went to (`http://host/v1.0` or `.../beta`)."""
        head = urllib.parse.urlsplit(self.base_url).path.rpartition("/")[0]
        parts = urllib.parse.urlsplit(url)
        version = parts.path[len(head) + 1 :].partition("/")[0]
        return f"{parts.scheme}://{parts.netloc}{head}/{version}"

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        content: bytes | None,
        shown_headers: tuple[tuple[str, str], ...],
    ) -> tuple[int, Headers, bytes, tuple[str, ...]]:
        """One request, bounded in time (the whole exchange) and size (wire and decoded); no redirect followed."""
        parts = urllib.parse.urlsplit(url)
        host = parts.netloc
        given = {name.lower() for name in headers}
        raw_headers = [(b"Host", host.encode("ascii", "replace"))]
        if "accept" not in given:
            raw_headers.append((b"Accept", b"application/json"))
        if "accept-encoding" not in given:
            raw_headers.append((b"Accept-Encoding", ACCEPT_ENCODING.encode()))
        raw_headers += [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]
        if content is not None:
            raw_headers.append((b"Content-Length", str(len(content)).encode()))
        timeouts = {"connect": self.timeout, "read": self.timeout, "write": self.timeout, "pool": self.timeout}
        where = f"{method} {parts.path}"
        stream: _DeadlineStream | None = None
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
                found = response.extensions.get("network_stream")
                stream = found if isinstance(found, _DeadlineStream) else None
                answer_headers = Headers(
                    (name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers
                )
                problems = _framing_problems(response.status, answer_headers)
                if problems and stream is not None:
                    stream.discarded = True
                decoder = _Decoder(answer_headers.get("content-encoding"))
                body = self._read(response, decoder, where)
                if decoder.problem:
                    problems.append(decoder.problem)
                return response.status, answer_headers, body, tuple(problems)
        except httpcore.ConnectTimeout as exc:
            raise TargetUnreachable(f"{where}: no connection to {host} within {self.timeout:g} s") from exc
        except httpcore.TimeoutException as exc:
            raise UnusableAnswer(f"{where} did not complete within {self.timeout:g} s (--timeout)") from exc
        except httpcore.RemoteProtocolError as exc:
            text = str(exc) or type(exc).__name__
            if "without sending a response" in text or "Server disconnected" in text:
                raise TargetUnreachable(f"cannot reach {url}: {printable(text)}") from exc
            raise BrokenAnswer(where, _protocol_evidence(text), _repro(method, url, shown_headers, content)) from exc
        except (httpcore.ConnectError, httpcore.NetworkError, httpcore.ProtocolError, OSError) as exc:
            raise TargetUnreachable(f"cannot reach {url}: {printable(str(exc) or type(exc).__name__)}") from exc

    @staticmethod
    def _read(response: Any, decoder: _Decoder, where: str) -> bytes:
        """The decoded body, read while it arrives; past either cap the answer is unusable.

        A body that does not decode is returned as it came (the evidence), with the decoder's problem.
        """
        decoded: list[bytes] = []
        raw: list[bytes] = []
        wire = 0
        for chunk in response.iter_stream():
            wire += len(chunk)
            if wire > MAX_BODY_BYTES:
                raise UnusableAnswer(
                    f"{where} answered {response.status} with a body larger than "
                    f"{MAX_BODY_BYTES // (1024 * 1024)} MiB; the suite stopped reading"
                )
            raw.append(chunk)
            if not decoder.decodes:
                continue
            try:
                decoded.append(decoder.feed(chunk))
            except _TooLarge:
                raise UnusableAnswer(
                    f"{where} answered {response.status} with a body that decodes to more than "
                    f"{MAX_DECODED_BYTES // (1024 * 1024)} MiB (Content-Encoding: {decoder.header}); "
                    "the suite stopped reading"
                ) from None
            except zlib.error as exc:
                decoder.problem = f"Content-Encoding: {decoder.header}, but the body does not decode ({exc})"
                decoded = []
        if not decoder.decodes:
            return b"".join(raw)
        decoder.finish()
        return b"".join(decoded)


def _framing_problems(status: int, headers: Headers) -> list[str]:
    """What the head of an answer says that HTTP forbids (the parser would skip or misread the rest)."""
    problems = []
    if status in BODILESS_STATUSES:
        length = headers.get("content-length", "").strip()
        if length not in ("", "0"):
            problems.append(
                f"a {status} answer declares Content-Length: {printable(length)}, but a {status} has no body "
                "(RFC 9110 §15.3.5, §15.4.5): a client reading it misreads the next answer on the connection"
            )
        if "transfer-encoding" in headers:
            problems.append(f"a {status} answer declares Transfer-Encoding, but a {status} has no body (RFC 9112 §6.1)")
    return problems


def _protocol_evidence(text: str) -> str:
    if "Receive buffer too long" in text:
        return "its headers exceed 100 KiB (h11's limit; Graph's are a few hundred bytes)"
    return printable(text)


def _repro(method: str, url: str, shown_headers: tuple[tuple[str, str], ...], content: bytes | None) -> str:
    exchange = Exchange(method, url, None, shown_headers, content, 0, Headers(), b"")
    return exchange.curl()
