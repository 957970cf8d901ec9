"""A compiled yes/no check of a seed event against its kind's schema: the fast path of seeding.

jsonschema walks the seed schema's `oneOf` (webinar or town hall) for every event, collecting
errors for the branch that does not apply: about 1-3 ms an event, so a 100,000-event seed took
minutes. A seed is almost always valid, and then only the verdict matters. This module
compiles each kind's schema once into nested Python closures that answer "valid?" for one
event (a few microseconds), dispatching on `@odata.type` as the discriminator does.

It is an optimisation, never a second opinion: it understands only the keywords the contract
uses (`compile_kind` raises `Unsupported` on any other, and the caller then validates with
jsonschema alone), and whenever it says "no" the caller asks jsonschema, whose error is the
one reported. `tests/test_seed_speed.py` holds its verdicts equal to jsonschema's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Check", "Unsupported", "compile_kind"]

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "readOnly",
        "writeOnly",
        "default",
        "example",
        "examples",
        "discriminator",
        "format",  # the seed validator runs without a format checker: an annotation there too
        "deprecated",
        "externalDocs",
        "$id",
        "$schema",
        "$comment",
        "$defs",
    }
)
_MAX_DEPTH = 64


class Unsupported(ValueError):
    """The schema uses a keyword (or a shape) this compiler does not handle."""


def _is_integer(value: Any) -> bool:
    # JSON Schema (draft 6 and later, as jsonschema implements it): 1.0 is an integer; a bool is not.
    return (isinstance(value, int) and not isinstance(value, bool)) or (isinstance(value, float) and value.is_integer())


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "integer": _is_integer,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


_PLAIN: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "null": type(None),
    "array": list,
    "object": dict,
}


def _all(checks: list[Check]) -> Check:
    if not checks:
        return lambda v: True
    if len(checks) == 1:
        return checks[0]
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) and second(v)
    frozen = tuple(checks)

    def every(v: Any) -> bool:
        for c in frozen:  # noqa: SIM110 - a loop: all() over a generator costs a frame per item
            if not c(v):
                return False
        return True

    return every


def _any(checks: list[Check]) -> Check:
    if len(checks) == 2:
        first, second = checks
        return lambda v: first(v) or second(v)
    frozen = tuple(checks)

    def some(v: Any) -> bool:
        for c in frozen:  # noqa: SIM110 - as in _all
            if c(v):
                return True
        return False

    return some


class _Compiler:
    def __init__(self, documents: Mapping[str, Mapping[str, Any]]) -> None:
        self.documents = documents
        """By base URI (the part of a `$ref` before `#`), the documents refs point into."""
        self.cache: dict[tuple[str, int], Check] = {}

    def resolve(self, base: str, ref: str) -> tuple[str, Any]:
        uri, _, pointer = ref.partition("#")
        base = (
            next((b for b in self.documents if uri and b.endswith("/" + uri.rsplit("/", 1)[-1])), base) if uri else base
        )
        if base not in self.documents:
            raise Unsupported(f"cannot follow {ref!r}")
        node: Any = self.documents[base]
        for raw in filter(None, pointer.split("/")):
            key = raw.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or key not in node:
                raise Unsupported(f"dangling {ref!r}")
            node = node[key]
        return base, node

    def compile(self, base: str, schema: Any, depth: int = 0) -> Check:
        if depth > _MAX_DEPTH:
            raise Unsupported("schema nested too deeply (a cycle?)")
        if schema is True or schema == {}:
            return lambda v: True
        if not isinstance(schema, Mapping):
            raise Unsupported(f"schema {schema!r}")
        key = (base, id(schema))
        if key in self.cache:
            return self.cache[key]
        checks: list[Check] = []
        for keyword, value in schema.items():
            if keyword in _ANNOTATIONS or keyword.startswith("x-"):
                continue
            checks.append(self._keyword(base, schema, keyword, value, depth))
        compiled = _all(checks)
        self.cache[key] = compiled
        return compiled

    def _keyword(self, base: str, schema: Mapping[str, Any], keyword: str, value: Any, depth: int) -> Check:
        if keyword == "$ref":
            ref_base, target = self.resolve(base, value)
            inner = self.compile(ref_base, target, depth + 1)
            return inner
        if keyword == "type":
            names = {value} if isinstance(value, str) else set(value)
            if names - set(_TYPES):
                raise Unsupported(f"type {value!r}")
            if names & {"integer", "number", "boolean"}:
                tests = [_TYPES[n] for n in names]
                return _any(tests)
            plain = tuple(_PLAIN[n] for n in names)
            return lambda v: isinstance(v, plain)
        if keyword == "enum":
            if not all(e is None or isinstance(e, str) for e in value):
                raise Unsupported("an enum of other than strings and null")
            allowed = frozenset(e for e in value if e is not None)
            nullable = None in value
            return lambda v: (v is None and nullable) or (isinstance(v, str) and v in allowed)
        if keyword == "properties":
            props = tuple((name, self.compile(base, sub, depth + 1)) for name, sub in value.items())

            def properties(v: Any) -> bool:
                if isinstance(v, dict):
                    for name, check in props:
                        if name in v and not check(v[name]):
                            return False
                return True

            return properties
        if keyword == "required":
            required = tuple(value)
            return lambda v: not isinstance(v, dict) or all(n in v for n in required)
        if keyword == "additionalProperties":
            if value is not False:
                raise Unsupported("additionalProperties other than false")
            known = frozenset(schema.get("properties", {}))
            return lambda v: not isinstance(v, dict) or all(k in known for k in v)
        if keyword == "items":
            item = self.compile(base, value, depth + 1)

            def items(v: Any) -> bool:
                if isinstance(v, list):
                    for i in v:
                        if not item(i):
                            return False
                return True

            return items
        if keyword in ("allOf", "anyOf", "oneOf"):
            parts = [self.compile(base, sub, depth + 1) for sub in value]
            if keyword == "allOf":
                return _all(parts)
            if keyword == "anyOf":
                return _any(parts)
            return lambda v: sum(1 for p in parts if p(v)) == 1
        if keyword == "maxLength":
            return lambda v: not isinstance(v, str) or len(v) <= value
        if keyword == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= value
        if keyword == "minimum":
            return lambda v: isinstance(v, bool) or not isinstance(v, (int, float)) or v >= value
        if keyword == "maximum":
            return lambda v: isinstance(v, bool) or not isinstance(v, (int, float)) or v <= value
        raise Unsupported(f"keyword {keyword!r}")


def compile_kind(documents: Mapping[str, Mapping[str, Any]], base: str, schema: Mapping[str, Any]) -> Check:
    """A yes/no check of `schema` (found in the document at `base`; `$ref`s resolve into
    `documents`, by base URI). Raises Unsupported where it cannot be exact."""
    return _Compiler(documents).compile(base, schema)
