"""Acceptance 5: every response Schemathesis can provoke from the spec - errors included -
validates against the spec with openapi-core, an independent second validator.

Schemathesis drives the live stub (examples, coverage with negative cases, fuzzing, and the
stateful phase over the spec's links) with a fixed seed and a bounded number of examples;
each response is checked by openapi-core and by Schemathesis' own conformance checks.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import hypothesis
import pytest
import requests
import schemathesis
from conftest import SAMPLE_ID, SECRET, Stub
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_core.templating.paths.exceptions import OperationNotFound
from openapi_core.testing import MockRequest, MockResponse
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from vevents.server.auth import mint_token
from vevents.spec import contract, spec_path

pytestmark = pytest.mark.slow

CONFIG = SchemathesisConfig.from_str(
    """
seed = 20261124
[generation]
max-examples = 12
database = "none"
mode = "all"
[phases.stateful]
max-steps = 8
"""
)
schema = schemathesis.openapi.from_path(spec_path(), config=CONFIG)
OPENAPI = OpenAPI.from_file_path(spec_path())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
_LIST_OPERATIONS = {op.path for op in contract().operations if op.action == "list"}

SEEN: Counter[int] = Counter()
"""Status codes validated so far in this process: a test compares it before and after to judge its own
breadth (each test judges itself, so that the tests run in any order and on any pytest-xdist worker)."""

DELEGATED = mint_token(secret=SECRET, expires_in=24 * 3600)
APPLICATION = mint_token(secret=SECRET, roles=["VirtualEvent.Read.All"], expires_in=24 * 3600)


def _headers(case: Any) -> dict[str, str]:
    token = APPLICATION if case.path in _LIST_OPERATIONS and case.method == "GET" else DELEGATED
    return {"Authorization": f"Bearer {token}"}


def validate_with_openapi_core(response: Any) -> None:
    """Raise if openapi-core finds the response (status, headers, body) off the spec.

    A method the spec does not describe on a path has no operation to validate against; the
    spec says such requests answer 405 with `Allow` and the error envelope, which is the
    `4XX` response of the methods the path does describe: validate it as one of those.
    """
    SEEN[response.status_code] += 1
    headers = {
        name: ", ".join(values) if isinstance(values, list) else values for name, values in response.headers.items()
    }
    content_type = headers.get("content-type", headers.get("Content-Type", ""))
    openapi_response = MockResponse(response.content, response.status_code, headers, content_type)
    request = RequestsOpenAPIRequest(response.request)
    try:
        OPENAPI.validate_response(request, openapi_response)
    except OperationNotFound:
        assert response.status_code == 405, response.status_code
        allowed = headers.get("allow") or headers.get("Allow")
        assert allowed, "405 without Allow"
        url = urlsplit(response.request.url)
        described = MockRequest(
            f"{url.scheme}://{url.netloc}",
            allowed.split(",")[0].strip(),
            url.path,
            args=dict(parse_qsl(url.query)),
            headers=dict(response.request.headers),
        )
        OPENAPI.validate_response(described, openapi_response)


@schema.parametrize()
@hypothesis.settings(deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
def test_every_response_validates_with_openapi_core(case: Any, module_stub: Stub) -> None:
    response = case.call(base_url=f"{module_stub.base_url}/v1.0", headers=_headers(case))
    validate_with_openapi_core(response)
    case.validate_response(response, checks=CHECKS)


class Workflow(schema.as_state_machine()):  # type: ignore[misc]
    """The stateful phase: create -> get/update/publish/cancel chains over the spec's links."""

    base_url: str = ""

    def get_call_kwargs(self, case: Any) -> dict[str, Any]:
        return {"base_url": self.base_url, "headers": _headers(case)}  # a fresh dict each time

    def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
        validate_with_openapi_core(response)
        case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize("version", contract().versions)
