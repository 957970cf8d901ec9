"""Seed files as the contract sees them: their JSON Schema (`seed.schema.yaml`) and their parsing.

The schema lives beside the contract and refers to the contract's own resource schemas, so a
seed is held to exactly what the stub serves. This module is the only reader of both YAML
files for that purpose (the rest of the project asks `vevents.spec`, never a YAML file):

    parse_seed_text(text)   -> Any                    a seed document (YAML or JSON)
    seed_problems(document) -> list[SeedProblem]      what the schema finds wrong, one per event
    seed_schema_path()      -> str                    the schema file (docs, editors)

OpenAPI 3.0 schemas are not quite JSON Schema: `nullable: true` means "or null". The copy of
the contract given to the validator says so in JSON Schema terms (`type: [T, "null"]`).
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from vevents.spec import SPEC_FILENAME, DocumentError, fastcheck, load_spec, parse_yaml, spec_path

__all__ = ["SEED_SCHEMA_FILENAME", "SeedProblem", "parse_seed_text", "seed_problems", "seed_schema_path"]

SEED_SCHEMA_FILENAME = "seed.schema.yaml"


@dataclass(frozen=True)
class SeedProblem:
    """One thing wrong in a seed document: which event (0-based; None: the document), where, what."""

    event: int | None
    field: str
    """The property path inside the event, e.g. "description.contentType" ("" : the event itself)."""
    message: str


def seed_schema_path() -> str:
    """A filesystem path to the seed file's JSON Schema."""
    return str(importlib.resources.files(__package__).joinpath(SEED_SCHEMA_FILENAME))


