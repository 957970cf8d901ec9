"""The contract as data: `spec/virtual-events.yaml`, read once and queried everywhere.

The stub, the conformance suite and the tests ask this module which operations exist, which
permissions each needs, what the lifecycle table says and which statuses are valid, so that
nothing in the code restates the specification by hand.

It is also the project's only YAML reader and only `$ref` resolver, so that every document
(the shipped spec, another version of it for `vevents diff`, a seed file, a cassette) is
parsed the same way (`parse_yaml`, `load_yaml_file`) and every reference is followed the same
way (`resolve`, `ref_of`). `tests/test_spec_single_reader.py` holds the rest of the tree to it.

    contract()          the shipped spec's `Contract`: operations, routes (`route`,
                        `methods_at`), security, lifecycle, roles, error codes, properties,
                        `$select` enums, states, the sample event, the id pattern
    load_spec()         a mutable copy of the parsed shipped spec (for Connexion)
    SpecDocument        any OpenAPI document (`from_path`) with its `resolve`
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vevents.spec.notifications import notification_rules as _notification_rules

if typing.TYPE_CHECKING:
    from vevents.spec.notifications import NotificationRules

__all__ = [
    "GUID_PATTERN",
    "SECURITY_SCHEME",
    "SPEC_FILENAME",
    "Contract",
    "DocumentError",
    "Operation",
    "Outcome",
    "Route",
    "Sample",
    "SpecDocument",
    "contract",
    "load_spec",
    "load_yaml_file",
    "parse_yaml",
    "ref_of",
    "resolve",
    "singular",
    "spec_path",
    "spec_text",
]

SPEC_FILENAME = "virtual-events.yaml"
SECURITY_SCHEME = "microsoftIdentityPlatform"
_DELEGATED_FLOW = "authorizationCode"
_APPLICATION_FLOW = "clientCredentials"
GUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
"""A GUID as Graph writes them (any case). The spec's id parameters are built from it
(`tests/test_spec_valid.py` checks that they are)."""


def spec_text() -> str:
    """The specification's YAML text, from the installed package (works from a wheel too)."""
    return importlib.resources.files(__name__).joinpath(SPEC_FILENAME).read_text(encoding="utf-8")


def spec_path() -> str:
    """A filesystem path to the specification, for tools that insist on a file."""
    return str(importlib.resources.files(__name__).joinpath(SPEC_FILENAME))


# libyaml's parser when PyYAML was built with it (the wheels are): about 10 times faster than
# the pure-Python one, which took ~0.1 s per parse of the spec, at every start-up.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DocumentError(ValueError):
    """A YAML/JSON document cannot be parsed, or a `$ref` in it cannot be followed."""


def parse_yaml(text: str) -> Any:
    """The data of a YAML (or JSON) text; DocumentError if it is neither.

    JSON is YAML, but PyYAML reads it about 100 times slower than `json` does: a JSON text is
    read with `json` (a large JSON seed or cassette then loads in a fraction of a second).
    """
    if text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            pass  # YAML flow style, or invalid: let PyYAML parse it or explain the error
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise DocumentError(str(exc)) from exc


def load_yaml_file(path: str | Path) -> Any:
    """The data of a YAML or JSON file (OSError/UnicodeDecodeError if unreadable, DocumentError
    if unparsable). The one file reader for specs, seeds and cassettes."""
    return parse_yaml(Path(path).read_text(encoding="utf-8"))


def ref_of(node: Any) -> str | None:
    """The `$ref` of a reference object, or None for anything else."""
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str):
            return ref
    return None


def _pointer(document: Mapping[str, Any], ref: str) -> Any:
    node: Any = document
    for raw in ref[2:].split("/"):
        key = raw.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or key not in node:
            raise DocumentError(f"dangling reference {ref!r}")
        node = node[key]
    return node


