"""The control API's document, `spec/control.yaml`: the one reader of that file.

The document refers to the Graph contract for what is Graph's (its error envelope), as
`virtual-events.yaml#/components/schemas/...`, so that no shape is written twice. Tools that
read files (Spectral, openapi-spec-validator, client generators) follow those references
themselves; `load_control_spec()` copies the referenced schemas in, so that the document the
stub serves (and hands to Connexion) stands alone.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
from collections.abc import Mapping
from typing import Any

from vevents.spec import SPEC_FILENAME, _parsed, parse_yaml, ref_of

__all__ = [
    "CONTROL_FILENAME",
    "CONTROL_PREFIX",
    "LIVENESS_PATH",
    "control_path",
    "control_text",
    "lifecycle_states",
    "load_control_spec",
]

CONTROL_FILENAME = "control.yaml"
CONTROL_PREFIX = "/_vevents"
"""Where the stub serves the control API (a prefix Graph never uses)."""
LIVENESS_PATH = "/healthz"
"""The stub's liveness route: open on every address and with any number of workers, outside the
control API (which a non-loopback bind switches off); it answers whether the stub can serve, nothing
more (`vevents health` asks it)."""

_EXTERNAL = SPEC_FILENAME + "#/components/schemas/"
_LOCAL = "#/components/schemas/"


def control_text() -> str:
    """The control API's YAML text, from the installed package."""
    return importlib.resources.files(__package__).joinpath(CONTROL_FILENAME).read_text(encoding="utf-8")


def control_path() -> str:
    """A filesystem path to the control API's document (it sits beside the Graph contract)."""
    return str(importlib.resources.files(__package__).joinpath(CONTROL_FILENAME))


@functools.cache
def _resolved() -> Mapping[str, Any]:
    document: dict[str, Any] = parse_yaml(control_text())
    graph_schemas = _parsed()["components"]["schemas"]
    pending: list[str] = []

    def localise(node: Any) -> Any:
        if isinstance(node, dict):
            ref = ref_of(node)
            if ref is not None and ref.startswith(_EXTERNAL):
                name = ref[len(_EXTERNAL) :]
                pending.append(name)
                return {**node, "$ref": _LOCAL + name}
            if ref is not None and ref.startswith(_LOCAL):
                pending.append(ref[len(_LOCAL) :])
            return {key: localise(value) for key, value in node.items()}
        if isinstance(node, list):
            return [localise(item) for item in node]
        return node

    document = localise(document)
    schemas: dict[str, Any] = document["components"]["schemas"]
    # Copy the Graph contract's schemas in, with the schemas they refer to in turn.
    while pending:
        name = pending.pop()
        if name not in schemas:
            if name not in graph_schemas:
                raise LookupError(f"{CONTROL_FILENAME} refers to {name!r}, which the Graph contract does not define")
            schemas[name] = localise(copy.deepcopy(graph_schemas[name]))
    return document


def load_control_spec() -> dict[str, Any]:
    """A fresh, self-contained copy of the control API's document (callers may change it)."""
    return copy.deepcopy(_resolved())  # type: ignore[arg-type]


def lifecycle_states() -> tuple[str, ...]:
    """The states an event can be in, from the Graph contract's lifecycle table."""
    return tuple(_parsed()["info"]["x-vevents-lifecycle"]["states"])
