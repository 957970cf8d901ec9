"""Notifications to one receiver go one POST at a time, each carrying all that waited (Graph's
`value[]` batches): under load a receiver gets fewer, larger POSTs, and every notification
still has its own journal entry (with `batch`: how many its POST carried)."""

from __future__ import annotations

import asyncio
import datetime
import json

from test_notification_client import read_request

from vevents.server.notifications.dispatcher import Notifications
from vevents.server.notifications.subscriptions import MemorySubscriptions, Subscription
from vevents.server.notifications.targets import TargetPolicy
from vevents.spec import contract

TENANT = contract().sample.tenant
EVENTS = [f"{n:08d}-0000-4000-8000-000000000000@{TENANT}" for n in range(4)]


class _Held:
    """A receiver that holds its first answer until released; records each POST's notifications."""

    def __init__(self) -> None:
        self.posts: list[list[str]] = []
        self.first_arrived = asyncio.Event()
        self.release = asyncio.Event()

    async def __call__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                body = json.loads(await read_request(reader))
                self.posts.append([note["resource"].rsplit("/", 1)[1] for note in body["value"]])
                self.first_arrived.set()
                await self.release.wait()
                writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()


async def _batched() -> tuple[list[list[str]], Notifications]:
    receiver = _Held()
    server = await asyncio.start_server(receiver, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
    rules = contract().notifications
    assert rules is not None
    notifications = Notifications(MemorySubscriptions(), rules, TargetPolicy())
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    for n, event in enumerate(EVENTS):
        resource = f"solutions/virtualEvents/webinars/{event}"
        sub = Subscription(f"{n:08d}-1111-4000-8000-000000000000", TENANT, "app", "user", True, resource,
                           "updated", url, expires)  # fmt: skip
        assert notifications.add(sub)
    try:
        assert notifications.event_changed("webinars", EVENTS[0], TENANT, "updated") == 1
        await asyncio.wait_for(receiver.first_arrived.wait(), 5)  # the first POST is in flight, held
        for event in EVENTS[1:]:
            assert notifications.event_changed("webinars", event, TENANT, "updated") == 1
        receiver.release.set()
        await notifications.drain(5)
        assert notifications.pending == 0
        return receiver.posts, notifications
    finally:
        notifications.close()
        server.close()


def test_notifications_that_waited_for_a_busy_receiver_go_in_one_post() -> None:
    posts, notifications = asyncio.run(_batched())
    assert posts == [EVENTS[:1], EVENTS[1:]]
    entries = notifications.journal.entries(match=lambda e: e["kind"] == "notification")
    assert [(e["outcome"], e["batch"]) for e in entries] == [("delivered", 1)] + [("delivered", 3)] * 3
    assert [e["payload"]["value"][0]["resource"].rsplit("/", 1)[1] for e in entries] == EVENTS
