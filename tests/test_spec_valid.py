"""Acceptance 1: the contract is a valid OpenAPI 3.0.3 document that every tool loads quietly.

Also the document's own rules that no validator knows: `$select` enums equal the schemas'
property names, every operation names its lifecycle action, links point at real operations
and parameters, and every error answer is Graph's error envelope.
"""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import connexion
import pytest
import schemathesis
from connexion.resolver import Resolver
from connexion.security import OAuthSecurityHandler
from openapi_core import OpenAPI
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
from schemathesis.core.result import Ok

from vevents.spec import GUID_PATTERN, contract, load_yaml_file, ref_of, spec_path
from vevents.specwalk import Walker

SPEC = Path(spec_path())
KINDS = {"webinars": "virtualEventWebinar", "townhalls": "virtualEventTownhall"}
ACTIONS = {"list", "create", "get", "update", "publish", "cancel"}
# Change notifications (issue 23): their own actions, outside the event lifecycle table.
SUBSCRIPTION_ACTIONS = {"subscribe", "listSubscriptions", "getSubscription", "renewSubscription", "deleteSubscription"}
LIST_ACTIONS = {"count", "listByUserRole", "listByUserIdAndRole", "setExternalEventInformation"}
"""Actions outside the lifecycle table: lists, `$count`, and setExternalEventInformation (which
takes update's row: tests/test_lists.py)."""
EXPECTED_OPERATIONS = {
    *(("get", f"/solutions/virtualEvents/{kind}") for kind in KINDS),
    *(("post", f"/solutions/virtualEvents/{kind}") for kind in KINDS),
    *(("get", f"/solutions/virtualEvents/{kind}/{{{schema}-id}}") for kind, schema in KINDS.items()),
    *(("patch", f"/solutions/virtualEvents/{kind}/{{{schema}-id}}") for kind, schema in KINDS.items()),
    *(
        ("post", f"/solutions/virtualEvents/{kind}/{{{schema}-id}}/{action}")
        for kind, schema in [*KINDS.items(), ("events", "virtualEvent")]
        for action in ("publish", "cancel", "setExternalEventInformation")
    ),
    *(("get", f"/solutions/virtualEvents/{kind}/$count") for kind in KINDS),
    *(("get", f"/solutions/virtualEvents/{kind}/getByUserRole(role='{{role}}')") for kind in KINDS),
    *(
        ("get", f"/solutions/virtualEvents/{kind}/getByUserIdAndRole(userId='{{userId}}',role='{{role}}')")
        for kind in KINDS
    ),
    ("post", "/subscriptions"),
    ("get", "/subscriptions"),
    ("get", "/subscriptions/{subscription-id}"),
    ("patch", "/subscriptions/{subscription-id}"),
    ("delete", "/subscriptions/{subscription-id}"),
}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return dict(load_yaml_file(SPEC))


@pytest.fixture(scope="module")
def walker(document: dict[str, Any]) -> Walker:
    return Walker(document)


@contextmanager
def no_warnings() -> Iterator[None]:
    """Fail if the block emits any warning at all (library import-time noise happens earlier)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    assert [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught] == []


def test_spec_validates_with_openapi_spec_validator() -> None:
    spec_dict, base_uri = read_from_filename(str(SPEC))
    with no_warnings():
        validate(spec_dict, base_uri=base_uri)
    assert spec_dict["openapi"] == "3.0.3"


class _AnyToken(OAuthSecurityHandler):  # type: ignore[misc]
    """Stands in for the stub's token check: this test is about the document, not the server."""

    def get_tokeninfo_func(self, security_definition: dict[str, Any]) -> Any:
        return lambda token: None


def test_spec_loads_in_connexion_without_warnings(caplog: pytest.LogCaptureFixture) -> None:
    resolved: list[str] = []

    def placeholder() -> None:
        raise AssertionError("the document test never calls an operation")

    def resolve(operation_id: str) -> Any:
        resolved.append(operation_id)
        return placeholder

    with no_warnings(), caplog.at_level(logging.WARNING):
        app = connexion.AsyncApp(__name__)
        app.add_api(SPEC, resolver=Resolver(function_resolver=resolve), security_map={"oauth2": _AnyToken})
        with app.test_client() as client:  # builds the middleware stack: every operation is resolved now
            served = client.get("/v1.0/openapi.json")
    assert served.status_code == 200
    assert len(served.json()["paths"]) == len({op.path for op in contract().operations})
    assert set(resolved) == {op.operation_id for op in contract().operations}
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_spec_loads_in_openapi_core_without_warnings() -> None:
    with no_warnings():
        openapi = OpenAPI.from_file_path(str(SPEC))
        openapi.check_spec()
        # Building the validators resolves every operation, parameter and schema.
        assert openapi.request_validator is not None
        assert openapi.response_validator is not None
    assert openapi.spec["openapi"] == "3.0.3"


