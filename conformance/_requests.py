"""The `requests` face of the one guarded transport (Schemathesis speaks `requests`): no policy here.

`GuardedAdapter` is mounted on the Schemathesis phase's sessions (see
`_schemathesis.sessions_with_adapter`). Each request it is given is sent by `Target.send`, the
same call the suite's own checks end in, so host pinning, deadlines, decoding and its caps,
Retry-After, the event budget and the exchange log are the transport's, applied once. This module
only translates: a `PreparedRequest` into the transport's arguments, the `Exchange` back into a
`requests.Response`, and the transport's refusals into what Schemathesis understands (a
`requests` exception, or `unittest.SkipTest` for a case the run chose not to send).

requests private names touched (a test checks they exist):
    requests.Response._content, requests.Response._content_consumed  (the body, already read and decoded)
"""

from __future__ import annotations

import datetime
import http
import time
import unittest
from typing import Any, Protocol

import requests
import requests.adapters
import requests.utils
import urllib3
from requests.structures import CaseInsensitiveDict

from .errors import ForeignHost, TargetUnreachable, UnusableAnswer
from .exchange import Exchange
from .failures import BudgetExhausted
from .transport import Target

__all__ = ["PRIVATE_NAMES", "AnswerOutOfBounds", "Gate", "GuardedAdapter", "OtherHost"]

PRIVATE_NAMES = ("requests.Response._content", "requests.Response._content_consumed")
# Headers the transport writes itself: what it offers (it decodes only those), and the framing.
_TRANSPORT_HEADERS = frozenset({"accept-encoding", "content-length", "connection", "host", "transfer-encoding"})


class AnswerOutOfBounds(requests.RequestException):
    """The answer exceeded the size or total time the suite allows, or broke HTTP."""


class OtherHost(requests.RequestException):
    """A request (a redirect) to a host other than the target's: never sent, the token stays home."""


class Gate(Protocol):
    """Whether the phase still sends (its time share), told when the budget refused a create."""

    def admit(self) -> str | None:
        """None to send; otherwise why the case is skipped."""

    def refused_for_budget(self) -> None: ...


class GuardedAdapter(requests.adapters.BaseAdapter):
    """A requests adapter that sends through one `Target` (its transport)."""

    def __init__(self, target: Target, gate: Gate | None = None) -> None:
        super().__init__()
        self.target = target
        self.gate = gate

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        if self.gate is not None and (reason := self.gate.admit()) is not None:
            raise unittest.SkipTest(reason)
        headers = {
            name: value if isinstance(value, str) else value.decode("latin-1")
            for name, value in request.headers.items()
            if name.lower() not in _TRANSPORT_HEADERS
        }
        body = request.body.encode() if isinstance(request.body, str) else request.body
        started = time.monotonic()
        try:
            exchange, _ = self.target.send(
                request.method or "GET",
                request.url or "",
                headers,
                body if isinstance(body, bytes) else None,
                token_role=self.target.role_of(headers.get("Authorization")),
                by="schemathesis",
            )
        except ForeignHost as exc:
            raise OtherHost(str(exc), request=request) from exc
        except BudgetExhausted as exc:
            if self.gate is not None:
                self.gate.refused_for_budget()
            raise unittest.SkipTest(str(exc)) from exc
        except UnusableAnswer as exc:
            raise AnswerOutOfBounds(str(exc), request=request) from exc
        except TargetUnreachable as exc:
            raise requests.ConnectionError(str(exc), request=request) from exc
        # Given up on throttling: the answer goes to Schemathesis, whose filter never judges it.
        return _response(request, exchange, time.monotonic() - started, self)

    def close(self) -> None:
        """Nothing to close: the connections are the transport's."""


def _response(
    request: requests.PreparedRequest, exchange: Exchange, elapsed: float, adapter: GuardedAdapter
) -> requests.Response:
    """The exchange as `requests` would have built it (the body already decoded, as `.content` is)."""
    response = requests.Response()
    response.status_code = exchange.status
    response.headers = CaseInsensitiveDict(dict(exchange.headers))
    response.raw = urllib3.HTTPResponse(
        body=b"",
        headers=urllib3.HTTPHeaderDict(exchange.headers.multi_items()),
        status=exchange.status,
        version=11,
        preload_content=False,
    )
    response.reason = _reason(exchange.status)
    response.url = request.url or ""
    response.request = request
    response.connection = adapter  # type: ignore[assignment]  # requests types it as HTTPAdapter
    response.encoding = requests.utils.get_encoding_from_headers(response.headers)
    response.elapsed = datetime.timedelta(seconds=elapsed)
    response._content = exchange.content
    response._content_consumed = True
    return response


def _reason(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""
