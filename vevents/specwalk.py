"""Read an OpenAPI 3.0 document as plain data: local `$ref`s, `allOf` and nullable references.

`vevents diff` and the fidelity test compare two documents written in different styles:
ours puts `nullable: true` on a component and inherits with `allOf`; Microsoft's wraps every
nullable reference in `anyOf: [$ref, {type: object, nullable: true}]`. `Walker.flatten` turns
both styles into one `Flat` view so that comparisons see meaning, not spelling.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from vevents.spec import ref_of, resolve

__all__ = ["HTTP_METHODS", "Flat", "Walker", "schema_name"]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_SCHEMA_PREFIXES = ("microsoft.graph.ODataErrors.", "microsoft.graph.")
CLOSING_MARK = "x-vevents-closes"
"""Marks an `allOf` part that only closes a type to the names it lists (the request bodies)."""


def schema_name(ref: str) -> str:
    """The component name a `$ref` points to, without Microsoft's namespace prefixes."""
    name = ref.rsplit("/", 1)[-1]
    for prefix in _SCHEMA_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


@dataclass(frozen=True)
class Flat:
    """One schema with its `$ref`, `allOf` and nullable wrappers taken away."""

    name: str | None
    type: str | None
    format: str | None
    nullable: bool
    read_only: bool
    enum: tuple[Any, ...] | None
    properties: Mapping[str, Any] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    items: Any = None
    write_only: bool = False

    @property
    def values(self) -> frozenset[Any] | None:
        """The enum's values without `null` (which only repeats `nullable`)."""
        return None if self.enum is None else frozenset(v for v in self.enum if v is not None)


class Walker:
    """Questions about one parsed OpenAPI 3.0 document."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def resolve(self, node: Any) -> Any:
        """Follow local `$ref`s until a node that is not a reference (`vevents.spec.resolve`;
        a DocumentError, which is a ValueError, when one cannot be followed)."""
        return resolve(self.document, node)

    def flatten(self, schema: Any) -> Flat:
        """The schema's meaning: type, enum, nullability, merged properties and required names."""
        return self._flatten(schema, frozenset())

    def _flatten(self, schema: Any, seen: frozenset[str]) -> Flat:
        name = None
        ref = ref_of(schema)
        if ref is not None:
            if ref in seen:
                return Flat(name=schema_name(ref), type=None, format=None, nullable=False, read_only=False, enum=None)
            seen = seen | {ref}
            name = schema_name(ref)
            schema = self.resolve(schema)
        if not isinstance(schema, Mapping):
            return Flat(name=name, type=None, format=None, nullable=False, read_only=False, enum=None)
        inner = _nullable_reference(schema)
        if inner is not None:
            flat = self._flatten(inner, seen)
            return dataclasses.replace(flat, nullable=True)
        properties: dict[str, Any] = {}
        required: set[str] = set()
        kind, fmt, enum, items, read_only = None, None, None, None, False
        for part in schema.get("allOf", []):
            if isinstance(part, Mapping) and part.get(CLOSING_MARK):
                continue  # only `additionalProperties: false` and the names it admits: no meaning to merge
            sub = self._flatten(part, seen)
            properties.update(sub.properties)
            required |= sub.required
            kind, fmt = kind or sub.type, fmt or sub.format
            enum = sub.enum if sub.enum is not None else enum
            items = sub.items if sub.items is not None else items
            read_only = read_only or sub.read_only
        properties.update(schema.get("properties", {}))
        required |= set(schema.get("required", []))
        kind = schema.get("type", kind)
        if kind is None and properties:
            kind = "object"
        return Flat(
            name=name or schema.get("title"),
            type=kind,
            format=schema.get("format", fmt),
            nullable=bool(schema.get("nullable", False)),
            read_only=bool(schema.get("readOnly", read_only)),
            enum=tuple(schema["enum"]) if "enum" in schema else enum,
            properties=properties,
            required=frozenset(required),
            items=schema.get("items", items),
            write_only=bool(schema.get("writeOnly", False)),
        )

    def signature(self, schema: Any) -> str:
        """A short type description: `ref:Name`, `array<...>`, or the JSON type (and format)."""
        ref = ref_of(schema)
        if ref is not None:
            return f"ref:{schema_name(ref)}"
        inner = _nullable_reference(schema) if isinstance(schema, Mapping) else None
        if inner is not None:
            return self.signature(inner)
        flat = self.flatten(schema)
        if flat.type == "array":
            return f"array<{self.signature(flat.items)}>"
        return flat.type or "any"

    def operations(self) -> Iterator[tuple[str, str, Mapping[str, Any]]]:
        """Every (path, method, operation) of the document, in document order."""
        for path, item in (self.document.get("paths") or {}).items():
            item = self.resolve(item)
            for method in HTTP_METHODS:
                if isinstance(item, Mapping) and method in item:
                    yield path, method, item[method]

    def parameters(self, path: str, method: str) -> dict[tuple[str, str], Mapping[str, Any]]:
        """The operation's parameters by (in, name), path-level ones included and overridden."""
        item = self.resolve(self.document["paths"][path])
        result: dict[tuple[str, str], Mapping[str, Any]] = {}
        for raw in [*item.get("parameters", []), *item[method].get("parameters", [])]:
            param = self.resolve(raw)
            result[(param["in"], param["name"])] = param
        return result


def _nullable_reference(schema: Mapping[str, Any]) -> Any:
    """The referenced schema in Microsoft's `anyOf: [X, {type: object, nullable: true}]`, else None."""
    options = schema.get("anyOf")
    if not isinstance(options, list) or len(options) != 2:
        return None
    placeholder = {"type": "object", "nullable": True}
    rest = [option for option in options if option != placeholder]
    return rest[0] if len(rest) == 1 else None
