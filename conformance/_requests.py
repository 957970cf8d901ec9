"""The guard on every request the Schemathesis phase sends (Schemathesis speaks `requests`).

`GuardedAdapter` is mounted on the phase's sessions (see `_schemathesis.sessions_with_adapter`)
and gives its requests what `Target.call` gives the suite's own: one host only (the token never
leaves for another), bounded size and total time, 429/503 waited out on the run's retry policy,
creates drawn from the run's event budget (past it, the case is skipped, never failed) and every
exchange logged for the coverage table and the cleanup.

requests private names touched (a test checks they exist):
    requests.Response._content, requests.Response._content_consumed  (the body, read here with a cap)
"""

from __future__ import annotations

import time
import unittest
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import httpx
import requests
import requests.adapters
import urllib3.exceptions

from .failures import BudgetExhausted
from .target import MAX_BODY_BYTES, CreatedEvent, Exchange, Target, created_id
from .tokens import Tokens, renewed_after_401

__all__ = ["PRIVATE_NAMES", "AnswerOutOfBounds", "GuardedAdapter", "OtherHost", "PhaseGate"]

PRIVATE_NAMES = ("requests.Response._content", "requests.Response._content_consumed")


class AnswerOutOfBounds(requests.RequestException):
    """The answer exceeded the size or total time the suite allows."""


@dataclass(slots=True)
class PhaseGate:
    """Which Schemathesis pass is running, and how much of the time share it may still use.

    The stateful phase runs first (it reaches cancel and get on events it created) and may use
    half the share; the other phases get the rest. Past it, every request is skipped.
    """

    max_time: float | None = None
    first_share: float = 0.5
    phase: str = ""
    started: float = field(default_factory=time.monotonic)
    last_pass: bool = True
    skipped_for_time: int = 0
    skipped_for_budget: int = 0

    def begin_pass(self, *, last: bool) -> None:
        self.last_pass = last

    def time_is_over(self) -> bool:
        if self.max_time is None:
            return False
        share = self.max_time if self.last_pass else self.max_time * self.first_share
        return time.monotonic() - self.started > share


class OtherHost(requests.RequestException):
    """A request (a redirect) to a host other than the target's: never sent, the token stays home."""


class GuardedAdapter(requests.adapters.HTTPAdapter):
    """An HTTPAdapter bound to one `Target`: its host, limits, retry policy, budget and log."""

    def __init__(self, target: Target, gate: PhaseGate | None = None) -> None:
        super().__init__(pool_connections=2, pool_maxsize=max(2, target.max_connections))
        self.target = target
        self.host = urllib.parse.urlsplit(target.base_url).netloc
        self.gate = gate or PhaseGate()

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,  # type: ignore[override,unused-ignore]
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        url = request.url or ""
        parts = urllib.parse.urlsplit(url)
        if parts.netloc != self.host:
            raise OtherHost(f"not sending {request.method} to {parts.netloc}: the target is {self.host}")
        if self.gate.time_is_over():
            self.gate.skipped_for_time += 1
            raise unittest.SkipTest("the Schemathesis phases' time share is over (--max-schemathesis-time)")
        base_path = urllib.parse.urlsplit(self.target.base_url).path
        relative = parts.path[len(base_path) :] if parts.path.startswith(base_path) else parts.path
        kind = self.target.create_kind(request.method or "", relative)
        if kind is not None:
            try:
                self.target.ledger.reserve()
            except BudgetExhausted as exc:
                self.gate.skipped_for_budget += 1
                raise unittest.SkipTest(str(exc)) from exc
        made: CreatedEvent | None = None
        role = self._current_token(request)
        try:
            response = self._send_retrying(request, verify=verify, cert=cert, proxies=proxies)
            response = self._renewed(request, role, response, verify=verify, cert=cert, proxies=proxies)
            if kind is not None:
                new_id = created_id(response.status_code, response.content)
                made = (
                    CreatedEvent(kind=kind, id=new_id, base_url=self.target.base_url, by="schemathesis")
                    if new_id
                    else None
                )
        finally:
            if kind is not None:
                self.target.ledger.settle(made)
        self._log(request, response)
        return response

    def _current_token(self, request: requests.PreparedRequest) -> str | None:
        """Schemathesis was configured with the token of the run's start: send the role's current one."""
        tokens = self.target.tokens
        scheme, _, value = str(request.headers.get("Authorization", "")).partition(" ")
        if not isinstance(tokens, Tokens) or scheme != "Bearer":
            return None
        role = tokens.role_of(value)
        if role is not None:
            request.headers["Authorization"] = f"Bearer {tokens[role]}"
        return role

    def _renewed(
        self, request: requests.PreparedRequest, role: str | None, response: requests.Response, **kwargs: Any
    ) -> requests.Response:
        """Once, after a 401 for a token that expired mid-run: its command re-run, the request sent again."""
        if response.status_code != 401 or role is None:
            return response
        sent = str(request.headers.get("Authorization", ""))[len("Bearer ") :]
        fresh = renewed_after_401(self.target.tokens, role, sent, response.content)
        if fresh is None:
            return response
        request.headers["Authorization"] = f"Bearer {fresh}"
        response.close()
        return self._send_retrying(request, **kwargs)

    def _send_retrying(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        attempt = 0
        while True:
            response = self._send_bounded(request, **kwargs)
            delay = self.target.retry.delay_for(response.status_code, response.headers, attempt)
            if delay is None or delay < 0:
                # Given up: the throttled answer goes to Schemathesis, whose filter never judges it.
                return response
            time.sleep(delay)
            attempt += 1

    def _send_bounded(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        limit = self.target.timeout
        started = time.monotonic()
        response = super().send(request, stream=True, timeout=(limit, limit), **kwargs)
        chunks: list[bytes] = []
        size = 0
        where = f"{request.method} {urllib.parse.urlsplit(request.url or '').path}"
        try:
            # read1: what has arrived (a drip-fed body never fills a 64 KiB read), each read bounded by `limit`.
            for chunk in iter(lambda: response.raw.read1(64 * 1024), b""):
                size += len(chunk)
                if size > MAX_BODY_BYTES:
                    mib = MAX_BODY_BYTES // (1024 * 1024)
                    raise AnswerOutOfBounds(f"{where} answered a body larger than {mib} MiB")
                if time.monotonic() - started > limit:
                    raise AnswerOutOfBounds(f"{where} did not complete within {limit:g} s (--timeout)")
                chunks.append(chunk)
        except urllib3.exceptions.HTTPError as exc:
            response.close()
            raise AnswerOutOfBounds(f"{where} did not complete within {limit:g} s (--timeout): {exc}") from exc
        except requests.RequestException:
            response.close()
            raise
        response._content = b"".join(chunks)
        response._content_consumed = True
        return response

    def _log(self, request: requests.PreparedRequest, response: requests.Response) -> None:
        """Keep the exchange (small bodies only) for the coverage table; the token role, never the token."""
        authorization = request.headers.get("Authorization", "")
        role = next(
            (name for name, value in self.target.tokens.items() if authorization == f"Bearer {value}"),
            "garbage" if authorization else None,
        )
        body = request.body.encode() if isinstance(request.body, str) else request.body
        self.target.exchanges.append(
            Exchange(
                method=request.method or "",
                url=request.url or "",
                token_role=role,
                request_headers=(),
                request_body=body if isinstance(body, bytes) else None,
                status=response.status_code,
                headers=httpx.Headers(dict(response.headers)),
                content=response.content[:16384],
                secrets=self.target.tokens,
            )
        )
