"""The MSAL path (conformance/msal_tokens.py): client credentials against a local authority over TLS.

The authority (tests/local_authority.py) serves OpenID discovery and a token endpoint on
127.0.0.1 with a certificate of the project's local CA, and issues the bundled stub's tokens
that live 10 s; the stub refuses expired ones. A run that lasts longer (`--permanence-wait 11`)
with every caller's token from MSAL passes, the authority is asked again (the tokens were
renewed), and no token or client secret appears in any output (tests/leaks.py). The same scan
runs over a target that echoes the Authorization header back, in its headers and bodies, raw
and base64-encoded: what the suite masks is then really exercised, the HTML page included.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner, Result
from conftest import Stub, running_stub
from fakes import Fake, Request, Response, serve, tokens
from leaks import assert_no_leak, outputs_of
from local_authority import Client, LocalAuthority, local_authority

from vevents.conformance.cli import check
from vevents.conformance.errors import SetupError
from vevents.conformance.msal_tokens import MsalClientCredentials, graph_scope
from vevents.server.auth import mint_token
from vevents.server.settings import DEFAULT_SECRET, Settings
from vevents.server.tls import TlsFiles, local_ca

OTHER_USER = "99999999-8888-4777-8666-555555555555"
SECRETS = {
    "main": "organizer-app-secret~0a1b2c",
    "read_only": "reader-app-secret~3d4e5f",
    "other_user": "other-user-app-secret~6a7b8c9d",
}
REPORTS = ("junit.xml", "report.json", "report.html")
CLIENT_IDS = {
    "main": "aaaaaaaa-0000-4000-8000-000000000001",
    "read_only": "aaaaaaaa-0000-4000-8000-000000000002",
    "other_user": "aaaaaaaa-0000-4000-8000-000000000003",
}


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return local_ca(tmp_path_factory.mktemp("tls"))


def _clients() -> dict[str, Client]:
    """Each caller's application and the stub's tokens (10 s) the authority issues it."""
    mints = {
        "main": lambda: mint_token(secret=DEFAULT_SECRET, expires_in=10),
        "read_only": lambda: mint_token(secret=DEFAULT_SECRET, expires_in=10, scopes=["VirtualEvent.Read"]),
        "other_user": lambda: mint_token(secret=DEFAULT_SECRET, expires_in=10, user=OTHER_USER),
    }
    return {CLIENT_IDS[role]: Client(SECRETS[role], mints[role]) for role in mints}


@pytest.fixture
def authority(tls: TlsFiles) -> Iterator[LocalAuthority]:
    with local_authority(tls, _clients()) as served:
        yield served


@pytest.fixture(scope="module")
def stub() -> Iterator[Stub]:
    with running_stub(Settings(memory=True)) as served:
        yield served


def trusting(tls: TlsFiles) -> requests.Session:
    session = requests.Session()
    session.verify = str(tls.ca_cert)
    session.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would win over `verify`
    return session


def provider(authority: LocalAuthority, tls: TlsFiles, *, secret: str) -> MsalClientCredentials:
    return MsalClientCredentials(
        role="read_only",
        tenant=authority.tenant,
        client_id=CLIENT_IDS["read_only"],
        client_secret=secret,
        scope="https://graph.microsoft.com/.default",
        authority_host=authority.host,
        http_client=trusting(tls),
    )


# ---------------------------------------------------------------------------- the provider
def test_client_credentials_give_a_token_and_its_expiry(authority: LocalAuthority, tls: TlsFiles) -> None:
    issued = provider(authority, tls, secret=SECRETS["read_only"])(1000.0)
    assert issued.value == authority.issued[-1]
    assert issued.expires_at is not None and 1000.0 < issued.expires_at <= 1010.0
    assert authority.requests[-1]["grant_type"] == "client_credentials"
    assert authority.requests[-1]["scope"] == "https://graph.microsoft.com/.default"


def test_a_wrong_secret_names_the_authoritys_error_not_the_secret(authority: LocalAuthority, tls: TlsFiles) -> None:
    wrong = "not-the-secret~zz9y8x"
    with pytest.raises(SetupError) as raised:
        provider(authority, tls, secret=wrong)(1000.0)
    message = str(raised.value)
    where = f"{authority.host}/{authority.tenant}"
    assert message.startswith(f"the read-only MSAL sign-in at {where} failed: invalid_client (AADSTS7000215): Invalid")
    assert message.count("AADSTS7000215") == 1 and wrong not in message


def test_an_untrusted_authority_is_a_setup_error(authority: LocalAuthority, tls: TlsFiles) -> None:
    untrusting = requests.Session()
    untrusting.trust_env = False  # the system's CAs only: the local CA is not among them
    unsure = MsalClientCredentials(
        role="main", tenant=authority.tenant, client_id=CLIENT_IDS["main"], client_secret=SECRETS["main"],
        scope="https://x/.default", authority_host=authority.host, http_client=untrusting,
    )  # fmt: skip
    with pytest.raises(SetupError, match=r"MSAL sign-in at .* failed: .*certificate"):
        unsure(1000.0)
    assert authority.requests == []  # no secret was sent to a host it could not trust


def test_the_scope_is_the_targets_default() -> None:
    assert graph_scope("https://graph.microsoft.com/v1.0") == "https://graph.microsoft.com/.default"
    assert graph_scope("https://graph.microsoft.us/beta") == "https://graph.microsoft.us/.default"


# ---------------------------------------------------------------------------- whole runs
def msal_check(
    stub: Stub, authority: LocalAuthority, tls: TlsFiles, monkeypatch: pytest.MonkeyPatch, out: Path, *extra: str
) -> Result:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls.ca_cert))
    for role, secret in SECRETS.items():
        monkeypatch.setenv(f"TEST_{role.upper()}_SECRET", secret)
    return CliRunner().invoke(
        check,
        [
            "--base-url", stub.base_url + "/v1.0",
            "--msal-tenant", authority.tenant, "--msal-authority", authority.host,
            "--msal-client-id", CLIENT_IDS["main"], "--msal-client-secret-env", "TEST_MAIN_SECRET",
            "--read-only-msal-client-id", CLIENT_IDS["read_only"],
            "--read-only-msal-client-secret-env", "TEST_READ_ONLY_SECRET",
            "--other-user-msal-client-id", CLIENT_IDS["other_user"],
            "--other-user-msal-client-secret-env", "TEST_OTHER_USER_SECRET",
            "--junit-xml", str(out / "junit.xml"), "--report-json", str(out / "report.json"),
            "--html", str(out / "report.html"),
            *extra,
        ],
        catch_exceptions=False,
    )  # fmt: skip


@pytest.mark.slow
def test_a_run_longer_than_the_tokens_life_passes_through_msal(
    stub: Stub, authority: LocalAuthority, tls: TlsFiles, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # A generous Schemathesis share: the run is judged on the target, not on the machine's load.
    extra = ("--permanence-wait", "11", "--max-examples", "2", "--seed", "3", "--max-schemathesis-time", "40")
    result = msal_check(stub, authority, tls, monkeypatch, tmp_path, *extra)
    assert result.exit_code == 0, result.output
    assert authority.token_requests(CLIENT_IDS["main"]) > 1, "the organizer's token was never renewed"
    outputs = outputs_of(result.stdout, result.stderr, *(tmp_path / name for name in REPORTS))
    assert_no_leak(outputs, [*authority.issued, *SECRETS.values()])


def test_a_wrong_secret_stops_the_run_with_the_authoritys_error(
    stub: Stub, authority: LocalAuthority, tls: TlsFiles, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(SECRETS, "read_only", "a-wrong-secret~qq11")
    result = msal_check(stub, authority, tls, monkeypatch, tmp_path)
    assert result.exit_code == 2, result.output
    assert "read-only MSAL sign-in" in result.stderr and "invalid_client (AADSTS7000215)" in result.stderr
    assert "Traceback" not in result.output
    assert_no_leak(outputs_of(result.stdout, result.stderr), ["a-wrong-secret~qq11"])


def test_a_missing_secret_variable_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        check,
        [
            "--base-url", "http://127.0.0.1:9/v1.0", "--msal-tenant", "contoso.onmicrosoft.com",
            "--msal-client-id", CLIENT_IDS["main"], "--msal-client-secret-env", "VEVENTS_TEST_UNSET_SECRET",
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    assert "VEVENTS_TEST_UNSET_SECRET (the main client secret) is not set" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--msal-client-id", "c"], "--msal-client-id needs --msal-tenant"),
        (["--msal-client-id", "c", "--msal-tenant", "t"], "--msal-client-id needs --msal-client-secret-env"),
        (["--token", "x" * 20, "--msal-client-id", "c"], "give --token, --token-command or --msal-client-id"),
    ],
)
def test_msal_options_that_do_not_fit_together(args: list[str], message: str) -> None:
    result = CliRunner().invoke(check, ["--base-url", "http://127.0.0.1:9/v1.0", *args])
    assert result.exit_code == 2 and message in result.stderr


# ---------------------------------------------------------------------------- a target that echoes the token
def _echo_authorization(request: Request, response: Response) -> Response:
    """Every answer carries the caller's Authorization back in a header; cancel also in a 200 body."""
    sent = request.headers.get("authorization", "")
    encoded = base64.b64encode(sent.encode()).decode()
    headers = [*response.headers, (b"x-echo-authorization", sent.encode()), (b"x-echo-b64", encoded.encode())]
    answer = Response(response.status, headers, response.body)
    if request.method == "POST" and request.path.endswith("/cancel") and response.status == 204:
        body = f'{{"encoded": "{encoded}", "authorization": "{sent}"}}'
        answer = answer.with_body(body.encode())
        answer.status = 200
    return answer


