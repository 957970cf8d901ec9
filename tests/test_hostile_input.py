"""Issue 5: the hostile input table. Each row is one request a careless or malicious client might
send and the Graph error the stub must answer. For every row: a 4xx in Graph's envelope (the
spec's error response, checked with openapi-core), within a bounded time, and nothing changed
(the events the rows aim at, and the tenant's event list, read the same before and after).

A separate test checks bounded memory: 10 MB bodies and 1 MB headers are refused without the
server process growing by their size (a body over `--max-body-bytes` is refused while it
streams in, by Content-Length before a byte is read).

Three things are answered by uvicorn/httptools before the stub sees the request, so they
carry no envelope (docs/reliability.md): an unknown method token (`FOO`), raw non-UTF-8 bytes
in the request target, and a request target over ~64 KiB. Their rows only assert a 400,
nothing changed, and that the server survives.
"""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from conftest import OTHER_TENANT, OTHER_USER, SECRET
from reliability import Served, SpecValidator, rss_kib, served

from vevents.server.auth import SEED_TENANT, mint_token
from vevents.server.nesting import MAX_JSON_DEPTH
from vevents.server.settings import DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_HEADER_BYTES
from vevents.spec import contract

pytestmark = pytest.mark.slow

# Bounded, not fast: an answer takes well under a second alone, but `make test` runs several
# pytest workers on a shared machine, where the server process may wait for a core.
TIME_LIMIT = 10.0
GUID = "0f6c3b8e-4f7a-4b7e-9a55-3c2d1e0f9a8b"
SUB_ID = "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
"""A registration, question or presenter id (or a key) in a path after the event id."""
TOKEN = mint_token(secret=SECRET, expires_in=3600)
OTHER_TOKEN = mint_token(secret=SECRET, tenant=OTHER_TENANT, user=OTHER_USER, expires_in=3600)
APP_TOKEN = mint_token(secret=SECRET, roles=["VirtualEvent.Read.All"], expires_in=3600)
TEN_MB = 10 * 1024 * 1024
NEW_EVENT = {
    "displayName": "x",
    "startDateTime": {"dateTime": "2026-12-01T17:00:00"},
    "endDateTime": {"dateTime": "2026-12-01T18:00:00"},
}
VALIDATOR = SpecValidator()


@dataclass
class Targets:
    """The events the rows aim at: ours (a draft webinar, a published town hall), another tenant's."""

    server: Served
    webinar: str
    townhall: str
    foreign: str


@dataclass(frozen=True)
class Row:
    """One hostile request. `path` may name {webinar}, {townhall}, {foreign} (encoded ids)."""

    method: str
    path: str
    status: int
    code: str | None = "invalidRequest"
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | Callable[[], Iterator[bytes]] | None = None
    token: str | None = TOKEN
    raw: bool = False
    """Send over a plain socket, byte for byte (for what httpx refuses to send)."""


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _chunks(total: int, size: int = 1024 * 1024) -> Callable[[], Iterator[bytes]]:
    def generate() -> Iterator[bytes]:
        for start in range(0, total, size):
            yield b"x" * min(size, total - start)

    return generate


W, T = "/v1.0/solutions/virtualEvents/webinars", "/v1.0/solutions/virtualEvents/townhalls"
E = "/v1.0/solutions/virtualEvents/events"
JSON = {"Content-Type": "application/json"}
DEEP_ARRAYS = b'{"displayName":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
DEEP_OBJECTS = b'{"settings":' + b'{"a":' * (MAX_JSON_DEPTH + 8) + b"1" + b"}" * (MAX_JSON_DEPTH + 8) + b"}"

