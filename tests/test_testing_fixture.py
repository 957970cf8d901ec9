"""The `vevents_stub` fixture as an integrator uses it: only its documented API (docs/testing.md).

No import from vevents here - the fixture arrives through the `pytest11` entry point - and
the "integration" under test is plain httpx code, as a user's own client would be.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

SAMPLE_ID = "bce9a3ca-a310-48fa-baf3-1cedcd04bb3f@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba"

SAMPLE = "bce9a3ca-a310-48fa-baf3-1cedcd04bb3f@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba"


# ---------------------------------------------------------------- the user's code under test
def get_with_retries(client: httpx.Client, url: str, *, attempts: int = 5) -> httpx.Response:
    """Retries 429/503/504, honouring Retry-After, as Graph's guidance asks."""
    for _ in range(attempts - 1):
        response = client.get(url)
        if response.status_code not in (429, 503, 504):
            return response
        time.sleep(float(response.headers.get("Retry-After", "0")))
    return client.get(url)


def cancel(client: httpx.Client, base_url: str, kind: str, event_id: str) -> int:
    return client.post(f"{base_url}/solutions/virtualEvents/{kind}/{event_id}/cancel").status_code


def wait_until_canceled(client: httpx.Client, url: str, *, timeout: float = 10) -> float:
    """Re-reads until the cancel shows (Graph is eventually consistent); the seconds it took."""
    started = time.monotonic()
    while client.get(url, params={"$select": "status"}).json()["status"] != "canceled":
        if time.monotonic() - started > timeout:
            raise TimeoutError(url)
        time.sleep(0.05)
    return time.monotonic() - started


# ---------------------------------------------------------------- tests
@pytest.fixture
def client(vevents_stub: Any) -> Iterator[httpx.Client]:
    with httpx.Client(headers=vevents_stub.headers(), timeout=10) as http:
        yield http


def test_retries_on_throttling(vevents_stub: Any, client: httpx.Client) -> None:
    vevents_stub.add_fault("throttle", operation_id="getWebinar", times=2, retry_after=0)
    response = get_with_retries(client, vevents_stub.event_url("webinars", SAMPLE))
    assert response.status_code == 200
    assert [e["status"] for e in vevents_stub.journal(operation_id="getWebinar")] == [429, 429, 200]
    assert vevents_stub.faults()[0]["fired"] == 2


def test_gives_up_when_unavailable_for_good(vevents_stub: Any, client: httpx.Client) -> None:
    vevents_stub.add_fault("unavailable", retry_after=0)
    response = get_with_retries(client, vevents_stub.event_url("townhalls", SAMPLE), attempts=3)
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "serviceNotAvailable"
    assert vevents_stub.calls("getTownhall") == 3


def test_waits_for_a_write_to_show(vevents_stub: Any, client: httpx.Client) -> None:
    vevents_stub.set_read_lag(300)
    before_the_write = time.monotonic()
    assert cancel(client, vevents_stub.base_url, "webinars", SAMPLE) == 204
    assert vevents_stub.event("webinars", SAMPLE)["status"] == "canceled"  # stored at once
    wait_until_canceled(client, vevents_stub.event_url("webinars", SAMPLE))
    assert time.monotonic() - before_the_write >= 0.3


def test_calls_cancel_exactly_once(vevents_stub: Any, client: httpx.Client) -> None:
    assert cancel(client, vevents_stub.base_url, "townhalls", SAMPLE) == 204
    assert vevents_stub.calls("cancelTownhall") == 1
    (entry,) = vevents_stub.journal(method="POST", event_id=SAMPLE)
    assert entry["status"] == 204 and entry["kind"] == "townhalls"
    vevents_stub.clear_journal()
    assert vevents_stub.journal() == []


def test_arranged_canceled_event(vevents_stub: Any, client: httpx.Client) -> None:
    co_organizer = "99999999-8888-4777-8666-555555555555"
    event = vevents_stub.arrange("webinars", "canceled", co_organizers=[co_organizer], displayName="Gone")
    read = httpx.get(vevents_stub.event_url("webinars", event["id"]), headers=vevents_stub.headers(user=co_organizer))
    assert read.status_code == 200
    assert (read.json()["status"], read.json()["displayName"]) == ("canceled", "Gone")
    assert client.post(vevents_stub.event_url("webinars", event["id"], "publish")).status_code >= 400


