"""The pytest entry: every check becomes one test, all judged from one run of the suite.

Not auto-loaded (no `pytest11` entry point: a plugin that registers itself in every project
that installs vevents would be intrusive). Load it explicitly:

    pytest -p vevents.conformance.pytest_plugin --pyargs vevents.conformance \\
        --vevents-base-url http://127.0.0.1:8080/v1.0 --vevents-token "$TOKEN"

or in a conftest.py: `pytest_plugins = ["vevents.conformance.pytest_plugin"]`, then use the
`vevents_result` fixture (a `RunResult`) in your own tests. Without --vevents-base-url the
bundled stub is started in-process. Options are prefixed `--vevents-` so they never clash with
other plugins (pytest-base-url owns `--base-url`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .runner import CheckConfig, CheckResult, RunResult

__all__ = ["pytest_addoption", "pytest_generate_tests", "vevents_check", "vevents_result"]

_OPTIONS = (
    ("base-url", {"metavar": "URL", "help": "Target base URL with version (default: the bundled stub)."}),
    ("token", {"metavar": "TOKEN", "help": "Delegated VirtualEvent.ReadWrite token (required with a base URL)."}),
    ("read-only-token", {"metavar": "TOKEN", "help": "Optional VirtualEvent.Read token."}),
    ("other-user-token", {"metavar": "TOKEN", "help": "Optional token of another user of the tenant."}),
    ("event-id", {"action": "append", "default": [], "metavar": "[KIND:]ID", "help": "Use this event (repeatable)."}),
    ("strict", {"action": "store_true", "help": "Also judge the stub's documented choices."}),
    ("checks", {"metavar": "NAMES", "default": "", "help": "Comma-separated checks to run."}),
    ("exclude-checks", {"metavar": "NAMES", "default": "", "help": "Comma-separated checks to skip."}),
    ("phases", {"metavar": "PHASES", "default": "examples,coverage,fuzzing,stateful",
                "help": "Schemathesis phases."}),
    ("max-examples", {"type": int, "default": None, "metavar": "N", "help": "Schemathesis examples per operation."}),
    ("seed", {"type": int, "default": None, "help": "Seed for Schemathesis and random ids."}),
    ("timeout", {"type": float, "default": None, "metavar": "SECONDS", "help": "Per-request timeout."}),
    ("settle", {"type": float, "default": 0.0, "metavar": "SECONDS",
                "help": "Re-read an event for up to SECONDS until a write shows (eventually consistent targets)."}),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vevents", "vevents conformance suite")
    for name, kwargs in _OPTIONS:
        group.addoption(f"--vevents-{name}", dest=f"vevents_{name.replace('-', '_')}", **kwargs)  # type: ignore[arg-type]


def _names(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _config(config: pytest.Config) -> CheckConfig:
    from .runner import CheckConfig

    def option(name: str) -> object:
        return config.getoption(f"vevents_{name}")

    extra: dict[str, object] = {}
    if option("max_examples") is not None:
        extra["max_examples"] = option("max_examples")
    if option("timeout") is not None:
        extra["timeout"] = option("timeout")
    extra["settle"] = option("settle")
    return CheckConfig(
        base_url=option("base_url"),  # type: ignore[arg-type]
        token=option("token"),  # type: ignore[arg-type]
        read_only_token=option("read_only_token"),  # type: ignore[arg-type]
        other_user_token=option("other_user_token"),  # type: ignore[arg-type]
        event_ids=tuple(option("event_id")),  # type: ignore[arg-type]
        strict=bool(option("strict")),
        checks=_names(option("checks")),  # type: ignore[arg-type]
        exclude_checks=_names(option("exclude_checks")),  # type: ignore[arg-type]
        phases=_names(option("phases")),  # type: ignore[arg-type]
        seed=option("seed"),  # type: ignore[arg-type]
        **extra,  # type: ignore[arg-type]
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "vevents_check" not in metafunc.fixturenames:
        return
    from .errors import ConformanceError
    from .registry import select

    try:
        config = _config(metafunc.config)
        names = [item.name for item in select(config.checks, config.exclude_checks)]
    except ConformanceError as exc:
        raise pytest.UsageError(f"vevents: {exc}") from exc
    metafunc.parametrize("vevents_check", names, indirect=True)


@pytest.fixture(scope="session")
def vevents_result(pytestconfig: pytest.Config) -> RunResult:
    """The suite's verdict on the target, computed once per session."""
    from .errors import ConformanceError
    from .runner import run

    try:
        return run(_config(pytestconfig))
    except ConformanceError as exc:
        pytest.fail(f"vevents: could not run: {exc}", pytrace=False)


@pytest.fixture
def vevents_check(request: pytest.FixtureRequest, vevents_result: RunResult) -> CheckResult:
    """The result of the check this test is parametrized with."""
    name = request.param
    return next(item for item in vevents_result.results if item.name == name)
