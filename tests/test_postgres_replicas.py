"""Issue 13: several `vevents serve` processes on one PostgreSQL database behave as one stub,
over real sockets, under load and under failure.

- two replicas share the load of tests/test_reliability_load.py and pass its oracle (no 5xx,
  no off-spec answer, no lost update, canceled stays canceled, real-time order holds across
  the two processes);
- one replica SIGKILLed mid-load loses no cancel it had answered 204 (the other one reads
  every such event as canceled);
- the database stopped and started again mid-load: the replicas answer 503
  `serviceNotAvailable` with `Retry-After` (never 500) while it is away, answer again by
  themselves when it is back, and lose no write they had acknowledged.

Each test starts its own processes on 127.0.0.1 and bounds its load in count and time.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import SECRET, put_event
from reliability import Served, served
from test_reliability_load import _accepted_patches_overlapped, assert_load_is_sound, run_load

from vevents.server.auth import mint_token

pytestmark = pytest.mark.slow

CLIENTS = 12
EVENTS = 120
TIME_CAP = 20.0


def _prepare(url: str) -> list[tuple[str, str, str]]:
    """EVENTS events straight into the database, half published; the replicas then seed nothing."""
    from vevents.server.postgres import PostgresStore

    store = PostgresStore(url)
    try:
        events = [
            put_event(store, "webinars" if n % 2 else "townhalls", "published" if n % 2 else "draft")
            for n in range(EVENTS)
        ]
    finally:
        store.close()
    return [(e.kind, e.id, e.status) for e in events]


@dataclass
class Answer:
    replica: int
    action: str
    event_id: str
    start: float
    end: float
    status: int = 0
    error: str | None = None
    body: bytes = b""
    headers: dict[str, str] | None = None
    value: str | None = None
    """What a PATCH wrote to displayName."""


async def _traffic(
    replicas: Sequence[Served], events: list[tuple[str, str, str]], stop: asyncio.Event, answers: list[Answer]
) -> None:
    """Cancel-heavy traffic from CLIENTS clients spread over the replicas, until `stop`."""
    headers = {"Authorization": f"Bearer {mint_token(secret=SECRET)}"}
    deadline = time.monotonic() + TIME_CAP

    async def client(number: int, http: httpx.AsyncClient) -> None:
        rng = random.Random(number)
        replica = number % len(replicas)
        server = replicas[replica]
        sequence = 0
        while not stop.is_set() and time.monotonic() < deadline:
            sequence += 1
            kind, event_id, _ = rng.choice(events)
            action = rng.choices(["cancel", "publish", "patch", "get"], [20, 15, 30, 35])[0]
            value = f"c{number}-{sequence}" if action == "patch" else None
            if action == "patch":
                request = http.patch(server.url(kind, event_id), json={"displayName": value})
            elif action == "get":
                request = http.get(server.url(kind, event_id))
            else:
                request = http.post(server.url(kind, event_id, action))
            answer = Answer(replica, action, event_id, time.monotonic(), 0.0, value=value)
            try:
                response = await request
            except httpx.TransportError as exc:
                answer.end, answer.error = time.monotonic(), f"{type(exc).__name__}: {exc}"
                answers.append(answer)
                if server.process.poll() is not None:
                    return  # this replica is gone
                await asyncio.sleep(0.05)
                continue
            answer.end, answer.status = time.monotonic(), response.status_code
            answer.body, answer.headers = response.content, dict(response.headers)
            answers.append(answer)
            if response.status_code == 503:
                await asyncio.sleep(0.05)  # a client honouring Retry-After would wait longer

    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(timeout=10, limits=limits, headers=headers) as http:
        await asyncio.gather(*(client(n, http) for n in range(CLIENTS)))


def _run(
    replicas: Sequence[Served], events: list[tuple[str, str, str]], disturb: Callable[[list[Answer]], Any]
) -> list[Answer]:
    """Traffic while `disturb(answers)` (a coroutine function) runs; traffic stops 2 s after it returns."""
    answers: list[Answer] = []

    async def main() -> None:
        stop = asyncio.Event()

        async def disturber() -> None:
            await disturb(answers)
            await asyncio.sleep(2.0)
            stop.set()

        await asyncio.gather(disturber(), _traffic(replicas, events, stop, answers))

    asyncio.run(main())
    return answers


def _final(server: Served, events: list[tuple[str, str, str]]) -> dict[str, dict[str, Any]]:
    with httpx.Client(timeout=10, headers={"Authorization": f"Bearer {mint_token(secret=SECRET)}"}) as http:
        final = {}
        for kind, event_id, _ in events:
            response = http.get(server.url(kind, event_id))
            assert response.status_code == 200, response.text
            final[event_id] = response.json()
    return final


def _acknowledged_writes_kept(
    answers: list[Answer], initial: dict[str, str], final: dict[str, dict[str, Any]]
) -> list[str]:
    """Every cancel answered 204 is final; every publish answered 204 stays published or canceled;
    the final displayName of an event is not older than a PATCH acknowledged entirely after it
    was written. Writes that were not acknowledged (503, cut off) may or may not have happened."""
    problems = []
    by_event: dict[str, list[Answer]] = {}
    for answer in answers:
        by_event.setdefault(answer.event_id, []).append(answer)
    for event_id, mine in by_event.items():
        status = final[event_id]["status"]
        if any(a.action == "cancel" and a.status == 204 for a in mine) and status != "canceled":
            problems.append(f"{event_id}: a cancel was answered 204, the event now reads {status}")
        if any(a.action == "publish" and a.status == 204 for a in mine) and status not in ("published", "canceled"):
            problems.append(f"{event_id}: a publish was answered 204, the event now reads {status}")
        if initial[event_id] == "canceled" or status == "canceled":
            continue
        shown = final[event_id].get("displayName")
        attempted = [a for a in mine if a.action == "patch" and (a.status == 200 or a.status == 0 or a.status >= 500)]
        writer = next((a for a in attempted if a.value == shown), None)
        written_end = writer.end if writer is not None else -1.0
        newer = [a for a in attempted if a.status == 200 and a.start > written_end]
        if newer:
            problems.append(f"{event_id}: displayName {shown!r} is older than {len(newer)} acknowledged PATCH(es)")
    return problems


def _five_hundreds(answers: list[Answer], *, allow_503: bool) -> list[str]:
    problems = []
    for a in answers:
        if a.status < 500:
            continue
        if allow_503 and a.status == 503:
            error = json.loads(a.body).get("error", {})
            if error.get("code") == "serviceNotAvailable" and (a.headers or {}).get("retry-after"):
                continue
        problems.append(f"replica {a.replica} {a.action} {a.event_id}: {a.status} {a.body[:200]!r}")
    return problems


# ---------------------------------------------------------------- the tests
def test_two_replicas_on_one_database_pass_the_load_oracle(postgres_server: Any, tmp_path: Path) -> None:
    url = postgres_server.new_database()
    with served(url, log_dir=tmp_path) as one, served(url, log_dir=tmp_path) as two:
        load = run_load([one.base_url, two.base_url], seed=13)
        logs = one.log.read_text() + two.log.read_text()
    assert_load_is_sound(load, "two vevents serve processes, one PostgreSQL database")
    assert _accepted_patches_overlapped(load), "no two PATCHes of one event overlapped: the load was not concurrent"
    assert "Traceback" not in logs, logs[-3000:]


def test_sigkill_of_one_replica_loses_no_acknowledged_cancel(postgres_server: Any, tmp_path: Path) -> None:
    url = postgres_server.new_database()
    events = _prepare(url)
    initial = {event_id: status for _, event_id, status in events}
    with served(url, log_dir=tmp_path) as victim, served(url, log_dir=tmp_path) as survivor:

        async def kill_mid_load(answers: list[Answer]) -> None:
            started = time.monotonic()
            while (
                sum(1 for a in answers if a.replica == 0 and a.action == "cancel" and a.status == 204) < 40
                and time.monotonic() - started < 8
            ):
                await asyncio.sleep(0.005)
            os.killpg(victim.process.pid, signal.SIGKILL)

        answers = _run([victim, survivor], events, kill_mid_load)
        final = _final(survivor, events)
    by_replica = Counter((a.replica, a.action, a.status) for a in answers)
    assert by_replica[(0, "cancel", 204)] >= 1, by_replica
    assert any(a.replica == 0 and a.error for a in answers), "the kill cut off no request: it was not mid-load"
    assert any(a.replica == 1 and a.start > max(b.end for b in answers if b.replica == 0) for a in answers)
    problems = _five_hundreds(answers, allow_503=False) + _acknowledged_writes_kept(answers, initial, final)
    assert not problems, "\n".join(problems[:30])


def test_database_restart_mid_load_gives_503s_and_loses_nothing(tmp_path: Path) -> None:
    from postgres import PostgresServer

    database = PostgresServer.start()  # its own: stopping the session's would disturb other tests
    try:
        url = database.new_database()
        events = _prepare(url)
        initial = {event_id: status for _, event_id, status in events}
        with served(url, log_dir=tmp_path) as one, served(url, log_dir=tmp_path) as two:
            outage: dict[str, float] = {}

            async def restart_database(answers: list[Answer]) -> None:
                await asyncio.sleep(1.5)
                outage["start"] = time.monotonic()
                await asyncio.to_thread(database.stop)
                await asyncio.sleep(1.5)
                await asyncio.to_thread(database.start_again)
                outage["end"] = time.monotonic()
                await asyncio.sleep(1.5)

            answers = _run([one, two], events, restart_database)
            final = _final(two, events)
            logs = one.log.read_text() + two.log.read_text()
    finally:
        database.remove()
    statuses = Counter(a.status for a in answers)
    assert statuses[503] >= 1, f"the outage was not seen: {statuses}"
    assert not [a for a in answers if a.error], [a.error for a in answers if a.error][:5]
    problems = _five_hundreds(answers, allow_503=True) + _acknowledged_writes_kept(answers, initial, final)
    assert not problems, "\n".join(problems[:30])
    # Recovered by itself: the last second of traffic, well after the restart, is all answered.
    late = [a for a in answers if a.start > outage["end"] + 1.0]
    assert late and all(a.status < 500 for a in late), Counter(a.status for a in late)
    assert "Traceback" not in logs, logs[-3000:]


def test_replicas_serve_https_with_the_operators_certificate(postgres_server: Any, tmp_path: Path) -> None:
    # Replicas on other hosts are reached over the network, where the SDKs send tokens only
    # over HTTPS: the operator's certificate works in this mode too.
    from test_tls import _serve, _trusting, operator_certificate

    cert, key, ca_file = operator_certificate(tmp_path)
    url = postgres_server.new_database()
    ((kind, event_id, _),) = _prepare_one(url)
    options = ("--db", url, "--tls-cert", str(cert), "--tls-key", str(key))
    headers = {"Authorization": f"Bearer {mint_token(secret=SECRET)}"}
    with (
        _serve(*options) as (one, lines),
        _serve(*options) as (two, _),
        httpx.Client(verify=_trusting(ca_file), headers=headers, timeout=10) as http,
    ):
        assert one.startswith("https://") and two.startswith("https://")
        assert "store: postgresql://vevents@127.0.0.1" in "\n".join(lines)
        path = f"/v1.0/solutions/virtualEvents/{kind}/{event_id.replace('@', '%40')}"
        assert http.post(one + path + "/cancel").status_code == 204
        assert http.get(two + path).json()["status"] == "canceled"


def _prepare_one(url: str) -> list[tuple[str, str, str]]:
    from vevents.server.postgres import PostgresStore

    store = PostgresStore(url)
    try:
        event = put_event(store, "townhalls", "published")
    finally:
        store.close()
    return [(event.kind, event.id, event.status)]


def test_health_reports_whether_the_database_is_reachable(tmp_path: Path) -> None:
    from postgres import PostgresServer

    database = PostgresServer.start()
    try:
        with served(database.new_database(), log_dir=tmp_path) as replica, httpx.Client(timeout=10) as http:
            health = f"{replica.base_url}/_vevents/health"
            ready = http.get(health)
            assert ready.status_code == 200 and ready.json()["store"] == "postgresql", ready.text
            database.stop()
            down = http.get(health)
            assert down.status_code == 503 and down.headers.get("retry-after"), down.text
            assert down.json()["error"]["code"] == "serviceNotAvailable"
            database.start_again()
            deadline = time.monotonic() + 5
            while (back := http.get(health)).status_code != 200:
                assert time.monotonic() < deadline, back.text
                time.sleep(0.2)
    finally:
        database.remove()
