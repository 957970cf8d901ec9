"""Answers that break HTTP or the contract's framing, as violations of the operation that got them.

The transport records what it saw (`Exchange.problems`: a body on a 204, a Content-Encoding the
request did not accept, data that does not decode) or raises `BrokenAnswer` (headers past the
parser's limit, a body cut short). Here those become findings of the check that sent the request,
with the evidence and a reproduction, next to what this API's every answer must meet: a body
says what it is (a Content-Type), a JSON document says it is JSON, and a body that says it is
JSON parses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from .errors import BrokenAnswer
from .exchange import Exchange
from .failures import Violation

__all__ = ["answer_problems", "answer_violations", "broken_answer_violation"]


def _is_json_media(media_type: str) -> bool:
    return media_type == "application/json" or media_type.endswith("+json")


def answer_problems(exchange: Exchange) -> list[str]:
    """What is wrong with how `exchange` was answered (empty for a well-formed answer of any status)."""
    problems = list(exchange.problems)
    if problems or exchange.status >= 500 or exchange.status in (204, 304) or not exchange.content.strip():
        return problems
    if not exchange.media_type:
        problems.append(f"a {exchange.status} with a body and no Content-Type")
    elif not _is_json_media(exchange.media_type) and exchange.content.lstrip()[:1] in (b"{", b"["):
        # A JSON document labelled otherwise (a `$count`'s text/plain number is not one: it is no object).
        problems.append(f"a JSON body labelled {exchange.content_type!r}, not application/json")
    elif _is_json_media(exchange.media_type) and not exchange.truncated:
        try:
            json.loads(exchange.content)
        except ValueError as exc:
            problems.append(f"a body labelled {exchange.media_type} that is not JSON ({exc})")
    return problems


def answer_violations(exchanges: Iterable[Exchange]) -> list[Violation]:
    """One violation per operation and problem among `exchanges` (a check's own requests)."""
    found: dict[tuple[str, str, str], Violation] = {}
    for exchange in exchanges:
        for problem in answer_problems(exchange):
            key = (exchange.method, exchange.path, problem)
            if key not in found:
                found[key] = Violation(
                    title=f"{exchange.method} {exchange.path} answered outside HTTP's or the contract's framing",
                    message=f"{problem}\n{exchange.describe()}",
                    repro=(exchange.curl(),),
                )
    return list(found.values())


def broken_answer_violation(error: BrokenAnswer) -> Violation:
    """The violation a check reports when an answer it waited for broke HTTP (`BrokenAnswer`)."""
    return Violation(
        title=f"{error.request} answered with broken HTTP",
        message=error.evidence,
        repro=(error.repro,) if error.repro else (),
    )
