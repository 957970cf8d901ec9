"""The delivery queue: which subscriptions a change concerns, and getting it to them.

`Notifications` is the one object the rest of the stub talks to. A change (`event_changed`,
`child_changed`) is matched against an index of the live subscriptions (a dict lookup, not a
scan: a thousand subscriptions cost a change nothing measurable), turned into Graph's
`changeNotificationCollection` and queued; the API call that caused it returns at once.
Each delivery runs as its own task, bounded in time by the client and in number by a
semaphore, so a receiver that never answers holds one slot for at most Graph's 3 seconds and
every other delivery goes on. A failed attempt (no 2xx in time) is retried after a doubling
wait, a bounded number of times; every attempt is journaled. A subscription that expired or
was deleted before its delivery left gets nothing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import uuid
from dataclasses import dataclass, replace
from typing import Any

from vevents.server.ids import parse_event_id
from vevents.server.notifications.client import Answer, post
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
class _Job:
    subscription_id: str
    kind: str
    """notification or lifecycle"""
    url: str
    payload: bytes
    attempt: int = 1
    label: str = ""
    """changeType or lifecycleEvent"""


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
            self.submit(_Job(sub.id, "notification", sub.notification_url, _payload([note]), label=change_type))
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
        self.submit(_Job(sub.id, "notification", sub.notification_url, _payload([note]), label=change))

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
        self.submit(_Job(sub.id, "lifecycle", sub.lifecycle_url, _payload([note]), label=event))
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
    def submit(self, job: _Job) -> None:
        """Queue a delivery; never raises into the API call that caused it."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            # Called from another thread (a test writing to the store directly): hand it over.
            home = self._loop
            if home is None or home.is_closed():
                self._drop(job, "no event loop to deliver from")
                return
            home.call_soon_threadsafe(self.submit, job)
            return
        if self.pending >= self.queue_max:
            self._drop(job, f"the delivery queue is full ({self.queue_max})")
            return
        if self._loop is not loop:
            self._loop, self._semaphore = loop, asyncio.Semaphore(MAX_CONCURRENT)
        self.pending += 1
        self._spawn(job)

    def _spawn(self, job: _Job) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _drop(self, job: _Job, why: str) -> None:
        self.journal.record(
            subscriptionId=job.subscription_id, kind=job.kind, label=job.label, url=job.url, attempt=job.attempt,
            outcome="dropped", status=None, error=why, durationMs=0, payload=json.loads(job.payload),
        )  # fmt: skip
        logger.warning("notification for subscription %s dropped: %s", job.subscription_id, why)

    async def _deliver(self, job: _Job) -> None:
        retry_in: float | None = None
        try:
            assert self._semaphore is not None
            async with self._semaphore:
                retry_in = await self._attempt(job)
        except Exception:  # a bug here must not lose the rest of the queue
            logger.exception("delivery to %s failed unexpectedly", job.url)
        finally:
            if retry_in is None:
                self.pending -= 1
        if retry_in is not None:
            asyncio.get_running_loop().call_later(retry_in, self._spawn, replace(job, attempt=job.attempt + 1))

    async def _attempt(self, job: _Job) -> float | None:
        """One attempt; the wait before the next one, or None (delivered, given up, or not to be sent)."""
        sub = self.store.get(job.subscription_id)
        if job.kind == "notification" and (sub is None or sub.expired(self.clock())):
            why = "the subscription was deleted" if sub is None else "the subscription expired"
            self._journal(job, Answer(0, "", b"", 0.0, error=why), "not sent", False)
            return None
        if self.faults.delay_ms:
            await asyncio.sleep(self.faults.delay_ms / 1000)
        if self.faults.take_failure():
            status = self.faults.fail_status
            answer = Answer(status, "", b"", 0.0, error="" if status else "failed by the control API (not sent)")
        else:
            try:
                target = await self.policy.resolve(job.url)
            except TargetRefused as exc:
                self._journal(job, Answer(0, "", b"", 0.0, error=str(exc)), "failed", False)
                return None
            answer = await post(
                target,
                job.payload,
                content_type="application/json; charset=utf-8",
                timeout=self.delivery_timeout,
                max_body=MAX_ANSWER_BYTES,
            )
        if answer.ok:
            self._journal(job, answer, "delivered", False)
            return None
        retry = job.attempt < self.attempts
        self._journal(job, answer, "failed", retry)
        if not retry:
            return None
        return float(min(self.retry_ms / 1000 * 2 ** (job.attempt - 1), MAX_BACKOFF_S))

    def _journal(self, job: _Job, answer: Answer, outcome: str, will_retry: bool) -> None:
        self.journal.record(
            subscriptionId=job.subscription_id, kind=job.kind, label=job.label, url=job.url, attempt=job.attempt,
            outcome=outcome, status=answer.status or None, error=answer.error or None, willRetry=will_retry,
            durationMs=round(answer.elapsed * 1000, 1), payload=json.loads(job.payload),
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
        self.store.close()


def _payload(notes: list[dict[str, Any]]) -> bytes:
    body = json.dumps({"value": notes}, separators=(",", ":")).encode()
    if len(body) > MAX_PAYLOAD_BYTES:  # cannot happen with Graph's shapes; kept as a bound
        raise ValueError("notification payload too large")
    return body


def new_subscription_id() -> str:
    return str(uuid.UUID(bytes=secrets.token_bytes(16), version=4))
