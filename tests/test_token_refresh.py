"""Tokens for each caller, renewed by the suite (`--token-command`, conformance/tokens.py).

The end-to-end runs check a stub that refuses expired tokens (the stub's own verifier) with
tokens that live 10 s, in a run that lasts longer (`--permanence-wait 11`): once through
commands that print a JWT (renewed before it expires: its `exp` says when) and once through
commands that print JSON without an expiry (renewed after the 401 that says it expired). Every
token issued is logged by the command itself, and none may appear in any output or report.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from click.testing import CliRunner
from conftest import Stub, running_stub
from leaks import assert_no_leak, outputs_of

from vevents.conformance.cli import check
from vevents.conformance.errors import SetupError
from vevents.conformance.tokens import Issued, TokenCommand, Tokens, parse_issued, renewed_after_401
from vevents.server.auth import mint_token
from vevents.server.settings import DEFAULT_SECRET, Settings

OTHER_USER = "99999999-8888-4777-8666-555555555555"
NOW = 1_800_000_000.0


def a_jwt(exp: float) -> str:
    return jwt.encode({"exp": int(exp), "oid": "x"}, "a-secret-of-at-least-32-bytes-length!", algorithm="HS256")


# ---------------------------------------------------------------------------- what a command prints
def test_a_bare_jwt_expires_when_its_exp_says() -> None:
    token = a_jwt(NOW + 600)
    assert parse_issued(f"{token}\n", now=NOW) == Issued(token, NOW + 600, NOW)


@pytest.mark.parametrize(
    ("output", "expires"),
    [
        ('{"accessToken": "opaque", "expiresOn": 1800000600}', NOW + 600),
        ('{"access_token": "opaque", "expires_in": 3599}', NOW + 3599),
        ('{"accessToken": "opaque", "expiresOn": "2027-01-15T08:00:00Z"}', NOW),
        # `az account get-access-token`: a local time without a zone, and epoch seconds (which win).
        ('{"accessToken": "opaque", "expiresOn": "2027-01-15 08:00:00.000000", "expires_on": 1800000900}', NOW + 900),
        ('{"token": "opaque"}', None),
    ],
)
def test_json_with_the_token_and_its_expiry(output: str, expires: float | None) -> None:
    issued = parse_issued(output, now=NOW)
    assert issued.value == "opaque"
    assert issued.expires_at == expires


@pytest.mark.parametrize("output", ["", "two words", '{"accessToken": 5}', "{not json"])
def test_output_without_a_token_stops_the_run(output: str) -> None:
    with pytest.raises(SetupError):
        parse_issued(output, now=NOW)


def test_a_failing_command_says_why_without_its_stdout() -> None:
    command = TokenCommand("echo secret-token-value; echo 'sign-in needed' >&2; exit 3", role="read_only")
    with pytest.raises(SetupError) as raised:
        command(NOW)
    assert str(raised.value) == "the read-only token command exited 3: sign-in needed"


# ---------------------------------------------------------------------------- renewal
class Counter:
    def __init__(self, lifetime: float | None) -> None:
        self.lifetime = lifetime
        self.calls = 0

    def __call__(self, now: float) -> Issued:
        self.calls += 1
        return Issued(f"token-{self.calls}", None if self.lifetime is None else now + self.lifetime, now)


def test_a_token_is_renewed_before_it_expires_and_the_old_one_still_masked() -> None:
    clock = [NOW]
    provider = Counter(lifetime=10.0)
    tokens = Tokens({"read_only": "static-read-only"}, {"main": provider}, clock=lambda: clock[0])
    assert tokens["main"] == "token-1" and tokens["main"] == "token-1" and provider.calls == 1
    clock[0] = NOW + 7.4  # a quarter of its life before it expires: still in use
    assert tokens["main"] == "token-1"
    clock[0] = NOW + 7.5
    assert tokens["main"] == "token-2" and provider.calls == 2
    assert sorted(tokens.every_secret()) == [
        ("main", "token-1"),
        ("main", "token-2"),
        ("read_only", "static-read-only"),
    ]
    assert tokens.role_of("token-1") == "main" and tokens["read_only"] == "static-read-only"


def test_after_a_401_for_an_expired_token_it_is_renewed_once() -> None:
    provider = Counter(lifetime=None)  # expiry unknown: only a 401 renews it
    tokens = Tokens({}, {"main": provider}, clock=lambda: NOW)
    assert tokens["main"] == "token-1"
    expired = (
        b'{"error":{"code":"InvalidAuthenticationToken","message":"Lifetime validation failed, the token is expired."}}'
    )
    assert renewed_after_401(tokens, "main", "token-1", expired) == "token-2"
    # A second request that still carried token-1 gets the renewed one, no third run of the command.
    assert renewed_after_401(tokens, "main", "token-1", expired) == "token-2" and provider.calls == 2
    # Any other 401 is the target's verdict: nothing renewed.
    refused = b'{"error":{"code":"InvalidAuthenticationToken","message":"Signature verification failed."}}'
    assert renewed_after_401(tokens, "main", "token-2", refused) is None and provider.calls == 2
    assert renewed_after_401({"main": "static"}, "main", "static", expired) is None


# ---------------------------------------------------------------------------- whole runs
@pytest.fixture(scope="module")
def stub() -> Iterator[Stub]:
    with running_stub(Settings(memory=True)) as served:
        yield served


def command(log: Path, *token_args: str, as_json: bool) -> str:
    """A shell command that mints a 10 s token, logs it, and prints it (raw, or as JSON without an expiry)."""
    mint = f"{shlex.quote(sys.executable)} -m vevents token --expires-in 10 {' '.join(token_args)}"
    if as_json:
        wrap = "import json,sys; print(json.dumps({'accessToken': sys.stdin.read().strip()}))"
        return f't=$({mint}) && echo "$t" >> {log} && echo "$t" | {shlex.quote(sys.executable)} -c "{wrap}"'
    return f't=$({mint}) && echo "$t" >> {log} && echo "$t"'


@pytest.mark.slow
@pytest.mark.parametrize("as_json", [False, True], ids=["jwt-renewed-before-expiry", "json-renewed-after-401"])
def test_a_run_longer_than_the_tokens_life_passes(stub: Stub, tmp_path: Path, as_json: bool) -> None:
    log = tmp_path / "issued.log"
    junit, report, page = tmp_path / "junit.xml", tmp_path / "report.json", tmp_path / "report.html"
    result = CliRunner().invoke(
        check,
        [
            "--base-url", stub.base_url + "/v1.0",
            "--token-command", command(log, as_json=as_json),
            "--read-only-token-command", command(log, "--scope", "VirtualEvent.Read", as_json=as_json),
            "--other-user-token-command", command(log, "--user", OTHER_USER, as_json=as_json),
            "--permanence-wait", "11",
            "--max-schemathesis-time", "40",  # judged on the target, not on the machine's load
            "--max-examples", "2",
            "--seed", "3",
            "--junit-xml", str(junit),
            "--report-json", str(report),
            "--html", str(page),
        ],
        catch_exceptions=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    issued = log.read_text().split()
    assert len(issued) > 3, "no token was renewed: the run did not outlive its tokens"
    assert_no_leak(outputs_of(result.stdout, result.stderr, junit, report, page), issued)
    checks = json.loads(report.read_text())["checks"]
    assert {item["name"]: item["outcome"] for item in checks}["other_user_forbidden"] == "passed"


def test_token_and_its_command_together_are_refused() -> None:
    token = mint_token(secret=DEFAULT_SECRET)
    result = CliRunner().invoke(
        check, ["--base-url", "http://127.0.0.1:9/v1.0", "--token", token, "--token-command", "true"]
    )
    assert result.exit_code == 2
    assert "give --token or --token-command, not both" in result.stderr and token not in result.output
