"""What the `vevents_stub` fixture costs a test, beside a bare test and a fresh stub per test.

Three generated test files, each run by pytest in a subprocess, as a user's suite runs:

  bare          tests that request no fixture (the floor: pytest's own cost per test)
  vevents_stub  tests that request `vevents_stub` (one stub per session, reset per test)
  fresh stub    tests that each build the app and start uvicorn on a new port, then stop it
                (what a fixture without a shared server would cost)

A conftest.py plugin times each test's whole protocol (setup, call, teardown); the first test
of a run (which starts the session's stub) is left out, so that interpreter start-up, imports
and the one stub start are not counted. Every stub test makes one GET to the
stub through one shared httpx client, so the figures compare the fixtures, not the client's
set-up. Medians over `--rounds`. The machine's load shows in every figure: run it idle.

Then what the control plane adds to every request when no rule and no lag is set (the hook
in the request pipeline: a flag check and a journal append): the outermost middleware,
called directly with a trivial inner app, with the control plane as its hook and without
(microseconds per request; a GET through the whole stub costs about a millisecond).

    python bench/fixture_overhead.py            # the table (about a minute)
    python bench/fixture_overhead.py --smoke    # one quick round: proves the script works
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = "bce9a3ca-a310-48fa-baf3-1cedcd04bb3f%404aa05bcc-1cac-4a83-a9ae-0db84b88f4ba"

BARE = """
import pytest

@pytest.mark.parametrize("n", range({count}))
def test_bare(n):
    assert n >= 0
"""

FIXTURE = """
import httpx, pytest

HTTP = httpx.Client()

@pytest.mark.parametrize("n", range({count}))
def test_with_stub(vevents_stub, n):
    url = vevents_stub.event_url("webinars", "{sample}")
    assert HTTP.get(url, headers=vevents_stub.headers()).status_code == 200
""".replace("{sample}", SAMPLE.replace("%40", "@"))

FRESH = """
import httpx, pytest
from vevents.server.app import create_app
from vevents.server.auth import mint_token
from vevents.server.background import serve_in_background
from vevents.server.settings import DEFAULT_SECRET, Settings

HTTP = httpx.Client()

@pytest.fixture
def fresh_stub():
    with serve_in_background(create_app(Settings(memory=True))) as base_url:
        yield base_url

@pytest.mark.parametrize("n", range({count}))
def test_with_fresh_stub(fresh_stub, n):
    url = fresh_stub + "/v1.0/solutions/virtualEvents/webinars/{sample}"
    headers = {{"Authorization": "Bearer " + mint_token(secret=DEFAULT_SECRET)}}
    assert HTTP.get(url, headers=headers).status_code == 200
""".replace("{sample}", SAMPLE)


TIMER = """
import json, os, time
import pytest

DURATIONS = []

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    started = time.perf_counter()
    yield
    DURATIONS.append(time.perf_counter() - started)

def pytest_sessionfinish(session):
    with open(os.environ["FIXTURE_OVERHEAD_OUT"], "w") as out:
        json.dump(DURATIONS, out)
"""


def per_test_ms(source: str, count: int, rounds: int) -> tuple[float, float]:
    """(median, mean) milliseconds per test - setup, call and teardown - leaving out the first test
    (which starts the session's stub), over `rounds` pytest runs of `count` tests."""
    durations: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "conftest.py").write_text(TIMER, encoding="utf-8")
        path = folder / "test_generated.py"
        path.write_text(source.replace("{count}", str(count)).replace("{{", "{").replace("}}", "}"), encoding="utf-8")
        out = folder / "durations.json"
        for _ in range(rounds):
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", str(path)],
                cwd=folder,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
                env={**os.environ, "FIXTURE_OVERHEAD_OUT": str(out)},
            )
            if proc.returncode != 0:
                raise SystemExit(f"pytest failed on the generated tests:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
            durations += json.loads(out.read_text(encoding="utf-8"))[1:]
    return statistics.median(durations) * 1000, statistics.fmean(durations) * 1000


def hook_cost_us(calls: int) -> tuple[float, float]:
    """(without hook, with the control plane as hook): microseconds per request through the
    outermost middleware around a trivial app, no rule and no lag set."""
    import asyncio
    import warnings

    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from vevents.server.control.gate import ControlGate
    from vevents.server.control.plane import ControlPlane
    from vevents.server.middleware import RequestContextMiddleware
    from vevents.server.store import MemoryStore
    from vevents.spec import contract

    async def inner(scope: dict, receive: object, send: object) -> None:  # type: ignore[type-arg]
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"{}"})

    async def receive() -> dict:  # type: ignore[type-arg]
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:  # type: ignore[type-arg]
        pass

    plane = ControlPlane(MemoryStore(), contract(), gate=ControlGate(listen_host="127.0.0.1", token=None))
    path = "/v1.0/solutions/virtualEvents/webinars/" + SAMPLE.replace("%40", "@")

    async def measure(middleware: RequestContextMiddleware) -> float:
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(calls):
                scope = {
                    "type": "http",
                    "method": "GET",
                    "path": path,
                    "raw_path": path.encode(),
                    "query_string": b"",
                    "headers": [(b"host", b"127.0.0.1:8080")],
                }
                await middleware(scope, receive, send)
            best = min(best, (time.perf_counter() - started) / calls)
        return best * 1e6

    bare = RequestContextMiddleware(inner, max_body_bytes=1 << 20)  # type: ignore[arg-type]
    hooked = RequestContextMiddleware(inner, max_body_bytes=1 << 20, hook=plane)  # type: ignore[arg-type]
    return asyncio.run(measure(bare)), asyncio.run(measure(hooked))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="one round with few tests")
    args = parser.parse_args()
    rounds = 1 if args.smoke else args.rounds
    count, fresh_count = (20, 5) if args.smoke else (200, 30)
    print(
        f"per-test cost in ms (setup + call + teardown; median and mean of {rounds} run(s); "
        f"Python {sys.version.split()[0]})"
    )
    print(f"  {'':40} {'median':>8} {'mean':>8}")
    rows = [
        ("bare test (no fixture, no request)", BARE, count),
        ("vevents_stub (reset + one GET)", FIXTURE, count),
        ("fresh stub per test (+ one GET)", FRESH, fresh_count),
    ]
    figures = {}
    for label, source, n in rows:
        figures[label] = per_test_ms(source, n, rounds)
        print(f"  {label:40} {figures[label][0]:8.2f} {figures[label][1]:8.2f}", flush=True)
    (bare, _), (stub, _), (fresh, _) = figures.values()
    print(
        f"  vevents_stub overhead over a bare test: {stub - bare:.2f} ms; "
        f"a fresh stub per test costs {fresh / stub:.0f}x as much"
    )
    without, with_hook = hook_cost_us(2_000 if args.smoke else 20_000)
    print("\nper request through the outermost middleware, no rule and no lag set (us, best of 5)")
    print(f"  without the control plane   {without:8.1f}")
    print(f"  with the control plane      {with_hook:8.1f}   (+{with_hook - without:.1f} us: the hook)")


if __name__ == "__main__":
    main()
