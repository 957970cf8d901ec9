"""`vevents validate-traffic`: recordings are read, validated against the spec, and replayed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from vevents.recordings import RecordingError, read_recording
from vevents.traffic import validate_traffic, validate_traffic_command

SAMPLE = "bce9a3ca-a310-48fa-baf3-1cedcd04bb3f@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba"
BASE = "https://graph.microsoft.com/v1.0/solutions/virtualEvents"
EVENT = {"@odata.type": "#microsoft.graph.virtualEventWebinar", "id": SAMPLE, "status": "published"}
NOT_FOUND = {"error": {"code": "itemNotFound", "message": "The virtual event was not found."}}


def entry(
    when: str, method: str, url: str, status: int, body: object = None, ctype: str = "application/json"
) -> dict[str, Any]:
    headers = [] if body is None else [{"name": "Content-Type", "value": ctype}]
    text = "" if body is None else json.dumps(body)
    return {
        "startedDateTime": when,
        "request": {"method": method, "url": url, "headers": [{"name": "Authorization", "value": "Bearer x"}]},
        "response": {"status": status, "headers": headers, "content": {"text": text, "mimeType": ctype}},
    }


def write_har(tmp_path: Path, entries: list[dict[str, Any]]) -> Path:
    path = tmp_path / "traffic.har"
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    return path


def clean_run() -> list[dict[str, Any]]:
    encoded = SAMPLE.replace("@", "%40")
    return [
        entry("2026-11-24T10:00:00Z", "GET", f"{BASE}/webinars/{SAMPLE}", 200, EVENT),
        entry("2026-11-24T10:00:01Z", "POST", f"{BASE}/events/{encoded}/cancel", 204),
        entry("2026-11-24T10:00:02Z", "GET", f"{BASE}/webinars/{encoded}", 200, {**EVENT, "status": "canceled"}),
        entry("2026-11-24T10:00:03Z", "GET", f"{BASE}/webinars/{SAMPLE}?$select=status", 200, {"status": "canceled"}),
    ]


def rules(findings: list[Any]) -> set[str]:
    return {f.rule for f in findings if f.severity == "violation"}


def test_clean_har_has_no_findings(tmp_path: Path) -> None:
    assert validate_traffic(write_har(tmp_path, clean_run())) == []


def test_entries_are_replayed_in_recorded_order(tmp_path: Path) -> None:
    # HAR files from several tabs are not sorted; the cancel happened before the read.
    assert validate_traffic(write_har(tmp_path, list(reversed(clean_run())))) == []


def test_published_after_cancel_is_a_violation(tmp_path: Path) -> None:
    entries = [*clean_run(), entry("2026-11-24T10:00:09Z", "GET", f"{BASE}/webinars/{SAMPLE}", 200, EVENT)]
    assert rules(validate_traffic(write_har(tmp_path, entries))) == {"canceled_is_permanent"}


def test_canceled_event_that_disappears_is_a_violation(tmp_path: Path) -> None:
    entries = [*clean_run(), entry("2026-11-24T10:00:09Z", "GET", f"{BASE}/townhalls/{SAMPLE}", 404, NOT_FOUND)]
    assert rules(validate_traffic(write_har(tmp_path, entries))) == {"canceled_event_readable"}


def test_cancel_answering_200_with_a_body_is_a_violation(tmp_path: Path) -> None:
    entries = [entry("2026-11-24T10:00:00Z", "POST", f"{BASE}/webinars/{SAMPLE}/cancel", 200, EVENT)]
    assert "cancel_answers_204" in rules(validate_traffic(write_har(tmp_path, entries)))


def test_problem_json_error_is_a_violation(tmp_path: Path) -> None:
    problem = {"type": "about:blank", "title": "Not Found", "status": 404}
    entries = [
        entry("2026-11-24T10:00:00Z", "GET", f"{BASE}/webinars/{SAMPLE}", 404, problem, "application/problem+json")
    ]
    assert rules(validate_traffic(write_har(tmp_path, entries))) == {"response_conformance"}


def test_misspelt_status_is_a_violation(tmp_path: Path) -> None:
    entries = [entry("2026-11-24T10:00:00Z", "GET", f"{BASE}/webinars/{SAMPLE}", 200, {**EVENT, "status": "cancelled"})]
    assert rules(validate_traffic(write_har(tmp_path, entries))) == {"response_conformance"}


def test_requests_outside_the_contract_are_warnings_only(tmp_path: Path) -> None:
    entries = [entry("2026-11-24T10:00:00Z", "GET", "https://graph.microsoft.com/v1.0/me", 200, {"id": "x"})]
    findings = validate_traffic(write_har(tmp_path, entries))
    assert [(f.rule, f.severity) for f in findings] == [("outside_contract", "warning")]


def test_schemathesis_cassette_is_read(tmp_path: Path) -> None:
    cassette = {
        "command": "st run ...",
        "http_interactions": [
            {
                "id": "1",
                "request": {"uri": f"{BASE}/webinars/{SAMPLE}/cancel", "method": "POST", "headers": {}},
                "response": {"status": {"code": "204", "message": "No Content"}, "headers": {}, "body": {"string": ""}},
            },
            {
                "id": "2",
                "request": {"uri": f"{BASE}/webinars/{SAMPLE}", "method": "GET", "headers": {}},
                "response": {
                    "status": {"code": "200", "message": "OK"},
                    "headers": {"Content-Type": ["application/json"]},
                    "body": {"string": json.dumps({**EVENT, "status": "draft"})},
                },
            },
        ],
    }
    path = tmp_path / "cassette.yaml"
    path.write_text(yaml.safe_dump(cassette))
    assert [e.status for e in read_recording(path)] == [204, 200]
    assert rules(validate_traffic(path)) == {"canceled_is_permanent"}


@pytest.mark.parametrize("content", ["not json at all {", json.dumps({"something": "else"})])
def test_unreadable_recording_raises(tmp_path: Path, content: str) -> None:
    path = tmp_path / "x.har"
    path.write_text(content)
    with pytest.raises(RecordingError):
        read_recording(path)


def test_cli_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    clean = runner.invoke(validate_traffic_command, [str(write_har(tmp_path, clean_run()))])
    assert clean.exit_code == 0, clean.output
    assert "0 violations" in clean.output

    broken = [*clean_run(), entry("2026-11-24T10:00:09Z", "GET", f"{BASE}/webinars/{SAMPLE}", 200, EVENT)]
    bad = runner.invoke(validate_traffic_command, [str(write_har(tmp_path, broken)), "--format", "json"])
    assert bad.exit_code == 1
    assert json.loads(bad.output)["violations"] == 1

    missing = runner.invoke(validate_traffic_command, [str(tmp_path / "missing.har")])
    assert missing.exit_code == 2
    assert "cannot read" in missing.output
