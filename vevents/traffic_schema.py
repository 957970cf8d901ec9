"""Recorded responses against the spec, with openapi-core (the spec read once per run)."""

from __future__ import annotations

from vevents.recordings import Exchange
from vevents.spec import spec_path
from vevents.traffic_rules import split

__all__ = ["ResponseValidator"]

_GRAPH_HOST = "https://graph.microsoft.com"


class ResponseValidator:
    """Spec validation with openapi-core, read once."""

    def __init__(self) -> None:
        from openapi_core import OpenAPI

        self._openapi = OpenAPI.from_file_path(spec_path())

    def response_errors(self, exchange: Exchange) -> list[str]:
        from openapi_core.testing import MockRequest, MockResponse

        version, path, args = split(exchange)
        request = MockRequest(
            _GRAPH_HOST,
            exchange.method,
            f"/{version}{path}",
            args=args,
            headers=dict(exchange.request_headers),
            data=exchange.request_body,
            content_type=exchange.request_headers.get("content-type", "application/json"),
        )
        response = MockResponse(
            exchange.response_body,
            status_code=exchange.status,
            headers=dict(exchange.response_headers),
            content_type=exchange.response_headers.get("content-type", "").split(";")[0].strip(),
        )
        try:
            self._openapi.validate_response(request, response)
        except Exception as exc:  # openapi-core raises a family of errors; each is a finding
            return [_describe(exc)]
        return []


def _describe(exc: BaseException) -> str:
    """openapi-core's error and its causes (schema errors say which field is wrong)."""
    texts = [str(exc) or exc.__class__.__name__]
    causes = getattr(exc, "schema_errors", None) or ([exc.__cause__] if exc.__cause__ else [])
    for cause in causes:
        text = getattr(cause, "message", None) or str(cause)
        if text and not any(text in seen for seen in texts):
            texts.append(text)
    return "; ".join(texts)
