"""What the conformance suite costs a target: wall time and events created by a default run.

A real tenant answers in ~150 ms, throttles, and keeps every event a run creates (the contract
has no DELETE). This script runs the DEFAULT `vevents check` (no option but the target and its
tokens) as users run it, in its own process, against:

  bundled stub      `vevents check` with no --base-url (in-process stub, in memory; no event budget:
                    it is thrown away)
  local target +N   the stub served on 127.0.0.1 by this script with N ms added to every answer
                    (N = 0, 50, 150), checked with `--base-url ... --token ...` and the read-only and
                    other-user tokens, so that every check runs

and prints, per target: wall time, events the run created (from `--report-json`), requests, the
exit code. Acceptance (issue 10): at 150 ms a default run takes <= 60 s and creates <= 25 events.

    python bench/suite_cost.py               # the table (a few minutes)
    python bench/suite_cost.py --smoke       # the bundled stub and +0 ms at --max-examples 2: proves the script works
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from processes import vevents_bin

SECRET = "vevents-suite-cost-benchmark-secret-0123456789"
SEED = "20240601"
LATENCIES_MS = (0, 50, 150)


def _latency(app: Any, seconds: float) -> Any:
    async def slow(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and seconds:
            await asyncio.sleep(seconds)
        await app(scope, receive, send)

    return slow


@contextlib.contextmanager
def local_target(latency_ms: int) -> Iterator[tuple[str, list[str]]]:
    """The stub (in memory) on 127.0.0.1 with `latency_ms` added to every answer; yields its URL and token args."""
    from vevents.server.app import create_app
    from vevents.server.auth import SEED_ORGANIZER, SEED_TENANT, mint_token
    from vevents.server.background import serve_in_background
    from vevents.server.settings import Settings

    settings = Settings(host="127.0.0.1", port=0, memory=True, secret=SECRET, log_level="critical")
    tokens = [
        "--token",
        mint_token(secret=SECRET, tenant=SEED_TENANT, user=SEED_ORGANIZER),
        "--read-only-token",
        mint_token(secret=SECRET, tenant=SEED_TENANT, user=SEED_ORGANIZER, scopes=("VirtualEvent.Read",)),
        "--other-user-token",
        mint_token(secret=SECRET, tenant=SEED_TENANT, user=str(uuid.uuid4())),
    ]
    app = _latency(create_app(settings), latency_ms / 1000)
    with serve_in_background(app, host="127.0.0.1", port=0, log_level="critical") as url:
        yield f"{url}/v1.0", tokens


def timed_check(extra: list[str], workdir: Path) -> dict[str, Any]:
    """One `vevents check` in its own process; its wall time, exit code and what its JSON report says."""
    report = workdir / f"report-{time.monotonic_ns()}.json"
    argv = [vevents_bin(), "check", "--seed", SEED, "--report-json", str(report), *extra]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=1800, cwd=workdir)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1) or not report.exists():
        raise RuntimeError(f"vevents check exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    data = json.loads(report.read_text())
    skipped_for_budget = [item["name"] for item in data["checks"] if "--max-events" in item["reason"]]
    return {
        "seconds": elapsed,
        "exit": proc.returncode,
        "events": len(data["events_created"]),
        "requests": data["requests"],
        "canceled": sum(e["final_status"] == "canceled" for e in data["events_created"]),
        "budget_skips": skipped_for_budget,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="the bundled stub and +0 ms only, at --max-examples 2")
    args = parser.parse_args(argv)
    extra = ["--max-examples", "2"] if args.smoke else []
    rows: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="vevents-suite-cost-") as tmp:
        workdir = Path(tmp)
        print("bundled stub", file=sys.stderr, flush=True)
        rows.append(("bundled stub (no --base-url)", timed_check(extra, workdir)))
        for latency_ms in (0,) if args.smoke else LATENCIES_MS:
            print(f"local target +{latency_ms} ms", file=sys.stderr, flush=True)
            with local_target(latency_ms) as (base_url, tokens):
                rows.append(
                    (
                        f"local target, +{latency_ms} ms per answer",
                        timed_check(["--base-url", base_url, *tokens, *extra], workdir),
                    )
                )
    load = os.getloadavg()
    print(
        f"\nDefault `vevents check`{' (--max-examples 2: smoke)' if args.smoke else ''}, --seed {SEED}; load "
        f"average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs\n"
    )
    print(
        "| target | wall time (s) | events created | canceled at the end | requests | checks skipped for "
        "the budget | exit |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, row in rows:
        skips = ", ".join(row["budget_skips"]) or "none"
        print(
            f"| {label} | {row['seconds']:.1f} | {row['events']} | {row['canceled']} | {row['requests']} | "
            f"{skips} | {row['exit']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
