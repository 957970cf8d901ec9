"""Acceptance 4: the seed page's HTTP examples, and the spec's own examples, validate with openapi-core.

The seed is Graph's "virtualEvent: cancel" page (tests/data/seed-virtualevent-cancel.txt, a
verbatim copy of shared/seeds/000_931ec7eb2b2c5f0f.txt). Its request and response lines are
read from that file, never retyped here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.security.exceptions import SecurityProviderError
from openapi_core.security.factories import SecurityProviderFactory
from openapi_core.security.providers import BaseProvider
from openapi_core.testing import MockRequest, MockResponse

from vevents.spec import load_spec, spec_path
from vevents.specwalk import Walker

DATA = Path(__file__).parent / "data"
SEED = DATA / "seed-virtualevent-cancel.txt"
SHARED_SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_931ec7eb2b2c5f0f.txt"
GRAPH = "https://graph.microsoft.com"
BEARER = {"Authorization": "Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.e30."}
# Any id the examples use for a path parameter: the seed's sample key.
SAMPLE_KEY = "bce9a3ca-a310-48fa-baf3-1cedcd04bb3f@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba"


class _BearerProvider(BaseProvider):
    """openapi-core checks no oauth2 scheme (it warns instead); Graph's tokens are bearer tokens."""

    def __call__(self, parameters: RequestParameters) -> Any:
        scheme, _, token = parameters.header.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise SecurityProviderError("Missing bearer token.")
        return token


class _GraphSecurity(SecurityProviderFactory):
    PROVIDERS = {**SecurityProviderFactory.PROVIDERS, "oauth2": _BearerProvider}


@pytest.fixture(scope="module")
def openapi() -> OpenAPI:
    return OpenAPI.from_file_path(spec_path(), config=Config(security_provider_factory=_GraphSecurity()))


@pytest.fixture(scope="module")
def walker() -> Walker:
    return Walker(load_spec())


def seed_blocks() -> dict[str, tuple[dict[str, Any], list[str]]]:
    """The seed's fenced `http` blocks by blockType, with their metadata comment and lines."""
    text = SEED.read_text(encoding="utf-8")
    pattern = re.compile(r"<!-- (\{[^<>]*\})\s*-->\s*``` ?http\n(.*?)```", re.DOTALL)
    blocks = {}
    for meta, body in pattern.findall(text):
        metadata = json.loads(meta)
        blocks[metadata["blockType"]] = (metadata, [line for line in body.splitlines() if line.strip()])
    return blocks


def test_seed_copy_matches_shared_seed() -> None:
    if not SHARED_SEED.exists():
        pytest.skip(f"{SHARED_SEED} is not beside this checkout")
    assert SEED.read_bytes() == SHARED_SEED.read_bytes()


def test_seed_has_request_response_and_route_blocks() -> None:
    blocks = seed_blocks()
    assert set(blocks) == {"ignored", "request", "response"}
    assert blocks["request"][0]["sampleKeys"] == [SAMPLE_KEY]


def _seed_request(version: str, encode_at: bool) -> MockRequest:
    (line,) = seed_blocks()["request"][1]
    method, url = line.split()
    parts = urlsplit(url)
    path = parts.path.replace("/beta/", f"/{version}/", 1)
    if encode_at:
        path = quote(path, safe="/")
    return MockRequest(f"{parts.scheme}://{parts.netloc}", method, path, headers=dict(BEARER))


@pytest.mark.parametrize("encode_at", [False, True], ids=["raw-at", "percent-encoded-at"])
@pytest.mark.parametrize("version", ["beta", "v1.0"])
def test_seed_request_validates(openapi: OpenAPI, version: str, encode_at: bool) -> None:
    request = _seed_request(version, encode_at)
    result = openapi.unmarshal_request(request)
    assert result.errors == []
    (key,) = seed_blocks()["request"][0]["sampleKeys"]
    assert result.parameters.path == {"virtualEventTownhall-id": quote(key) if encode_at else key}


def test_seed_request_without_bearer_token_is_rejected(openapi: OpenAPI) -> None:
    request = _seed_request("beta", encode_at=False)
    request.parameters.header.clear()  # type: ignore[union-attr]  # MockRequest's headers: a dict
    assert [type(e).__name__ for e in openapi.unmarshal_request(request).errors] == ["SecurityValidationError"]