def test_stateful_responses_validate_with_openapi_core(module_stub: Stub, version: str) -> None:
    before = SEEN.copy()
    Workflow.base_url = f"{module_stub.base_url}/{version}"
    Workflow.run(
        settings=hypothesis.settings(
            max_examples=15,
            stateful_step_count=8,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
    )
    # The chains reached the handlers (G7: with a wrong token every answer would be a valid 401)
    # and the lifecycle's refusals, not just the happy path.
    seen = SEEN - before
    assert {200, 201, 204, 409} <= set(seen), seen
    assert seen.total() > 60, seen


def test_sanity_a_valid_token_reaches_the_handlers(module_stub: Stub) -> None:
    # G7: a wrong token would make every case a documented 401 and the tests above pass.
    import httpx

    url = f"{module_stub.base_url}/v1.0/solutions/virtualEvents/webinars"
    assert httpx.get(url, headers={"Authorization": f"Bearer {APPLICATION}"}).status_code == 200


# Errors the generated cases rarely or never provoke (Schemathesis sends our token on every
# call and random ids are malformed, not unknown): provoke them on purpose, one per operation.
MISSING_ID = "00000000-0000-4000-8000-000000000000@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba"
ERROR_SCENARIOS = {
    "no token": (None, SAMPLE_ID, None),
    "garbage token": ("Bearer garbage", SAMPLE_ID, None),
    "no permission": (f"Bearer {mint_token(secret=SECRET, scopes=[], expires_in=24 * 3600)}", SAMPLE_ID, None),
    "unknown id": (f"Bearer {DELEGATED}", MISSING_ID, None),
    "too large": (f"Bearer {DELEGATED}", SAMPLE_ID, b"x" * 2_000_000),
}
PROVOKES = {
    "no token": {401},
    "garbage token": {401},
    "no permission": {403},
    "unknown id": {400, 404},
    "too large": {413},
}


@pytest.mark.parametrize(
    ("operation", "scenario"),
    [
        pytest.param(op, scenario, id=f"{op.operation_id}-{scenario}")
        for op in contract().operations
        for scenario in ERROR_SCENARIOS
        if op.id_parameter is not None or scenario != "unknown id"
    ],
)
def test_provoked_errors_validate_with_openapi_core(module_stub: Stub, operation: Any, scenario: str) -> None:
    authorization, event_id, body = ERROR_SCENARIOS[scenario]
    headers = {"Authorization": authorization} if authorization else {}
    if operation.action == "list" and scenario == "unknown id":
        headers = {"Authorization": f"Bearer {APPLICATION}"}
    path = operation.url_path(quote(event_id, safe="")) if operation.id_parameter else operation.path
    if body is not None:
        headers["Content-Type"] = "application/json"
    response = requests.request(
        operation.method, f"{module_stub.base_url}/v1.0{path}", headers=headers, data=body, timeout=10
    )
    # Each scenario reaches the error path it is for (an update of an unknown id carries no body,
    # which is refused first).
    assert response.status_code in PROVOKES[scenario], (scenario, response.status_code)
    OPENAPI.validate_response(RequestsOpenAPIRequest(response.request), RequestsOpenAPIResponse(response))


_ONE_OPERATION_PER_PATH = {op.path: op for op in contract().operations}


@pytest.mark.parametrize("operation", _ONE_OPERATION_PER_PATH.values(), ids=_ONE_OPERATION_PER_PATH.keys())
def test_undocumented_methods_answer_405_that_validates(module_stub: Stub, operation: Any) -> None:
    # The coverage phase sends these too, but not on every path in every run: on purpose here.
    path = operation.url_path(quote(SAMPLE_ID, safe="")) if operation.id_parameter else operation.path
    # DELETE where the path describes none (every path but a subscription's), else PUT.
    described = {op.method for op in contract().operations if op.path == operation.path}
    method = "PUT" if "DELETE" in described else "DELETE"
    response = requests.request(
        method, f"{module_stub.base_url}/v1.0{path}", headers={"Authorization": f"Bearer {DELEGATED}"}, timeout=10
    )
    assert response.status_code == 405, response.status_code
    validate_with_openapi_core(response)
