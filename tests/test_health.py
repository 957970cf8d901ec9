"""Container-friendly serving: the open liveness route (`GET /healthz`), `vevents health URL`, and
the control API's token route (`POST /_vevents/tokens`).

A "non-loopback" stub is one whose settings say 0.0.0.0 while the test serves it on 127.0.0.1
(tests/test_control_safety.py explains why): the control API is then off, as under
`vevents serve --host 0.0.0.0`.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from click.testing import CliRunner
from conftest import SAMPLE_ID, Stub, running_stub
from reliability import served
from test_control_api import assert_envelope, control

from vevents.health import health, health_url
from vevents.server.auth import SEED_ORGANIZER, SEED_TENANT
from vevents.server.settings import DEFAULT_SECRET, Settings
from vevents.server.store import StoreUnavailable
from vevents.spec.control import LIVENESS_PATH

CONTROL_TOKEN = "control-token-for-the-health-tests"


def vevents_health(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The command as a health check runs it: its own process."""
    return subprocess.run(
        [sys.executable, "-m", "vevents", "health", *args],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip


def health_in_process(*args: str) -> subprocess.CompletedProcess[str]:
    """The same command in this process (an interpreter start-up saved), with the same three results."""
    result = CliRunner().invoke(health, list(args))
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout, result.stderr)


@pytest.fixture(scope="module")
def public_stub() -> Iterator[Stub]:
    with running_stub(Settings(memory=True, host="0.0.0.0")) as stub:
        yield stub


# ---------------------------------------------------------------------------- the liveness route
def test_liveness_is_open_and_says_nothing_more_on_a_public_address(public_stub: Stub, http: httpx.Client) -> None:
    answer = http.get(public_stub.base_url + LIVENESS_PATH)
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}
    assert answer.headers["cache-control"] == "no-store"
    # ... while the control API's health (which names the store) is off there.
    assert_envelope(http.get(control(public_stub, "/health")), 404, "itemNotFound")


def test_liveness_ignores_fault_rules_and_stays_out_of_the_journal(stub: Stub, http: httpx.Client) -> None:
    assert http.post(control(stub, "/faults"), json={"action": "unavailable"}).status_code == 201  # every request
    assert http.get(stub.base_url + LIVENESS_PATH).status_code == 200
    assert http.get(stub.url("/solutions/virtualEvents/webinars")).status_code == 503
    paths = [entry["path"] for entry in http.get(control(stub, "/journal")).json()["value"]]
    assert LIVENESS_PATH not in paths and len(paths) == 1


def test_liveness_is_503_without_detail_when_the_store_cannot_answer(
    stub: Stub, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unavailable(*args: object, **kwargs: object) -> list[object]:
        raise StoreUnavailable("could not connect to server at db.internal:5432")

    monkeypatch.setattr(stub.store, "find", unavailable)
    answer = http.get(stub.base_url + LIVENESS_PATH)
    assert_envelope(answer, 503, "serviceNotAvailable")
    assert "db.internal" not in answer.text


# ---------------------------------------------------------------------------- vevents health
@pytest.mark.parametrize(
    ("given", "asked"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/healthz"),
        ("https://stub:8443/", "https://stub:8443/healthz"),
        ("http://127.0.0.1:8080/_vevents/health", "http://127.0.0.1:8080/_vevents/health"),
    ],
)
def test_health_url(given: str, asked: str) -> None:
    assert health_url(given) == asked


def test_health_command_on_a_public_address_with_the_control_api_off(public_stub: Stub) -> None:
    proc = vevents_health(public_stub.base_url)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [proc.stdout.strip()]
    assert proc.stdout.startswith(f"healthy: {public_stub.base_url}/healthz answered 200 in ")
    # The control API's own health is off there: the command says so, exit 1.
    proc = health_in_process(control(public_stub, "/health"))
    assert (proc.returncode, proc.stderr.strip()) == (1, f"unhealthy: {control(public_stub, '/health')} answered 404")


def test_health_command_sends_the_control_token() -> None:
    with running_stub(Settings(memory=True, control_token=CONTROL_TOKEN)) as stub:
        assert health_in_process(control(stub, "/health")).returncode == 1  # 401 without it
        proc = health_in_process(control(stub, "/health"), "--control-token", CONTROL_TOKEN)
        assert proc.returncode == 0, proc.stderr
        assert CONTROL_TOKEN not in proc.stdout + proc.stderr


def test_health_command_when_nothing_listens() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    proc = health_in_process(f"http://127.0.0.1:{port}")
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"unhealthy: cannot reach http://127.0.0.1:{port}/healthz: ")
    assert proc.stdout == "" and len(proc.stderr.splitlines()) == 1


