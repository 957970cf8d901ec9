"""What a default `vevents check` holds in memory, against the bundled stub and against hostile targets.

A target controls what the suite reads: a gzip bomb (1 KiB on the wire per MiB decoded), a body
that never ends, headers that never end, escape sequences. The suite's one guarded transport caps
every answer on the wire and decoded, and its log keeps only bounded prefixes, so a run's memory
should be the interpreter and its libraries whatever the target sends. This script runs the
DEFAULT command (`vevents check`, or `vevents check --base-url URL --token T` for a hostile
target from tests/hostile_targets.py), each in its own process, and prints side by side the
peak RSS of that process (`wait4`'s ru_maxrss), its wall time, its exit code and the line
it said (escaped). The last row is the bundled stub served behind a front that answers every 4xx
with a gzip bomb: the run reaches every phase, Schemathesis's included. Acceptance (issue 20): every figure <= 500 MB.

    python bench/suite_memory.py            # the stub and every hostile target (a few minutes)
    python bench/suite_memory.py --smoke    # the stub without Schemathesis and one gzip bomb, --timeout 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fakes import STUB, serve, tokens  # noqa: E402
from hostile_targets import HOSTILE, bomb_on_errors, forwarding, raw_server  # noqa: E402

from vevents.conformance.escaping import printable  # noqa: E402

LIMIT_MB = 500
TOKEN = "suite-memory-benchmark-token-0123456789"
SMOKE_TARGETS = ("gzip-bomb-negotiated",)


def _run(argv: list[str]) -> tuple[int, float, float, str]:
    """Run `argv`; returns its exit code, wall seconds, peak RSS in MB and its verdict line.

    The verdict: the one line of a run that could not start (stderr, after "could not run: "), else
    the summary's last line.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        process = subprocess.Popen(argv, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.monotonic() - started
        code = os.waitstatus_to_exitcode(status)
        stream = err if out.tell() == 0 else out
        stream.seek(max(0, stream.tell() - 64 * 1024))
        lines = stream.read().decode("utf-8", "replace").strip().splitlines()
    said = (lines[0] if stream is err else lines[-1]) if lines else ""
    said = said.removeprefix("vevents check: could not run: ")
    # Linux reports ru_maxrss in KiB.
    return code, elapsed, usage.ru_maxrss * 1024 / 1e6, printable(said)


def _check(*extra: str) -> list[str]:
    return [sys.executable, "-m", "vevents", "check", *extra]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="the smallest form: proves the script works")
    args = parser.parse_args()
    extra = ["--timeout", "2"] if args.smoke else []
    rows: list[tuple[str, int, float, float, str]] = []
    stub = _check(*extra, *(["--no-schemathesis"] if args.smoke else []))
    rows.append(("bundled stub", *_run(stub)))
    for name in SMOKE_TARGETS if args.smoke else tuple(HOSTILE):
        with raw_server(HOSTILE[name]) as (base_url, _):
            rows.append((name, *_run(_check("--base-url", base_url, "--token", TOKEN, *extra))))
    if not args.smoke:
        # The stub behind a front that bombs every 4xx: the run gets through to the Schemathesis phases.
        with serve(STUB) as stub_url, raw_server(forwarding(stub_url, bomb_on_errors)) as (base_url, _):
            role = tokens()
            argv = _check("--base-url", base_url, "--token", role["main"], "--read-only-token", role["read_only"])
            rows.append(("stub, every 4xx a gzip bomb", *_run([*argv, "--other-user-token", role["other_user"]])))
    print(f"default `vevents check`{' (smoke: --timeout 2)' if args.smoke else ''}: peak RSS of the run's process")
    print()
    print("| target | peak RSS (MB) | wall (s) | exit | what it said |")
    print("|---|---:|---:|---:|---|")
    for name, code, elapsed, peak, said in rows:
        shown = said if len(said) <= 130 else said[:127] + "..."
        print(f"| {name} | {peak:.0f} | {elapsed:.1f} | {code} | {shown.replace('|', '/')} |")
    worst = max(peak for _, _, _, peak, _ in rows)
    print()
    print(f"largest peak {worst:.0f} MB (limit {LIMIT_MB} MB): {'within' if worst <= LIMIT_MB else 'OVER'}")
    return 0 if worst <= LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