ROWS: dict[str, Row] = {
    # ---- malformed and oversized ids
    "id 10 KB": Row("GET", f"{W}/{'a' * 10_240}", 400),
    "id 10 KB of repeated guids": Row("GET", f"{W}/{(GUID + '@') * 280}{SEED_TENANT}", 400),
    "id invalid percent-encoding": Row("GET", f"{W}/%zz{GUID}", 400),
    "id truncated percent-encoding": Row("GET", f"{W}/{GUID}%E0%A4%A", 400),
    "id with NUL": Row("GET", f"{W}/{GUID}%00%40{SEED_TENANT}", 400),
    "id with NUL on cancel": Row("POST", f"{E}/{GUID}%00%40{SEED_TENANT}/cancel", 400),
    "id non-UTF-8 (percent-encoded)": Row("GET", f"{W}/%FF%FE{GUID}", 400),
    "id non-UTF-8 on cancel": Row("POST", f"{T}/%C3%28/cancel", 400),
    "id non-UTF-8 (raw bytes)": Row("GET", f"{W}/\udcff\udcfe{GUID}", 400, code=None, raw=True),
    "id with encoded slash": Row("POST", f"{W}/{GUID}%2F..%2F{GUID}/cancel", 400),
    "URL of 40 KB": Row("GET", f"{W}/{'a' * 40_000}", 414, raw=True),
    "URL of 100 KB": Row("GET", f"{W}/{'a' * 100_000}", 400, code=None, raw=True),
    # ---- ids of another tenant: not found, never "forbidden" (that would reveal them)
    "other tenant's id: get": Row("GET", f"{W}/{{foreign}}", 404, "itemNotFound"),
    "other tenant's id: update": Row(
        "PATCH", f"{W}/{{foreign}}", 404, "itemNotFound", JSON, _json({"displayName": "mine now"})
    ),
    "other tenant's id: publish": Row("POST", f"{W}/{{foreign}}/publish", 404, "itemNotFound"),
    "other tenant's id: cancel": Row("POST", f"{W}/{{foreign}}/cancel", 404, "itemNotFound"),
    "other tenant's id: cancel via events": Row("POST", f"{E}/{{foreign}}/cancel", 404, "itemNotFound"),
    "other tenant's guid under our tenant": Row(
        "POST", f"{W}/{{foreign_guid}}%40{SEED_TENANT}/cancel", 404, "itemNotFound"
    ),
    "other tenant's guid, bare": Row("POST", f"{W}/{{foreign_guid}}/cancel", 404, "itemNotFound"),
    "other tenant's token on our id": Row("POST", f"{W}/{{webinar}}/cancel", 404, "itemNotFound", token=OTHER_TOKEN),
    # ---- bodies on cancel (and publish)
    "cancel with a JSON body": Row(
        "POST", f"{W}/{{webinar}}/cancel", 400, headers=JSON, body=_json({"reason": "because"})
    ),
    "cancel with a text body": Row(
        "POST", f"{T}/{{townhall}}/cancel", 400, headers={"Content-Type": "text/plain"}, body=b"please cancel"
    ),
    "cancel with invalid JSON": Row("POST", f"{E}/{{webinar}}/cancel", 400, headers=JSON, body=b"{"),
    "cancel with 10 MB (Content-Length)": Row("POST", f"{W}/{{webinar}}/cancel", 413, headers=JSON, body=b"x" * TEN_MB),
    "cancel with 10 MB (chunked)": Row("POST", f"{E}/{{townhall}}/cancel", 413, headers=JSON, body=_chunks(TEN_MB)),
    "publish with a JSON body": Row("POST", f"{W}/{{webinar}}/publish", 400, headers=JSON, body=_json([1])),
    # ---- Content-Type on create and update
    "create as text/plain": Row("POST", W, 415, headers={"Content-Type": "text/plain"}, body=_json(NEW_EVENT)),
    "create without Content-Type": Row("POST", W, 415, body=_json(NEW_EVENT)),
    "create as XML": Row("POST", T, 415, headers={"Content-Type": "application/xml"}, body=b"<webinar/>"),
    "create as a form": Row(
        "POST", W, 415, headers={"Content-Type": "application/x-www-form-urlencoded"}, body=b"displayName=x"
    ),
    "create as multipart": Row(
        "POST", W, 415, headers={"Content-Type": "multipart/form-data; boundary=b"}, body=b"--b\r\n\r\nx\r\n--b--\r\n"
    ),
    "update as text/plain": Row(
        "PATCH", f"{W}/{{webinar}}", 415, headers={"Content-Type": "text/plain"}, body=_json({"displayName": "y"})
    ),
    "update without Content-Type": Row("PATCH", f"{T}/{{townhall}}", 415, body=_json({"displayName": "y"})),
    "create of 10 MB": Row("POST", W, 413, headers=JSON, body=b'{"displayName":"' + b"x" * TEN_MB + b'"}'),
    # ---- invalid and hostile JSON
    "create with invalid JSON": Row("POST", W, 400, headers=JSON, body=b'{"displayName": "x",'),
    "update with invalid JSON": Row("PATCH", f"{W}/{{webinar}}", 400, headers=JSON, body=b"{'displayName': 1}"),
    "update with a JSON array": Row("PATCH", f"{W}/{{webinar}}", 400, headers=JSON, body=b"[]"),
    "update with a JSON string": Row("PATCH", f"{T}/{{townhall}}", 400, headers=JSON, body=b'"x"'),
    "update with an empty body": Row("PATCH", f"{T}/{{townhall}}", 400, headers=JSON, body=b""),
    "update with non-UTF-8 JSON": Row("PATCH", f"{W}/{{webinar}}", 400, headers=JSON, body=b'{"displayName":"\xff"}'),
    "update nested 100,000 deep": Row("PATCH", f"{W}/{{webinar}}", 400, headers=JSON, body=DEEP_ARRAYS),
    "update nested past the depth limit": Row("PATCH", f"{T}/{{townhall}}", 400, headers=JSON, body=DEEP_OBJECTS),
    "create nested 100,000 deep": Row("POST", T, 400, headers=JSON, body=DEEP_ARRAYS),
    "update with NaN": Row("PATCH", f"{T}/{{townhall}}", 400, headers=JSON, body=b'{"capacity": NaN}'),
    "update with a huge number": Row(
        "PATCH", f"{T}/{{townhall}}", 400, headers=JSON, body=b'{"capacity": 1' + b"0" * 4000 + b"}"
    ),
    "update with a 5,000-digit number": Row(
        "PATCH", f"{T}/{{townhall}}", 400, headers=JSON, body=b'{"capacity": 1' + b"0" * 5000 + b"}"
    ),
    # ---- read-only properties in update
    "update status to canceled": Row(
        "PATCH", f"{W}/{{webinar}}", 400, headers=JSON, body=_json({"status": "canceled"})
    ),
    "update status to published": Row(
        "PATCH", f"{T}/{{townhall}}", 400, headers=JSON, body=_json({"status": "published", "displayName": "z"})
    ),
    "update id": Row("PATCH", f"{W}/{{webinar}}", 400, headers=JSON, body=_json({"id": f"{GUID}@{SEED_TENANT}"})),
    "update createdBy": Row(
        "PATCH", f"{W}/{{webinar}}", 400, headers=JSON, body=_json({"createdBy": {"user": {"id": OTHER_USER}}})
    ),
    "update @odata.type to the other kind": Row(
        "PATCH",
        f"{W}/{{webinar}}",
        400,
        headers=JSON,
        body=_json({"@odata.type": "#microsoft.graph.virtualEventTownhall"}),
    ),
    # ---- properties the type (or a member's type) does not have
    "update an unknown property": Row("PATCH", f"{W}/{{webinar}}", 400, headers=JSON, body=_json({"colour": "red"})),
    "update an unknown member of settings": Row(
        "PATCH",
        f"{T}/{{townhall}}",
        400,
        headers=JSON,
        body=_json({"settings": {"isAttendeeEmailNotificationEnabled": True, "sendSpam": True}}),
    ),
    "create with an unknown member of startDateTime": Row(
        "POST",
        W,
        400,
        headers=JSON,
        body=_json(
            {
                "displayName": "x",
                "startDateTime": {"dateTime": "2026-12-01T17:00:00", "zone": "UTC"},
                "endDateTime": {"dateTime": "2026-12-01T18:00:00", "timeZone": "UTC"},
            }
        ),
    ),
    # ---- unknown query options
    "get with $filter": Row("GET", f"{W}/{{webinar}}?$filter=status eq 'draft'", 400),
    "get with $expand": Row("GET", f"{T}/{{townhall}}?$expand=sessions", 400),
    "get with $top and $select": Row("GET", f"{W}/{{webinar}}?$select=id&$top=1", 400),
    "get with $orderby": Row("GET", f"{W}/{{webinar}}?%24orderby=id", 400),
    "list with $skip": Row("GET", f"{W}?$skip=1", 400, token=APP_TOKEN),
    "list with $filter": Row("GET", f"{T}?$filter=true", 400, token=APP_TOKEN),
    # ---- oversized headers
    "a 100 KB header": Row("GET", f"{W}/{{webinar}}", 431, headers={"X-Padding": "a" * 100_000}),
    "2,000 headers": Row("GET", f"{W}/{{webinar}}", 431, headers={f"X-H{i}": "a" * 20 for i in range(2000)}),
    "a 40 KB client-request-id": Row(
        "POST", f"{W}/{{webinar}}/cancel", 431, headers={"client-request-id": "c" * 40_000}
    ),
    "a 1 MB token": Row("GET", f"{W}/{{webinar}}", 431, token="e" * 1_000_000),
    # ---- registrations, questions, sessions and presenters (the event's sub-resources)
    "registration id 10 KB": Row("GET", f"{W}/{{webinar}}/registrations/{'a' * 10_240}", 400),
    "registration id with NUL": Row("POST", f"{W}/{{webinar}}/registrations/{GUID}%00/cancel", 400),
    "presenter id non-UTF-8": Row("GET", f"{T}/{{townhall}}/presenters/%FF%FE{GUID}", 400),
    "session id of another shape": Row("GET", f"{T}/{{townhall}}/sessions/{GUID}%40x", 400),
    "question id with encoded slash": Row(
        "DELETE", f"{W}/{{webinar}}/registrationConfiguration/questions/{GUID}%2F..", 400
    ),
    "registration body not JSON": Row("POST", f"{T}/{{townhall}}/registrations", 400, headers=JSON, body=b"{"),
    "registration body deeply nested": Row(
        "POST", f"{T}/{{townhall}}/registrations", 400, headers=JSON, body=DEEP_ARRAYS
    ),
    "registration body sets status": Row(
        "POST", f"{T}/{{townhall}}/registrations", 400, headers=JSON, body=_json({"status": "canceled"})
    ),
    "registration answers not a list": Row(
        "POST",
        f"{T}/{{townhall}}/registrations",
        400,
        headers=JSON,
        body=_json({"registrationQuestionAnswers": {"questionId": GUID}}),
    ),
    "registration for another tenant's event": Row(
        "POST", f"{W}/{{foreign}}/registrations", 404, "itemNotFound", headers=JSON, body=_json({})
    ),
    "registration key 10 KB": Row("GET", f"{W}/{{webinar}}/registrations(email='{'a' * 10_240}')", 404, "itemNotFound"),
    "cancel a registration with a body": Row(
        "POST", f"{W}/{{webinar}}/registrations/{GUID}/cancel", 400, headers=JSON, body=_json({"status": "x"})
    ),
    "presenter body with an unknown member": Row(
        "POST",
        f"{W}/{{webinar}}/presenters",
        400,
        headers=JSON,
        body=_json({"identity": {"@odata.type": "#microsoft.graph.communicationsGuestIdentity", "x": 1}}),
    ),
    "question of an unknown type": Row(
        "POST",
        f"{W}/{{webinar}}/registrationConfiguration/questions",
        400,
        headers=JSON,
        body=_json({"@odata.type": "#microsoft.graph.user"}),
    ),
    "presenter body of 10 MB": Row("POST", f"{W}/{{webinar}}/presenters", 413, headers=JSON, body=_chunks(TEN_MB + 1)),
    # ---- what the server library answers itself (no envelope possible; see the module docstring)
    "unknown method token": Row("FOO", f"{W}/{{webinar}}", 400, code=None, raw=True),
}


