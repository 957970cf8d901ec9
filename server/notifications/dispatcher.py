"""The delivery queue: which subscriptions a change concerns, and getting it to them.

`Notifications` is the one object the rest of the stub talks to. A change (`event_changed`,
`child_changed`) is matched against an index of the live subscriptions (a dict lookup, not a
scan: a thousand subscriptions cost a change nothing measurable), turned into Graph's
`changeNotificationCollection` and queued; the API call that caused it returns at once.
Notifications to one URL wait in its lane and go one POST at a time, everything that waited
in one `value[]` (Graph batches too): under load a receiver gets fewer, larger POSTs, and the
stub spends its time answering the API rather than opening connections. Connections to a
receiver that answered cleanly are kept alive for the next POST (client.py's pool). Every
POST is bounded in time by the client and in number by a semaphore, so a receiver that never
answers holds its own lane for at most Graph's 3 seconds and every other receiver's deliveries
go on. A failed attempt (no 2xx in time) is retried after a doubling wait, a bounded number of
times, off the lane; every attempt is journaled, one entry per notification. A subscription that expired or
was deleted before its delivery left gets nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from typing import Any

from vevents.server.ids import parse_event_id
from vevents.server.notifications.client import Answer, ConnectionPool, post
from vevents.server.notifications.handshake import handshake_problem, validation_token
from vevents.server.notifications.journal import DeliveryJournal
from vevents.server.notifications.subscriptions import (
    Clock,
    Subscription,
    SubscriptionStore,
    format_instant,
    utc_now,
)
from vevents.server.notifications.targets import TargetPolicy, TargetRefused
from vevents.spec.notifications import NotificationRules

__all__ = ["DeliveryFaults", "Notifications"]

logger = logging.getLogger("vevents.notifications")

MAX_PAYLOAD_BYTES = 65_536
"""A notification is a few hundred bytes; nothing the stub sends is larger than this."""
MAX_ANSWER_BYTES = 65_536
"""What is read of a receiver's answer (the rest is never drained)."""
MAX_CONCURRENT = 64
"""POSTs in flight at once, over all receivers (each lane has at most one)."""
MAX_BATCH = 100
"""Notifications in one POST at most (a few hundred bytes each: well under `MAX_PAYLOAD_BYTES`)."""
MAX_BACKOFF_S = 300.0
_TENANT_EVENTS = "solutions/virtualevents/events"


@dataclass(slots=True)
class DeliveryFaults:
    """Set by the control API: make deliveries lag (`delay_ms`) or fail (`fail` next attempts)."""

    delay_ms: int = 0
    fail: int = 0
    fail_status: int = 0
    """0: the failed attempts are not sent (as if unreachable); else they are journaled with this status."""

    def take_failure(self) -> bool:
        if self.fail > 0:
            self.fail -= 1
            return True
        return False


@dataclass(frozen=True, slots=True)
class _Note:
    """One change or lifecycle notification, waiting for (or in) a POST to its URL."""

    subscription_id: str
    label: str
    """changeType or lifecycleEvent"""
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Batch:
    """What one POST carries: the notes of one kind to one URL (Graph's `value[]` of several)."""

    kind: str
    """notification or lifecycle"""
    url: str
    notes: tuple[_Note, ...]
    attempt: int = 1

    def payload(self) -> bytes:
        return _payload([note.body for note in self.notes])


_Lane = tuple[str, str]
"""(kind, url): notes bound for the same place, sent one POST at a time."""


