"""The compiled per-kind seed checks (spec/fastcheck.py) agree with jsonschema on every verdict.

They are only a fast path: a seed they pass is valid, and anything they refuse is validated by
jsonschema (whose error is reported). So the one thing to prove is that they never pass what
jsonschema refuses, and (for their speed to matter) that they pass what it accepts. Each event
below is judged both ways: the shipped seed's events, the spec's examples, and each of them
broken one property at a time with values of every JSON type.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from vevents.server.seed import load_seed
from vevents.spec import contract, load_spec, resolve
from vevents.spec.seed import _kind_checks, _passes_compiled_checks, _validator, seed_problems

WRONG_VALUES: list[Any] = [None, True, 0, 1.5, "text", [], [1], {}, {"unknown": 1}, "published", "everyone"]


def _valid_events() -> list[dict[str, Any]]:
    spec = load_spec()
    events = [dict(e.resource) for e in load_seed(None)]
    for name in ("publishedWebinar", "canceledWebinar", "publishedTownhall"):
        events.append(copy.deepcopy(resolve(spec, spec["components"]["examples"][name])["value"]))
    return events


def _variants(event: dict[str, Any]) -> list[dict[str, Any]]:
    variants = [event]
    for name, value in event.items():
        for wrong in WRONG_VALUES:
            variants.append({**event, name: wrong})
        if isinstance(value, dict):
            for member in value:
                for wrong in WRONG_VALUES:
                    variants.append({**event, name: {**value, member: wrong}})
    for name in ("@odata.type", "id", "status"):
        variants.append({k: v for k, v in event.items() if k != name})
    variants.append({**event, "@odata.type": "#microsoft.graph.somethingElse"})
    return variants


def test_the_contract_is_within_the_compilers_reach() -> None:
    checks = _kind_checks()
    assert checks is not None and set(checks) == set(contract().odata_types.values())


@pytest.mark.parametrize("shape", ["list", "mapping"])
def test_compiled_verdicts_equal_jsonschemas_on_every_variant(shape: str) -> None:
    validator = _validator()
    judged = disagreements = 0
    for event in _valid_events():
        for variant in _variants(event):
            document: Any = [variant] if shape == "list" else {"events": [variant]}
            judged += 1
            if _passes_compiled_checks(document) != validator.is_valid(document):
                disagreements += 1
                pytest.fail(f"compiled and jsonschema disagree on {variant!r}")
    assert judged > 500 and disagreements == 0


def test_an_invalid_event_is_still_explained_by_jsonschema() -> None:
    event = {**_valid_events()[0], "displayName": 5}
    (problem,) = seed_problems({"events": [event]})
    assert problem.event == 0 and problem.field == "displayName"