ECHO = Fake("echo_authorization", "echoes the Authorization header", "cancel_no_content", response=_echo_authorization)


@pytest.mark.slow
def test_a_target_that_echoes_the_token_never_gets_it_into_a_report(tmp_path: Path) -> None:
    role = tokens()
    with serve(ECHO) as base_url:
        result = CliRunner().invoke(
            check,
            [
                "--base-url", base_url, "--token", role["main"], "--read-only-token", role["read_only"],
                "--other-user-token", role["other_user"], "--checks", "vevents", "--seed", "5",
                "--junit-xml", str(tmp_path / "junit.xml"), "--report-json", str(tmp_path / "report.json"),
                "--html", str(tmp_path / "report.html"), "-v",
            ],
            catch_exceptions=False,
        )  # fmt: skip
    assert result.exit_code == 1, result.output
    outputs = outputs_of(result.stdout, result.stderr, *(tmp_path / name for name in REPORTS))
    assert_no_leak(outputs, role.values())
    # The echo reached the reports (the masking had work to do): base64("Bearer ") and the token's mask.
    assert all("QmVhcmVyIG$VEVENTS_TOKEN" in outputs[name] for name in ("report.json", "report.html"))


def test_the_scan_finds_each_form() -> None:
    token = mint_token(secret=DEFAULT_SECRET)
    for text in (
        token,
        f"?t={token}",
        base64.b64encode(f"Bearer {token}".encode()).decode(),
        base64.urlsafe_b64encode(f"x{token}".encode()).decode(),
        base64.b64encode(f"xy{token}".encode()).decode(),
    ):
        with pytest.raises(AssertionError, match="leaked: out"):
            assert_no_leak({"out": text}, [token])
    assert_no_leak({"out": token[:-1] + " " + token[1:]}, [token])