@pytest.mark.parametrize("version", ["beta", "v1.0"])
def test_seed_response_validates(openapi: OpenAPI, version: str) -> None:
    (status_line,) = seed_blocks()["response"][1]
    match = re.fullmatch(r"HTTP/1\.1 (\d{3}) (.+)", status_line)
    assert match is not None and match[2] == "No Content"
    response = MockResponse(b"", status_code=int(match[1]), content_type=None)  # type: ignore[arg-type]  # a 204 has none
    result = openapi.unmarshal_response(_seed_request(version, encode_at=False), response)
    assert result.errors == []
    assert result.data is None


def test_seed_response_with_a_body_is_rejected(openapi: OpenAPI) -> None:
    response = MockResponse(b'{"status": "canceled"}', status_code=201)
    assert openapi.unmarshal_response(_seed_request("beta", encode_at=False), response).errors != []


def test_seed_route_templates_are_spec_operations(walker: Walker) -> None:
    routes = {(method, path) for path, method, _ in walker.operations()}
    lines = seed_blocks()["ignored"][1]
    assert len(lines) == 2
    for line in lines:
        method, template = line.split()
        collection = template.split("/{id}/")[0]
        matches = {p for (m, p) in routes if m == method.lower() and re.fullmatch(
            re.escape(collection) + r"/\{[^}]+\}/" + re.escape(template.rsplit("/", 1)[1]), p)}  # fmt: skip
        assert len(matches) == 1, line


# ---------------------------------------------------------------- the spec's own examples


def _examples(walker: Walker, media: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    if "example" in media:
        yield "example", media["example"]
    for name, example in media.get("examples", {}).items():
        yield name, walker.resolve(example)["value"]


def _path_examples() -> dict[str, str]:
    """Each path parameter's own example (a subscription id is a GUID, not an event id)."""
    walker = Walker(load_spec())
    examples: dict[str, str] = {}
    for parameter in walker.document.get("components", {}).get("parameters", {}).values():
        parameter = walker.resolve(parameter)
        if parameter.get("in") == "path" and "example" in parameter:
            examples[parameter["name"]] = str(parameter["example"])
    return examples


PATH_EXAMPLES = _path_examples()


def _operation_url(path: str) -> str:
    def fill(match: re.Match[str]) -> str:
        return quote(PATH_EXAMPLES.get(match.group(1), SAMPLE_KEY), safe="")

    return "/v1.0" + re.sub(r"\{([^}]+)\}", fill, path)


def spec_examples() -> Iterator[Any]:
    walker = Walker(load_spec())
    for path, method, operation in walker.operations():
        body = walker.resolve(operation.get("requestBody", {}))
        for media_type, media in body.get("content", {}).items():
            for name, value in _examples(walker, media):
                yield pytest.param(
                    path, method, None, media_type, value, id=f"{operation['operationId']}-request-{name}"
                )
        for status, response in operation["responses"].items():
            for media_type, media in walker.resolve(response).get("content", {}).items():
                for name, value in _examples(walker, media):
                    yield pytest.param(
                        path, method, status, media_type, value, id=f"{operation['operationId']}-{status}-{name}"
                    )


EXAMPLES = list(spec_examples())


def test_spec_has_examples_for_requests_successes_and_errors() -> None:
    ids = {param.id for param in EXAMPLES}
    assert "getWebinar-200-published" in ids
    assert "createWebinar-request-new" in ids
    assert any(i.endswith("-404-example") for i in ids)


@pytest.mark.parametrize(("path", "method", "status", "media_type", "value"), EXAMPLES)
def test_spec_example_validates(
    openapi: OpenAPI, path: str, method: str, status: str | None, media_type: str, value: Any
) -> None:
    data = json.dumps(value).encode()
    if status is None:
        request = MockRequest(GRAPH, method, _operation_url(path), headers=dict(BEARER), data=data,
                              content_type=media_type)  # fmt: skip
        assert openapi.unmarshal_request(request).errors == []
        return
    request = MockRequest(GRAPH, method, _operation_url(path), headers=dict(BEARER))
    response = MockResponse(data, status_code=int(status), content_type=media_type)
    result = openapi.unmarshal_response(request, response)
    assert result.errors == []
    if isinstance(value, dict) and "id" in value:
        assert value["id"] == SAMPLE_KEY
