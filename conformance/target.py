"""The names the suite's modules imported from `target` before it was split by job.

    transport.py   the one guarded transport (`Target`, limits, decoding, retries)
    exchange.py    one request and its answer (`Exchange`, `Headers`, reproductions, tokens by role)
    ledger.py      the event budget and the events the run created

New code imports from those modules; this one only keeps older imports working.
"""

from __future__ import annotations

from .exchange import GARBAGE_TOKEN, TOKEN_ENV, Exchange, Headers, encode_id, mask_secrets
from .ledger import CreatedEvent, EventLedger, created_id
from .transport import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_TIMEOUT,
    MAX_BODY_BYTES,
    MAX_DECODED_BYTES,
    DeadlineBackend,
    RetryPolicy,
    Target,
    retry_after_seconds,
)

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "DEFAULT_MAX_RETRY_WAIT",
    "DEFAULT_TIMEOUT",
    "GARBAGE_TOKEN",
    "MAX_BODY_BYTES",
    "MAX_DECODED_BYTES",
    "TOKEN_ENV",
    "CreatedEvent",
    "DeadlineBackend",
    "EventLedger",
    "Exchange",
    "Headers",
    "RetryPolicy",
    "Target",
    "created_id",
    "encode_id",
    "mask_secrets",
    "retry_after_seconds",
]