def parse_seed_text(text: str) -> Any:
    """The document in a seed file's text, YAML or JSON. Raises ValueError saying where it is malformed."""
    try:
        return parse_yaml(text)
    except DocumentError as exc:
        # PyYAML's message spans several lines; a seed error is one: where, and what.
        cause = exc.__cause__
        mark = getattr(cause, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(cause, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"not valid YAML/JSON{where}: {problem}") from None


def seed_problems(document: Any) -> list[SeedProblem]:
    """What the seed schema finds wrong in `document`: the most telling problem of each bad event.

    A valid document is recognised by each kind's compiled check (`fastcheck`, dispatched on
    `@odata.type`: microseconds an event); anything it does not pass is validated by
    jsonschema, whose errors are the ones reported.
    """
    if _passes_compiled_checks(document):
        return []
    validator = _validator()
    problems: list[SeedProblem] = []
    for error in validator.iter_errors(document):
        problems.extend(_explain(error, document))
    # One line per event: the first problem found in it (they come in document order).
    seen: set[int | None] = set()
    result = []
    for problem in sorted(problems, key=lambda p: -1 if p.event is None else p.event):
        if problem.event not in seen:
            seen.add(problem.event)
            result.append(problem)
    return result


def _explain(error: ValidationError, document: Any) -> Iterator[SeedProblem]:
    # The top-level anyOf (a list, or a mapping with `events`): descend into the branch that
    # fits the document's shape, so the error names an event rather than "not valid under anyOf".
    if error.validator == "anyOf" and not error.path:
        branch = 0 if isinstance(document, Mapping) else 1
        errors = [e for e in error.context or () if e.schema_path and e.schema_path[0] == branch]
        if not errors:
            yield SeedProblem(None, "", "expected a list of events, or a mapping with `events`")
        for sub in errors:
            yield from _explain(sub, document)
        return
    path = list(error.absolute_path)
    if path and path[0] == "events":
        path = path[1:]
    if not path or not isinstance(path[0], int):
        message = error.message if path else "expected a list of events, or a mapping with `events`"
        yield SeedProblem(None, ".".join(map(str, path)), message)
        return
    event, inside = path[0], path[1:]
    if error.validator == "oneOf":
        # Webinar or town hall: explain against the kind the event's @odata.type names.
        fitting = _kind_branch_errors(error)
        if fitting is None:
            yield SeedProblem(event, "@odata.type", f"must be one of {_odata_types()}")
            return
        if not fitting:
            return  # valid as both: no @odata.type at all, which `required` reports
        error = jsonschema.exceptions.best_match(fitting)
        inside = list(error.relative_path)
    yield SeedProblem(event, ".".join(map(str, inside)), _short(error))


def _kind_branch_errors(error: ValidationError) -> list[ValidationError] | None:
    """The errors of the one branch whose `@odata.type` matched, or None if none did."""
    by_branch: dict[int, list[ValidationError]] = {}
    for sub in error.context or ():
        by_branch.setdefault(int(sub.schema_path[0]), []).append(sub)
    for index in range(len(error.validator_value)):
        errors = by_branch.get(index, [])
        if not any(list(e.relative_path)[:1] == ["@odata.type"] for e in errors):
            return errors
    return None


def _short(error: ValidationError) -> str:
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {[v for v in error.validator_value if v is not None]}"
    message = str(error.message)
    return message if len(message) < 200 else message[:200] + "..."


def _passes_compiled_checks(document: Any) -> bool:
    """True if the compiled per-kind checks find `document` valid (False: ask jsonschema)."""
    checks = _kind_checks()
    if checks is None:
        return False
    if isinstance(document, Mapping):
        if set(document) != {"events"}:
            return False
        document = document["events"]
    if not isinstance(document, list):
        return False
    for item in document:
        odata_type = item.get("@odata.type") if isinstance(item, dict) else None
        check = checks.get(odata_type) if isinstance(odata_type, str) else None
        if check is None or not check(item):
            return False
    return True


@functools.cache
def _kind_checks() -> dict[str, fastcheck.Check] | None:
    """Per `@odata.type`, the compiled check of an event of that kind: the seed schema's event
    with its `oneOf` narrowed to that kind's branch. None if the schema is beyond the compiler."""
    validator = _validator()
    schema = validator.schema
    documents = {schema["$id"]: schema, **_contract_documents()}
    event = schema["$defs"]["event"]
    base = {k: v for k, v in event.items() if k != "oneOf"}
    mapping = load_spec()["components"]["schemas"]["virtualEvent"]["discriminator"]["mapping"]
    checks: dict[str, fastcheck.Check] = {}
    try:
        for branch in event["oneOf"]:
            schema_name = branch["$ref"].rsplit("/", 1)[1]
            odata_type = next(t for t, ref in mapping.items() if ref.rsplit("/", 1)[1] == schema_name)
            checks[odata_type] = fastcheck.compile_kind(documents, schema["$id"], {"allOf": [base, branch]})
    except (fastcheck.Unsupported, KeyError, StopIteration):
        return None
    return checks


@functools.cache
def _contract_documents() -> dict[str, Any]:
    contract = _nullable_as_json_schema(load_spec())
    return {Path(spec_path()).resolve().as_uri(): contract}


@functools.cache
def _odata_types() -> list[str]:
    return list(load_spec()["components"]["schemas"]["virtualEvent"]["discriminator"]["mapping"])


@functools.cache
def _validator() -> jsonschema.protocols.Validator:
    spec_uri = Path(spec_path()).resolve().as_uri()
    seed_uri = Path(seed_schema_path()).resolve().as_uri()
    assert spec_uri.rsplit("/", 1)[1] == SPEC_FILENAME
    schema = parse_yaml(Path(seed_schema_path()).read_text(encoding="utf-8"))
    schema["$id"] = seed_uri
    contract = dict(_contract_documents()[spec_uri])
    contract["$id"] = spec_uri
    registry: Registry[Any] = Registry().with_resources(
        [(spec_uri, Resource.from_contents(contract, default_specification=DRAFT202012))]
    )
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema, registry=registry)


def _nullable_as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` in JSON Schema terms, everywhere in `node` (a copy)."""
    if isinstance(node, list):
        return [_nullable_as_json_schema(item) for item in node]
    if not isinstance(node, Mapping):
        return node
    result = {key: _nullable_as_json_schema(value) for key, value in node.items()}
    if result.pop("nullable", False) is True:
        if isinstance(result.get("type"), str):
            result["type"] = [result["type"], "null"]
        elif "$ref" in result or "allOf" in result or "anyOf" in result or "oneOf" in result:
            result = {"anyOf": [{"type": "null"}, result]}
        if "enum" in result and None not in result["enum"]:
            result["enum"] = [*result["enum"], None]
    return result
