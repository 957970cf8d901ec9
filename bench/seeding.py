"""A tenant's worth of data: seed time, and list/get throughput, on SQLite and PostgreSQL side by side.

    python bench/seeding.py                      # 10,000 and 100,000 events; SQLite and PostgreSQL
    python bench/seeding.py --sizes 10000 --no-postgres

For each store and size: the time `vevents serve --seed FILE` spends before it can serve (read
the JSON file, validate every event against the seed schema, insert them all: `create_app`),
wall and this process's CPU,
then, on the 100,000-event store, requests per second of GET (one event by id, through the
fast path) and of a list page (getByUserRole, 100 events a page), 32 at a time, in process
(httpx.ASGITransport: the stack and the store, no sockets). The events belong to 1,000
organizers in 100 tenants, as a tenant-sized seed would. The PostgreSQL server is the tests'
own throwaway one (tests/postgres.py, on 127.0.0.1; `make postgres-server` installs the
binaries). Prints one table; figures vary with the machine's load (the load average is printed).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from processes import postgres_server

TENANTS = 100
ORGANIZERS_PER_TENANT = 10
CONCURRENCY = 32
REQUESTS = 1000


def _guid(n: int) -> str:
    return str(uuid.UUID(int=n))


def seed_document(count: int) -> tuple[dict[str, Any], list[tuple[str, str, str, str]]]:
    """`count` events (webinars and town halls alternately) and (tenant, organizer, kind, id) of each."""
    events, owners = [], []
    for n in range(count):
        tenant = _guid(0xA0000000 + n % TENANTS)
        organizer = _guid(0xB0000000 + n % (TENANTS * ORGANIZERS_PER_TENANT))
        event_id = f"{_guid(n + 1)}@{tenant}"
        webinar = n % 2 == 0
        events.append(
            {
                "@odata.type": "#microsoft.graph.virtualEventWebinar"
                if webinar
                else "#microsoft.graph.virtualEventTownhall",
                "id": event_id,
                "status": ("draft", "published", "canceled")[n % 3],
                "displayName": f"Event {n}",
                "description": {"content": "Seeded.", "contentType": "text"},
                "startDateTime": {"dateTime": "2026-12-01T17:00:00", "timeZone": "UTC"},
                "endDateTime": {"dateTime": "2026-12-01T18:00:00", "timeZone": "UTC"},
                "createdBy": {
                    "application": None,
                    "device": None,
                    "user": {
                        "@odata.type": "#microsoft.graph.communicationsUserIdentity",
                        "id": organizer,
                        "displayName": "Organizer",
                        "tenantId": tenant,
                    },
                },
                "settings": {"isAttendeeEmailNotificationEnabled": False},
                "audience": "everyone" if webinar else "organization",
                "coOrganizers": [],
            }
        )
        owners.append((tenant, organizer, "webinars" if webinar else "townhalls", event_id))
    return {"events": events}, owners


def seed_time(path: Path, db: str) -> tuple[float, float, Any]:
    """Wall time and this process's CPU time of `create_app` with the seed, and the app."""
    from vevents.server.app import create_app
    from vevents.server.settings import Settings

    started, cpu = time.perf_counter(), time.process_time()
    app = create_app(Settings(db=db, seed_path=str(path), log_level="warning"))
    return time.perf_counter() - started, time.process_time() - cpu, app


async def throughput(app: Any, owners: list[tuple[str, str, str, str]]) -> tuple[float, float]:
    from vevents.server.auth import mint_token
    from vevents.server.settings import DEFAULT_SECRET

    tenant, organizer, _, _ = owners[0]
    token = mint_token(secret=DEFAULT_SECRET, tenant=tenant, user=organizer)
    headers = {"Authorization": f"Bearer {token}"}
    mine = [(kind, event_id) for t, _, kind, event_id in owners if t == tenant]
    base = "http://127.0.0.1:8080/v1.0/solutions/virtualEvents"
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as client:

        async def run(url_of: Callable[[int], str]) -> float:
            queue = list(range(REQUESTS))

            async def worker() -> None:
                while queue:
                    n = queue.pop()
                    response = await client.get(url_of(n), headers=headers)
                    if response.status_code != 200:
                        raise RuntimeError(f"{response.status_code} {response.text[:200]}")

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
            return REQUESTS / (time.perf_counter() - started)

        get = await run(lambda n: f"{base}/{mine[n % len(mine)][0]}/{quote(mine[n % len(mine)][1])}")
        listed = await run(lambda n: f"{base}/{('webinars', 'townhalls')[n % 2]}/getByUserRole(role='organizer')")
    return get, listed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: dict[str, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="vevents-seed-") as tmp, contextlib.ExitStack() as stack:
        new_database = None if args.no_postgres else stack.enter_context(postgres_server())
        stores: list[tuple[str, Callable[[], str]]] = [("SQLite", lambda: str(Path(tmp) / f"{uuid.uuid4()}.db"))]
        if new_database is not None:
            stores.append(("PostgreSQL", new_database))
        for size in sizes:
            document, owners = seed_document(size)
            path = Path(tmp) / f"seed-{size}.json"
            path.write_text(json.dumps(document), encoding="utf-8")
            for name, db in stores:
                elapsed, cpu, app = seed_time(path, db())
                rows.setdefault(name, {})[f"seed {size:,} events (s)"] = f"{elapsed:.1f}"
                # Less at the mercy of the machine's load than the wall time (PostgreSQL's own
                # work is in its server's processes, not in this figure).
                rows[name][f"seed {size:,} events, CPU of this process (s)"] = f"{cpu:.1f}"
                if size == max(sizes):
                    get, listed = asyncio.run(throughput(app, owners))
                    rows[name][f"GET by id, {size:,} events (req/s)"] = f"{get:.0f}"
                    rows[name][f"getByUserRole page, {size:,} events (req/s)"] = f"{listed:.0f}"
                app.store.close()
    names = list(rows)
    figures = list(next(iter(rows.values())))
    print("| figure | " + " | ".join(names) + (" | PostgreSQL / SQLite |" if len(names) == 2 else " |"))
    print("|---|" + "---|" * len(names) + ("---|" if len(names) == 2 else ""))
    for figure in figures:
        cells = [rows[n].get(figure, "") for n in names]
        ratio = ""
        if len(names) == 2 and "req/s" in figure:
            ratio = f" {float(cells[1]) / float(cells[0]):.2f} |"
        elif len(names) == 2:
            ratio = " |"
        print(f"| {figure} | " + " | ".join(cells) + " |" + ratio)
    print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
