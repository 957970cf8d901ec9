"""One access-log record per request, readable by default and JSON on request."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from collections.abc import Callable

import httpx
import pytest
from conftest import SAMPLE_ID, Stub

from vevents.server.logs import ACCESS_FIELDS, JsonFormatter


def test_access_record_carries_the_request_fields(
    stub: Stub, http: httpx.Client, auth: Callable[..., dict[str, str]], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="vevents.server.access"):
        response = http.get(stub.event_url("webinars", SAMPLE_ID), headers=auth())
    records = [r for r in caplog.records if r.name == "vevents.server.access"]
    assert len(records) == 1
    record = records[0]
    fields = record.__dict__  # the access fields are the record's extra attributes
    assert (fields["method"], fields["status"], fields["request_id"]) == ("GET", 200, response.headers["request-id"])
    assert fields["path"].endswith("/solutions/virtualEvents/webinars/" + SAMPLE_ID)
    assert isinstance(fields["duration_ms"], float)
    # The JSON line has the same fields as keys, not only inside the message.
    line = json.loads(JsonFormatter().format(record))
    assert {field: line[field] for field in ACCESS_FIELDS} == {field: getattr(record, field) for field in ACCESS_FIELDS}
    assert line["level"] == "info" and line["logger"] == "vevents.server.access"


@pytest.mark.slow
def test_serve_log_format_json_writes_json_lines() -> None:
    vevents = [sys.executable, "-m", "vevents"]
    process = subprocess.Popen(
        [*vevents, "serve", "--memory", "--port", "0", "--log-format", "json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = None
        deadline = time.monotonic() + 30
        while base is None and time.monotonic() < deadline:
            assert process.stdout is not None
            line = process.stdout.readline()
            if line.startswith("vevents stub listening on "):
                base = line.split()[4]
        assert base, "the stub did not announce where it listens"
        assert httpx.get(f"{base}/v1.0/solutions/virtualEvents/webinars/{SAMPLE_ID}").status_code == 401
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    access = [entry for entry in lines if entry["logger"] == "vevents.server.access"]
    assert len(access) == 1
    assert access[0]["status"] == 401 and access[0]["method"] == "GET"
