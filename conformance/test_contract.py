"""One test per conformance check (collected by `pytest --pyargs vevents.conformance`).

Needs the plugin: `pytest -p vevents.conformance.pytest_plugin --pyargs vevents.conformance ...`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from vevents.conformance.runner import CheckResult


def test_check(vevents_check: CheckResult) -> None:
    from vevents.conformance.runner import Outcome

    result = vevents_check
    if result.outcome is Outcome.SKIPPED:
        pytest.skip(result.reason)
    if result.outcome is Outcome.NOT_JUDGED:
        pytest.skip(f"not judged: {result.reason}")
    if result.outcome is Outcome.ERROR:
        pytest.fail(f"could not run: {result.reason}", pytrace=False)
    if result.outcome is Outcome.FAILED:
        lines = [result.description]
        for violation in result.violations:
            lines += ["", f"- {violation}", *(f"    {line}" for line in violation.repro)]
        pytest.fail("\n".join(lines), pytrace=False)
