"""Errors of the suite itself: the run could not judge the target (exit code 2).

These are kept apart from `failures.Violation` (the target broke the contract, exit code 1):

    ConformanceError            the suite could not run; exit code 2
    ├── UsageError              bad arguments or configuration
    ├── TargetUnreachable       no HTTP answer at all (connection refused, DNS, timeout)
    ├── NotThisApi              the base URL answers, but not like the Graph virtual events API
    ├── SetupError              the target rejected what the suite needs to start (token, events)
    ├── Throttled               still 429/503 after the retries and the wait the run allows
    ├── UnusableAnswer          an answer too big or too slow to judge (a hostile or broken target)
    │   └── BrokenAnswer        an answer that breaks HTTP itself (framing, oversized headers): in a
    │                           check, a violation of the operation that got it, with the evidence
    └── ForeignHost             a request for a host other than the target's: never sent
"""

from __future__ import annotations

__all__ = [
    "BrokenAnswer",
    "ConformanceError",
    "ForeignHost",
    "NotThisApi",
    "SetupError",
    "TargetUnreachable",
    "Throttled",
    "UnusableAnswer",
    "UsageError",
]


class ConformanceError(Exception):
    """The suite could not judge the target; the message is one line meant for a human."""

    exit_code = 2


class UsageError(ConformanceError):
    """Raised for bad arguments: an unknown check name, a malformed `--event-id`, a bad base URL."""


class TargetUnreachable(ConformanceError):
    """Raised when the base URL gives no HTTP answer (connection refused, unknown host, timeout)."""


class NotThisApi(ConformanceError):
    """Raised when the base URL answers HTTP, but not like this API (e.g. an HTML 404 for every path)."""


class SetupError(ConformanceError):
    """Raised when the target refuses what every check needs: the token, or the events to work on."""


class Throttled(ConformanceError):
    """Raised when the target still answers 429 (or 503 with Retry-After) once the retries are spent.

    Throttling is Graph's documented behaviour, never a violation: the request could not be judged.
    """


class UnusableAnswer(ConformanceError):
    """Raised when an answer exceeds the size or time the suite allows (an endless or drip-fed body)."""


class BrokenAnswer(UnusableAnswer):
    """Raised when the target's answer breaks HTTP framing (bad status line, a body cut short, headers
    past the parser's limit): the operation that got it is at fault, so a check reports a violation.

    `request` names it (`POST /v1.0/...`), `evidence` says what was wrong (already printable) and
    `repro` is a curl command that sends the request again.
    """

    def __init__(self, request: str, evidence: str, repro: str = "") -> None:
        super().__init__(f"{request} answered with broken HTTP: {evidence}")
        self.request = request
        self.evidence = evidence
        self.repro = repro


class ForeignHost(ConformanceError):
    """Raised for a request (a redirect, a link) to a host other than the target's: the token stays home."""
