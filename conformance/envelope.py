"""Graph's error envelope, as a check judges it: `{"error": {"code": ..., "message": ...}}` in JSON."""

from __future__ import annotations

from .target import Exchange

__all__ = ["JSON", "envelope_problem"]

JSON = "application/json"


def envelope_problem(exchange: Exchange) -> str | None:
    """Why an error answer is not in Graph's envelope (`None` when it is, or when it is no error)."""
    if exchange.status < 400 or exchange.method == "HEAD":
        return None
    if exchange.media_type != JSON:
        return f"Content-Type is {exchange.content_type or 'missing'!r}, not {JSON}"
    body = exchange.json()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return 'the body is not {"error": {...}}'
    for member in ("code", "message"):
        if not isinstance(error.get(member), str):
            return f"error.{member} is missing or not a string"
    return None
