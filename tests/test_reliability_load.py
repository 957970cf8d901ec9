"""Issue 5: many clients at once, through real sockets, never see a 5xx, an off-spec response,
a lost update or a canceled event read back as anything else.

The same bounded load (count and time) runs against the in-process stub (memory store), one
`vevents serve` process and `vevents serve --workers 2` sharing one SQLite file. Every request
is recorded with its start and end time; the oracle then checks, per event, that the answers
can be explained by some order of the accepted requests that respects real time:

- once a request proved an event canceled (cancel 204, publish/update 409, GET `canceled`),
  every request that started later sees it canceled (GET reads it, publish/update get 409);
- once a request proved it published, no later request sees it in draft;
- the final state is canceled if any cancel was answered 204, else published if any publish
  was, else draft;
- for each property patched concurrently, the final value is one that an accepted PATCH wrote
  and that no accepted PATCH of that property started after it finished (no lost update).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import os
import random
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from conftest import SECRET, Stub
from reliability import SpecValidator, served

from vevents.server.auth import mint_token

pytestmark = pytest.mark.slow

REQUESTS = int(os.environ.get("VEVENTS_LOAD_REQUESTS", "3000"))
CLIENTS = int(os.environ.get("VEVENTS_LOAD_CLIENTS", "16"))
TIME_CAP = float(os.environ.get("VEVENTS_LOAD_SECONDS", "20"))
SHARED_EVENTS = 10
STATUS_RANK = {"draft": 0, "published": 1, "canceled": 2}
# action -> weight; "mine" actions target events this client created, the rest the shared ones.
ACTIONS = {
    "get": 42,
    "patch": 26,
    "publish": 12,
    "cancel": 1.5,
    "cancel-events": 0.5,
    "create": 6,
    "list": 4,
    "get-mine": 4,
    "patch-mine": 4,
}
PATCHED = {0: "displayName", 1: "description"}
"""Even clients patch `displayName`, odd ones `description`: concurrent PATCHes of different fields."""


@dataclass
class Record:
    client: int
    action: str
    kind: str
    event_id: str | None
    method: str
    url: str
    start: float
    end: float = 0.0
    status: int = 0
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    value: Any = None
    """What a PATCH wrote: (property, value)."""
    error: str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Load:
    records: list[Record]
    duration: float
    initial: dict[str, dict[str, Any]]
    """event id -> its resource when the load began (shared) or as created."""
    final: dict[str, dict[str, Any]]
    clients: int

    def summary(self, label: str) -> str:
        statuses = Counter(r.status for r in self.records)
        errors = sum(1 for r in self.records if r.error or r.status >= 500)
        return (
            f"{label}: {len(self.records)} requests, {self.clients} concurrent clients, {errors} errors/5xx, "
            f"{self.duration:.1f} s ({len(self.records) / self.duration:.0f} req/s); statuses {dict(statuses)}"
        )


def _new_event(name: str) -> dict[str, Any]:
    return {
        "displayName": name,
        "startDateTime": {"dateTime": "2026-12-01T17:00:00", "timeZone": "UTC"},
        "endDateTime": {"dateTime": "2026-12-01T18:00:00", "timeZone": "UTC"},
    }


def _url(base: str, kind: str, event_id: str | None = None, action: str | None = None) -> str:
    url = f"{base}/v1.0/solutions/virtualEvents/{kind}"
    if event_id is not None:
        url += "/" + quote(event_id, safe="")
    return url + (f"/{action}" if action else "")


async def _setup(client: httpx.AsyncClient, base: str) -> dict[str, tuple[str, dict[str, Any]]]:
    shared: dict[str, tuple[str, dict[str, Any]]] = {}
    for n in range(SHARED_EVENTS):
        kind = "webinars" if n % 3 else "townhalls"
        response = await client.post(_url(base, kind), json=_new_event(f"shared {n}"))
        assert response.status_code == 201, response.text
        event = response.json()
        if n % 2:
            assert (await client.post(_url(base, kind, event["id"], "publish"))).status_code == 204
            event["status"] = "published"
        shared[event["id"]] = (kind, event)
    return shared


async def _run(bases: Sequence[str], seed: int, requests: int, clients: int) -> Load:
    base = bases[0]
    delegated = {"Authorization": f"Bearer {mint_token(secret=SECRET, expires_in=3600)}"}
    application = {"Authorization": f"Bearer {mint_token(secret=SECRET, roles=['VirtualEvent.Read.All'])}"}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=10, limits=limits, headers=delegated) as http:
        shared = await _setup(http, base)
        initial = {event_id: event for event_id, (_, event) in shared.items()}
        shared_ids = [(kind, event_id) for event_id, (kind, _) in shared.items()]
        records: list[Record] = []
        started = time.monotonic()
        deadline = started + TIME_CAP
        counter = iter(range(requests))

        async def client(number: int) -> None:
            # Several servers (replicas on one database): each client talks to one of them.
            base = bases[number % len(bases)]
            rng = random.Random(seed * 1000 + number)
            mine: list[tuple[str, str]] = []
            actions, weights = zip(*ACTIONS.items(), strict=True)
            for seq in counter:
                if time.monotonic() > deadline:
                    return
                action = rng.choices(actions, weights)[0]
                if action.endswith("-mine"):
                    action = action.removesuffix("-mine") if mine else "create"
                event_id: str | None
                kind, event_id = (
                    rng.choice(mine) if action != "create" and mine and rng.random() < 0.15 else rng.choice(shared_ids)
                )
                headers: dict[str, str] = {}
                body: Any = None
                value = None
                if action == "get":
                    method, url = "GET", _url(base, kind, event_id)
                elif action == "patch":
                    prop = PATCHED[number % 2]
                    written = f"c{number}-{seq}"
                    value = (prop, written if prop == "displayName" else {"content": written, "contentType": "text"})
                    method, url, body = "PATCH", _url(base, kind, event_id), {prop: value[1]}
                elif action in ("publish", "cancel"):
                    method, url = "POST", _url(base, kind, event_id, action)
                elif action == "cancel-events":
                    action, method, url = "cancel", "POST", _url(base, "events", event_id, "cancel")
                elif action == "create":
                    kind = rng.choice(("webinars", "townhalls"))
                    event_id = None
                    method, url, body = "POST", _url(base, kind), _new_event(f"c{number}-{seq}")
                else:  # list: an application permission in Graph
                    event_id, method, url, headers = None, "GET", _url(base, kind), application
                record = Record(number, action, kind, event_id, method, url, time.monotonic(), value=value)
                try:
                    response = await http.request(method, url, json=body, headers=headers)
                except httpx.HTTPError as exc:
                    record.end, record.error = time.monotonic(), f"{type(exc).__name__}: {exc}"
                    records.append(record)
                    continue
                record.end = time.monotonic()
                record.status, record.body, record.headers = (
                    response.status_code,
                    response.content,
                    dict(response.headers),
                )
                records.append(record)
                if action == "create" and response.status_code == 201:
                    created = response.json()
                    record.event_id = created["id"]
                    initial[created["id"]] = created
                    mine.append((kind, created["id"]))

        await asyncio.gather(*(client(n) for n in range(clients)))
        duration = time.monotonic() - started
        final = {}
        base = bases[-1]
        for event_id, event in initial.items():
            kind = "webinars" if event["@odata.type"].endswith("Webinar") else "townhalls"
            response = await http.get(_url(base, kind, event_id))
            assert response.status_code == 200, response.text
            final[event_id] = response.json()
    return Load(records, duration, initial, final, clients)


def run_load(base: str | Sequence[str], seed: int = 5, requests: int = REQUESTS, clients: int = CLIENTS) -> Load:
    """`requests` requests from `clients` concurrent clients (stops at TIME_CAP seconds whatever the count).

    Several base URLs (replicas of one stub): clients are spread over them; the events are
    made through the first and the final state is read through the last.
    """
    return asyncio.run(_run([base] if isinstance(base, str) else list(base), seed, requests, clients))


# ---------------------------------------------------------------- the oracle
def _observed_status(record: Record) -> str | None:
    """The status this answer proves the event had at some instant inside [start, end]."""
    if record.action == "cancel" and record.status == 204:
        return "canceled"
    if record.action in ("publish", "patch") and record.status == 409:
        return "canceled"
    if record.action == "publish" and record.status == 204:
        return "published"  # (or it was published already; either way not draft and not canceled)
    if record.action in ("get", "patch") and record.status == 200:
        return str(record.json()["status"])
    return None


def check_oracle(load: Load) -> list[str]:
    problems: list[str] = []
    by_event: dict[str, list[Record]] = defaultdict(list)
    for record in load.records:
        if record.event_id is not None and record.action != "create":
            by_event[record.event_id].append(record)
    for event_id, records in by_event.items():
        observations = [(r, s) for r in records if (s := _observed_status(r)) is not None]
        # Real-time order: whatever a finished request proved, a later-started one cannot undo.
        for rank_name, rank in (("published", 1), ("canceled", 2)):
            proofs = [r.end for r, s in observations if STATUS_RANK[s] >= rank]
            if not proofs:
                continue
            proven_at = min(proofs)
            for r, s in observations:
                if r.start > proven_at and STATUS_RANK[s] < rank:
                    problems.append(
                        f"{event_id}: {r.action} started {r.start - proven_at:.4f}s after the event was "
                        f"proven {rank_name} and saw {s} ({r.status})"
                    )
        final = load.final[event_id]
        accepted = {a for r in records if (a := (r.action, r.status)) in {("cancel", 204), ("publish", 204)}}
        initial_status = load.initial[event_id]["status"]
        expected = (
            "canceled"
            if ("cancel", 204) in accepted
            else "published"
            if ("publish", 204) in accepted or initial_status == "published"
            else "draft"
        )
        if initial_status == "canceled":
            expected = "canceled"
        if final["status"] != expected:
            problems.append(f"{event_id}: final status {final['status']}, expected {expected}")
        problems += _lost_updates(event_id, records, load.initial[event_id], final)
    return problems


def _lost_updates(event_id: str, records: list[Record], initial: dict[str, Any], final: dict[str, Any]) -> list[str]:
    """Each patched property is a register: every read (GET, any PATCH's answer, the final GET)
    returns the value of an accepted write that began before the read ended and that no other
    accepted write superseded entirely before the read began."""
    problems = []
    reads = [(r.start, r.end, r.json()) for r in records if r.action in ("get", "patch") and r.status == 200]
    reads.append((math.inf, math.inf, final))
    for prop in PATCHED.values():
        writes = [r for r in records if r.action == "patch" and r.status == 200 and r.value[0] == prop]
        by_value = {_text(r.value[1]): r for r in writes}
        for r in writes:
            if _text(r.json().get(prop)) != _text(r.value[1]):
                problems.append(f"{event_id}: PATCH {prop}={r.value[1]!r} answered {r.json().get(prop)!r}")
        for start, end, body in reads:
            value = _text(body.get(prop))
            writer = by_value.get(value)
            if writer is None:
                if value != _text(initial.get(prop)):
                    problems.append(f"{event_id}: read {prop}={value!r}, which no accepted PATCH wrote")
                    continue
                written_start, written_end = -math.inf, -math.inf
            else:
                written_start, written_end = writer.start, writer.end
            if written_start > end:
                problems.append(f"{event_id}: read {prop}={value!r} before it was written")
            newer = [w for w in writes if w.start > written_end and w.end < start]
            if newer:
                when = "at the end" if start == math.inf else "by a later read"
                problems.append(
                    f"{event_id}: {prop}={value!r} read {when}, but {len(newer)} accepted PATCHes of "
                    f"{prop} happened entirely after it was written and before the read (lost update)"
                )
    return problems


def _text(value: Any) -> Any:
    return value.get("content") if isinstance(value, dict) else value


def check_responses(load: Load, validator: SpecValidator) -> list[str]:
    problems = []
    for r in load.records:
        if r.error or r.status >= 500:
            problems.append(f"{r.method} {r.url}: {r.error or r.status} {r.body[:300]!r}")
            continue
        problem = validator.check(r.method, r.url, r.status, r.headers, r.body)
        if problem:
            problems.append(f"{r.method} {r.url} -> {r.status}: {problem}")
    return problems


def assert_load_is_sound(load: Load, label: str) -> None:
    print("\n" + load.summary(label))
    assert len(load.records) >= 500, load.summary(label)
    validator = SpecValidator()
    problems = check_responses(load, validator) + check_oracle(load)
    assert not problems, "\n".join(problems[:30])
    # The load exercised what it claims to: concurrency on shared events, every action, cancels.
    actions = Counter((r.action, r.status) for r in load.records)
    for needed in [
        ("get", 200),
        ("patch", 200),
        ("patch", 409),
        ("publish", 204),
        ("cancel", 204),
        ("create", 201),
        ("list", 200),
    ]:
        assert actions[needed], (needed, actions)


def _accepted_patches_overlapped(load: Load) -> bool:
    by_event: dict[str | None, list[Record]] = defaultdict(list)
    for r in sorted(load.records, key=lambda r: r.start):
        if r.action == "patch" and r.status == 200:
            by_event[r.event_id].append(r)
    return any(b.start < a.end for patches in by_event.values() for a, b in itertools.pairwise(patches))


# ---------------------------------------------------------------- the tests
def test_load_in_process_memory_store(stub: Stub) -> None:
    # Client and server share one interpreter (and its GIL) here: a smaller load.
    load = run_load(stub.base_url, seed=1, requests=REQUESTS // 3, clients=CLIENTS // 2)
    assert_load_is_sound(load, "in-process, memory store")


@pytest.mark.parametrize("workers", [1, 2], ids=lambda n: f"{n}-worker")
def test_load_sqlite_subprocess(tmp_path: Path, workers: int) -> None:
    db = tmp_path / "load.db"
    with served(db, workers=workers) as server:
        load = run_load(server.base_url, seed=workers + 1)
        stderr = server.log.read_text()
    assert_load_is_sound(load, f"vevents serve --workers {workers}, SQLite")
    assert _accepted_patches_overlapped(load), "no two PATCHes of one event overlapped: the load was not concurrent"
    assert "database is locked" not in stderr and "Traceback" not in stderr, stderr[-3000:]


def test_oracle_catches_a_lost_update_and_a_resurrected_event() -> None:
    # The oracle itself, on a hand-made history: it must not pass everything.
    def rec(action: str, start: float, end: float, status: int, body: Any = None, value: Any = None) -> Record:
        return Record(
            0,
            action,
            "webinars",
            "e",
            "X",
            "u",
            start,
            end,
            status,
            json.dumps(body).encode() if body is not None else b"",
            value=value,
        )

    initial = {"status": "draft", "displayName": "a", "description": None}
    history = [
        rec("cancel", 0, 1, 204),
        rec("get", 2, 3, 200, {"status": "published"}),
        rec("patch", 4, 5, 200, {"status": "draft", "displayName": "x"}, ("displayName", "x")),
        rec("patch", 6, 7, 200, {"status": "draft", "displayName": "y"}, ("displayName", "y")),
    ]
    load = Load(history, 1.0, {"e": initial}, {"e": {**initial, "status": "canceled", "displayName": "x"}}, 1)
    problems = "\n".join(check_oracle(load))
    assert "saw published" in problems and "lost update" in problems and "saw draft" in problems
