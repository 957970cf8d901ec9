"""Acceptance 3: the contract agrees with Microsoft's own OpenAPI description wherever both speak.

Microsoft's extract (tests/data/msgraph-openapi-virtualevents.yaml, a verbatim copy of
shared/reference/msgraph-openapi-virtualevents.yaml) and our spec are walked side by side:
every path and method both have, every parameter, request body and response status of those
operations, and every property of every schema both define (name, type, format, enum values,
nullability). `$ref`s, `allOf` and Microsoft's `anyOf: [$ref, {nullable}]` are read through
`vevents.specwalk`, so only meaning is compared. Each difference must be listed, with its
reason, in tests/fidelity_allowlist.yaml; each entry there must still match a real difference.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from vevents.spec import load_yaml_file, spec_path
from vevents.specwalk import Walker, schema_name

HERE = Path(__file__).parent
MICROSOFT = HERE / "data" / "msgraph-openapi-virtualevents.yaml"
SHARED_MICROSOFT = HERE.resolve().parents[1] / "shared" / "reference" / "msgraph-openapi-virtualevents.yaml"
ALLOWLIST = HERE / "fidelity_allowlist.yaml"


@dataclass(frozen=True, order=True)
class Difference:
    """One place where the two documents disagree."""

    where: str
    what: str
    detail: str

    def __str__(self) -> str:
        return f"{self.where} [{self.what}] {self.detail}"


def _diff_sets(where: str, ours: set[str], theirs: set[str]) -> Iterator[Difference]:
    for name in sorted(theirs - ours):
        yield Difference(f"{where}.{name}", "missing-in-ours", "Microsoft has it; we do not")
    for name in sorted(ours - theirs):
        yield Difference(f"{where}.{name}", "only-in-ours", "we have it; Microsoft's extract does not")


def _compare_values(where: str, what: str, ours: Any, theirs: Any) -> Iterator[Difference]:
    if ours != theirs:
        shown = (sorted(v) if isinstance(v, frozenset) else v for v in (ours, theirs))
        yield Difference(where, what, "ours {!r}, Microsoft {!r}".format(*shown))


class Comparison:
    """Walks our spec and Microsoft's extract side by side."""

    def __init__(self, ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> None:
        self.ours, self.theirs = Walker(ours), Walker(theirs)

    def differences(self) -> list[Difference]:
        return sorted({*self._operations(), *self._schemas()})

    # ------------------------------------------------------------ operations
    def _operations(self) -> Iterator[Difference]:
        our_paths, their_paths = self.ours.document["paths"], self.theirs.document["paths"]
        for path in sorted(set(our_paths) & set(their_paths)):
            ours = {m for p, m, _ in self.ours.operations() if p == path}
            theirs = {m for p, m, _ in self.theirs.operations() if p == path}
            yield from _diff_sets(f"paths.{path}", ours, theirs)
            for method in sorted(ours & theirs):
                yield from self._operation(path, method)

    def _operation(self, path: str, method: str) -> Iterator[Difference]:
        where = f"paths.{path}.{method}"
        ours, theirs = self.ours.parameters(path, method), self.theirs.parameters(path, method)
        keys = {f"{loc}:{name}" for loc, name in ours}, {f"{loc}:{name}" for loc, name in theirs}
        yield from _diff_sets(f"{where}.parameters", *keys)
        for key in sorted(set(ours) & set(theirs)):
            yield from self._parameter(f"{where}.parameters.{key[0]}:{key[1]}", ours[key], theirs[key])
        our_op = self.ours.document["paths"][path][method]
        their_op = self.theirs.document["paths"][path][method]
        yield from self._request_body(f"{where}.requestBody", our_op.get("requestBody"), their_op.get("requestBody"))
        yield from self._responses(f"{where}.responses", our_op["responses"], their_op["responses"])

    def _parameter(self, where: str, ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> Iterator[Difference]:
        yield from _compare_values(where, "required", bool(ours.get("required")), bool(theirs.get("required")))
        yield from self._schema_use(where, ours["schema"], theirs["schema"])

    def _request_body(self, where: str, ours: Any, theirs: Any) -> Iterator[Difference]:
        if ours is None or theirs is None:
            yield from _compare_values(where, "presence", ours is not None, theirs is not None)
            return
        ours, theirs = self.ours.resolve(ours), self.theirs.resolve(theirs)
        yield from _compare_values(where, "required", bool(ours.get("required")), bool(theirs.get("required")))
        yield from self._content(f"{where}.content", ours.get("content", {}), theirs.get("content", {}))

    def _responses(self, where: str, ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> Iterator[Difference]:
        for status, their_response in theirs.items():
            status = str(status)
            matching = [s for s in map(str, ours) if s == status or (status.endswith("XX") and s[0] == status[0])]
            if not matching:
                yield Difference(f"{where}.{status}", "missing-in-ours", "Microsoft documents this status; we do not")
            for our_status in matching:
                our_response, their = self.ours.resolve(ours[our_status]), self.theirs.resolve(their_response)
                yield from self._content(
                    f"{where}.{our_status}.content", our_response.get("content", {}), their.get("content", {})
                )

    def _content(self, where: str, ours: Mapping[str, Any], theirs: Mapping[str, Any]) -> Iterator[Difference]:
        yield from _diff_sets(where, set(ours), set(theirs))
        for media_type in sorted(set(ours) & set(theirs)):
            yield from self._schema_use(
                f"{where}.{media_type}", ours[media_type]["schema"], theirs[media_type]["schema"]
            )

    def _schema_use(self, where: str, ours: Any, theirs: Any) -> Iterator[Difference]:
        """Compare two schemas where they are used: type (or referenced name), format, enum, nullability."""
        ours_signature, their_signature = self.ours.signature(ours), self.theirs.signature(theirs)
        yield from _compare_values(where, "type", ours_signature, their_signature)
        if ours_signature != their_signature:
            return
        our_flat, their_flat = self.ours.flatten(ours), self.theirs.flatten(theirs)
        yield from _compare_values(where, "nullable", our_flat.nullable, their_flat.nullable)
        yield from _compare_values(where, "format", our_flat.format, their_flat.format)
        if our_flat.values is not None and their_flat.values is not None:
            yield from _compare_values(where, "enum", our_flat.values, their_flat.values)
        if our_flat.type == "array":
            our_items, their_items = our_flat.items, their_flat.items
            if "$ref" not in our_items:  # referenced item schemas are compared by name, below
                yield from self._schema_use(f"{where}.items", our_items, their_items)

    # ------------------------------------------------------------ schemas
    def _schema_names(self, walker: Walker) -> dict[str, str]:
        return {schema_name(name): name for name in walker.document["components"]["schemas"]}

    def _schemas(self) -> Iterator[Difference]:
        ours, theirs = self._schema_names(self.ours), self._schema_names(self.theirs)
        for name in sorted(set(ours) & set(theirs)):
            our_flat = self.ours.flatten({"$ref": f"#/components/schemas/{ours[name]}"})
            their_flat = self.theirs.flatten({"$ref": f"#/components/schemas/{theirs[name]}"})
            where = f"schemas.{name}"
            # Nullability is compared where a schema is used (properties), since Microsoft
            # marks it on each reference and we mark it on the component.
            yield from _compare_values(where, "type", our_flat.type, their_flat.type)
            yield from _compare_values(where, "format", our_flat.format, their_flat.format)
            if our_flat.values is not None or their_flat.values is not None:
                yield from _compare_values(where, "enum", our_flat.values, their_flat.values)
            yield from _diff_sets(f"{where}.required", set(our_flat.required), set(their_flat.required))
            yield from _diff_sets(f"{where}.properties", set(our_flat.properties), set(their_flat.properties))
            for prop in sorted(set(our_flat.properties) & set(their_flat.properties)):
                yield from self._schema_use(
                    f"{where}.properties.{prop}", our_flat.properties[prop], their_flat.properties[prop]
                )


# ---------------------------------------------------------------- the tests


def _load(path: Path) -> dict[str, Any]:
    return dict(load_yaml_file(path))


@pytest.fixture(scope="module")
def differences() -> list[Difference]:
    return Comparison(_load(Path(spec_path())), _load(MICROSOFT)).differences()


@pytest.fixture(scope="module")
def allowlist() -> list[dict[str, str]]:
    entries: list[dict[str, str]] = _load(ALLOWLIST)["differences"]
    return entries


def _allows(entry: Mapping[str, str], difference: Difference) -> bool:
    return fnmatch.fnmatchcase(difference.where, entry["where"]) and entry["what"] == difference.what


def test_every_difference_from_microsoft_is_allowed(
    differences: list[Difference], allowlist: list[dict[str, str]]
) -> None:
    unexplained = [str(d) for d in differences if not any(_allows(entry, d) for entry in allowlist)]
    assert unexplained == []


def test_every_allowlist_entry_matches_a_real_difference(
    differences: list[Difference], allowlist: list[dict[str, str]]
) -> None:
    stale = [f"{e['where']} [{e['what']}]" for e in allowlist if not any(_allows(e, d) for d in differences)]
    assert stale == []


def test_every_allowlist_entry_has_a_reason(allowlist: list[dict[str, str]]) -> None:
    assert allowlist
    for entry in allowlist:
        assert set(entry) == {"where", "what", "reason"}, entry
        assert len(entry["reason"].split()) >= 5, entry


def test_comparison_sees_the_shared_paths_and_schemas(differences: list[Difference]) -> None:
    """Guards against a walk that silently compares nothing."""
    comparison = Comparison(_load(Path(spec_path())), _load(MICROSOFT))
    shared_paths = set(comparison.ours.document["paths"]) & set(comparison.theirs.document["paths"])
    assert len(shared_paths) == 4
    shared_schemas = set(comparison._schema_names(comparison.ours)) & set(comparison._schema_names(comparison.theirs))
    assert {"virtualEvent", "virtualEventWebinar", "virtualEventTownhall", "virtualEventStatus", "ODataError"} <= (
        shared_schemas
    )


def test_comparison_reports_a_changed_enum_and_a_changed_type() -> None:
    ours = _load(Path(spec_path()))
    ours["components"]["schemas"]["virtualEventStatus"]["enum"] = ["draft", "published", "cancelled"]
    ours["components"]["schemas"]["virtualEvent"]["properties"]["displayName"]["type"] = "integer"
    found = {(d.where, d.what) for d in Comparison(ours, _load(MICROSOFT)).differences()}
    assert ("schemas.virtualEventStatus", "enum") in found
    assert ("schemas.virtualEvent.properties.displayName", "type") in found


def test_microsoft_extract_copy_matches_shared_reference() -> None:
    if not SHARED_MICROSOFT.exists():
        pytest.skip(f"{SHARED_MICROSOFT} is not beside this checkout")
    assert MICROSOFT.read_bytes() == SHARED_MICROSOFT.read_bytes()