def test_spec_loads_in_schemathesis_with_every_operation() -> None:
    with no_warnings():
        schema = schemathesis.openapi.from_path(SPEC)
        results = list(schema.get_all_operations())
        schema.as_state_machine()
    assert all(isinstance(result, Ok) for result in results), [r for r in results if not isinstance(r, Ok)]
    operations = {(op.method.lower(), op.path) for op in (result.ok() for result in results if isinstance(result, Ok))}
    assert len(results) == len(contract().operations)
    assert operations == {(op.method.lower(), op.path) for op in contract().operations}
    assert operations >= EXPECTED_OPERATIONS


def test_spec_deletes_only_subscriptions_presenters_and_questions(walker: Walker) -> None:
    """Graph has no DELETE for virtual events (a canceled event stays); subscriptions, presenters
    and registration questions are deleted."""
    deletes = [path for path, method, _ in walker.operations() if method == "delete"]
    others = [path for path in deletes if path != "/subscriptions/{subscription-id}"]
    assert "/subscriptions/{subscription-id}" in deletes
    assert others and all(path.rsplit("/", 2)[-2] in ("presenters", "questions") for path in others), deletes


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_select_enum_equals_schema_properties(walker: Walker, kind: str) -> None:
    flat = walker.flatten({"$ref": f"#/components/schemas/{KINDS[kind]}"})
    select = contract().select_properties[kind]
    assert len(select) == len(set(select))
    assert set(select) == set(flat.properties)


def test_every_operation_names_its_lifecycle_action(walker: Walker, document: dict[str, Any]) -> None:
    lifecycle = document["info"]["x-vevents-lifecycle"]
    for path, method, operation in walker.operations():
        action = operation.get("x-vevents-action")
        if path.startswith("/subscriptions"):
            assert action in SUBSCRIPTION_ACTIONS, f"{method.upper()} {path}: x-vevents-action {action!r}"
            continue
        if action in lifecycle["subresources"]:  # registrations, questions, sessions, presenters
            continue
        assert action in ACTIONS | LIST_ACTIONS, f"{method.upper()} {path}: x-vevents-action {action!r}"
        assert action in {"list", "create"} | LIST_ACTIONS or action in lifecycle["actions"], action


def test_operation_ids_are_unique(walker: Walker) -> None:
    ids = [operation["operationId"] for _, _, operation in walker.operations()]
    assert len(ids) == len(set(ids)) == len(contract().operations)


def _links(walker: Walker) -> Iterator[tuple[str, str, Mapping[str, Any], Any]]:
    for path, method, operation in walker.operations():
        for status, response in operation["responses"].items():
            for name, link in walker.resolve(response).get("links", {}).items():
                yield f"{method.upper()} {path} {status} {name}", path, operation, walker.resolve(link)


def test_links_target_existing_operations_and_parameters(walker: Walker) -> None:
    by_id = {operation["operationId"]: (path, method) for path, method, operation in walker.operations()}
    links = list(_links(walker))
    assert len(links) == 12
    for where, _, operation, link in links:
        assert link["operationId"] in by_id, where
        target_path, target_method = by_id[link["operationId"]]
        target_params = {name for _, name in walker.parameters(target_path, target_method)}
        assert set(link["parameters"]) <= target_params, where
        assert set(link["parameters"]) >= {n for (loc, n) in walker.parameters(target_path, target_method)
                                            if loc == "path"}, where  # fmt: skip
        for expression in link["parameters"].values():
            assert expression.startswith("$response.body#/"), where
            field = expression.split("#/", 1)[1]
            response_schema = operation["responses"]["201"]["content"]["application/json"]["schema"]
            assert field in walker.flatten(response_schema).properties, where


