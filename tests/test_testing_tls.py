"""`vevents_stub_tls`: the pytest fixture over HTTPS, as an integrator uses it (documented API only)."""

from __future__ import annotations

import ssl
from typing import Any

import httpx
import pytest

SAMPLE_ID = "bce9a3ca-a310-48fa-baf3-1cedcd04bb3f@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba"


def test_tls_stub_serves_https_trusted_through_its_ca(vevents_stub_tls: Any) -> None:
    assert vevents_stub_tls.base_url.startswith("https://127.0.0.1:")
    trust = ssl.create_default_context(cafile=vevents_stub_tls.ca_cert)
    with httpx.Client(verify=trust, headers=vevents_stub_tls.headers(), timeout=10) as client:
        response = client.get(vevents_stub_tls.event_url("webinars", SAMPLE_ID))
    assert response.status_code == 200 and response.json()["status"] == "published"
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(vevents_stub_tls.event_url("webinars", SAMPLE_ID), timeout=10)  # system roots only


def test_tls_stub_controls_work_and_each_test_starts_fresh(vevents_stub_tls: Any) -> None:
    vevents_stub_tls.add_fault("throttle", operation_id="getWebinar", times=1, retry_after=1)
    trust = ssl.create_default_context(cafile=vevents_stub_tls.ca_cert)
    with httpx.Client(verify=trust, headers=vevents_stub_tls.headers(), timeout=10) as client:
        throttled = client.get(vevents_stub_tls.event_url("webinars", SAMPLE_ID))
        assert (throttled.status_code, throttled.headers["retry-after"]) == (429, "1")
        assert client.get(vevents_stub_tls.event_url("webinars", SAMPLE_ID)).status_code == 200
    assert [entry["status"] for entry in vevents_stub_tls.journal(operation_id="getWebinar")] == [429, 200]


def test_tls_stub_next_test_sees_no_rule_or_journal(vevents_stub_tls: Any) -> None:
    assert vevents_stub_tls.faults() == [] and vevents_stub_tls.journal() == []
