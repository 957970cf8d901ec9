"""Change notifications: the delay from a cancel to its notification, and what subscriptions cost the API.

The stub runs as `vevents serve` (SQLite on disk) in its own process (bench/run.py's launcher), seeded
with published webinars. Background subscriptions (each to its own webinar, validated by the
handshake like any other) point at a receiver in another process; the measured one points at
a receiver in this process, which timestamps each arrival.

  delay       with 1, 100 and 1,000 live subscriptions: subscribe to a fresh webinar, cancel it,
              time from sending the cancel to the notification's arrival (p50, p99 over --samples)
  throughput  PATCH requests per second (wrk, --connections, one C thread: the load generator
              takes as little of the machine as it can) with no subscription, with 999
              subscriptions to other webinars (the cost of having them), and on the 999
              subscribed webinars (every request also sends a notification), once with a
              minimal receiver (bench's raw asyncio one: what the stub pays) and once with
              vevents.receiver (uvicorn + JSON: what a Python receiver on the same 2 cores takes
              from the stub). Rounds: one warm-up (not counted), then --rounds short rounds of
              --seconds, the rows interleaved within each round; each row reports its median
              and spread (min..max), and the ratio to "no subscription" is taken per round
              (paired, so the machine's drift cancels) and reported as the median and spread.
              The ratios should stay >= 0.9.

    python bench/notifications.py            # the table (about two minutes on an idle machine)
    python bench/notifications.py --smoke    # tiny counts: proves the script works
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
from processes import stop_process
from run import Server, mint_token, running, seed_file

from vevents.receiver import Receiver

_FAST_RECEIVER = r"""
import asyncio, sys
from urllib.parse import parse_qs, urlsplit

class Receiver(asyncio.Protocol):
    # HTTP/1.1 with keep-alive, just enough for the stub: echo a validationToken, else 202.
    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""

    def data_received(self, data):
        self.buffer += data
        while True:
            head, sep, rest = self.buffer.partition(b"\r\n\r\n")
            if not sep:
                return
            lines = head.split(b"\r\n")
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            target = lines[0].split(b" ")[1].decode()
            token = parse_qs(urlsplit(target).query).get("validationToken")
            if token:
                body = token[0].encode()
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % len(body)
                self.transport.write(head + body)
            else:
                self.transport.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")

async def main():
    server = await asyncio.get_running_loop().create_server(Receiver, "127.0.0.1", 0)
    print(f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/notifications", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

asyncio.run(main())
"""

_RECEIVER = (
    "import sys, time\n"
    "from vevents.receiver import Receiver\n"
    "with Receiver() as r:\n"
    "    print(r.url, flush=True)\n"
    "    sys.stdin.read()\n"
)


@contextlib.contextmanager
def remote_receiver(fast: bool = False) -> Iterator[str]:
    """A receiver in its own process (its work does not slow this one's clients); its URL.

    `fast`: a bare asyncio protocol (no parsing beyond the framing), so that what is measured
    is the stub's cost of delivering, not a Python web server's cost of receiving."""
    process = subprocess.Popen(
        [sys.executable, "-c", _FAST_RECEIVER if fast else _RECEIVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        start_new_session=True,
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


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process and its descendants have used."""
    total, pids, tick = 0.0, [pid], os.sysconf("SC_CLK_TCK")
    while pids:
        current = pids.pop()
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
            pids.extend(int(c) for c in Path(f"/proc/{current}/task/{current}/children").read_text().split())
    return total


def throughput(server: Server, paths_file: Path, connections: int, seconds: float) -> tuple[float, float]:
    """PATCH requests per second over `seconds` (wrk; every answer must be a 200), and the
    stub's CPU time per request in microseconds: what a busy machine cannot blur, as it blurs
    the rate (a CPU-bound stub's rate goes as the inverse of its CPU per request)."""
    cpu = tree_cpu(server.process.pid)
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", str(WRK_PATCH), server.root]
    env = {**os.environ, "BENCH_TOKEN": server.token, "BENCH_IDS_FILE": str(paths_file)}
    out = subprocess.run(argv, check=True, capture_output=True, text=True, env=env, timeout=seconds + 30)
    line = next(line for line in out.stdout.splitlines() if line.startswith("BENCH "))
    figures = json.loads(line[len("BENCH ") :])
    if figures["non2xx"] or figures["socket_errors"]:
        raise RuntimeError(f"the PATCH load had errors: {figures}")
    cpu = tree_cpu(server.process.pid) - cpu
    return float(figures["requests"] / figures["seconds"]), cpu / figures["requests"] * 1e6


def subscribe_all(client: httpx.Client, base: str, webinars: list[str], url: str) -> list[str]:
    """Subscribe to each webinar (4 at a time: each runs the receiver's handshake first)."""
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda webinar: subscribe(client, base, webinar, url), webinars))


def unsubscribe_all(client: httpx.Client, base: str, subscriptions: list[str]) -> None:
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for answer in pool.map(lambda sub: client.delete(f"{base}/subscriptions/{sub}"), subscriptions):
            answer.raise_for_status()


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}..{max(values):.2f}" if values else "-"


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