def _unsupported_methods() -> dict[str, Row]:
    """Every method the spec does not describe on each of its paths (and both versions)."""
    described: dict[str, set[str]] = {}
    for operation in contract().operations:
        described.setdefault(operation.path, set()).add(operation.method.upper())
    rows = {}
    for path, methods in sorted(described.items()):
        filled = path.replace("{role}", "organizer")  # function arguments
        # The event id first; a sub-resource's id or key (registrations, presenters, ...) after it.
        names = re.findall(r"\{([^}]+)\}", filled)
        concrete = filled
        for index, name in enumerate(names):
            value = "{webinar}" if index == 0 and name != "userId" else OTHER_USER if name == "userId" else SUB_ID
            concrete = concrete.replace("{" + name + "}", value)
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT", "HEAD"):
            if method in methods or (method == "HEAD" and "GET" in methods):  # HEAD is GET without a body
                continue
            version = "beta" if method in ("PUT", "TRACE") else "v1.0"
            rows[f"{method} {path}"] = Row(
                method,
                f"/{version}{concrete}",
                405,
                "notSupported",
                headers=JSON if method in ("PUT", "PATCH", "POST") else {},
                body=_json({"status": "canceled"}) if method in ("PUT", "PATCH") else None,
            )
    return rows


ROWS.update(_unsupported_methods())


