"""The contract as data: `spec/virtual-events.yaml`, read once and queried everywhere.

The stub, the conformance suite and the tests ask this module which operations exist, which
permissions each needs, what the lifecycle table says and which statuses are valid, so that
nothing in the code restates the specification by hand.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

__all__ = [
    "SPEC_FILENAME",
    "Contract",
    "Operation",
    "Outcome",
    "contract",
    "load_spec",
    "spec_path",
    "spec_text",
]

SPEC_FILENAME = "virtual-events.yaml"
SECURITY_SCHEME = "microsoftIdentityPlatform"
_DELEGATED_FLOW = "authorizationCode"
_APPLICATION_FLOW = "clientCredentials"


def spec_text() -> str:
    """The specification's YAML text, from the installed package (works from a wheel too)."""
    return importlib.resources.files(__name__).joinpath(SPEC_FILENAME).read_text(encoding="utf-8")


def spec_path() -> str:
    """A filesystem path to the specification, for tools that insist on a file."""
    return str(importlib.resources.files(__name__).joinpath(SPEC_FILENAME))


# libyaml's parser when PyYAML was built with it (the wheels are): about 10 times faster than
# the pure-Python one, which took ~0.1 s per parse of the spec, at every start-up.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _parsed() -> Mapping[str, Any]:
    return yaml.load(spec_text(), Loader=_Loader)


def load_spec() -> dict[str, Any]:
    """A fresh, mutable copy of the parsed specification (callers may annotate it).

    Parsed once per process; each call deep-copies that (sharing between YAML aliases kept).
    """
    return copy.deepcopy(_parsed())  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one lifecycle action does to an event in one state."""

    status: int
    to: str
    documented: bool
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the contract, with what the code needs to know about it."""

    operation_id: str
    method: str
    path: str
    action: str
    kind: str
    delegated_scopes: frozenset[str]
    application_scopes: frozenset[str]
    has_request_body: bool

    @property
    def id_parameter(self) -> str | None:
        """The name of the path parameter that carries the event id, if any."""
        start = self.path.find("{")
        return self.path[start + 1 : self.path.index("}")] if start >= 0 else None

    def url_path(self, event_id: str | None = None) -> str:
        """The path with the event id filled in (the caller encodes it as it wishes)."""
        if self.id_parameter is None:
            return self.path
        if event_id is None:
            raise ValueError(f"{self.operation_id} needs an event id")
        return self.path.replace("{" + self.id_parameter + "}", event_id)


@dataclass(frozen=True, slots=True)
class Contract:
    """The queries the rest of the project asks of the specification."""

    operations: tuple[Operation, ...]
    lifecycle: Mapping[str, Mapping[str, Outcome]]
    create_outcome: Outcome
    statuses: tuple[str, ...]
    select_properties: Mapping[str, tuple[str, ...]]
    odata_types: Mapping[str, str]
    versions: tuple[str, ...]
    read_only_properties: Mapping[str, frozenset[str]]
    """Per kind, the properties a client may not set (`readOnly` on the property or its type)."""
    empty_collections: Mapping[str, frozenset[str]]
    """Per kind, the collection properties that are never null (an unset one is `[]`)."""
    roles: Mapping[str, frozenset[str]]
    """Per role (organizer, coOrganizer, anyone), the actions it may take on an event."""
    member_properties: Mapping[str, Mapping[str, frozenset[str]]]
    """Per kind, per property whose value is an object (or array of objects) of a closed type,
    the members that type has. Types carrying `@odata.type` are left out: derived types
    (e.g. communicationsGuestIdentity for identity) may add members."""

    def operation(self, operation_id: str) -> Operation:
        for op in self.operations:
            if op.operation_id == operation_id:
                return op
        raise KeyError(operation_id)

    def find(self, *, action: str, kind: str) -> Operation:
        """The operation that performs `action` on `kind` (webinars, townhalls or events)."""
        for op in self.operations:
            if op.action == action and op.kind == kind:
                return op
        raise KeyError(f"{action} on {kind}")

    def outcome(self, action: str, state: str) -> Outcome:
        return self.lifecycle[action][state]

    @property
    def kinds(self) -> tuple[str, ...]:
        """The concrete event kinds (collections), in spec order: webinars, townhalls."""
        return tuple(self.odata_types)


def _kind_of(path: str) -> str:
    return path.split("/")[3]


