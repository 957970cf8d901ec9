"""Validation failures in Graph's words: what a 400 says when the spec's schemas refuse a request.

Connexion validates parameters and bodies with jsonschema, whose messages quote regular
expressions and Python reprs (`'0' does not match '^[0-9a-fA-F]{8}-...$'`). Graph's messages
name the id, the parameter or the property, and what was expected. The stub's validators
(`_connexion.py`, the fence) hand each jsonschema error here and raise the message this module
words; nothing else in the stub sees a library's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jsonschema.exceptions import ValidationError

from vevents.server.ids import malformed_id_message
from vevents.spec import contract

__all__ = ["body_message", "missing_parameter_message", "parameter_message"]

_TYPE_NAMES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}
_READ_ONLY = frozenset().union(*contract().read_only_properties.values())


def _expected(error: ValidationError) -> str:
    """What the schema wanted, in words (never the schema itself)."""
    validator, value = error.validator, error.validator_value
    if validator == "enum":
        return "one of " + ", ".join(f"'{v}'" for v in value if v is not None)
    if validator == "type":
        names = [value] if isinstance(value, str) else list(value)
        return " or ".join(_TYPE_NAMES.get(n, n) for n in names)
    if validator == "pattern":
        return "a GUID" if "[0-9a-fA-F]{8}" in str(value) else "a value in the documented format"
    if validator in ("minimum", "exclusiveMinimum"):
        return f"a number of at least {value}"
    if validator in ("maximum", "exclusiveMaximum"):
        return f"a number of at most {value}"
    if validator == "maxLength":
        return f"at most {value} characters"
    if validator == "minLength":
        return f"at least {value} characters"
    if validator == "minItems":
        return f"at least {value} item(s)"
    if validator == "uniqueItems":
        return "distinct items"
    if validator == "format":
        return f"a valid {value}"
    return "a value the operation accepts"


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return text if len(text) <= 80 else text[:77] + "..."


def parameter_message(param: Mapping[str, Any], value: Any, error: ValidationError) -> str:
    """The 400's message for a parameter value the spec's schema refuses."""
    name = str(param.get("name", ""))
    if param.get("in") == "path" and param.get("x-ms-docs-key-type"):
        return malformed_id_message(_shown(value))
    if name == "$select" and error.validator == "enum":
        return f"Could not find a property named '{_shown(error.instance)}' to select on this type."
    what = f"the query option '{name}'" if name.startswith("$") else f"the parameter '{name}'"
    return f"Invalid value '{_shown(value)}' for {what}: expected {_expected(error)}."


def missing_parameter_message(param: Mapping[str, Any]) -> str:
    """The 400's message for a required parameter the request lacks."""
    return f"The parameter '{param.get('name', '')}' is required."


def body_message(error: ValidationError) -> str:
    """The 400's message for a request body the spec's schema refuses: it names the property."""
    path = ".".join(str(p) for p in error.absolute_path if not isinstance(p, int))
    if error.validator == "additionalProperties":
        instance = error.instance if isinstance(error.instance, dict) else {}
        extra = sorted(set(instance) - set(error.schema.get("properties", {})))
        name = ".".join(filter(None, [path, extra[0] if extra else ""]))
        if name in _READ_ONLY:
            return f"The property '{name}' is read-only and cannot be set."
        return f"The property '{name}' does not exist on its type."
    if error.validator == "required":
        missing = next((n for n in error.validator_value if n not in (error.instance or {})), "")
        name = ".".join(filter(None, [path, str(missing)]))
        return f"The property '{name}' is required."
    if not path:
        return f"The request body must be {_expected(error)}."
    return f"Invalid value for the property '{path}': expected {_expected(error)}."
