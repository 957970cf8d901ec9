"""The suite on targets that behave like a real tenant: no false alarms, throttling waited out,
a bounded event budget, every created event canceled and reported."""

from __future__ import annotations

from typing import Any

import pytest
from fakes import judge, serve, tokens
from fakes_real_targets import REAL_TARGET_VARIANTS, RealTargetFake, throttling

from vevents.conformance import CheckConfig, Outcome, RunResult, run
from vevents.conformance.coverage import all_cells
from vevents.conformance.target import Target

pytestmark = pytest.mark.slow

SEED = 20261124
FAST: dict[str, Any] = {"max_examples": 3, "seed": SEED}


def _problems(result: RunResult) -> list[str]:
    return [f"{item.name}: {violation}" for item in result.results for violation in item.violations] + [
        f"{item.name}: could not run: {item.reason}" for item in result.results if item.outcome is Outcome.ERROR
    ]


@pytest.mark.parametrize("variant", REAL_TARGET_VARIANTS, ids=[variant.name for variant in REAL_TARGET_VARIANTS])
def test_real_target_variant_passes_default_mode_with_every_check(variant: RealTargetFake) -> None:
    # Every check, the Schemathesis built-ins included; the slow variant gets a shorter Schemathesis share.
    # (A loaded machine may stop the phases before a built-in judged an answer: not judged, exit 2;
    # the share is generous so that the run is judged on the target, not on the machine's load.)
    # At 150 ms an answer, 8 s ran out before a built-in judged one once the plan left Schemathesis events to
    # create (23 planned of 25): its create cases come first.
    options = {**FAST, "max_schemathesis_time": 15.0 if "latency" in variant.name else 40.0}
    result = judge(variant, **options)
    assert result.exit_code == 0, "\n".join(_problems(result))
    # The budget held, and every event the run made was canceled at the end.
    assert 0 < len(result.created) <= result.max_events == 25
    assert all(event.final_status == "canceled" for event in result.created), [e.cleanup for e in result.created]


def test_throttling_is_waited_out_and_reported() -> None:
    variant = next(variant for variant in REAL_TARGET_VARIANTS if variant.name == "throttles_every_nth")
    result = judge(variant, checks=("vevents",), **FAST)
    assert result.exit_code == 0, "\n".join(_problems(result))
    retry = result.retry
    assert retry.throttled > 10 and retry.retries == retry.throttled and retry.gave_up == 0


def test_retry_after_is_honoured_then_the_run_gives_up_without_a_violation() -> None:
    # Every other request is throttled with Retry-After: 1; the run may wait 2 s in all.
    variant = RealTargetFake(
        "throttles_half", "every 2nd request answers 429, Retry-After: 1", request=throttling(every=2, retry_after=1)
    )
    with serve(variant) as base_url:
        result = run(
            CheckConfig(
                base_url=base_url, token=tokens()["main"], checks=("auth_required",), max_retry_wait=2.0, **FAST
            )
        )
    assert result.retry.waited == 2.0 and result.retry.retries == 2 and result.retry.gave_up >= 1
    # Throttled past the budget: the check could not run; that is no violation of the contract.
    assert result.failed_checks() == []
    assert result.results[0].outcome is Outcome.ERROR and "429" in result.results[0].reason


def test_the_schemathesis_phases_get_what_the_plan_leaves_and_the_run_cleans_up() -> None:
    # A budget the suite's own checks fill exactly: their events come first, the stateful phase's
    # creates are refused (counted, not sent), and every check is still judged.
    from vevents.conformance.planner import plan
    from vevents.conformance.registry import select

    needed = plan(item for item in select(("cancel_no_content", "auth_required", "status_code_conformance"))).total
    stub = RealTargetFake("stub", "the stub")
    with serve(stub) as base_url:
        result = run(
            CheckConfig(
                base_url=base_url,
                token=tokens()["main"],
                max_events=needed,
                checks=("cancel_no_content", "auth_required", "status_code_conformance"),
                **FAST,
            )
        )
    assert len(result.created) <= needed and result.budget_refused > 0
    assert [item.name for item in result.not_judged] == [] and result.exit_code == 0
    assert all(event.final_status == "canceled" for event in result.created)


def test_coverage_cells_are_the_contracts_matrix() -> None:
    from vevents.conformance.coverage import CALLERS, rows
    from vevents.spec import contract

    spec = contract()
    cells = all_cells()
    # caller x state as reached x action or view, every dimension read from the contract.
    assert len(cells) == len(CALLERS) * len(spec.reached_states()) * len(rows())
    assert {(cell.state, cell.reached) for cell in cells} == set(spec.reached_states())
    id_actions = {op.action for op in spec.operations if op.id_parameter is not None and op.action in spec.lifecycle}
    assert {cell.action for cell in cells} == id_actions | {"list"}
    assert {cell.version for cell in cells} == set(spec.versions)
    sdk_routes = {op.kind for op in spec.operations if op.kind not in spec.kinds and op.action in spec.lifecycle}
    assert {cell.route for cell in cells} == {"own", "other kind", *sdk_routes}
    assert {"@", "%40", "$select", "list"} == {cell.view for cell in cells}


def test_coverage_places_each_request_in_its_cell_and_says_why_the_rest_is_not_judged() -> None:
    result = judge(
        RealTargetFake("stub", "the stub"),
        checks=("callers_in_every_state", "cancel_draft"),
        max_events=200,
        **FAST,
    )
    coverage = result.coverage
    assert coverage is not None and coverage.total == len(all_cells())
    judged = {(cell.caller, cell.state_label, cell.action, cell.route, cell.view) for cell in coverage.judged}
    # The walk's cells: the read-only token's cancel of an event canceled from a draft, the other
    # kind's route, the `%40` view on the other version, another tenant's read after publication.
    assert ("read-only", "canceled (after cancel)", "cancel", "own", "@") in judged
    assert ("organizer", "draft", "cancel", "other kind", "@") in judged
    assert ("other tenant", "published (after publish)", "get", "own", "@") in judged
    assert any(cell.view == "%40" and cell.version == "beta" for cell in coverage.judged)
    # Lists are application-only on Graph (and on the stub): not judged, with the answers that say why.
    here = result.target.rsplit("/", 1)[-1]
    lists = [
        why
        for cell, why in coverage.not_judged.items()
        if cell.action == "list" and cell.caller == "organizer" and cell.version == here
    ]
    assert lists and all("403" in why for why in lists)


def test_target_counts_creates_against_the_budget_on_every_version() -> None:
    from vevents.spec import contract

    target = Target("http://127.0.0.1:1/v1.0", {"main": "x"})
    for op in contract().operations:
        expected = op.kind if op.action == "create" else None
        assert target.create_kind(op.method, op.url_path("some-id")) == expected, op.operation_id
