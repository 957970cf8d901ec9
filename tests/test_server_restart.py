"""Acceptance 3: state survives a restart of `vevents serve` on the same --db file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from conftest import SAMPLE_ID, SECRET

pytestmark = pytest.mark.slow

_LISTENING = re.compile(r"listening on (http://\S+)")


@contextmanager
def serve(db: Path, stop: signal.Signals = signal.SIGTERM) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Run `vevents serve --db DB --port 0` as a subprocess; yield its base URL; stop it with `stop`."""
    env = {**os.environ, "VEVENTS_SECRET": SECRET}
    command = [sys.executable, "-m", "vevents", "serve", "--db", str(db), "--port", "0", "--log-level", "warning"]
    log = db.with_suffix(".log")
    with (
        log.open("a") as stderr,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=env) as process,
    ):
        try:
            assert process.stdout is not None
            for line in process.stdout:
                if match := _LISTENING.search(line):
                    base_url = match.group(1)
                    break
            else:
                process.wait(timeout=5)
                pytest.fail(f"vevents serve did not start:\n{log.read_text()}")
            _wait_until_ready(base_url)
            yield base_url, process
        finally:
            if process.poll() is None:
                process.send_signal(stop)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_ready(base_url: str) -> None:
    # The socket is bound before the URL is printed; connections queue until uvicorn accepts.
    with httpx.Client(timeout=10) as client:
        client.get(base_url + "/v1.0/openapi.json")


def _url(base: str, kind: str, event_id: str, action: str | None = None) -> str:
    return f"{base}/v1.0/solutions/virtualEvents/{kind}/{quote(event_id, safe='')}" + (f"/{action}" if action else "")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=lambda s: s.name)
def test_state_survives_a_restart(tmp_path: Path, auth: Callable[..., dict[str, str]], stop: signal.Signals) -> None:
    db = tmp_path / "vevents.db"
    headers = auth()
    body = {
        "displayName": "survivor",
        "startDateTime": {"dateTime": "2026-12-01T17:00:00"},
        "endDateTime": {"dateTime": "2026-12-01T18:00:00"},
    }
    with serve(db, stop) as (base, process), httpx.Client(timeout=10, headers=headers) as client:
        created = client.post(f"{base}/v1.0/solutions/virtualEvents/townhalls", json=body).json()
        assert client.post(_url(base, "townhalls", created["id"], "publish")).status_code == 204
        draft = client.post(f"{base}/beta/solutions/virtualEvents/webinars", json=body).json()
        assert client.post(_url(base, "webinars", SAMPLE_ID, "cancel")).status_code == 204
    if stop != signal.SIGKILL:
        assert process.returncode == 0, db.with_suffix(".log").read_text()

    with serve(db, signal.SIGTERM) as (base, process), httpx.Client(timeout=10, headers=headers) as client:
        assert client.get(_url(base, "townhalls", created["id"])).json()["status"] == "published"
        assert client.get(_url(base, "webinars", draft["id"])).json()["status"] == "draft"
        # The seed is not loaded again over existing state: the sample webinar stays canceled.
        assert client.get(_url(base, "webinars", SAMPLE_ID)).json()["status"] == "canceled"
        assert client.get(_url(base, "townhalls", SAMPLE_ID)).json()["status"] == "published"
        # ... and canceled is still permanent after the restart.
        assert client.post(_url(base, "webinars", SAMPLE_ID, "publish")).status_code == 409
        assert client.get(_url(base, "webinars", SAMPLE_ID)).json()["status"] == "canceled"
    assert process.returncode == 0, db.with_suffix(".log").read_text()
