"""What the conformance suite itself costs: wall time of `vevents check` against the stub.

Two ways of pointing the suite at the stub, as users do:
  in-process   `vevents check` with no --base-url: the bundled stub (in memory) runs in a
               thread of the checking process
  socket       `vevents serve` (SQLite store, strict auth) as its own process, and
               `vevents check --base-url ... --token ...` against it (plus the read-only
               and other-user tokens, so that the same checks run as in-process)

Each is timed at the default `--max-examples` (25) and at 5, 10, 25 and 50, with one fixed
`--seed` so that every run draws the same examples. Figures are medians over `--rounds`.

    python bench/suite_cost.py               # the full table (a few minutes)
    python bench/suite_cost.py --smoke       # one quick run: proves the script works
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from processes import HOST, free_port, stop_process, vevents_bin

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECRET = "vevents-suite-cost-benchmark-secret-0123456789"
SEED = "20240601"
EXAMPLES = (5, 10, 25, 50)
OTHER_USER = "0d5a1f2e-6b7c-4d8e-9f01-23456789abcd"



def token(*args: str) -> str:
    argv = [vevents_bin(), "token", "--secret", SECRET, *args]
    out = subprocess.run(argv, check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]



@contextlib.contextmanager
def serving(workdir: Path) -> Iterator[str]:
    """`vevents serve` as its own process; yields the versioned base URL once it answers."""
    port = free_port()
    argv = [vevents_bin(), "serve", "--host", HOST, "--port", str(port), "--db", str(workdir / f"{port}.db"),
            "--secret", SECRET, "--log-level", "critical"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("vevents serve did not start")
            time.sleep(0.02)
        yield f"http://{HOST}:{port}/v1.0"
    finally:
        stop_process(process)


def timed_check(extra: list[str]) -> tuple[float, int]:
    argv = [vevents_bin(), "check", "--seed", SEED, *extra]
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=1800)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return elapsed, proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="one in-process and one socket run at 2 examples")
    parser.add_argument("--rounds", type=int, default=1, help="runs per cell (median reported; default 1)")
    parser.add_argument("--examples", help=f"comma-separated --max-examples values (default {EXAMPLES})")
    args = parser.parse_args(argv)
    examples = (2,) if args.smoke else tuple(int(x) for x in args.examples.split(",")) if args.examples else EXAMPLES
    tokens = ["--token", token(), "--read-only-token", token("--scope", "VirtualEvent.Read"),
              "--other-user-token", token("--user", OTHER_USER)]
    times: dict[tuple[str, int], list[float]] = {}
    codes: dict[tuple[str, int], int] = {}
    default: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="vevents-suite-cost-") as tmp:
        workdir = Path(tmp)
        for round_number in range(1, args.rounds + 1):
            if not args.smoke:
                # The default command exactly as documented: no --max-examples at all.
                print(f"round {round_number}: default in-process", file=sys.stderr, flush=True)
                default.setdefault("in-process", []).append(timed_check([])[0])
                with serving(workdir) as base_url:
                    print(f"round {round_number}: default socket", file=sys.stderr, flush=True)
                    default.setdefault("socket", []).append(timed_check(["--base-url", base_url, *tokens])[0])
            for n in examples:
                print(f"round {round_number}: --max-examples {n}", file=sys.stderr, flush=True)
                elapsed, codes[("in-process", n)] = timed_check(["--max-examples", str(n)])
                times.setdefault(("in-process", n), []).append(elapsed)
                # A fresh server per run: every run starts from the same seeded state.
                with serving(workdir) as base_url:
                    run = ["--base-url", base_url, *tokens, "--max-examples", str(n)]
                    elapsed, codes[("socket", n)] = timed_check(run)
                    times.setdefault(("socket", n), []).append(elapsed)
    load = os.getloadavg()
    print(f"\n`vevents check` wall time (s), median of {args.rounds} run(s), --seed {SEED};"
          f" load average at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs\n")
    if default:
        print(f"default command (25 examples): in-process {statistics.median(default['in-process']):.1f} s,"
              f" socket {statistics.median(default['socket']):.1f} s\n")
    print("| --max-examples | in-process (s) | socket (s) | exit in-process / socket |")
    print("|---|---|---|---|")
    for n in examples:
        a, b = statistics.median(times[("in-process", n)]), statistics.median(times[("socket", n)])
        print(f"| {n} | {a:.1f} | {b:.1f} | {codes[('in-process', n)]} / {codes[('socket', n)]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
