"""Recorded HTTP exchanges, read from the formats users already have.

- HAR 1.2 (browser dev tools, mitmproxy, Fiddler, Playwright): `log.entries[]`.
- VCR-style cassettes, as Schemathesis writes them with `--report=vcr` (YAML
  `http_interactions[]`), and plain VCR.py cassettes (`interactions[]`).

Everything is normalised into `Exchange` so the validator never looks at a file format.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vevents.spec import parse_yaml

__all__ = ["Exchange", "RecordingError", "read_recording"]


class RecordingError(Exception):
    """The file could not be read as a HAR file or a cassette."""


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request and the response it got, in the order they were recorded."""

    index: int
    method: str
    url: str
    request_headers: Mapping[str, str] = field(default_factory=dict)
    request_body: bytes = b""
    status: int = 0
    response_headers: Mapping[str, str] = field(default_factory=dict)
    response_body: bytes = b""

    @property
    def label(self) -> str:
        return f"#{self.index} {self.method} {self.url} -> {self.status}"


def _lower_headers(pairs: Iterable[tuple[str, Any]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in pairs:
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        headers[str(name).lower()] = str(value)
    return headers


def _har_body(content: Mapping[str, Any] | None) -> bytes:
    if not content or content.get("text") is None:
        return b""
    text = content["text"]
    if content.get("encoding") == "base64":
        return base64.b64decode(text)
    return str(text).encode()


def _from_har(document: Mapping[str, Any]) -> list[Exchange]:
    entries = document["log"]["entries"]
    ordered = sorted(enumerate(entries), key=lambda pair: (pair[1].get("startedDateTime", ""), pair[0]))
    exchanges = []
    for index, (_, entry) in enumerate(ordered, start=1):
        request, response = entry["request"], entry["response"]
        exchanges.append(
            Exchange(
                index=index,
                method=request["method"].upper(),
                url=request["url"],
                request_headers=_lower_headers((h["name"], h["value"]) for h in request.get("headers", [])),
                request_body=_har_body(request.get("postData")),
                status=int(response["status"]),
                response_headers=_lower_headers((h["name"], h["value"]) for h in response.get("headers", [])),
                response_body=_har_body(response.get("content")),
            )
        )
    return exchanges


def _cassette_body(body: Any) -> bytes:
    if body is None:
        return b""
    if isinstance(body, str | bytes):
        return body.encode() if isinstance(body, str) else body
    if "base64_string" in body:
        return base64.b64decode(body["base64_string"])
    value = body.get("string", "")
    return value.encode() if isinstance(value, str) else bytes(value or b"")


def _cassette_status(status: Any) -> int:
    return int(status["code"]) if isinstance(status, Mapping) else int(status)


def _from_cassette(interactions: list[Mapping[str, Any]]) -> list[Exchange]:
    exchanges = []
    for index, interaction in enumerate(interactions, start=1):
        request, response = interaction["request"], interaction["response"]
        exchanges.append(
            Exchange(
                index=index,
                method=request["method"].upper(),
                url=request["uri"],
                request_headers=_lower_headers((request.get("headers") or {}).items()),
                request_body=_cassette_body(request.get("body")),
                status=_cassette_status(response["status"]),
                response_headers=_lower_headers((response.get("headers") or {}).items()),
                response_body=_cassette_body(response.get("body")),
            )
        )
    return exchanges


def read_recording(path: Path) -> list[Exchange]:
    """Every exchange in a HAR file or cassette, in recorded order."""
    try:
        text = path.read_text(encoding="utf-8")
        document = json.loads(text) if path.suffix.lower() in (".har", ".json") else parse_yaml(text)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # DocumentError is a ValueError
        raise RecordingError(f"cannot read {path}: {exc}") from exc
    try:
        if isinstance(document, Mapping) and "log" in document:
            return _from_har(document)
        if isinstance(document, Mapping) and "http_interactions" in document:
            return _from_cassette(document["http_interactions"])
        if isinstance(document, Mapping) and "interactions" in document:
            return _from_cassette(document["interactions"])
    except (KeyError, TypeError, ValueError) as exc:
        raise RecordingError(f"{path}: malformed recording ({exc.__class__.__name__}: {exc})") from exc
    raise RecordingError(f"{path}: neither a HAR file (log.entries) nor a cassette (http_interactions)")
