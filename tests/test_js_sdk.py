"""Microsoft's JavaScript Graph client (`@microsoft/microsoft-graph-client`) against the stub over HTTPS.

The client runs in Node.js (tests/js/graph_client.cjs) and trusts the stub's local test CA
through `NODE_EXTRA_CA_CERTS`, as an integrator's test would. Why HTTPS, measured here too:
the client attaches the bearer token only to `https://` URLs, so against a plain-HTTP stub
every call arrives without a token and is refused.

Node and the package come from `make test` (npm, package.json); in CI a missing one is a
failure, elsewhere a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import SAMPLE_ID

from vevents.server.app import create_app
from vevents.server.background import serve_in_background
from vevents.server.settings import Settings
from vevents.server.tls import TlsFiles, local_ca

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "js" / "graph_client.cjs"
PACKAGE = ROOT / "node_modules" / "@microsoft" / "microsoft-graph-client"


@pytest.fixture(scope="module")
def node() -> str:
    found = shutil.which("node")
    if found is None or not PACKAGE.is_dir():
        reason = "node or node_modules/@microsoft/microsoft-graph-client is missing: run `make test` (npm install)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return local_ca(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def https_root(tls: TlsFiles) -> Iterator[str]:
    """A fresh stub (default seed, in memory) served over HTTPS: its root URL."""
    with serve_in_background(create_app(Settings(memory=True)), tls=tls) as root:
        yield root


RunJs = Callable[..., dict[str, Any]]


@pytest.fixture
def run_js(node: str, tls: TlsFiles, make_token: Callable[..., str]) -> RunJs:
    def run(scenario: str, root: str, event_id: str = SAMPLE_ID) -> dict[str, Any]:
        env = {
            **os.environ,
            "VEVENTS_ROOT": root,
            "VEVENTS_TOKEN": make_token(),
            "VEVENTS_EVENT": event_id,
            "NODE_EXTRA_CA_CERTS": str(tls.ca_cert),
        }
        proc = subprocess.run(
            [node, str(SCRIPT), scenario], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert proc.returncode == 0, proc.stderr
        output: dict[str, Any] = json.loads(proc.stdout)
        return output

    return run


def test_js_client_gets_cancels_and_reads_back_canceled_over_https(run_js: RunJs, https_root: str) -> None:
    output = run_js("lifecycle", https_root)
    result, exchanges = output["result"], output["exchanges"]
    assert result["before"] == "published"
    assert result["canceledResult"] is None  # 204 No Content
    assert (result["after"]["id"], result["after"]["status"]) == (SAMPLE_ID, "canceled")
    missing = result["missing"]
    assert missing["statusCode"] == 404 and missing["code"] == "itemNotFound"
    assert len(missing["requestId"]) == 36
    # The client keeps Graph's `error` object as the body: the stub's envelope reached it intact.
    assert json.loads(missing["body"])["innerError"]["request-id"] == missing["requestId"]
    assert [(e["method"], e["status"]) for e in exchanges] == [("GET", 200), ("POST", 204), ("GET", 200), ("GET", 404)]
    assert all(e["authorization"] and e["url"].startswith("https://127.0.0.1:") for e in exchanges)


def test_js_client_sends_no_token_to_a_plain_http_stub(run_js: RunJs) -> None:
    """The reason the stub serves HTTPS: over http:// the client leaves the token out."""
    with serve_in_background(create_app(Settings(memory=True))) as plain_root:
        output = run_js("plain", plain_root)
    (exchange,) = output["exchanges"]
    assert exchange["url"].startswith("http://") and not exchange["authorization"]
    assert output["result"]["error"]["statusCode"] == 401
    assert output["result"]["error"]["code"] == "InvalidAuthenticationToken"


def _throttle(root: str, tls: TlsFiles, **rule: Any) -> None:
    """A fault rule through the control API: 429 TooManyRequests with Retry-After: 1 on reads of the sample."""
    body = {
        "action": "throttle",
        "retryAfterSeconds": 1,
        "match": {"operationId": "getWebinar", "eventId": SAMPLE_ID},
        **rule,
    }
    with httpx.Client(verify=ssl.create_default_context(cafile=str(tls.ca_cert)), timeout=10) as client:
        response = client.post(f"{root}/_vevents/faults", json=body)
    assert response.status_code == 201, response.text


def test_js_retry_handler_honours_retry_after(run_js: RunJs, https_root: str, tls: TlsFiles) -> None:
    _throttle(https_root, tls, times=1)
    output = run_js("retry", https_root)
    assert output["result"]["status"] == "published"
    first, second = output["exchanges"]
    assert (first["status"], first["retryAfter"], second["status"]) == (429, "1", 200)
    # The client's own delay is 3 s (plus backoff): a wait near 1 s comes from Retry-After.
    waited = (second["started"] - first["ended"]) / 1000
    assert 0.95 <= waited < 2.5, f"waited {waited:.2f} s"


def test_js_client_reports_the_429_once_its_retries_run_out(run_js: RunJs, https_root: str, tls: TlsFiles) -> None:
    _throttle(https_root, tls)  # every matching request
    output = run_js("retriesRunOut", https_root)
    error = output["result"]["error"]
    assert (error["statusCode"], error["code"]) == (429, "TooManyRequests")
    assert [e["status"] for e in output["exchanges"]] == [429, 429]  # the first try and the one retry allowed
