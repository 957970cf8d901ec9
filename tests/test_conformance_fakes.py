"""The catalogue: every broken implementation is caught, by the check that names its fault;
every correct-but-different implementation passes the default mode."""

from __future__ import annotations

import re

import pytest
from fakes import (
    FAKES,
    LAGGING_READS,
    LAGGING_WRITES,
    SLOW_REVERT,
    SLOW_REVERT_SECONDS,
    VARIANTS,
    Fake,
    judge,
    tokens,
)

from vevents.conformance import CheckConfig, Outcome, list_checks
from vevents.conformance.target import GARBAGE_TOKEN

pytestmark = pytest.mark.slow

SEED = 20261124
# The catalogue runs each fake against its named check plus only the built-ins it names, with
# few examples, so that forty fakes stay fast on two cores; the variants get every check.
# The stub's events cost nothing (no budget); one worker, so that a fault that spills over onto other
# events (cancel_hits_others) is found by the check named for it; Schemathesis gets all the time it needs.
FAST = {"max_examples": 3, "seed": SEED, "max_events": 200, "workers": 1, "max_schemathesis_time": 300.0}
# A settled run spends its time waiting for reads to show writes: with the command's default
# number of workers (as a user runs it) those waits overlap instead of adding up.
SETTLE_WORKERS = CheckConfig().workers


def test_catalogue_is_big_and_names_real_checks() -> None:
    names = {item.name for item in list_checks()}
    assert len(FAKES) >= 57
    assert len({fake.name for fake in FAKES}) == len(FAKES)
    for fake in FAKES:
        assert fake.expected_check in names, fake.name
        assert set(fake.schemathesis_checks) <= names, fake.name


def _checks_for(fake: Fake) -> tuple[str, ...]:
    # The named check alone shows it catches the fault (and keeps the catalogue fast); a check
    # that looks back over the run (the permanence sweep) needs the other checks' cancels first.
    named = next(item for item in list_checks() if item.name == fake.expected_check)
    return ("vevents",) if named.final else (named.name,)


@pytest.mark.parametrize("fake", FAKES, ids=[fake.name for fake in FAKES])
def test_fake_is_caught_by_its_check(fake: Fake) -> None:
    # Built-ins need a little more room: the stateful phase must reach cancel through a link
    # (the examples and stateful phases are enough to reach every fault here).
    options = {**FAST, "max_examples": 10, "phases": ("examples", "stateful")} if fake.schemathesis_checks else FAST
    result = judge(fake, checks=(*_checks_for(fake), *fake.schemathesis_checks), **options)
    failed = result.failed_checks()
    assert fake.expected_check in failed, f"{fake.name} ({fake.description}) slipped through: failed={failed}"
    for name in fake.schemathesis_checks:
        assert name in failed, f"{fake.name} not caught by {name}: failed={failed}"
    assert result.exit_code == 1
    caught = next(item for item in result.results if item.name == fake.expected_check)
    # Every finding comes with a reproduction that never prints a token.
    assert all(violation.repro for violation in caught.violations)
    secrets = tokens().values()
    assert not any(secret in line for violation in caught.violations for line in violation.repro for secret in secrets)
    assert any("$VEVENTS_TOKEN" in line for violation in caught.violations for line in violation.repro)


@pytest.mark.parametrize("variant", VARIANTS, ids=[variant.name for variant in VARIANTS])
def test_correct_but_different_passes_default_mode(variant: Fake) -> None:
    # Every check, the Schemathesis built-ins included: none may false-alarm on a legitimate choice.
    result = judge(variant, **FAST)
    assert result.failed_checks() == [], [str(v) for item in result.results for v in item.violations]
    assert not [item.name for item in result.results if item.outcome is Outcome.ERROR]


def test_strict_mode_holds_a_variant_to_the_stubs_choices() -> None:
    refusing = next(variant for variant in VARIANTS if variant.name == "refusing_lifecycle")
    result = judge(refusing, checks=("vevents",), strict=True, **FAST)
    assert {"second_cancel_keeps_canceled", "publish_keeps_canceled", "cancel_draft"} <= set(result.failed_checks())
    # What strict adds is marked as the stub's choice, never as Graph's documented behaviour.
    violations = [violation for item in result.results for violation in item.violations]
    assert violations and not any(violation.documented for violation in violations)


