"""`vevents check` as a command: exit codes, one-line errors, reports, listing and help."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result
from fakes import FAKES, STUB, serve, tokens

from vevents.conformance import list_checks
from vevents.conformance.cli import check
from vevents.spec import contract

pytestmark = pytest.mark.slow


def invoke(*args: str) -> Result:
    return CliRunner().invoke(check, list(args), catch_exceptions=False)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _HtmlEverywhere(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        # As a web server's error page is: many lines.
        body = b"<!DOCTYPE html>\n<html>\n<head><title>404</title></head>\n<body><h1>Not Found</h1></body>\n</html>\n"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def html_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HtmlEverywhere)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1.0"
    finally:
        server.shutdown()
        server.server_close()


def _one_line_error(result: Result, *words: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("vevents check: could not run: ")
    for word in words:
        assert word in lines[0]


def test_down_target_exits_2_with_one_line() -> None:
    result = invoke("--base-url", f"http://127.0.0.1:{_closed_port()}/v1.0", "--token", "t")
    _one_line_error(result, "cannot reach")


def test_base_url_that_is_not_this_api_exits_2_with_one_line() -> None:
    with html_server() as base_url:
        result = invoke("--base-url", base_url, "--token", "t")
    _one_line_error(result, "does not look like the Graph virtual events API", "text/html")


def test_base_url_without_version_gets_a_hint() -> None:
    with serve(STUB) as base_url:
        result = invoke("--base-url", base_url.rsplit("/", 1)[0], "--token", tokens()["main"])
    _one_line_error(result, "should end with a version")


def test_rejected_token_exits_2() -> None:
    with serve(STUB) as base_url:
        result = invoke("--base-url", base_url, "--token", "not-a-jwt")
    _one_line_error(result, "token was refused")


@pytest.mark.parametrize(
    "args",
    [
        ("--checks", "no_such_check"),
        ("--base-url", "http://127.0.0.1:1/v1.0"),
        ("--event-id", "webinars:abc"),
        ("--base-url", "ftp://example/v1.0", "--token", "t"),
        ("--phases", "examples,warp"),
    ],
    ids=["unknown-check", "no-token", "event-id-without-base-url", "not-http", "unknown-phase"],
)
def test_bad_arguments_exit_2_with_one_line(args: tuple[str, ...]) -> None:
    _one_line_error(invoke(*args))


def test_unknown_option_is_one_line_not_a_usage_block() -> None:
    result = CliRunner().invoke(check, ["--max-event", "3"])
    _one_line_error(result, "--max-event")
    assert "Usage:" not in result.output


def test_every_cli_option_has_a_pytest_twin() -> None:
    import argparse

    from vevents.conformance import pytest_plugin

    class Group:
        def __init__(self) -> None:
            self.names: list[str] = []

        def addoption(self, *names: str, **kwargs: Any) -> None:
            self.names.extend(names)
            argparse.ArgumentParser().add_argument(*names, **kwargs)  # the kwargs are valid argparse

    group = Group()

    class Parser:
        def getgroup(self, *args: object) -> Group:
            return group

    pytest_plugin.pytest_addoption(Parser())  # type: ignore[arg-type]
    cli = [opt for param in check.params for opt in param.opts if opt.startswith("--") and opt != "--help"]
    assert "--no-schemathesis" in cli and "--max-events" in cli
    assert sorted(group.names) == sorted("--vevents-" + opt[2:] for opt in cli)


def test_list_checks_shows_every_check_with_its_description() -> None:
    result = invoke("--list-checks")
    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert len(lines) == len(list_checks())
    for item, line in zip(list_checks(), lines, strict=True):
        assert line.startswith(item.name + " ")
        assert item.description in line


def test_help_explains_every_option() -> None:
    text = " ".join(invoke("--help").output.split())
    for param in check.params:
        for opt in param.opts:
            assert opt in text
        assert getattr(param, "help", None), param.name
    for code in ("0 conformant", "1 not conformant", "2 not judged", "could not run"):
        assert code in text


def test_reports_list_each_check_and_reproduce_failures(tmp_path: Path) -> None:
    fake = next(fake for fake in FAKES if fake.name == "cancel_200_with_body")
    junit, report = tmp_path / "out" / "junit.xml", tmp_path / "report.json"
    role_tokens = tokens()
    with serve(fake) as base_url:
        result = invoke(
            "--base-url",
            base_url,
            "--token",
            role_tokens["main"],
            "--checks",
            "vevents",
            "--read-only-token",
            role_tokens["read_only"],
            "--seed",
            "7",
            "--junit-xml",
            str(junit),
            "--report-json",
            str(report),
        )
    assert result.exit_code == 1, result.output
    ours = [item.name for item in list_checks() if item.source == "vevents"]
    # The table and the reproduction are on stdout; the token never is.
    assert "cancel_no_content" in result.stdout and "FAILED" in result.stdout
    assert "curl " in result.stdout and role_tokens["main"] not in result.stdout

    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    cases = suite.findall("testcase")
    assert [case.get("name") for case in cases] == ours
    assert suite.get("tests") == str(len(ours))
    failed = {case.get("name"): case.findtext("failure") for case in cases if case.find("failure") is not None}
    assert "cancel_no_content" in failed and "curl " in str(failed["cancel_no_content"])
    skipped = {case.get("name"): case.find("skipped") for case in cases}
    reason = skipped["other_user_forbidden"]
    assert reason is not None and reason.get("message") == "not judged: needs --other-user-token"
    assert int(suite.get("failures", "")) == len(failed)

    data = json.loads(report.read_text())
    assert {"target", "strict", "seed", "duration", "exit_code", "summary", "checks"} <= set(data)
    assert data["exit_code"] == 1 and data["seed"] == 7 and data["target"] == base_url
    assert [item["name"] for item in data["checks"]] == ours
    assert sum(data["summary"].values()) == len(ours)
    first = next(item for item in data["checks"] if item["name"] == "cancel_no_content")
    assert first["outcome"] == "failed"
    assert {"title", "message", "repro", "documented"} <= set(first["violations"][0])


def test_bundled_stub_own_checks_pass_from_the_cli() -> None:
    result = invoke("--no-schemathesis")
    assert result.exit_code == 0, result.output
    assert "conformant" in result.stdout


def test_given_event_ids_only_and_nothing_else_is_canceled() -> None:
    role_tokens = tokens()
    headers = {"Authorization": f"Bearer {role_tokens['main']}"}
    with serve(STUB) as base_url, httpx.Client(base_url=base_url, headers=headers) as http:

        def create(kind: str) -> str:
            op = contract().find(action="create", kind=kind)
            body = {
                "displayName": "given",
                "startDateTime": {"dateTime": "2030-01-01T10:00:00"},
                "endDateTime": {"dateTime": "2030-01-01T11:00:00"},
            }
            answer = http.post(op.url_path(), json=body)
            assert answer.status_code == 201, answer.text
            return str(answer.json()["id"])

        bystander = create("webinars")
        given = [f"webinars:{create('webinars')}" for _ in range(3)] + [create("townhalls") for _ in range(3)]
        args = [arg for value in given for arg in ("--event-id", value)]
        result = invoke(
            "--base-url", base_url, "--token", role_tokens["main"], "--max-examples", "2", "--seed", "3", *args
        )
        # Checks that need events of their own cannot be judged on given ones only: said, and exit 2.
        assert result.exit_code == 2, result.output
        assert "not judged" in result.stdout and "pass more --event-id" in result.stdout
        get = contract().find(action="get", kind="webinars")
        assert http.get(get.url_path(bystander)).json()["status"] == "draft"


def test_checking_a_remote_target_never_imports_the_server() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1.0"
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from vevents.conformance.cli import check\n"
        f"result = CliRunner().invoke(check, ['--base-url', '{url}', '--token', 't'])\n"
        "assert result.exit_code == 2, result.output\n"
        "loaded = [name for name in sys.modules if name.startswith(('vevents.server', 'connexion'))]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_short_tokens_are_masked_only_where_they_stand_alone() -> None:
    from vevents.conformance.schemathesis_phase import _mask

    # A target that accepts any token is often checked with a short one, such as "x".
    masked = _mask("Expected 401, got 200 for 'Authorization: Bearer x' -d '{\"contentType\": \"text\"}'", "x")
    assert "Expected 401" in masked and '"text"' in masked
    assert "'Authorization: Bearer x'" not in masked


def test_progress_event_types_are_importable_from_the_package() -> None:
    import vevents.conformance as conformance

    for name in ("CheckStarted", "CheckFinished", "Note"):
        assert name in conformance.__all__ and isinstance(getattr(conformance, name), type)


def test_schemathesis_private_names_still_exist() -> None:
    from vevents.conformance import _requests, _schemathesis

    missing = _schemathesis.missing_private_names()
    assert not missing, f"this Schemathesis no longer has {missing}: update conformance/_schemathesis.py"
    import requests

    response = requests.Response()
    for dotted in _requests.PRIVATE_NAMES:
        assert hasattr(response, dotted.rsplit(".", 1)[1]), f"requests no longer has {dotted}: update _requests.py"


def test_hypothesis_private_names_still_exist_and_their_shared_caches_change_no_answer() -> None:
    from hypothesis import stateful
    from hypothesis.internal import lambda_sources

    from vevents.conformance import _hypothesis

    missing = _hypothesis.missing_private_names()
    assert not missing, f"this Hypothesis no longer has {missing}: update conformance/_hypothesis.py"

    def make(limit: int) -> object:
        return lambda value, floor=limit: value > floor

    class Machine(stateful.RuleBasedStateMachine):
        pass

    plain_describe, plain_digest = lambda_sources._lambda_description, stateful.function_digest  # type: ignore[attr-defined]
    expected = [plain_describe(make(1)), plain_describe(make(2))]  # type: ignore[no-untyped-call]
    digest = plain_digest(Machine)
    with _hypothesis.shared_source_caches(), _hypothesis.shared_source_caches():
        assert lambda_sources._lambda_description is not plain_describe
        # Computed once, then the same answer; a lambda that shows other defaults is described anew.
        assert [lambda_sources._lambda_description(make(1)) for _ in range(2)] == [expected[0]] * 2  # type: ignore[no-untyped-call]
        assert lambda_sources._lambda_description(make(2)) == expected[1] != expected[0]  # type: ignore[no-untyped-call]
        assert stateful.function_digest(Machine) == stateful.function_digest(Machine) == digest  # type: ignore[attr-defined]
    # Outside a run, Hypothesis is as it was.
    assert (lambda_sources._lambda_description, stateful.function_digest) == (  # type: ignore[attr-defined]
        plain_describe,
        plain_digest,
    )


def test_sessions_read_the_proxy_environment_once_with_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    import requests

    from vevents.conformance._schemathesis import environment_read_once

    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.2")
    plain, once = requests.Session(), requests.Session()
    readings: list[str] = []
    reading = once.merge_environment_settings

    def counted(*args: Any) -> Any:
        readings.append(args[0])
        return reading(*args)

    once.merge_environment_settings = counted  # type: ignore[method-assign,assignment]
    environment_read_once(once)
    urls = ("http://127.0.0.1:8080/v1.0/a", "http://127.0.0.1:8080/v1.0/b?x=1", "http://127.0.0.2:8080/v1.0/a")
    for _ in range(2):
        for url in urls:
            mine, theirs = {"https": "http://mine.invalid"}, {"https": "http://mine.invalid"}
            answer = once.merge_environment_settings(url, mine, None, True, None)
            assert answer == plain.merge_environment_settings(url, theirs, None, True, None)
            assert mine == theirs  # the caller's proxies get the environment's entries, as requests gives them
            assert once.merge_environment_settings(url, None, None, True, None) == plain.merge_environment_settings(
                url, None, None, True, None
            )
    # The environment does matter here: a proxy for one host, none for the other (NO_PROXY).
    proxied: dict[str, str] = {}
    bypassed: dict[str, str] = {}
    plain.merge_environment_settings(urls[0], proxied, None, True, None)
    plain.merge_environment_settings(urls[2], bypassed, None, True, None)
    assert proxied.get("http") == "http://proxy.invalid:3128" and "http" not in bypassed
    # Read once per host and arguments (two hosts, with and without proxies), not once per request.
    assert len(readings) == 4, readings


def test_check_leaves_no_hypothesis_folder_in_the_working_directory(tmp_path: Path) -> None:
    env = {**__import__("os").environ}
    env.pop("HYPOTHESIS_STORAGE_DIRECTORY", None)
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    work = tmp_path / "work"
    work.mkdir()
    command = [
        sys.executable,
        "-m",
        "vevents",
        "check",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        "1",
        "--phases",
        "examples,fuzzing",
    ]
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(work.iterdir()) == []


def test_docs_options_table_names_every_option() -> None:
    text = (Path(__file__).resolve().parent.parent / "docs" / "conformance.md").read_text(encoding="utf-8")
    for param in check.params:
        for opt in param.opts:
            if opt.startswith("--") and opt != "--help":
                assert f"`{opt}" in text, f"{opt} is not in docs/conformance.md"
