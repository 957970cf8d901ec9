"""The verdict means what it says: every check of the mode judged, or "not judged" (exit 2) and why.

And the event plan: each check declares what it needs, the planner adds it up, a budget too low
is refused before anything is sent, and the default checks fit the default budget on a target
without the stub's control API.
"""

from __future__ import annotations

import io
import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from fakes import App, Fake, Request, Response, judge
from fakes_real_targets import RealTargetFake

from vevents.conformance import CheckConfig, CheckResult, Outcome, RunResult, UsageError, list_checks, run
from vevents.conformance.definitions import Check, fresh, shareable
from vevents.conformance.planner import plan
from vevents.conformance.report import summary_line, to_json, write_junit, write_summary
from vevents.spec import contract

SEED = 20261203
DEFAULT_MAX_EVENTS = CheckConfig().max_events
WEBINARS, TOWNHALLS = contract().kinds


def _default_checks() -> list[Check]:
    return [item for item in list_checks() if item.source == "vevents" and not item.strict_only]


def _no_control_api(app: App, store: Any, settings: Any) -> App:
    """The stub with its control API (/_vevents/) gone, as on any target but the stub."""

    async def route(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/_vevents"):
            await send({"type": "http.response.start", "status": 404, "headers": [(b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await app(scope, receive, send)

    return route


NO_CONTROL_API: Fake = RealTargetFake("no_control_api", "the stub without its control API", wrap=_no_control_api)


# ---------------------------------------------------------------------------- the plan
def test_the_default_checks_fit_the_default_budget_in_either_mode() -> None:
    assert plan(_default_checks()).total <= DEFAULT_MAX_EVENTS
    strict = [item for item in list_checks() if item.source == "vevents"]
    assert plan(strict).total <= DEFAULT_MAX_EVENTS


def test_fresh_needs_add_up_and_shareable_ones_are_shared() -> None:
    def declared(name: str, *needs: Any) -> Check:
        return Check(name=name, description=name, function=None, needs=needs)

    checks = [
        declared("a", fresh("published"), shareable("published", kind=WEBINARS)),
        declared("b", fresh("draft", kind=WEBINARS, count=3), shareable("published", kind=WEBINARS)),
        declared("c", shareable("canceled")),
    ]
    # a: one per kind; b: three; the shared published webinar once; a canceled one of each kind.
    assert plan(checks).total == 2 + 3 + 1 + 2
    # A check that verifies its cancel and offers the event pays for the shared canceled ones.
    provider = declared("d", fresh("published", provides="canceled"))
    assert plan([*checks, provider]).total == 2 + 3 + 1 + 2
    assert plan([*checks, provider]).providers == {"d": frozenset({WEBINARS, TOWNHALLS})}


def test_the_fresh_events_of_an_experiment_are_counted_once_whichever_of_its_checks_run() -> None:
    def declared(name: str, *needs: Any) -> Check:
        return Check(name=name, description=name, function=None, needs=needs)

    seen = fresh("published", provides="canceled", experiment="seen")
    judges = [declared(name, seen) for name in ("a", "b", "c")]
    # One event per kind for the three checks judging the experiment, and for any one of them alone.
    assert plan(judges).total == plan(judges[:1]).total == 2
    assert plan(judges).experiments == {("seen", WEBINARS): 1, ("seen", TOWNHALLS): 1}
    assert plan(judges).fresh == {"a": 0, "b": 0, "c": 0}
    # Each of them still offers the canceled events it verified.
    assert set(plan(judges).providers) == {"a", "b", "c"}
    # Another experiment, or a check's own events, add up as before.
    other = declared("d", fresh("draft", kind=WEBINARS, experiment="other"), fresh("published", kind=WEBINARS))
    assert plan([*judges, other]).total == 2 + 1 + 1


def test_the_checks_judging_one_experiment_share_what_it_observed() -> None:
    # The three checks of a published event's cancel, and the four of the matrix walk: the run's plan
    # counts their events once (the walk alone, or all four, takes one draft per kind).
    the_plan = plan(_default_checks())
    assert the_plan.experiments == {
        (experiment, kind): 1
        for experiment in ("cancel of a published event", "the matrix walk")
        for kind in (WEBINARS, TOWNHALLS)
    }
    for judges in (
        ("cancel_no_content", "cancel_is_visible", "cancel_keeps_other_properties"),
        ("callers_in_every_state", "states_as_reached", "views_agree_across_changes", "bodies_kept_across_transitions"),
    ):
        chosen = [item for item in list_checks() if item.name in judges]
        assert len(chosen) == len(judges)
        assert plan(chosen).total == plan(chosen[-1:]).total == 2


def test_every_check_that_takes_events_declares_them() -> None:
    # A check that sends only unknown ids or reads the run's own exchanges needs none.
    needless = {"unknown_id_not_found", "malformed_id_rejected", "error_envelope", "canceled_stays_canceled"}
    assert {item.name for item in list_checks() if item.source == "vevents" and not item.needs} == needless


def test_a_budget_below_the_plan_is_refused_before_anything_is_sent() -> None:
    needed = plan(_default_checks()).total
    # Port 9 (discard) on loopback: nothing answers there, so any request would fail differently.
    config = CheckConfig(base_url="http://127.0.0.1:9/v1.0", token="t", max_events=needed - 1, seed=SEED)
    with pytest.raises(UsageError, match=rf"--max-events {needed - 1} is too low: .* need {needed} events"):
        run(config)


@pytest.mark.slow
def test_default_mode_without_a_control_api_judges_every_check_within_the_budget() -> None:
    result = judge(NO_CONTROL_API, seed=SEED, max_examples=3, max_schemathesis_time=40.0)
    not_judged = {item.name: item.reason for item in result.not_judged}
    assert not_judged == {}
    assert {item.name for item in result.results if item.outcome is Outcome.SKIPPED} == {
        item.name for item in list_checks() if item.strict_only
    }
    assert result.failed_checks() == [] and result.verdict == "conformant" and result.exit_code == 0
    assert 0 < len(result.created) <= DEFAULT_MAX_EVENTS == result.max_events


# ---------------------------------------------------------------------------- the verdict
def _result(*outcomes: tuple[str, Outcome, str], narrowed: bool = False) -> RunResult:
    results = [
        CheckResult(name=name, description=f"{name}.", source="vevents", outcome=outcome, reason=reason)
        for name, outcome, reason in outcomes
    ]
    return RunResult(target="http://127.0.0.1:1/v1.0", strict=False, seed=1, results=results, narrowed=narrowed)


PASSED = ("cancel_no_content", Outcome.PASSED, "")
NOT_JUDGED = ("other_user_forbidden", Outcome.NOT_JUDGED, "needs --other-user-token")
STRICT_ONLY = ("diagnostic_headers", Outcome.SKIPPED, "strict only (run with --strict)")


def test_conformant_only_when_every_check_of_the_mode_was_judged() -> None:
    assert _result(PASSED, STRICT_ONLY).verdict == "conformant"
    assert _result(PASSED, STRICT_ONLY).exit_code == 0
    unjudged = _result(PASSED, NOT_JUDGED, STRICT_ONLY)
    assert (unjudged.verdict, unjudged.exit_code) == ("not judged", 2)
    assert [item.name for item in unjudged.not_judged] == ["other_user_forbidden"]
    failed = _result(("cancel_no_content", Outcome.FAILED, ""), NOT_JUDGED)
    assert (failed.verdict, failed.exit_code) == ("not conformant", 1)


def test_a_run_the_user_narrowed_is_not_made_2_by_what_it_could_not_judge() -> None:
    narrowed = _result(PASSED, NOT_JUDGED, narrowed=True)
    assert (narrowed.verdict, narrowed.exit_code) == ("conformant", 0)
    # An error is never narrowed away: the check was chosen and could not run.
    errored = _result(PASSED, ("auth_required", Outcome.ERROR, "throttled"), narrowed=True)
    assert (errored.verdict, errored.exit_code) == ("not judged", 2)


def test_every_report_lists_each_check_not_judged_with_its_reason(tmp_path: Path) -> None:
    result = _result(PASSED, NOT_JUDGED, STRICT_ONLY)
    out = io.StringIO()
    write_summary(result, out)
    text = out.getvalue()
    assert "- other_user_forbidden: needs --other-user-token" in text
    assert summary_line(result) in text and summary_line(result).startswith("judged 1/2 checks")
    assert text.rstrip().endswith("not judged")

    data = to_json(result)
    assert (data["verdict"], data["judged"], data["of"], data["exit_code"]) == ("not judged", 1, 2, 2)
    assert data["not_judged"] == [
        {"name": "other_user_forbidden", "outcome": "not judged", "reason": "needs --other-user-token"}
    ]
    json.dumps(data)

    junit = tmp_path / "junit.xml"
    write_junit(result, str(junit))
    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    skipped = cases["other_user_forbidden"].find("skipped")
    assert skipped is not None and skipped.get("message") == "not judged: needs --other-user-token"
    assert cases["cancel_no_content"].find("skipped") is None


# ---------------------------------------------------------------------------- failed preconditions
def _example_id_on_create(request: Request, response: Response) -> Response:
    """Create answers the schema's example id, as a stateless mock does (Prism: `"id": "string"`)."""
    body = response.json()
    if request.method == "POST" and response.status == 201 and isinstance(body, dict):
        return response.with_body(json.dumps({**body, "id": "string"}).encode())
    return response


def _publish_refused(request: Request, response: Response) -> Response:
    if request.method == "POST" and request.path.endswith("/publish"):
        return Response(409, [(b"content-type", b"application/json")], b'{"error": {"code": "x", "message": "no"}}')
    return response


@pytest.mark.slow
def test_create_answering_no_event_id_is_one_violation_with_every_check_listed_under_it() -> None:
    mock = RealTargetFake("example_ids", "create answers the example id", response=_example_id_on_create)
    result = judge(mock, seed=SEED, max_examples=2)
    (broken,) = result.preconditions
    assert broken.violation.title == "create of a webinar answered an id that is not an event id"
    assert "'string'" in broken.violation.message and broken.violation.repro
    # Every check that needs an event is listed under it; those that need none still judge.
    needing = {item.name for item in list_checks() if item.needs and not item.strict_only}
    assert set(broken.checks) == needing and not result.failed_checks()
    assert {"unknown_id_not_found", "error_envelope"} <= {item.name for item in result.judged}
    assert (result.verdict, result.exit_code) == ("not conformant", 1)
    out = io.StringIO()
    write_summary(result, out)
    assert out.getvalue().count(broken.violation.title) == 1 + len(broken.checks)  # once, then a pointer per check


@pytest.mark.slow
def test_publish_refusing_a_fresh_draft_is_reported_once() -> None:
    refusing = RealTargetFake("publish_refused", "publish answers 409", response=_publish_refused)
    result = judge(refusing, seed=SEED, checks=("vevents",))
    titles = [broken.violation.title for broken in result.preconditions]
    assert "publish of a fresh webinar draft answered 409" in titles and len(titles) == len(set(titles))
    blocked = {name for broken in result.preconditions for name in broken.checks}
    assert "cancel_no_content" in blocked and not [item for item in result.results if item.outcome is Outcome.ERROR]
    assert result.exit_code == 1


def test_every_schemathesis_counter_reaches_the_reports(tmp_path: Path) -> None:
    result = _result(PASSED)
    result.schemathesis = {
        "scenarios": 11,
        "skipped_for_time": 7,
        "skipped_for_budget": 3,
        "throttled_unjudged": 2,
        "stopped_for_time": True,
        "errors": 0,
    }
    out = io.StringIO()
    write_summary(result, out)
    line = next(text for text in out.getvalue().splitlines() if text.startswith("schemathesis: "))
    assert line == (
        "schemathesis: 11 scenarios (stopped: its time share was over); requests skipped for time 7, "
        "creates skipped for the budget 3, throttled answers left unjudged 2, errors 0"
    )
    assert to_json(result)["schemathesis"] == result.schemathesis
    junit = tmp_path / "junit.xml"
    write_junit(result, str(junit))
    properties = {item.get("name"): item.get("value") for item in ET.parse(junit).getroot().iter("property")}
    assert properties["schemathesis"] == line.removeprefix("schemathesis: ")
