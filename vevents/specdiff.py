"""Compare two versions of an OpenAPI 3.0 document and classify each change for its clients.

The rules follow oasdiff's: a change is `breaking` when a client written against the old
document can fail against the new one, `warning` when it may (a new enum value in a
response), and `info` otherwise. Requests and responses are judged in opposite directions:
a new required property breaks a request; a removed property breaks a response.

Errors:

    DiffInputError   a document cannot be read, parsed, or its `$ref`s resolved (exit code 2)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from vevents.spec import DocumentError, parse_yaml
from vevents.specwalk import Flat, Walker

__all__ = ["BREAKING", "INFO", "WARNING", "Change", "DiffInputError", "compare", "load_document", "parse_document"]

Level = Literal["breaking", "warning", "info"]
BREAKING: Level = "breaking"
WARNING: Level = "warning"
INFO: Level = "info"
_ORDER = {BREAKING: 0, WARNING: 1, INFO: 2}
_MAX_DEPTH = 32
_FLAGS = {"readOnly": "read_only", "writeOnly": "write_only"}
_PATH_PARAM = re.compile(r"\{[^}]*\}")
_REQUEST, _RESPONSE = "request", "response"


class DiffInputError(Exception):
    """Raised when a document cannot be read, parsed as YAML/JSON, or its `$ref`s resolved."""

    exit_code = 2


@dataclass(frozen=True)
class Change:
    """One difference between the old and the new document, as a client sees it."""

    level: Level
    rule: str
    operation: str
    location: str
    message: str

    @property
    def breaking(self) -> bool:
        return self.level == BREAKING

    def __str__(self) -> str:
        where = " ".join(part for part in (self.operation, self.location) if part)
        return f"{self.level.upper():8} {where}: {self.message} [{self.rule}]"


def load_document(path: str | Path) -> dict[str, Any]:
    """Parse one OpenAPI document (YAML or JSON), or raise DiffInputError saying why not."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DiffInputError(f"{path}: cannot read it: {exc}") from exc
    return parse_document(text, str(path))


