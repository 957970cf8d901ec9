"""docs/choices.md lists every choice the spec makes where Graph's documentation is silent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from vevents.spec import contract, load_spec

DOC = Path(__file__).resolve().parents[1] / "docs" / "choices.md"
CHOICE_MARK = "not documented by Graph"
ROW = re.compile(r"^\| `(\w+)` \| `(\w+)` \| (\d{3})(?: `(\w+)`)? \| `(\w+)` \|", re.MULTILINE)


@pytest.fixture(scope="module")
def doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _section(doc: str, title: str) -> str:
    return doc.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_lifecycle_table_lists_exactly_the_undocumented_rows(doc: str) -> None:
    expected = {
        (action, state, str(outcome.status), outcome.error, outcome.to)
        for action, rows in contract().lifecycle.items()
        for state, outcome in rows.items()
        if not outcome.documented
    }
    listed = {(a, s, status, error or None, to) for a, s, status, error, to in ROW.findall(_section(doc, "Lifecycle"))}
    assert listed == expected


def _undocumented(table: Any) -> set[tuple[str, str, str, str | None, str]]:
    return {
        (action, state, str(outcome.status), outcome.error, outcome.to)
        for action, rows in table.items()
        for state, outcome in rows.items()
        if not outcome.documented
    }


def _listed(section: str) -> set[tuple[str, str, str, str | None, str]]:
    return {(a, s, status, error or None, to) for a, s, status, error, to in ROW.findall(section)}


def test_subresource_and_registration_tables_list_exactly_the_undocumented_rows(doc: str) -> None:
    """The sub-resources' rows (by the event's status) and the registrations' own, in their section."""
    section = _section(doc, "Registrations, sessions and presenters")
    by_event, by_registration = section.split("A registration's own status", 1)
    assert _listed(by_event) == _undocumented(contract().subresource_lifecycle)
    assert _listed(by_registration) == _undocumented(contract().registration_lifecycle)


def _named_choices(spec: dict[str, Any]) -> set[str]:
    names = {
        op["operationId"]
        for item in spec["paths"].values()
        for method, op in item.items()
        if method != "parameters" and CHOICE_MARK in op.get("description", "")
    }
    for section in ("parameters", "responses", "schemas"):
        names |= {n for n, c in spec["components"].get(section, {}).items() if CHOICE_MARK in c.get("description", "")}
    return names


def test_every_operation_and_parameter_stating_a_choice_is_named(doc: str) -> None:
    spec = load_spec()
    named = _named_choices(spec)
    assert len(named) >= 11
    listed = _section(doc, "Requests") + _section(doc, "Registrations, sessions and presenters")
    assert {name for name in named if f"`{name}`" not in listed} == set()
