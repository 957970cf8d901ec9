"""Change notifications: the delay from a cancel to its notification, and what subscriptions cost the API.

The stub runs as `vevents serve --memory` in its own process (bench/run.py's launcher), seeded
with published webinars. Background subscriptions (each to its own webinar, validated by the
handshake like any other) point at a receiver in another process; the measured one points at
a receiver in this process, which timestamps each arrival.

  delay       with 1, 100 and 1,000 live subscriptions: subscribe to a fresh webinar, cancel it,
              time from sending the cancel to the notification's arrival (p50, p99 over --samples)
  throughput  PATCH requests per second (--workers clients, --seconds, --rounds interleaved)
              with no subscription, with 1,000 subscriptions to other webinars (the cost of
              having them), and on 1,000 subscribed webinars (every request also sends a
              notification); the ratios to "no subscription" should stay >= 0.9

    python bench/notifications.py            # the table (about a minute on an idle machine)
    python bench/notifications.py --smoke    # tiny counts: proves the script works
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
from processes import stop_process
from run import mint_token, running, seed_file

from vevents.receiver import Receiver

_RECEIVER = (
    "import sys, time\n"
    "from vevents.receiver import Receiver\n"
    "with Receiver() as r:\n"
    "    print(r.url, flush=True)\n"
    "    sys.stdin.read()\n"
)


@contextlib.contextmanager
def remote_receiver() -> Iterator[str]:
    """A receiver in its own process (its work does not slow this one's clients); its URL."""
    process = subprocess.Popen(
        [sys.executable, "-c", _RECEIVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, start_new_session=True
    )
    try:
        assert process.stdout is not None
        yield process.stdout.readline().decode().strip()
    finally:
        stop_process(process)  # type: ignore[arg-type]


def _expires() -> str:
    return (datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=12)).isoformat()


def subscribe(client: httpx.Client, base: str, webinar: str, url: str) -> str:
    answer = client.post(
        f"{base}/subscriptions",
        json={
            "changeType": "updated",
            "notificationUrl": url,
            "resource": f"solutions/virtualEvents/webinars/{webinar}",
            "expirationDateTime": _expires(),
            "clientState": "bench",
        },
    )
    answer.raise_for_status()
    return str(answer.json()["id"])


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def delays(client: httpx.Client, base: str, webinars: list[str], receiver: Receiver, samples: int) -> list[float]:
    measured = []
    for webinar in webinars[:samples]:
        sub = subscribe(client, base, webinar, receiver.url)
        before = len(receiver.notifications())
        started = time.monotonic()
        client.post(f"{base}/solutions/virtualEvents/webinars/{webinar}/cancel").raise_for_status()
        deadline = started + 10
        while len(receiver.notifications()) == before and time.monotonic() < deadline:
            time.sleep(0.0005)
        arrived = [r for r in receiver.receipts if r.token is None][-1]
        assert arrived.body["value"][0]["subscriptionId"] == sub, "the notification did not come"
        measured.append((arrived.at - started) * 1000)
        client.delete(f"{base}/subscriptions/{sub}").raise_for_status()
    return measured


def throughput(base: str, token: str, webinars: list[str], workers: int, seconds: float) -> float:
    counts = [0] * workers
    stop = time.monotonic() + seconds

    def work(index: int) -> None:
        with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            n = index
            while time.monotonic() < stop:
                webinar = webinars[n % len(webinars)]
                client.patch(f"{base}/solutions/virtualEvents/webinars/{webinar}", json={"displayName": f"v{n}"})
                counts[index] += 1
                n += workers

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds


def hook_cost_us(subscriptions: int, calls: int = 100_000) -> float:
    """What a write pays the notifications when its event has no subscription, in-process: the
    index lookup of `Notifications.event_changed` with `subscriptions` live ones (microseconds)."""
    from vevents.server.notifications.dispatcher import Notifications
    from vevents.server.notifications.subscriptions import MemorySubscriptions, Subscription
    from vevents.server.notifications.targets import TargetPolicy
    from vevents.spec import contract

    rules = contract().notifications
    assert rules is not None
    notifications = Notifications(MemorySubscriptions(), rules, TargetPolicy())
    tenant = contract().sample.tenant
    expires = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    for n in range(subscriptions):
        resource = f"solutions/virtualEvents/webinars/{uuid.uuid4()}@{tenant}"
        sub = Subscription(f"{n:08d}-0000-4000-8000-000000000000", tenant, "app", "user", True, resource,
                           "updated", "http://127.0.0.1:9/", expires)  # fmt: skip
        assert notifications.add(sub)
    other = f"{uuid.uuid4()}@{tenant}"
    best = float("inf")
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(calls):
            notifications.event_changed("webinars", other, tenant, "updated")
        best = min(best, (time.perf_counter() - started) / calls * 1e6)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny counts: proves the script works")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    counts = (1, 5, 10) if args.smoke else (1, 100, 1000)
    samples, seconds = (5, 1.0) if args.smoke else (args.samples, args.seconds)
    background_needed = max(counts) - 1
    token = mint_token()
    with tempfile.TemporaryDirectory() as tmp:
        seed = seed_file(Path(tmp), 2 * background_needed + samples * len(counts) + 1)
        with running("stub", Path(tmp), token, seed) as server, remote_receiver() as far, Receiver() as near:
            base = server.root + server.prefix
            client = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=30)
            state = client.get(f"{server.root}/_vevents/events", params={"kind": "webinars"}).json()["value"]
            ids = [e["id"] for e in state if e["status"] == "published"]
            background, fresh = ids[:background_needed], ids[background_needed:]
            print(f"{'subscriptions':>13}  {'p50 ms':>7}  {'p99 ms':>7}  samples")
            live = 0
            for count in counts:
                while live < count - 1:
                    subscribe(client, base, background[live], far)
                    live += 1
                measured = delays(client, base, fresh, near, samples)
                fresh = fresh[samples:]
                p50, p99 = statistics.median(measured), percentile(measured, 0.99)
                print(f"{count:>13}  {p50:>7.1f}  {p99:>7.1f}  {len(measured)}")
            # Throughput: the same PATCH load with no subscription at all, with 1,000 on other
            # webinars (what matching costs), and on the subscribed webinars (each request also
            # sends a notification); interleaved, --rounds times, so that the machine's drift shows.
            subscribed = background[: max(counts) - 1] or ids[:1]
            elsewhere = fresh[: len(subscribed)]
            figures: dict[str, list[float]] = {"none": [], "elsewhere": [], "notifying": []}
            for _ in range(args.rounds):
                client.post(f"{server.root}/_vevents/reset").raise_for_status()  # no subscription left
                figures["none"].append(throughput(base, token, subscribed, args.workers, seconds))
                for webinar in subscribed:
                    subscribe(client, base, webinar, far)
                figures["elsewhere"].append(throughput(base, token, elsewhere, args.workers, seconds))
                figures["notifying"].append(throughput(base, token, subscribed, args.workers, seconds))
            client.close()
    print("\nWhat a write to an event without subscription pays (in-process, best of 5 x 100,000):")
    for count in (0, 1000):
        print(f"  {count:>5} subscriptions: {hook_cost_us(count):.2f} us")
    none = statistics.median(figures["none"])
    print(f"\nPATCH throughput ({args.workers} clients, {seconds:g} s a round, median of {args.rounds}):")
    for name, label in (
        ("none", "no subscription"),
        ("elsewhere", f"{len(subscribed)} subscriptions, to other webinars"),
        ("notifying", f"{len(subscribed)} subscriptions, each request notifies"),
    ):
        value = statistics.median(figures[name])
        rounds = ", ".join(f"{v:.1f}" for v in figures[name])
        print(f"  {label:44} {value:8.1f} req/s  ratio {value / none if none else 0:.2f}  ({rounds})")
    print("  (goal: >= 0.9 of no subscription)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