def test_arranged_registrations_sessions_and_presenters(vevents_stub: Any, client: httpx.Client) -> None:
    """A canceled registration, two sessions and a presenter, arranged in three calls; the Graph
    routes serve them, the journal shows the Graph calls, and the next test starts without them."""
    event = vevents_stub.arrange("webinars", "published")
    registration = vevents_stub.arrange_member(
        "webinars", event["id"], "registrations",
        {"email": "kenna@contoso.com", "status": "canceled", "cancelationDateTime": "2026-11-30T09:00:00Z"},
    )  # fmt: skip
    for start in ("2026-12-01T17:00:00", "2026-12-02T17:00:00"):
        vevents_stub.arrange_member(
            "webinars", event["id"], "sessions", {"subject": "Part", "startDateTime": {"dateTime": start}}
        )
    vevents_stub.arrange_member("webinars", event["id"], "presenters", {"email": "speaker@fabrikam.com"})
    url = vevents_stub.event_url("webinars", event["id"])
    read = client.get(f"{url}/registrations/{registration['id']}")
    assert read.status_code == 200 and read.json()["status"] == "canceled"
    assert len(client.get(f"{url}/sessions").json()["value"]) == 2
    assert [p["email"] for p in client.get(f"{url}/presenters").json()["value"]] == ["speaker@fabrikam.com"]
    assert [m["id"] for m in vevents_stub.members("webinars", event["id"], "registrations")] == [registration["id"]]
    assert vevents_stub.calls("getWebinarRegistration") == 1 and vevents_stub.calls("listWebinarSessions") == 1
    vevents_stub.reset()
    assert client.get(f"{vevents_stub.event_url('webinars', SAMPLE_ID)}/presenters").json()["value"] == []


_CHANGES_THEN_CHECKS = """
import httpx

SAMPLE = "SAMPLE_ID"


def test_changes_everything(vevents_stub):
    canceled = httpx.post(vevents_stub.event_url("webinars", SAMPLE, "cancel"), headers=vevents_stub.headers())
    assert canceled.status_code == 204
    vevents_stub.add_fault("throttle", operation_id="getWebinar", times=5)
    vevents_stub.set_read_lag(500)
    vevents_stub.arrange("townhalls", "draft")


def test_starts_from_the_seed(vevents_stub):
    assert {e["status"] for e in vevents_stub.events()} == {"published"}
    assert vevents_stub.faults() == [] and vevents_stub.journal() == []
    read = httpx.get(vevents_stub.event_url("webinars", SAMPLE), headers=vevents_stub.headers())
    assert read.status_code == 200 and read.json()["status"] == "published"  # no fault, no lag left
""".replace("SAMPLE_ID", SAMPLE)


def test_each_test_starts_from_the_seed(tmp_path: Path) -> None:
    # One test cancels a sample event, sets a fault and lag and arranges an event; the next one
    # (same session, same server) finds none of it. Run as a user's own pytest session, so the
    # order is certain whichever pytest-xdist worker runs this test.
    (tmp_path / "test_user_suite.py").write_text(_CHANGES_THEN_CHECKS)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "test_user_suite.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "2 passed" in result.stdout, result.stdout[-3000:] + result.stderr[-2000:]


def test_loads_events_and_reads_them_back(vevents_stub: Any) -> None:
    event_id = "6d3a0a2a-5c7b-4bd0-9a43-0d9b2ad2c9f1@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba"
    loaded = vevents_stub.load(
        [
            {
                "@odata.type": "#microsoft.graph.virtualEventTownhall",
                "id": event_id,
                "status": "draft",
                "displayName": "Loaded",
            }
        ]
    )
    assert loaded == 1
    assert [e["id"] for e in vevents_stub.events("townhalls") if e["status"] == "draft"] == [event_id]


def test_application_tokens_and_the_beta_root(vevents_stub: Any) -> None:
    token = vevents_stub.token(roles=["VirtualEvent.Read.All"])
    listed = httpx.get(
        f"{vevents_stub.beta_url}/solutions/virtualEvents/webinars", headers={"Authorization": f"Bearer {token}"}
    )
    assert listed.status_code == 200 and [e["id"] for e in listed.json()["value"]] == [SAMPLE]


def test_a_dropped_connection(vevents_stub: Any, client: httpx.Client) -> None:
    rule = vevents_stub.add_fault("drop", operation_id="cancelWebinar", times=1)
    with pytest.raises(httpx.TransportError):
        cancel(client, vevents_stub.base_url, "webinars", SAMPLE)
    vevents_stub.remove_fault(rule["id"])
    assert cancel(client, vevents_stub.base_url, "webinars", SAMPLE) == 204


def test_a_refused_control_call_fails_the_test_at_once(vevents_stub: Any) -> None:
    from vevents.testing import ControlError

    with pytest.raises(ControlError, match="not an operationId") as refused:
        vevents_stub.add_fault("throttle", operation_id="getWebinars")  # a typo
    assert refused.value.status == 400
    assert vevents_stub.faults() == []