def _scopes(spec: Mapping[str, Any], security: list[Mapping[str, list[str]]]) -> tuple[frozenset[str], frozenset[str]]:
    flows = spec["components"]["securitySchemes"][SECURITY_SCHEME]["flows"]
    delegated_names = set(flows[_DELEGATED_FLOW]["scopes"])
    application_names = set(flows[_APPLICATION_FLOW]["scopes"])
    required = {scope for requirement in security for scope in requirement.get(SECURITY_SCHEME, [])}
    return frozenset(required & delegated_names), frozenset(required & application_names)


def _operations(spec: Mapping[str, Any]) -> tuple[Operation, ...]:
    result = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            delegated, application = _scopes(spec, op.get("security", spec["security"]))
            result.append(
                Operation(
                    operation_id=op["operationId"],
                    method=method.upper(),
                    path=path,
                    action=op["x-vevents-action"],
                    kind=_kind_of(path),
                    delegated_scopes=delegated,
                    application_scopes=application,
                    has_request_body="requestBody" in op,
                )
            )
    return tuple(result)


def _lifecycle(table: Mapping[str, Any]) -> dict[str, dict[str, Outcome]]:
    return {action: {state: Outcome(**row) for state, row in rows.items()} for action, rows in table["actions"].items()}


def _select_properties(spec: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    params = spec["components"]["parameters"]
    return {
        "webinars": tuple(params["webinarSelect"]["schema"]["items"]["enum"]),
        "townhalls": tuple(params["townhallSelect"]["schema"]["items"]["enum"]),
    }


def _odata_types(spec: Mapping[str, Any]) -> dict[str, str]:
    mapping = spec["components"]["schemas"]["virtualEvent"]["discriminator"]["mapping"]
    by_schema = {ref.rsplit("/", 1)[1]: odata_type for odata_type, ref in mapping.items()}
    return {"webinars": by_schema["virtualEventWebinar"], "townhalls": by_schema["virtualEventTownhall"]}


def _resolve(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _properties(spec: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    schema = _resolve(spec, schema)
    result: dict[str, Mapping[str, Any]] = {}
    for part in schema.get("allOf", ()):
        result.update(_properties(spec, part))
    result.update(schema.get("properties", {}))
    return result


def _kind_properties(spec: Mapping[str, Any]) -> dict[str, dict[str, Mapping[str, Any]]]:
    mapping = spec["components"]["schemas"]["virtualEvent"]["discriminator"]["mapping"]
    by_type = {odata_type: {"$ref": ref} for odata_type, ref in mapping.items()}
    return {kind: _properties(spec, by_type[odata_type]) for kind, odata_type in _odata_types(spec).items()}


def _read_only_properties(spec: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    return {
        kind: frozenset(
            name for name, prop in properties.items() if prop.get("readOnly") or _resolve(spec, prop).get("readOnly")
        )
        for kind, properties in _kind_properties(spec).items()
    }


def _empty_collections(spec: Mapping[str, Any]) -> dict[str, frozenset[str]]:
    return {
        kind: frozenset(
            name
            for name, prop in properties.items()
            if _resolve(spec, prop).get("type") == "array" and not _resolve(spec, prop).get("nullable")
        )
        for kind, properties in _kind_properties(spec).items()
    }


def _member_properties(spec: Mapping[str, Any]) -> dict[str, dict[str, frozenset[str]]]:
    result: dict[str, dict[str, frozenset[str]]] = {}
    for kind, properties in _kind_properties(spec).items():
        members: dict[str, frozenset[str]] = {}
        for name, prop in properties.items():
            schema = _resolve(spec, prop)
            if schema.get("type") == "array":
                schema = _resolve(spec, schema.get("items", {}))
            names = _properties(spec, schema)
            if names and "@odata.type" not in names:
                members[name] = frozenset(names)
        result[kind] = members
    return result


@functools.cache
def contract() -> Contract:
    """The contract, parsed once per process."""
    spec = _parsed()
    table = spec["info"]["x-vevents-lifecycle"]
    versions = spec["servers"][-1]["variables"]["version"]["enum"]
    return Contract(
        operations=_operations(spec),
        lifecycle=_lifecycle(table),
        create_outcome=Outcome(**table["create"]),
        statuses=tuple(spec["components"]["schemas"]["virtualEventStatus"]["enum"]),
        select_properties=_select_properties(spec),
        odata_types=_odata_types(spec),
        versions=tuple(versions),
        read_only_properties=_read_only_properties(spec),
        empty_collections=_empty_collections(spec),
        roles={role: frozenset(actions) for role, actions in spec["info"]["x-vevents-roles"].items()},
        member_properties=_member_properties(spec),
    )
