"""The pytest entry: every check becomes one test, all judged from one run of the suite.

Not auto-loaded (no `pytest11` entry point: a plugin that registers itself in every project
that installs vevents would be intrusive). Load it explicitly:

    pytest -p vevents.conformance.pytest_plugin --pyargs vevents.conformance \\
        --vevents-base-url http://127.0.0.1:8080/v1.0 --vevents-token "$TOKEN"

or in a conftest.py: `pytest_plugins = ["vevents.conformance.pytest_plugin"]`, then use the
`vevents_result` fixture (a `RunResult`) in your own tests. Without --vevents-base-url the
bundled stub is started in-process. Every option of `vevents check` is here, prefixed
`--vevents-` so it never clashes with other plugins (pytest-base-url owns `--base-url`); both
come from the one table in `options.py`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from .options import OPTIONS, REPORT_OPTIONS, OptionSpec, config_from

if TYPE_CHECKING:
    from .runner import CheckConfig, CheckResult, RunResult

__all__ = ["pytest_addoption", "pytest_configure", "pytest_generate_tests", "vevents_check", "vevents_result"]


def _addoption_kwargs(spec: OptionSpec) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"dest": f"vevents_{spec.dest}", "help": spec.help_text()}
    if spec.is_flag:
        kwargs.update(action="store_true", default=False)
    elif spec.multiple:
        kwargs.update(action="append", default=[], metavar=spec.metavar)
    else:
        kwargs.update(default=None, metavar=spec.metavar)
        if spec.type is not str:
            kwargs["type"] = spec.type
    return kwargs


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vevents", "vevents conformance suite")
    for spec in (*OPTIONS, *REPORT_OPTIONS):
        group.addoption(f"--vevents-{spec.name}", **_addoption_kwargs(spec))
    group.addoption(
        "--vevents-list-checks",
        dest="vevents_list_checks",
        action="store_true",
        default=False,
        help="List every check with its one-line description and exit.",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("vevents_list_checks", default=False):
        from .registry import load_all

        for item in load_all().values():
            print(f"{item.name}  {item.description}")
        pytest.exit("listed the checks", returncode=0)


def _values(config: pytest.Config) -> dict[str, Any]:
    return {spec.dest: config.getoption(f"vevents_{spec.dest}") for spec in (*OPTIONS, *REPORT_OPTIONS)}


def _config(config: pytest.Config) -> CheckConfig:
    return config_from(_values(config))  # type: ignore[no-any-return]


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
    """The suite's verdict on the target, computed once per session (reports written as asked)."""
    from . import report
    from .errors import ConformanceError
    from .runner import run

    try:
        result = run(_config(pytestconfig))
    except ConformanceError as exc:
        pytest.fail(f"vevents: could not run: {exc}", pytrace=False)
    values = _values(pytestconfig)
    if values["junit_xml"]:
        report.write_junit(result, values["junit_xml"])
    if values["report_json"]:
        report.write_json(result, values["report_json"])
    if values["html"]:
        from .html_report import write_html

        write_html(report.to_json(result), values["html"])
    return result


@pytest.fixture
def vevents_check(request: pytest.FixtureRequest, vevents_result: RunResult) -> CheckResult:
    """The result of the check this test is parametrized with."""
    name = request.param
    return next(item for item in vevents_result.results if item.name == name)