def test_settle_waits_for_an_eventually_consistent_read() -> None:
    # Read right after the cancel, a lagging replica looks like a cancel that did not stick...
    plain = judge(LAGGING_READS, checks=("cancel_is_visible",), **FAST)
    assert plain.failed_checks() == ["cancel_is_visible"]
    # ...with --settle the suite re-reads until the write shows, and finds nothing wrong.
    settled = judge(LAGGING_READS, checks=("cancel_is_visible",), **{**FAST, "settle": 3.0, "workers": SETTLE_WORKERS})
    assert settled.failed_checks() == []


def test_settle_waits_for_every_preparatory_write() -> None:
    # Reads that lag every write (create, publish, update, cancel), not only cancel: read at once,
    # a correct target looks broken... (Which of the "changes nothing" checks are fooled too depends
    # on how long ago their shared event was published: the checks that offer canceled events run
    # first, so that event is often older than the lag.)
    plain = judge(LAGGING_WRITES, checks=("vevents",), **FAST)
    assert {"cancel_is_visible", "cancel_keeps_other_properties"} <= set(plain.failed_checks())
    # ...with --settle every preparatory write is re-read until it shows, and every check passes.
    settled = judge(LAGGING_WRITES, checks=("vevents",), **{**FAST, "settle": 3.0, "workers": SETTLE_WORKERS})
    assert settled.failed_checks() == [], [str(v) for item in settled.results for v in item.violations]
    assert not [item.name for item in settled.results if item.outcome is Outcome.ERROR]


def test_ignored_auth_reproduction_sends_what_the_check_sent() -> None:
    # Schemathesis probed with an invalid token and was let in: the replay must send an invalid
    # token too (not the valid one, which would succeed for the wrong reason), and no secret.
    fake = next(item for item in FAKES if item.name == "invalid_token_accepted")
    result = judge(fake, checks=("ignored_auth",), phases=("examples",), **FAST)
    caught = next(item for item in result.results if item.name == "ignored_auth")
    assert caught.violations, result.failed_checks()
    for violation in caught.violations:
        replay = "\n".join(violation.repro)
        assert f"Authorization: Bearer {GARBAGE_TOKEN}" in replay, replay
        assert "$VEVENTS_TOKEN" not in replay and not any(secret in replay for secret in tokens().values())


def test_permanence_wait_takes_a_longer_look() -> None:
    # A cancel that expires from a cache a few seconds later: a short run ends before it shows...
    checks = ("cancel_is_visible", "canceled_stays_canceled")
    quick = judge(SLOW_REVERT, checks=checks, **FAST)
    assert quick.failed_checks() == []
    # ...--permanence-wait sweeps once more after waiting, and sees every canceled event revert.
    patient = judge(SLOW_REVERT, checks=checks, permanence_wait=SLOW_REVERT_SECONDS + 0.5, **FAST)
    assert patient.failed_checks() == ["canceled_stays_canceled"]
    sweep = next(item for item in patient.results if item.name == "canceled_stays_canceled")
    assert all("after the end of the run" in violation.title for violation in sweep.violations)


# The matrix (issue 20): the checks derived from it, one per dimension, each with several one-cell fakes.
MATRIX_CHECKS = (
    "callers_in_every_state",
    "states_as_reached",
    "views_agree_across_changes",
    "bodies_kept_across_transitions",
)


def test_every_dimension_of_the_matrix_has_several_one_cell_fakes() -> None:
    for name in MATRIX_CHECKS:
        assert sum(fake.expected_check == name for fake in FAKES) >= 3, name


def test_schemathesis_judges_real_event_bodies() -> None:
    # Fed the ids of the events the run created, the Schemathesis phases read real events: the
    # response-schema check judges 200 bodies of events, not only the 404s of random ids.
    from fakes_real_targets import REAL_TARGET_VARIANTS

    independent = next(variant for variant in REAL_TARGET_VARIANTS if variant.name == "extra_properties")
    result = judge(
        independent,
        checks=("cancel_is_visible", "response_schema_conformance"),
        max_examples=3,
        seed=SEED,
        phases=("examples", "coverage"),
        max_schemathesis_time=60.0,
    )
    schema = next(item for item in result.results if item.name == "response_schema_conformance")
    assert schema.outcome is Outcome.PASSED, schema.violations
    judged = re.search(r"\((\d+) of them events, 200\)", schema.reason)
    assert judged is not None and int(judged.group(1)) > 0, schema.reason
