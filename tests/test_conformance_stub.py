"""The suite against the bundled stub: no false alarms, in time; its three entry points."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import vevents.conformance as conformance
from vevents.conformance import CheckConfig, Outcome, RunResult, list_checks, run

SEED = 20261124
ROOT = Path(__file__).resolve().parent.parent


def _findings(result: RunResult) -> list[str]:
    return [f"{item.name}: {violation}" for item in result.results for violation in item.violations] + [
        f"{item.name}: could not run: {item.reason}" for item in result.results if item.outcome is Outcome.ERROR
    ]


@pytest.mark.slow
def test_default_run_against_the_stub_finds_nothing() -> None:
    # (How long it takes is a benchmark figure, bench/suite_cost.py, not a test.)
    result = run(CheckConfig(seed=SEED))
    assert result.exit_code == 0, "\n".join(_findings(result))
    assert result.embedded
    # Everything ran: the built-ins judged responses, only strict-only checks were skipped.
    skipped = {item.name for item in result.results if item.outcome is Outcome.SKIPPED}
    assert skipped == {item.name for item in list_checks() if item.strict_only}
    assert result.not_judged == [] and result.verdict == "conformant"


@pytest.mark.slow
def test_strict_run_against_the_stub_finds_nothing() -> None:
    result = run(CheckConfig(seed=SEED, strict=True, max_examples=5))
    assert result.exit_code == 0, "\n".join(_findings(result))
    assert result.count(Outcome.SKIPPED) == 0


def test_pytest_entry_runs_one_test_per_check() -> None:
    own = [item for item in list_checks() if item.source == "vevents"]
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "vevents.conformance.pytest_plugin",
        "--pyargs",
        "vevents.conformance",
        "--vevents-checks",
        "vevents",
        "--vevents-seed",
        "1",
        "-q",
        "-rs",
    ]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    strict_only = sum(item.strict_only for item in own)
    assert f"{len(own) - strict_only} passed, {strict_only} skipped" in done.stdout


def test_python_api_is_a_short_tested_list() -> None:
    assert {"run", "CheckConfig", "RunResult", "list_checks", "check", "Violation"} <= set(conformance.__all__)


def test_every_check_has_a_one_line_description() -> None:
    checks = list_checks()
    assert len({item.name for item in checks}) == len(checks)
    for item in checks:
        assert item.description and "\n" not in item.description
    # The suite's own checks come first (they run first), then Schemathesis's built-ins.
    sources = [item.source for item in checks]
    assert sources == sorted(sources, key=lambda source: source != "vevents")


def test_config_masks_tokens() -> None:
    config = CheckConfig(base_url="http://127.0.0.1:1/v1.0", token="secret-token-value")
    assert "secret-token-value" not in repr(config)


def test_docs_describe_every_check_and_every_fake() -> None:
    from fakes import FAKES

    text = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    for item in list_checks():
        assert f"`{item.name}`" in text, item.name
    for fake in FAKES:
        assert f"`{fake.name}`" in text, fake.name


def test_check_modules_do_not_import_the_registry() -> None:
    # One direction only: the registry imports the modules that declare checks; they import
    # `definitions` (no import circle, no re-sorting of a half-filled registry).
    modules = [*sorted((ROOT / "conformance" / "checks").glob("*.py")), ROOT / "conformance" / "schemathesis_phase.py"]
    assert len(modules) >= 5
    for path in modules:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not {name for name in imported if name.rsplit(".", 1)[-1] == "registry"}, path.name


def test_the_permanence_sweep_runs_last() -> None:
    own = [item for item in list_checks() if item.source == "vevents"]
    assert [item.name for item in own if item.final] == ["canceled_stays_canceled"]
    assert own[-1].final


def test_permanence_wait_is_an_option_and_never_negative() -> None:
    from vevents.conformance import UsageError
    from vevents.conformance.options import OPTIONS

    assert "permanence-wait" in {spec.name for spec in OPTIONS}
    assert CheckConfig(permanence_wait=2.5).permanence_wait == 2.5
    with pytest.raises(UsageError, match="permanence-wait"):
        CheckConfig(permanence_wait=-1)