def resolve(document: Mapping[str, Any], node: Any) -> Any:
    """Follow local `$ref`s (JSON pointers into `document`) until a node that is not a reference.

    The project's one resolver: DocumentError on a remote, dangling or circular reference.
    """
    seen: set[str] = set()
    ref = ref_of(node)
    while ref is not None:
        if ref in seen or not ref.startswith("#/"):
            raise DocumentError(f"cannot resolve {ref!r}")
        seen.add(ref)
        node = _pointer(document, ref)
        ref = ref_of(node)
    return node


@dataclass(frozen=True, slots=True)
class SpecDocument:
    """Any parsed OpenAPI document (another version of the spec, Microsoft's extract)."""

    root: Mapping[str, Any]

    @classmethod
    def from_path(cls, path: str | Path) -> SpecDocument:
        """Read a YAML or JSON document (errors as `load_yaml_file`; DocumentError if not a mapping)."""
        root = load_yaml_file(path)
        if not isinstance(root, Mapping):
            raise DocumentError(f"{path}: not a mapping at the top")
        return cls(root)

    def resolve(self, node: Any) -> Any:
        return resolve(self.root, node)


@functools.cache
def _parsed() -> Mapping[str, Any]:
    return yaml.load(spec_text(), Loader=_Loader)  # type: ignore[no-any-return]


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
    security: tuple[frozenset[str], ...] = ()
    """The security alternatives: a token must grant every scope of one of them."""
    parameters: tuple[Mapping[str, Any], ...] = field(default=(), repr=False)
    """Path-level then operation-level parameters, `$ref`s resolved."""
    request_example: Mapping[str, Any] | None = field(default=None, repr=False)
    """The first example of the request body, `$ref`s resolved (None: no body or no example)."""

    @property
    def select(self) -> tuple[str, ...] | None:
        """The `$select` enum, when the operation takes `$select`."""
        for parameter in self.parameters:
            if parameter.get("in") == "query" and parameter.get("name") == "$select":
                return tuple(parameter["schema"]["items"]["enum"])
        return None

    @property
    def id_parameter(self) -> str | None:
        """The name of the path parameter that carries the event id, if any: a whole segment
        (`{virtualEvent-id}`), not a function's parameter (`getByUserRole(role='{role}')`)."""
        for segment in self.path.split("/"):
            if segment.startswith("{") and segment.endswith("}"):
                return segment[1:-1]
        return None

    @property
    def path_parameters(self) -> tuple[str, ...]:
        """Every path parameter's name, in path order: the event id first, then a sub-resource's
        id or key (`virtualEventRegistration-id`, `email`, ...)."""
        return tuple(re.findall(r"\{([^}]+)\}", self.path))

    def url_path(self, event_id: str | None = None, *more: str) -> str:
        """The path with the event id (and any further path parameters, in order) filled in;
        the caller encodes them as it wishes. Parameters not given stay as `{name}`."""
        names = self.path_parameters
        if self.id_parameter is None:  # no event id (a function's arguments are the caller's to fill)
            return self.path
        if event_id is None or len(more) > len(names) - 1:
            raise ValueError(f"{self.operation_id} takes {len(names)} path parameter(s): {', '.join(names)}")
        path = self.path
        for name, value in zip(names, (event_id, *more), strict=False):
            path = path.replace("{" + name + "}", value)
        return path


@dataclass(frozen=True, slots=True)
class Sample:
    """The documentation's sample event, its tenant and organizer (`info.x-vevents-sample`)."""

    event_id: str
    tenant: str
    organizer: str
    organizer_name: str


@dataclass(frozen=True, slots=True)
class Route:
    """What a request path names: the operation, the version segment and the raw id segment."""

    operation: Operation
    version: str | None
    event_id: str | None
    ids: tuple[str, ...] = ()
    """Every path parameter's raw segment value, in path order (the event id first)."""


# A path segment that names a member by key, as Graph's `registrations(email='{email}')`.
_KEY_SEGMENT = re.compile(r"^(\w+)\((\w+)='(.*)'\)$", re.DOTALL)


def _template_segment(segment: str) -> str:
    """A spec path segment as the matcher keys it: "" for a parameter, `name(key='')` for a key segment."""
    if segment.startswith("{"):
        return ""
    found = _KEY_SEGMENT.match(segment)
    return f"{found.group(1)}({found.group(2)}='')" if found else segment