def test_health_command_gives_up_at_its_timeout() -> None:
    # A socket that accepts connections (the kernel's backlog) but never answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        proc = health_in_process(url, "--timeout", "0.5")
        took = time.monotonic() - started
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"unhealthy: {url}/healthz did not answer within 0.5 s"
    assert 0.4 < took < 10


@pytest.mark.slow
def test_health_command_with_several_workers(tmp_path: Path) -> None:
    with served(tmp_path / "stub.db", workers=2) as stub:
        for _ in range(4):  # answered by either worker
            proc = health_in_process(stub.base_url)
            assert proc.returncode == 0, proc.stderr


# ---------------------------------------------------------------------------- the token route
def test_token_route_mints_what_the_stub_trusts(stub: Stub, http: httpx.Client) -> None:
    before = int(time.time())
    issued = http.post(control(stub, "/tokens"), json={}).json()
    assert set(issued) == {"tokenType", "accessToken", "expiresIn", "expiresOn"}
    assert (issued["tokenType"], issued["expiresIn"]) == ("Bearer", 3600)
    claims = jwt.decode(
        issued["accessToken"], DEFAULT_SECRET, algorithms=["HS256"], audience="https://graph.microsoft.com"
    )
    assert (claims["tid"], claims["oid"], claims["scp"]) == (SEED_TENANT, SEED_ORGANIZER, "VirtualEvent.ReadWrite")
    assert issued["expiresOn"] == claims["exp"] and before + 3600 <= claims["exp"] <= int(time.time()) + 3600
    bearer = {"Authorization": f"Bearer {issued['accessToken']}"}
    assert http.post(stub.event_url("webinars", SAMPLE_ID, "cancel"), headers=bearer).status_code == 204


def test_token_route_read_only_and_application_tokens(stub: Stub, http: httpx.Client) -> None:
    read_only = http.post(control(stub, "/tokens"), json={"scopes": ["VirtualEvent.Read"], "expiresIn": 60}).json()
    bearer = {"Authorization": f"Bearer {read_only['accessToken']}"}
    assert http.get(stub.event_url("webinars", SAMPLE_ID), headers=bearer).status_code == 200
    assert_envelope(http.post(stub.event_url("webinars", SAMPLE_ID, "cancel"), headers=bearer), 403, "Forbidden")
    app = http.post(control(stub, "/tokens"), json={"roles": ["VirtualEvent.Read.All"]}).json()
    claims = jwt.decode(app["accessToken"], options={"verify_signature": False})
    assert claims["roles"] == ["VirtualEvent.Read.All"] and "scp" not in claims


@pytest.mark.parametrize(
    "body", [{"tenant": "not-a-guid"}, {"expiresIn": 0}, {"expiresIn": 86401}, {"scope": ["x"]}, {"user": ""}]
)
def test_token_route_refuses_bad_input(stub: Stub, http: httpx.Client, body: dict[str, object]) -> None:
    assert_envelope(http.post(control(stub, "/tokens"), json=body), 400, "invalidRequest")


def test_token_route_is_closed_like_the_rest(public_stub: Stub, http: httpx.Client) -> None:
    assert_envelope(http.post(control(public_stub, "/tokens"), json={}), 404, "itemNotFound")
    with running_stub(Settings(memory=True, control_token=CONTROL_TOKEN)) as stub:
        assert_envelope(http.post(control(stub, "/tokens"), json={}), 401, "InvalidAuthenticationToken")
        opened = http.post(control(stub, "/tokens"), json={}, headers={"Authorization": f"Bearer {CONTROL_TOKEN}"})
        assert opened.status_code == 200 and opened.json()["accessToken"] != CONTROL_TOKEN