def _error_responses(walker: Walker) -> Iterator[tuple[str, Any]]:
    for path, method, operation in walker.operations():
        for status, response in operation["responses"].items():
            if str(status)[0] in "45" or status == "default":
                yield f"{method.upper()} {path} {status}", response
    successes = {
        ref_of(response)
        for _, _, operation in walker.operations()
        for status, response in operation["responses"].items()
        if str(status).startswith("2")
    }
    for name, response in walker.document["components"]["responses"].items():
        if f"#/components/responses/{name}" not in successes:
            yield f"components.responses.{name}", response


def test_every_error_response_is_the_odata_error_envelope(walker: Walker) -> None:
    count = 0
    for where, response in _error_responses(walker):
        content = walker.resolve(response).get("content", {})
        assert list(content) == ["application/json"], where
        assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/ODataError"}, where
        count += 1
    assert count > 100


@pytest.mark.parametrize("status", ["400", "401", "403", "404", "409", "429", "500", "503"])
def test_each_documented_error_status_appears_on_some_operation(walker: Walker, status: str) -> None:
    assert any(status in operation["responses"] for _, _, operation in walker.operations())


@pytest.mark.parametrize("name", ["TooManyRequests", "ServiceUnavailable"])
def test_throttling_responses_carry_retry_after(document: dict[str, Any], name: str) -> None:
    headers = document["components"]["responses"][name]["headers"]
    assert headers["Retry-After"] == {"$ref": "#/components/headers/Retry-After"}


def test_method_not_allowed_response_carries_allow(document: dict[str, Any]) -> None:
    assert "Allow" in document["components"]["responses"]["MethodNotAllowed"]["headers"]


def test_every_operation_requires_a_graph_scope(walker: Walker, document: dict[str, Any]) -> None:
    flows = document["components"]["securitySchemes"]["microsoftIdentityPlatform"]["flows"]
    known = {scope for flow in flows.values() for scope in flow["scopes"]}
    for path, method, operation in walker.operations():
        security = operation.get("security", document["security"])
        scopes = [scope for requirement in security for scopes in requirement.values() for scope in scopes]
        assert scopes, f"{method.upper()} {path}"
        assert set(scopes) <= known, f"{method.upper()} {path}"


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_request_bodies_list_exactly_the_writable_properties_and_members(document: dict[str, Any], kind: str) -> None:
    """The request-body schemas close what the stub closes (issue 12): their property lists repeat
    the resource type's writable properties and the members of its closed types, and must not drift."""
    the_contract = contract()
    request = document["components"]["schemas"][f"{KINDS[kind]}Request"]["allOf"][1]
    writable = set(the_contract.select_properties[kind]) - the_contract.read_only_properties[kind]
    assert request["additionalProperties"] is False
    assert set(request["properties"]) == writable
    for name, members in the_contract.member_properties[kind].items():
        closed = request["properties"][name]
        closed = closed.get("items", closed)
        assert closed["additionalProperties"] is False, name
        assert set(closed["properties"]) == members | {"@odata.type"}, name
    for op in the_contract.operations:
        if op.kind == kind and op.action in ("create", "update"):
            body = document["paths"][op.path][op.method.lower()]["requestBody"]
            schema = body["content"]["application/json"]["schema"]
            refs = [ref_of(schema)] + [ref_of(part) for part in schema.get("allOf", [])]
            assert f"#/components/schemas/{KINDS[kind]}Request" in refs, op.operation_id


def test_id_parameters_match_guid_at_tenant_guid(document: dict[str, Any]) -> None:
    """One GUID pattern (vevents.spec.GUID_PATTERN): the spec's id parameters are built from it."""
    expected = f"^{GUID_PATTERN}((@|%40){GUID_PATTERN})?$"
    # The event id parameters (a sub-resource's id or key is the handler's to check, named in the message).
    event_keys = ("virtualEvent", "virtualEventWebinar", "virtualEventTownhall")
    parameters = [p for p in document["components"]["parameters"].values() if p.get("x-ms-docs-key-type") in event_keys]
    assert parameters and all(p["schema"]["pattern"] == expected for p in parameters)
    assert contract().id_pattern == expected
    assert re.fullmatch(expected, contract().sample.event_id)
    assert re.fullmatch(expected, contract().sample.event_id.replace("@", "%40"))
