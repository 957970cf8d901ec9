"""The conformance suite: judge any base URL (or the bundled stub) against the contract.

From Python:

    from vevents.conformance import CheckConfig, run
    result = run(CheckConfig(base_url="http://127.0.0.1:8080/v1.0", token="..."))
    assert result.exit_code == 0, result.failed_checks()

From the shell: `vevents check --base-url URL --token TOKEN`; from pytest:
`pytest -p vevents.conformance.pytest_plugin --pyargs vevents.conformance --vevents-base-url URL ...`
(see docs/conformance.md).
"""

from __future__ import annotations

from .errors import ConformanceError, NotThisApi, SetupError, TargetUnreachable, UsageError
from .failures import Skip, Violation
from .registry import REGISTRY, Check, check, load_all
from .runner import CheckConfig, CheckFinished, CheckResult, CheckStarted, Note, Outcome, RunResult, run

__all__ = [
    "REGISTRY",
    "Check",
    "CheckConfig",
    "CheckFinished",
    "CheckResult",
    "CheckStarted",
    "ConformanceError",
    "NotThisApi",
    "Note",
    "Outcome",
    "RunResult",
    "SetupError",
    "Skip",
    "TargetUnreachable",
    "UsageError",
    "Violation",
    "check",
    "list_checks",
    "load_all",
    "run",
]


def list_checks() -> list[Check]:
    """Every registered check, in the order a run reports them."""
    return list(load_all().values())