def _segment_key(segment: str) -> str:
    """A path segment as the matcher keys it: an OData function call (`getByUserRole(...)`)
    by its name alone, whatever its arguments; any other segment as it is."""
    if segment.endswith(")") and "(" in segment:
        return segment[: segment.index("(")] + "()"
    return segment


class _Routes:
    """The one path matcher: (method, path segments with "" for each id) -> operation.

    A dict lookup per candidate set of id positions (a handful per spec), so that the fast
    path can afford it on every request. A key segment after the event id
    (`registrations(email='...')`) is normalised to its template, its value kept as an id; any
    other function segment is keyed by its name (`_segment_key`): its arguments are the
    handler's to read.
    """

    def __init__(self, operations: tuple[Operation, ...], versions: tuple[str, ...]) -> None:
        self.versions = frozenset(versions)
        self.by_key: dict[tuple[str, tuple[str, ...]], Operation] = {}
        self.methods: dict[tuple[str, ...], set[str]] = {}
        self.key_segments: set[str] = set()
        positions: set[tuple[int, ...]] = set()
        for op in operations:
            parts = op.path.split("/")[1:]
            template = tuple(
                _template_segment(s) if s.startswith("{") or any(p.startswith("{") for p in parts[:i])
                else _segment_key(s)
                for i, s in enumerate(parts)
            )  # fmt: skip
            self.by_key[(op.method, template)] = op
            self.methods.setdefault(template, set()).add(op.method)
            positions.add(tuple(i for i, s in enumerate(template) if s == ""))
            self.key_segments.update(s for s in template if s.endswith("='')"))
        self.positions = tuple(sorted(positions, key=lambda p: (len(p), p)))

    def _normalised(self, segments: list[str]) -> tuple[list[str], dict[int, str]]:
        keys: dict[int, str] = {}
        normalised = list(segments)
        for index, segment in enumerate(segments):
            found = _KEY_SEGMENT.match(segment) if segment.endswith("')") else None
            if found and (template := f"{found.group(1)}({found.group(2)}='')") in self.key_segments:
                normalised[index] = template
                keys[index] = found.group(3)
        for index, segment in enumerate(normalised):
            if index not in keys:
                normalised[index] = _segment_key(segment)
        return normalised, keys

    def find(self, segments: list[str]) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
        segments, keys = self._normalised(segments)
        for position in self.positions:
            if position and (position[-1] >= len(segments) or not all(segments[i] for i in position)):
                continue
            key = tuple("" if i in position else s for i, s in enumerate(segments))
            if key in self.methods:
                ids = {**{i: segments[i] for i in position}, **keys}
                return key, tuple(ids[i] for i in sorted(ids))
        return None

    def split(self, path: str) -> tuple[str | None, list[str]]:
        segments = path.split("/")[1:]
        if segments and segments[0] in self.versions:
            return segments[0], segments[1:]
        return None, segments


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
    error_codes: Mapping[int, str] = field(default_factory=dict)
    """Per status, the `error.code` when nothing more specific applies (`info.x-vevents-error-codes`)."""
    delegated_permissions: frozenset[str] = frozenset()
    """Every delegated permission the security scheme knows (scopes of its authorization-code flow)."""
    application_permissions: frozenset[str] = frozenset()
    """Every application permission the security scheme knows (scopes of its client-credentials flow)."""
    sample: Sample = Sample("", "", "", "")
    id_pattern: str = ""
    """The regular expression (anchored) an event id path parameter matches, after percent-decoding."""
    notifications: NotificationRules | None = field(default=None, repr=False)
    """Change notifications: what may be subscribed to, lifetimes, delivery (`info.x-vevents-notifications`)."""
    subresource_lifecycle: Mapping[str, Mapping[str, Outcome]] = field(default_factory=dict)
    """Per sub-resource action (registrations, questions, sessions, presenters), per status of
    the event, the answer (`info.x-vevents-lifecycle.subresources`)."""
    registration_lifecycle: Mapping[str, Mapping[str, Outcome]] = field(default_factory=dict)
    """Per registration action, per status of the registration, the answer and the status after it
    (`info.x-vevents-lifecycle.registration`)."""
    registration_create: Outcome = Outcome(201, "", True)
    """What creating a registration answers and the status it starts in."""
    page_size: int = 100
    """How many items a list answers in one page (`info.x-vevents-paging.pageSize`)."""
    _routes: _Routes | None = field(default=None, repr=False, compare=False)

    # ------------------------------------------------------------ routes
    def route(self, method: str, path: str) -> Route | None:
        """The operation `method path` names, or None. `path` is percent-decoded, with or
        without a version segment (`/v1.0/solutions/...` or `/solutions/...`)."""
        routes = self._index()
        version, segments = routes.split(path)
        found = routes.find(segments)
        if found is None:
            return None
        key, ids = found
        op = routes.by_key.get((method.upper(), key))
        return None if op is None else Route(op, version, ids[0] if ids else None, ids)

    def methods_at(self, path: str) -> tuple[str, ...]:
        """The methods the spec describes on `path` (sorted; empty if it describes no such path)."""
        routes = self._index()
        _, segments = routes.split(path)
        found = routes.find(segments)
        return tuple(sorted(routes.methods[found[0]])) if found else ()

    def _index(self) -> _Routes:
        if self._routes is None:
            raise RuntimeError("a Contract built without contract() has no routes")
        return self._routes

    # ------------------------------------------------------------ states, codes, examples
    def error_code(self, status: int) -> str | None:
        """The `error.code` for `status` when nothing more specific applies."""
        return self.error_codes.get(status)

    @property
    def draft(self) -> str:
        """The state create leads to."""
        return self.create_outcome.to

    @property
    def published(self) -> str:
        """The state publish leads to from draft."""
        return self.outcome("publish", self.draft).to

    @property
    def canceled(self) -> str:
        """The state cancel leads to from published (permanent)."""
        return self.outcome("cancel", self.published).to

    def create_example(self, kind: str) -> dict[str, Any]:
        """A fresh copy of the spec's example body for creating an event of `kind`."""
        example = self.find(action="create", kind=kind).request_example
        if example is None:
            raise KeyError(f"no create example for {kind}")
        return copy.deepcopy(dict(example))

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

    def reached_states(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Every state and how it is reached from create: (state, the actions that led there), shortest first.

        Read from the lifecycle table: each action whose row moves the event to a state the path
        has not visited yet extends the path (draft; published by publish; canceled by publish then
        cancel; canceled by cancel of the draft). The same state reached two ways is two entries:
        an implementation may remember the way.
        """
        found: list[tuple[str, tuple[str, ...]]] = []
        frontier: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [(self.draft, (), (self.draft,))]
        while frontier:
            state, path, visited = frontier.pop(0)
            found.append((state, path))
            for action, rows in self.lifecycle.items():
                target = rows[state].to if state in rows else state
                if target not in visited:
                    frontier.append((target, (*path, action), (*visited, target)))
        return tuple(found)

    @property
    def kinds(self) -> tuple[str, ...]:
        """The concrete event kinds (collections), in spec order: webinars, townhalls."""
        return tuple(self.odata_types)

    def singular(self, kind: str) -> str:
        """One event of `kind` in a sentence ("webinar", "townhall"): its OData type's name without
        the `virtualEvent` prefix; "event" for the `events` route, which serves both kinds."""
        odata_type = self.odata_types.get(kind)
        return odata_type.rsplit(".", 1)[1].removeprefix("virtualEvent").lower() if odata_type else "event"

    def writable_properties(self, kind: str) -> frozenset[str]:
        """The properties a client may set on `kind`: every property but the read-only ones and `@odata.type`."""
        return frozenset(self.select_properties[kind]) - self.read_only_properties[kind] - {"@odata.type"}


def _kind_of(path: str) -> str:
    # /solutions/virtualEvents/<kind>/...; other roots (/subscriptions) are their own kind.
    parts = path.split("/")
    return parts[3] if path.startswith("/solutions/") else parts[1]


def _scopes(spec: Mapping[str, Any], security: list[Mapping[str, list[str]]]) -> tuple[frozenset[str], frozenset[str]]:
    flows = spec["components"]["securitySchemes"][SECURITY_SCHEME]["flows"]
    delegated_names = set(flows[_DELEGATED_FLOW]["scopes"])
    application_names = set(flows[_APPLICATION_FLOW]["scopes"])
    required = {scope for requirement in security for scope in requirement.get(SECURITY_SCHEME, [])}
    return frozenset(required & delegated_names), frozenset(required & application_names)


def _request_example(spec: Mapping[str, Any], op: Mapping[str, Any]) -> Mapping[str, Any] | None:
    content = resolve(spec, op.get("requestBody", {})).get("content", {}).get("application/json", {})
    examples = content.get("examples")
    if examples:
        return resolve(spec, next(iter(examples.values())))["value"]  # type: ignore[no-any-return]
    return content.get("example")  # type: ignore[no-any-return]


def _operations(spec: Mapping[str, Any]) -> tuple[Operation, ...]:
    result = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            security = op.get("security", spec["security"])
            delegated, application = _scopes(spec, security)
            parameters = tuple(resolve(spec, p) for p in (*item.get("parameters", ()), *op.get("parameters", ())))
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
                    security=tuple(frozenset(r.get(SECURITY_SCHEME, ())) for r in security),
                    parameters=parameters,
                    request_example=_request_example(spec, op),
                )
            )
    return tuple(result)


def _rows(actions: Mapping[str, Any]) -> dict[str, dict[str, Outcome]]:
    return {action: {state: Outcome(**row) for state, row in rows.items()} for action, rows in actions.items()}


def _lifecycle(table: Mapping[str, Any]) -> dict[str, dict[str, Outcome]]:
    return _rows(table["actions"])


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
    return resolve(spec, schema)  # type: ignore[no-any-return]


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


def singular(kind: str) -> str:
    """`contract().singular(kind)`: "webinar", "townhall", "event" - for messages."""
    return contract().singular(kind)


@functools.cache
def contract() -> Contract:
    """The contract, parsed once per process."""
    spec = _parsed()
    table = spec["info"]["x-vevents-lifecycle"]
    versions = tuple(spec["servers"][-1]["variables"]["version"]["enum"])
    operations = _operations(spec)
    flows = spec["components"]["securitySchemes"][SECURITY_SCHEME]["flows"]
    sample = spec["info"]["x-vevents-sample"]
    id_parameter = next(p for op in operations for p in op.parameters if p.get("name") == op.id_parameter)
    return Contract(
        operations=operations,
        lifecycle=_lifecycle(table),
        create_outcome=Outcome(**table["create"]),
        statuses=tuple(spec["components"]["schemas"]["virtualEventStatus"]["enum"]),
        select_properties=_select_properties(spec),
        odata_types=_odata_types(spec),
        versions=versions,
        read_only_properties=_read_only_properties(spec),
        empty_collections=_empty_collections(spec),
        roles={role: frozenset(actions) for role, actions in spec["info"]["x-vevents-roles"].items()},
        member_properties=_member_properties(spec),
        error_codes={int(status): code for status, code in spec["info"]["x-vevents-error-codes"].items()},
        delegated_permissions=frozenset(flows[_DELEGATED_FLOW]["scopes"]),
        application_permissions=frozenset(flows[_APPLICATION_FLOW]["scopes"]),
        sample=Sample(
            event_id=sample["eventId"],
            tenant=sample["tenant"],
            organizer=sample["organizer"],
            organizer_name=sample["organizerName"],
        ),
        id_pattern=id_parameter["schema"].get("pattern", ""),
        notifications=_notification_rules(spec["info"]["x-vevents-notifications"]),
        subresource_lifecycle=_rows(table["subresources"]),
        registration_lifecycle=_rows(table["registration"]["actions"]),
        registration_create=Outcome(**table["registration"]["create"]),
        page_size=int(spec["info"]["x-vevents-paging"]["pageSize"]),
        _routes=_Routes(operations, versions),
    )
