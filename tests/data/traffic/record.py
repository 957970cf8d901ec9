"""Record the traffic fixtures of tests/test_traffic_recorded.py as HAR files.

    .venv/bin/python tests/data/traffic/record.py

Runs one scripted session (create, publish, read, cancel through both routes and both id
encodings, try to publish again, read back, read an unknown id) against the real stub and
against the `publish_revives` fake, and writes `clean.har` and `publish_revives.har` beside
this file. The tests read the committed files (what a user would bring) and also record a
fresh session, so the fixtures cannot silently drift from the stub.
"""

from __future__ import annotations

import base64
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))  # tests/, for fakes.py

import fakes  # noqa: E402

UNKNOWN = "00000000-0000-4000-8000-000000000000@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba"
SECRET_HEADERS = {"authorization"}


def _har_headers(headers: httpx.Headers) -> list[dict[str, str]]:
    # A HAR file is shared: never write the bearer token into it.
    return [{"name": k, "value": "Bearer <redacted>" if k.lower() in SECRET_HEADERS else v} for k, v in headers.items()]


def _content(body: bytes, content_type: str) -> dict[str, Any]:
    try:
        return {"size": len(body), "mimeType": content_type, "text": body.decode()}
    except UnicodeDecodeError:
        return {
            "size": len(body),
            "mimeType": content_type,
            "text": base64.b64encode(body).decode(),
            "encoding": "base64",
        }


class HarRecorder:
    """httpx event hooks that keep every exchange as a HAR 1.2 entry."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        request = response.request
        entry: dict[str, Any] = {
            "startedDateTime": datetime.now(UTC).isoformat(),
            "time": response.elapsed.total_seconds() * 1000,
            "request": {
                "method": request.method,
                "url": str(request.url),
                "httpVersion": "HTTP/1.1",
                "headers": _har_headers(request.headers),
                "queryString": [],
                "cookies": [],
                "headersSize": -1,
                "bodySize": len(request.content),
            },
            "response": {
                "status": response.status_code,
                "statusText": response.reason_phrase,
                "httpVersion": "HTTP/1.1",
                "headers": _har_headers(response.headers),
                "cookies": [],
                "content": _content(response.content, response.headers.get("content-type", "")),
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": len(response.content),
            },
            "cache": {},
            "timings": {"send": 0, "wait": 0, "receive": 0},
        }
        if request.content:
            entry["request"]["postData"] = {
                "mimeType": request.headers.get("content-type", ""),
                "text": request.content.decode(errors="replace"),
            }
        self.entries.append(entry)

    def har(self) -> dict[str, Any]:
        return {
            "log": {"version": "1.2", "creator": {"name": "vevents tests", "version": "1"}, "entries": self.entries}
        }


def session(base_url: str, token: str) -> dict[str, Any]:
    """One scripted session against `base_url` (versioned); returns the HAR document."""
    recorder = HarRecorder()
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, event_hooks={"response": [recorder]}) as client:
        created = client.post(
            "/solutions/virtualEvents/webinars",
            json={
                "displayName": "Recorded webinar",
                "startDateTime": {"dateTime": "2026-12-01T17:00:00", "timeZone": "UTC"},
                "endDateTime": {"dateTime": "2026-12-01T18:00:00", "timeZone": "UTC"},
            },
        ).json()
        raw, encoded = created["id"], quote(created["id"], safe="")
        client.post(f"/solutions/virtualEvents/webinars/{encoded}/publish")
        client.get(f"/solutions/virtualEvents/webinars/{raw}")
        client.post(f"/solutions/virtualEvents/events/{encoded}/cancel")
        client.get(f"/solutions/virtualEvents/webinars/{encoded}")
        client.post(f"/solutions/virtualEvents/webinars/{raw}/publish")
        client.get(f"/solutions/virtualEvents/webinars/{encoded}", params={"$select": "id,status"})
        client.get(f"/solutions/virtualEvents/townhalls/{quote(UNKNOWN, safe='')}")
    return recorder.har()


def record(fake: fakes.Fake | None) -> dict[str, Any]:
    """A session against the real stub (None) or a fake from the catalogue."""
    implementation = fake or fakes.Fake("stub", "the real stub")
    with fakes.serve(implementation) as base_url:
        return session(base_url, fakes.tokens()["main"])


def publish_revives() -> fakes.Fake:
    return next(f for f in fakes.FAKES if f.name == "publish_revives")


def main() -> None:
    (HERE / "clean.har").write_text(json.dumps(record(None), indent=1) + "\n")
    (HERE / "publish_revives.har").write_text(json.dumps(record(publish_revives()), indent=1) + "\n")
    print(f"wrote {HERE / 'clean.har'} and {HERE / 'publish_revives.har'}")


if __name__ == "__main__":
    main()