def parse_document(text: str, name: str) -> dict[str, Any]:
    """The OpenAPI document in `text` (YAML or JSON) called `name` in errors, or DiffInputError saying why not."""
    try:
        document = parse_yaml(text)
    except DocumentError as exc:
        raise DiffInputError(f"{name}: cannot read it: {exc}") from exc
    if not isinstance(document, dict) or "openapi" not in document or not isinstance(document.get("paths"), dict):
        raise DiffInputError(f"{name}: not an OpenAPI document (no `openapi` version or no `paths` object)")
    return document


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every change from `old` to `new`: breaking ones first, then warnings, then the rest."""
    try:
        changes = set(_Diff(Walker(old), Walker(new)).changes())
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise DiffInputError(f"cannot compare the documents: {exc!r}") from exc
    return sorted(changes, key=lambda c: (_ORDER[c.level], c.operation, c.location, c.rule))


def _operation_key(path: str) -> str:
    return _PATH_PARAM.sub("{}", path)


def _covered(status: str, statuses: set[str]) -> bool:
    return status in statuses or f"{status[0]}XX" in statuses or "default" in statuses


def _requirements(security: Any) -> set[frozenset[str]]:
    """Each alternative of a security requirement list, as one set of `scheme:scope` names."""
    return {
        frozenset(f"{scheme}:{scope}" for scheme, scopes in requirement.items() for scope in scopes or [""])
        for requirement in security or [{}]
    }


class _Diff:
    """The walk over both documents; each method yields the changes of one part."""

    def __init__(self, old: Walker, new: Walker) -> None:
        self.old, self.new = old, new
        self.operation = ""  # the operation being compared; every change carries it

    def changes(self) -> Iterator[Change]:
        old_ops = {(m, _operation_key(p)): (p, op) for p, m, op in self.old.operations()}
        new_ops = {(m, _operation_key(p)): (p, op) for p, m, op in self.new.operations()}
        for method, key in old_ops.keys() - new_ops.keys():
            yield Change(BREAKING, "operation-removed", f"{method.upper()} {old_ops[method, key][0]}", "",
                         "the operation was removed")  # fmt: skip
        for method, key in new_ops.keys() - old_ops.keys():
            yield Change(INFO, "operation-added", f"{method.upper()} {new_ops[method, key][0]}", "", "operation added")
        for method, key in old_ops.keys() & new_ops.keys():
            (old_path, old_op), (new_path, new_op) = old_ops[method, key], new_ops[method, key]
            self.operation = f"{method.upper()} {new_path}"
            yield from self._parameters(self.old.parameters(old_path, method), self.new.parameters(new_path, method))
            yield from self._request_body(old_op.get("requestBody"), new_op.get("requestBody"))
            yield from self._responses(old_op.get("responses", {}), new_op.get("responses", {}))
            yield from self._security(
                old_op.get("security", self.old.document.get("security")),
                new_op.get("security", self.new.document.get("security")),
            )

    def _change(self, level: Level, rule: str, location: str, message: str) -> Change:
        return Change(level, rule, self.operation, location, message)

    # ------------------------------------------------------------ parameters
    @staticmethod
    def _parameter_keys(params: Mapping[tuple[str, str], Any]) -> dict[tuple[str, str], Any]:
        # Path parameters are matched by position, so renaming `{id}` is not a removal.
        path_params = [key for key in params if key[0] == "path"]
        keyed = {key: value for key, value in params.items() if key[0] != "path"}
        keyed.update({("path", f"#{index}"): params[key] for index, key in enumerate(path_params)})
        return keyed

    def _parameters(self, old: Mapping[tuple[str, str], Any], new: Mapping[tuple[str, str], Any]) -> Iterator[Change]:
        old, new = self._parameter_keys(old), self._parameter_keys(new)
        for key in old.keys() - new.keys():
            where = f"{key[0]} parameter {old[key]['name']}"
            yield self._change(
                WARNING, "request-parameter-removed", where, "parameter removed; clients may still send it"
            )
        for key in new.keys() - old.keys():
            where = f"{key[0]} parameter {new[key]['name']}"
            if new[key].get("required"):
                yield self._change(BREAKING, "new-required-request-parameter", where, "new required parameter")
            else:
                yield self._change(INFO, "new-optional-request-parameter", where, "new optional parameter")
        for key in old.keys() & new.keys():
            where = f"{key[0]} parameter {new[key]['name']}"
            if new[key].get("required") and not old[key].get("required"):
                yield self._change(BREAKING, "request-parameter-became-required", where, "parameter became required")
            if "schema" in old[key] and "schema" in new[key]:
                yield from self._schema(where, old[key]["schema"], new[key]["schema"], _REQUEST, frozenset())

    # ------------------------------------------------------------ bodies
    def _request_body(self, old: Any, new: Any) -> Iterator[Change]:
        old = self.old.resolve(old) if old is not None else None
        new = self.new.resolve(new) if new is not None else None
        if new is None:
            if old is not None:
                yield self._change(WARNING, "request-body-removed", "request body", "request body removed")
            return
        if old is None:
            level = BREAKING if new.get("required") else INFO
            yield self._change(level, "request-body-added", "request body", "request body added"
                               + (" (required)" if new.get("required") else " (optional)"))  # fmt: skip
            return
        if new.get("required") and not old.get("required"):
            yield self._change(BREAKING, "request-body-became-required", "request body", "request body became required")
        yield from self._content("request body", old.get("content", {}), new.get("content", {}), _REQUEST)

    def _responses(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> Iterator[Change]:
        old_statuses, new_statuses = {str(s) for s in old}, {str(s) for s in new}
        for status in sorted(old_statuses - new_statuses):
            if _covered(status, new_statuses):
                message = "no longer listed on its own; a range or default still covers it"
                yield self._change(INFO, "response-status-removed", f"response {status}", message)
            else:
                yield self._change(BREAKING, "response-status-removed", f"response {status}", "response status removed")
        for status in sorted(new_statuses - old_statuses):
            yield self._change(INFO, "response-status-added", f"response {status}", "response status added")
        for status in sorted(old_statuses & new_statuses):
            old_response, new_response = self.old.resolve(old[status]), self.new.resolve(new[status])
            where = f"response {status}"
            yield from self._content(where, old_response.get("content", {}), new_response.get("content", {}), _RESPONSE)

    def _content(self, where: str, old: Mapping[str, Any], new: Mapping[str, Any], direction: str) -> Iterator[Change]:
        for media_type in sorted(old.keys() - new.keys()):
            yield self._change(
                BREAKING, f"{direction}-media-type-removed", f"{where} {media_type}", "media type removed"
            )
        for media_type in sorted(new.keys() - old.keys()):
            yield self._change(INFO, f"{direction}-media-type-added", f"{where} {media_type}", "media type added")
        for media_type in sorted(old.keys() & new.keys()):
            old_schema, new_schema = old[media_type].get("schema"), new[media_type].get("schema")
            if old_schema is not None and new_schema is not None:
                yield from self._schema(f"{where} {media_type}", old_schema, new_schema, direction, frozenset())

    # ------------------------------------------------------------ schemas
    def _schema(self, where: str, old: Any, new: Any, direction: str, seen: frozenset[Any]) -> Iterator[Change]:
        was, now = self.old.flatten(old), self.new.flatten(new)
        pair = (was.name, now.name)
        if len(seen) > _MAX_DEPTH or (None not in pair and pair in seen):
            return  # a recursive schema: this pair is already being compared further up
        seen = seen | {pair}
        if was.type and now.type and was.type != now.type:
            yield self._change(
                BREAKING, f"{direction}-type-changed", where, f"type changed from {was.type} to {now.type}"
            )
            return
        if was.values is not None or now.values is not None:
            yield from self._enum(where, was.values, now.values, direction)
        if direction == _RESPONSE and now.nullable and not was.nullable:
            yield self._change(BREAKING, "response-became-nullable", where, "may now be null")
        if direction == _REQUEST and was.nullable and not now.nullable:
            yield self._change(BREAKING, "request-became-not-nullable", where, "may no longer be null")
        if was.items is not None and now.items is not None:
            yield from self._schema(f"{where}[]", was.items, now.items, direction, seen)
        yield from self._properties(where, was, now, direction, seen)

    def _enum(
        self, where: str, was: frozenset[Any] | None, now: frozenset[Any] | None, direction: str
    ) -> Iterator[Change]:
        if now is not None and was is None:
            yield self._change(BREAKING if direction == _REQUEST else INFO, f"{direction}-enum-added", where,
                               f"now limited to {sorted(map(str, now))}")  # fmt: skip
            return
        if was is None or now is None:
            return
        for value in sorted(was - now, key=str):
            yield self._change(BREAKING, f"{direction}-enum-value-removed", where, f"enum value {value!r} removed")
        for value in sorted(now - was, key=str):
            level = WARNING if direction == _RESPONSE else INFO
            yield self._change(level, f"{direction}-enum-value-added", where, f"enum value {value!r} added")

    def _properties(self, where: str, was: Flat, now: Flat, direction: str, seen: frozenset[Any]) -> Iterator[Change]:
        # readOnly properties are never sent in requests; writeOnly ones never come back.
        hidden = "readOnly" if direction == _REQUEST else "writeOnly"

        def skipped(props: Mapping[str, Any], walker: Walker, name: str) -> bool:
            return bool(getattr(walker.flatten(props[name]), _FLAGS[hidden]))

        old_props, new_props = dict(was.properties), dict(now.properties)
        for name in sorted(old_props.keys() - new_props.keys()):
            if skipped(old_props, self.old, name):
                continue
            if direction == _RESPONSE:
                yield self._change(BREAKING, "response-property-removed", f"{where} {name}", "property removed")
            else:
                yield self._change(WARNING, "request-property-removed", f"{where} {name}",
                                   "property removed; clients may still send it")  # fmt: skip
        for name in sorted(new_props.keys() - old_props.keys()):
            if skipped(new_props, self.new, name):
                continue
            if direction == _REQUEST and name in now.required:
                yield self._change(
                    BREAKING, "new-required-request-property", f"{where} {name}", "new required property"
                )
            else:
                yield self._change(INFO, f"new-{direction}-property", f"{where} {name}", "new optional property")
        for name in sorted(old_props.keys() & new_props.keys()):
            if skipped(new_props, self.new, name) and skipped(old_props, self.old, name):
                continue
            if direction == _REQUEST and name in now.required and name not in was.required:
                yield self._change(BREAKING, "request-property-became-required", f"{where} {name}",
                                   "property became required")  # fmt: skip
            if direction == _RESPONSE and name in was.required and name not in now.required:
                yield self._change(BREAKING, "response-property-became-optional", f"{where} {name}",
                                   "property is no longer always present")  # fmt: skip
            yield from self._schema(f"{where} {name}", old_props[name], new_props[name], direction, seen)

    # ------------------------------------------------------------ security
    def _security(self, old: Any, new: Any) -> Iterator[Change]:
        old_alternatives, new_alternatives = _requirements(old), _requirements(new)
        for alternative in sorted(old_alternatives, key=sorted):
            if not any(candidate <= alternative for candidate in new_alternatives):
                scopes = ", ".join(sorted(alternative)) or "no credentials"
                yield self._change(BREAKING, "security-requirement-tightened", "security",
                                   f"a token with only [{scopes}] is no longer enough")  # fmt: skip
        for alternative in sorted(new_alternatives - old_alternatives, key=sorted):
            if not any(alternative >= previous for previous in old_alternatives):
                yield self._change(INFO, "security-alternative-added", "security",
                                   f"now also accepts [{', '.join(sorted(alternative))}]")  # fmt: skip