class Notifications:
    """Subscriptions, their index, the delivery tasks and the journal."""

    def __init__(
        self,
        store: SubscriptionStore,
        rules: NotificationRules,
        policy: TargetPolicy,
        *,
        attempts: int = 6,
        retry_ms: int = 1000,
        queue_max: int = 10_000,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.rules = rules
        self.policy = policy
        self.attempts = attempts
        self.retry_ms = retry_ms
        self.queue_max = queue_max
        self.clock = clock
        """Injectable: tests move time to expire subscriptions without sleeping."""
        self.handshake_timeout = rules.handshake_timeout_s
        self.delivery_timeout = rules.delivery_timeout_s
        self.journal = DeliveryJournal()
        self.faults = DeliveryFaults()
        self.pending = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._waiting: dict[_Lane, list[_Note]] = {}
        self._lanes: set[_Lane] = set()
        """Lanes with a task running; its notes wait in `_waiting`."""
        self._pool = ConnectionPool()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._semaphore: asyncio.Semaphore | None = None
        self._index: dict[str, set[str]] = {}
        self._reindex()

    # ------------------------------------------------------------ subscriptions
    def index_key(self, resource: str, tenant: str) -> str | None:
        """Where a subscription's resource is filed: the pattern with the event id made canonical."""
        found = self.rules.match(resource)
        if found is None:
            return None
        row, raw_id = found
        if raw_id is None:
            return row.pattern.lower()
        event_id = parse_event_id(raw_id, tenant)
        return None if event_id is None else row.pattern.replace("{id}", event_id).lower()

    def _reindex(self) -> None:
        index: dict[str, set[str]] = {}
        for sub in self.store.all():
            key = self.index_key(sub.resource, sub.tenant)
            if key is not None:
                index.setdefault(key, set()).add(sub.id)
        self._index = index

    def live(self, subscription_id: str) -> Subscription | None:
        """The subscription, unless it expired (then it is removed, as Graph removes it) or is gone."""
        sub = self.store.get(subscription_id)
        if sub is not None and sub.expired(self.clock()):
            self.remove(sub.id)
            return None
        return sub

    def live_subscriptions(self) -> list[Subscription]:
        now = self.clock()
        found = []
        for sub in self.store.all():
            if sub.expired(now):
                self.remove(sub.id)
            else:
                found.append(sub)
        return found

    def add(self, sub: Subscription) -> bool:
        # An expired one of the same owner no longer counts.
        for other in self.store.all():
            if other.owner == sub.owner:
                self.live(other.id)
        if not self.store.add(sub):
            return False
        key = self.index_key(sub.resource, sub.tenant)
        if key is not None:
            self._index.setdefault(key, set()).add(sub.id)
        return True

    def put(self, sub: Subscription) -> bool:
        return self.store.put(sub)

    def remove(self, subscription_id: str) -> Subscription | None:
        removed = self.store.remove(subscription_id)
        if removed is not None:
            key = self.index_key(removed.resource, removed.tenant)
            if key is not None:
                self._index.get(key, set()).discard(removed.id)
        return removed

    def clear(self) -> None:
        self.store.clear()
        self._index = {}
        self.journal.clear()
        self.faults = DeliveryFaults()

    # ------------------------------------------------------------ changes
    def event_changed(self, kind: str, event_id: str, tenant: str, change_type: str) -> int:
        """An event was created or updated (a cancel and a publish are updates). How many were queued."""
        path = f"solutions/virtualEvents/{kind}/{event_id}"
        key = _TENANT_EVENTS if change_type == "created" else path.lower()
        return self._notify(key, tenant, change_type, path)

    def child_changed(self, kind: str, event_id: str, child: str, child_id: str, tenant: str, change_type: str) -> int:
        """A session or registration of an event was created or updated."""
        collection = f"solutions/virtualEvents/{kind}/{event_id}/{child}"
        return self._notify(collection.lower(), tenant, change_type, f"{collection}/{child_id}")

    def _notify(self, key: str, tenant: str, change_type: str, path: str) -> int:
        ids = self._index.get(key)
        if not ids:
            return 0
        queued = 0
        for subscription_id in list(ids):
            sub = self.live(subscription_id)
            if sub is None or sub.tenant != tenant or change_type not in sub.change_types:
                continue
            row = self.rules.match(sub.resource)
            odata_type = row[0].notifies if row else "#microsoft.graph.virtualEvent"
            note = self.change_notification(sub, change_type, path, odata_type)
            self.submit("notification", sub.notification_url, _Note(sub.id, change_type, note))
            queued += 1
        return queued

    def change_notification(self, sub: Subscription, change_type: str, path: str, odata_type: str) -> dict[str, Any]:
        """One `changeNotification`: where the change is, never the changed resource itself."""
        return {
            "subscriptionId": sub.id,
            "clientState": sub.client_state,
            "changeType": change_type,
            "tenantId": sub.tenant,
            "resource": sub.resource,
            "subscriptionExpirationDateTime": format_instant(sub.expiration),
            "resourceData": {"@odata.type": odata_type, "@odata.id": path, "id": path},
        }

    def fire(self, sub: Subscription, change_type: str | None = None) -> None:
        """Send a change notification for `sub` now (the control API), as a real change would."""
        row = self.rules.match(sub.resource)
        change = change_type or sorted(sub.change_types)[0]
        path = sub.resource.strip("/")
        note = self.change_notification(sub, change, path, row[0].notifies if row else "#microsoft.graph.virtualEvent")
        self.submit("notification", sub.notification_url, _Note(sub.id, change, note))

    def lifecycle(self, sub: Subscription, event: str) -> bool:
        """Send a lifecycle notification (False: the subscription has no lifecycleNotificationUrl)."""
        if event == "subscriptionRemoved":
            self.remove(sub.id)
        if not sub.lifecycle_url:
            self.journal.record(
                subscriptionId=sub.id, kind="lifecycle", label=event, url=None, attempt=0, outcome="not sent",
                status=None, error="the subscription has no lifecycleNotificationUrl", durationMs=0, payload=None,
            )  # fmt: skip
            return False
        note = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": format_instant(sub.expiration),
            "tenantId": sub.tenant,
            "clientState": sub.client_state,
            "lifecycleEvent": event,
        }
        self.submit("lifecycle", sub.lifecycle_url, _Note(sub.id, event, note))
        return True

    # ------------------------------------------------------------ the handshake
    async def validate(self, url: str, subscription_id: str = "") -> str | None:
        """Graph's notificationUrl validation; None if it passed, else the 400's message."""
        try:
            target = await self.policy.resolve(url)
        except TargetRefused as exc:
            return str(exc)
        token = validation_token()
        answer = await post(
            target.with_query("validationToken", token),
            b"",
            content_type="text/plain; charset=utf-8",
            timeout=self.handshake_timeout,
            max_body=MAX_ANSWER_BYTES,
        )
        problem = handshake_problem(answer, token)
        self.journal.record(
            subscriptionId=subscription_id or None, kind="validation", label="validationToken", url=url, attempt=1,
            outcome="failed" if problem else "delivered", status=answer.status or None,
            error=problem or answer.error or None, durationMs=round(answer.elapsed * 1000, 1), payload=None,
        )  # fmt: skip
        return problem

    # ------------------------------------------------------------ delivery
    def submit(self, kind: str, url: str, note: _Note) -> None:
        """Queue a delivery; never raises into the API call that caused it.

        Notes for one (kind, URL) wait in its lane; the lane's task sends them one POST at a
        time, all that waited (up to `MAX_BATCH`) in one `value[]`, as Graph batches. Idle, a
        note goes alone at once; under load the batches grow instead of the POSTs multiplying.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            # Called from another thread (a test writing to the store directly): hand it over.
            home = self._loop
            if home is None or home.is_closed():
                self._drop(kind, url, (note,), 1, "no event loop to deliver from")
                return
            home.call_soon_threadsafe(self.submit, kind, url, note)
            return
        if self.pending >= self.queue_max:
            self._drop(kind, url, (note,), 1, f"the delivery queue is full ({self.queue_max})")
            return
        if self._loop is not loop:
            self._loop, self._semaphore = loop, asyncio.Semaphore(MAX_CONCURRENT)
            self._waiting, self._lanes = {}, set()
            self._pool = ConnectionPool()  # kept connections belong to the loop that made them
        self.pending += 1
        lane = (kind, url)
        self._waiting.setdefault(lane, []).append(note)
        if lane not in self._lanes:
            self._lanes.add(lane)
            self._spawn(self._run_lane(lane))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run_lane(self, lane: _Lane) -> None:
        try:
            while True:
                waiting = self._waiting.get(lane)
                if not waiting:
                    return  # no await between this look and the lane's end: no note is stranded
                taken, rest = waiting[:MAX_BATCH], waiting[MAX_BATCH:]
                if rest:
                    self._waiting[lane] = rest
                else:
                    del self._waiting[lane]
                await self._deliver(_Batch(lane[0], lane[1], tuple(taken)))
        finally:
            self._lanes.discard(lane)

    def _drop(self, kind: str, url: str, notes: tuple[_Note, ...], attempt: int, why: str) -> None:
        for note in notes:
            self.journal.record(
                subscriptionId=note.subscription_id, kind=kind, label=note.label, url=url, attempt=attempt,
                outcome="dropped", status=None, error=why, durationMs=0, payload={"value": [note.body]},
            )  # fmt: skip
            logger.warning("notification for subscription %s dropped: %s", note.subscription_id, why)

    async def _deliver(self, batch: _Batch) -> None:
        retry: tuple[float, _Batch] | None = None
        try:
            assert self._semaphore is not None
            async with self._semaphore:
                retry = await self._attempt(batch)
        except Exception:  # a bug here must not lose the rest of the queue
            logger.exception("delivery to %s failed unexpectedly", batch.url)
        finally:
            if retry is None:
                self.pending -= len(batch.notes)
            else:
                self.pending -= len(batch.notes) - len(retry[1].notes)
        if retry is not None:
            wait, again = retry
            asyncio.get_running_loop().call_later(wait, self._retry, again)

    def _retry(self, batch: _Batch) -> None:
        # Off the lane: a receiver's retries wait their backoff without holding up new notes.
        self._spawn(self._deliver(batch))

    async def _attempt(self, batch: _Batch) -> tuple[float, _Batch] | None:
        """One attempt; the wait and what to send next time, or None (delivered, given up, or not to be sent)."""
        if batch.kind == "notification":
            now, live = self.clock(), []
            for note in batch.notes:
                sub = self.store.get(note.subscription_id)
                if sub is None or sub.expired(now):
                    why = "the subscription was deleted" if sub is None else "the subscription expired"
                    self._journal(batch, (note,), Answer(0, "", b"", 0.0, error=why), "not sent", False)
                else:
                    live.append(note)
            if not live:
                return None
            if len(live) < len(batch.notes):
                batch = replace(batch, notes=tuple(live))  # `_deliver` counts the others done
        if self.faults.delay_ms:
            await asyncio.sleep(self.faults.delay_ms / 1000)
        if self.faults.take_failure():
            status = self.faults.fail_status
            answer = Answer(status, "", b"", 0.0, error="" if status else "failed by the control API (not sent)")
        else:
            try:
                target = await self.policy.resolve(batch.url)
            except TargetRefused as exc:
                self._journal(batch, batch.notes, Answer(0, "", b"", 0.0, error=str(exc)), "failed", False)
                return None
            answer = await post(
                target,
                batch.payload(),
                content_type="application/json; charset=utf-8",
                timeout=self.delivery_timeout,
                max_body=MAX_ANSWER_BYTES,
                pool=self._pool,
            )
        if answer.ok:
            self._journal(batch, batch.notes, answer, "delivered", False)
            return None
        retry = batch.attempt < self.attempts
        self._journal(batch, batch.notes, answer, "failed", retry)
        if not retry:
            return None
        wait = float(min(self.retry_ms / 1000 * 2 ** (batch.attempt - 1), MAX_BACKOFF_S))
        return wait, replace(batch, attempt=batch.attempt + 1)

    def _journal(self, batch: _Batch, notes: tuple[_Note, ...], answer: Answer, outcome: str, will_retry: bool) -> None:
        """One entry per notification (its `payload` is its own `value[]`; `batch`: how many the POST carried)."""
        for note in notes:
            self.journal.record(
                subscriptionId=note.subscription_id, kind=batch.kind, label=note.label, url=batch.url,
                attempt=batch.attempt, outcome=outcome, status=answer.status or None, error=answer.error or None,
                willRetry=will_retry, durationMs=round(answer.elapsed * 1000, 1), payload={"value": [note.body]},
                batch=len(batch.notes),
            )  # fmt: skip

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait until nothing is pending (tests, shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pending and loop.time() < deadline:
            await asyncio.sleep(0.01)

    def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        self._pool.close()
        self.store.close()


def _payload(notes: list[dict[str, Any]]) -> bytes:
    body = json.dumps({"value": notes}, separators=(",", ":")).encode()
    if len(body) > MAX_PAYLOAD_BYTES:  # cannot happen with Graph's shapes; kept as a bound
        raise ValueError("notification payload too large")
    return body


def new_subscription_id() -> str:
    return str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))