def print_rows(figures: dict[str, list[float]], count: int, unit: str, *, higher_is_better: bool) -> None:
    """Each row's median, its range and its per-round ratio to "no subscription" (better is above 1)."""
    for row, label in ROWS:
        values, base = figures[row], figures["none"]
        pairs = zip(values, base, strict=True)
        ratios = [v / n if higher_is_better else n / v for v, n in pairs if v and n]
        text = f"{statistics.median(ratios):.2f} ({spread(ratios)})" if row != "none" else "1"
        rng = f"({min(values):.0f}..{max(values):.0f})"
        print(f"  {label.format(n=count):60} {statistics.median(values):7.1f}{unit} {rng:>16}  {text}")


WRK_PATCH = Path(__file__).resolve().parent / "wrk" / "patch.lua"
WEBINARS = "/solutions/virtualEvents/webinars"
ROWS = (
    ("none", "no subscription"),
    ("elsewhere", "{n} subscriptions, to other webinars"),
    ("notifying fast", "{n} subscriptions, each request notifies (bare receiver)"),
    ("notifying", "{n} subscriptions, each request notifies (vevents.receiver)"),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny counts: proves the script works")
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--connections", type=int, default=4, help="wrk's connections for the PATCH load")
    parser.add_argument("--seconds", type=float, default=2.0, help="a throughput round's length")
    parser.add_argument("--rounds", type=int, default=7, help="rounds counted (after one warm-up round)")
    args = parser.parse_args()
    counts = (1, 5, 10) if args.smoke else (1, 100, 1000)
    samples, seconds = (5, 1.0) if args.smoke else (args.samples, args.seconds)
    if args.smoke:
        args.rounds = 1
    batches: list[int] = []
    background_needed = max(counts) - 1
    token = mint_token()
    with tempfile.TemporaryDirectory() as tmp:
        seed = seed_file(Path(tmp), 2 * background_needed + samples * len(counts) + 1)
        with (
            running("stub", Path(tmp), token, seed) as server,
            remote_receiver() as far,
            remote_receiver(fast=True) as fast,
            Receiver() as near,
        ):
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
            # Throughput: the same PATCH load with no subscription at all, with 999 on other
            # webinars (what matching costs), and on the subscribed webinars (each request also
            # sends a notification) to each receiver. Interleaved within every round, so that
            # the machine's drift hurts every row alike; the first round warms up, uncounted.
            subscribed = background[: max(counts) - 1] or ids[:1]
            elsewhere = fresh[: len(subscribed)]
            files = {}
            for name, webinars in (("subscribed", subscribed), ("elsewhere", elsewhere)):
                files[name] = Path(tmp) / f"{name}.txt"
                files[name].write_text("".join(f"{server.prefix}{WEBINARS}/{w}\n" for w in webinars))
            figures: dict[str, list[float]] = {row: [] for row, _ in ROWS}
            cpu_us: dict[str, list[float]] = {row: [] for row, _ in ROWS}
            client.post(f"{server.root}/_vevents/reset").raise_for_status()  # the delays' subscriptions
            seen = 0
            for round_number in range(args.rounds + 1):
                row: dict[str, tuple[float, float]] = {}
                row["none"] = throughput(server, files["subscribed"], args.connections, seconds)
                subs = subscribe_all(client, base, subscribed, fast)
                row["elsewhere"] = throughput(server, files["elsewhere"], args.connections, seconds)
                row["notifying fast"] = throughput(server, files["subscribed"], args.connections, seconds)
                unsubscribe_all(client, base, subs)
                subs = subscribe_all(client, base, subscribed, far)
                row["notifying"] = throughput(server, files["subscribed"], args.connections, seconds)
                unsubscribe_all(client, base, subs)  # the next round's first row has none
                if round_number:  # round 0 warms up
                    for name, (rate, cpu) in row.items():
                        figures[name].append(rate)
                        cpu_us[name].append(cpu)
                shown = ", ".join(f"{r:.0f}/s {c:.0f} us" for r, c in row.values())
                print(f"round {round_number}/{args.rounds}: {shown}", file=sys.stderr, flush=True)
                query = {"after": seen, "kind": "notification"}
                journal = client.get(f"{server.root}/_vevents/deliveries", params=query)
                seen = journal.json()["lastSeq"]
                batches.extend(e["batch"] for e in journal.json()["value"] if e["outcome"] == "delivered")
            client.close()
    print("\nWhat a write to an event without subscription pays (in-process, best of 5 x 100,000):")
    for count in (0, 1000):
        print(f"  {count:>5} subscriptions: {hook_cost_us(count):.2f} us")
    print(
        f"\nPATCH throughput (wrk, {args.connections} connections, {args.rounds} rounds of {seconds:g} s"
        " after a warm-up, rows interleaved in each round):"
    )
    print(f"  {'':60} {'req/s':>7} {'(min..max)':>16}  ratio (min..max)")
    print_rows(figures, len(subscribed), "", higher_is_better=True)
    print("  (goal: >= 0.9 of no subscription; the ratio is taken per round, then its median)")
    print("\nThe stub's CPU time per PATCH (the same rounds; ratio: none's CPU / the row's, per round):")
    print_rows(cpu_us, len(subscribed), " us", higher_is_better=False)
    if batches:
        print(f"  notifications per POST while notifying: median {statistics.median(batches):g}, max {max(batches)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