# ---------------------------------------------------------------- the server and its state
@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Targets]:
    db = tmp_path_factory.mktemp("hostile") / "hostile.db"
    with served(db) as server, httpx.Client(timeout=10) as http:

        def create(kind: str, token: str) -> str:
            response = http.post(server.url(kind), json=NEW_EVENT, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 201, response.text
            return str(response.json()["id"])

        webinar, townhall = create("webinars", TOKEN), create("townhalls", TOKEN)
        assert (
            http.post(
                server.url("townhalls", townhall, "publish"), headers={"Authorization": f"Bearer {TOKEN}"}
            ).status_code
            == 204
        )
        yield Targets(server, webinar, townhall, create("webinars", OTHER_TOKEN))


def _snapshot(targets: Targets, http: httpx.Client) -> list[Any]:
    server = targets.server

    def get(url: str, token: str) -> Any:
        response = http.get(url, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        return response.json()

    return [
        get(server.url("webinars", targets.webinar), TOKEN),
        get(server.url("townhalls", targets.townhall), TOKEN),
        get(server.url("webinars", targets.foreign), OTHER_TOKEN),
        [e["id"] for e in get(server.url("webinars"), APP_TOKEN)["value"]],
        [e["id"] for e in get(server.url("townhalls"), APP_TOKEN)["value"]],
        # The sub-resources the rows aim at: none may appear or change.
        *(
            get(server.url(kind, event, part), TOKEN)
            for kind, event in (("webinars", targets.webinar), ("townhalls", targets.townhall))
            for part in ("registrations", "presenters")
        ),
        get(server.url("webinars", targets.webinar, "registrationConfiguration/questions"), TOKEN),
    ]


def _fill(path: str, targets: Targets) -> str:
    return path.format(
        webinar=quote(targets.webinar, safe=""),
        townhall=quote(targets.townhall, safe=""),
        foreign=quote(targets.foreign, safe=""),
        foreign_guid=targets.foreign.split("@")[0],
    )


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


def _send(row: Row, url: str, http: httpx.Client) -> Answer:
    headers = dict(row.headers)
    if row.token is not None:
        headers["Authorization"] = f"Bearer {row.token}"
    if row.raw:
        return _send_raw(row.method, url, headers, row.body)
    body = row.body() if callable(row.body) else row.body
    response = http.request(row.method, url, headers=headers, content=body)
    return Answer(response.status_code, dict(response.headers), response.content)


def _send_raw(method: str, url: str, headers: dict[str, str], body: Any) -> Answer:
    parts = urlsplit(url)
    target = parts.path.encode("utf-8", "surrogateescape") + (b"?" + parts.query.encode() if parts.query else b"")
    head = [
        method.encode() + b" " + target + b" HTTP/1.1",
        b"Host: " + parts.netloc.encode(),
        b"Connection: close",
        *(f"{k}: {v}".encode() for k, v in headers.items()),
    ]
    with socket.create_connection((parts.hostname, parts.port), timeout=TIME_LIMIT) as sock:
        sock.sendall(b"\r\n".join(head) + b"\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head_bytes, _, payload = data.partition(b"\r\n\r\n")
    lines = head_bytes.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    response_headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if response_headers.get("transfer-encoding") == "chunked":
        payload = _dechunk(payload)
    return Answer(status, response_headers, payload)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


# ---------------------------------------------------------------- the tests
@pytest.mark.parametrize("name", list(ROWS))
def test_hostile_request_is_a_bounded_graph_error_that_changes_nothing(targets: Targets, name: str) -> None:
    row = ROWS[name]
    url = targets.server.base_url + _fill(row.path, targets)
    with httpx.Client(timeout=TIME_LIMIT) as http:
        before = _snapshot(targets, http)
        started = time.monotonic()
        answer = _send(row, url, http)
        elapsed = time.monotonic() - started
        after = _snapshot(targets, http)

    assert answer.status == row.status, (answer.status, answer.body[:500])
    assert elapsed < TIME_LIMIT
    assert after == before, "the request changed state"
    assert targets.server.process.poll() is None, "the server died"
    if row.code is None:
        return  # answered by uvicorn/httptools before the app (module docstring)
    assert answer.headers["content-type"] == "application/json"
    if row.method == "HEAD":
        assert answer.headers["allow"] and not answer.body
        return
    error = json.loads(answer.body)["error"]
    assert error["code"] == row.code and error["message"]
    assert error["innerError"]["request-id"] == answer.headers["request-id"]
    if row.status == 405:
        assert answer.headers["allow"]
    if row.status == 431:
        assert len(answer.body) < 2000 and len(answer.headers["client-request-id"]) < 100  # nothing echoed back
    assert len(answer.body) < 20_000, "an error message should not echo a hostile input back in full"
    path = urlsplit(url).path if not row.raw else "/v1.0/solutions/virtualEvents/webinars/x"
    problem = VALIDATOR.check(
        row.method if row.method != "FOO" else "GET", path, answer.status, answer.headers, answer.body
    )
    assert problem is None, problem


def test_oversized_bodies_and_headers_do_not_grow_the_server(targets: Targets) -> None:
    url = targets.server.url("webinars", targets.webinar, "cancel")
    auth = {"Authorization": f"Bearer {TOKEN}", **JSON}
    with httpx.Client(timeout=TIME_LIMIT) as http:
        for _ in range(3):  # warm up: every code path below has run once before measuring
            http.post(url, headers=auth, content=b"x" * TEN_MB)
            http.post(url, headers=auth, content=_chunks(TEN_MB)())
        before = rss_kib(targets.server.process.pid)
        for _ in range(10):
            assert http.post(url, headers=auth, content=b"x" * TEN_MB).status_code == 413
            assert http.post(url, headers=auth, content=_chunks(TEN_MB)()).status_code == 413
            assert (
                http.post(
                    targets.server.url("webinars"), headers=auth, content=_chunks(TEN_MB, 64 * 1024)()
                ).status_code
                == 413
            )
            assert http.get(url, headers={**auth, "X-Padding": "a" * 1_000_000}).status_code == 431
        grown = rss_kib(targets.server.process.pid) - before
    # 300 MB of bodies went by; a server that buffered even one of them would have grown by 10 MB.
    print(f"\nRSS growth after 300 MB of refused bodies and 10 MB of refused headers: {grown} KiB")
    assert grown < 8 * 1024, f"the server grew by {grown} KiB"


def test_limits_are_the_documented_defaults() -> None:
    doc = (Path(__file__).parent.parent / "docs" / "reliability.md").read_text()
    assert f"{DEFAULT_MAX_BODY_BYTES:,}" in doc and f"{DEFAULT_MAX_HEADER_BYTES:,}" in doc
    assert "--max-body-bytes" in doc and "--max-header-bytes" in doc and str(MAX_JSON_DEPTH) in doc


def test_body_limit_is_configurable(tmp_path: Path) -> None:
    with (
        served(tmp_path / "small.db", args=["--max-body-bytes", "300", "--max-header-bytes", "2048"]) as server,
        httpx.Client(timeout=TIME_LIMIT, headers={"Authorization": f"Bearer {TOKEN}"}) as http,
    ):
        body = {**NEW_EVENT, "displayName": "x" * 300}
        assert http.post(server.url("webinars"), json=body).status_code == 413
        assert http.post(server.url("webinars"), json=NEW_EVENT).status_code == 201
        assert http.get(server.url("webinars"), headers={"X-Padding": "a" * 2100}).status_code == 431
