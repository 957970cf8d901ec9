"""The benchmark harness still works: `bench/run.py --smoke` runs every server and workload.

Timings live in the benchmark (docs/benchmarks.md), never in tests: this only checks that the
harness starts the stub, Prism and the ceiling app, drives both workloads, and prints the
table and the ratio lines. It needs wrk and Prism (`make bench-tools`); in CI (env CI set) a
missing tool is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
PRISM = ROOT / "node_modules" / ".bin" / "prism"


def _require_tools() -> None:
    missing = [name for name, found in (("wrk", shutil.which("wrk")), ("prism", PRISM.exists())) if not found]
    if missing:
        reason = f"{' and '.join(missing)} missing: run `make bench-tools`"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def test_benchmark_smoke_mode_runs_every_server_and_prints_the_ratios(tmp_path: Path) -> None:
    _require_tools()
    out = tmp_path / "figures.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    table = [line for line in lines if line.startswith("| ")]
    assert table[0].split("|")[2:-1] == [" stub ", " prism ", " ceiling "], proc.stdout
    ratio_header = lines.index("ratios (the acceptance target in brackets, judged at 16 connections)")
    ratios = [line.strip() for line in lines[ratio_header + 1 :] if line.strip()]
    assert any(line.startswith("stub/prism GET ") for line in ratios), proc.stdout
    assert any(line.startswith("stub/prism cancel-then-GET ") for line in ratios), proc.stdout
    assert any(line.startswith("stub/ceiling GET ") for line in ratios), proc.stdout
    assert any(line.startswith("stub/prism start-up to first 200 ") for line in ratios), proc.stdout
    # Every server answered the workloads: requests were made and none failed.
    results = json.loads(out.read_text())["results"]
    for name in ("stub", "prism", "ceiling"):
        figures = results[name]
        assert figures["startup_s"][0] > 0
        for key in [k for k in figures if k.endswith("_requests")]:
            assert figures[key][0] > 0, (name, key)
        # No error answers from anyone; Prism (slow to warm up) may time out a socket or two.
        errors = "_non2xx" if name == "prism" else "_errors"
        for key in [k for k in figures if k.endswith(errors)]:
            assert figures[key][0] == 0, (name, key, proc.stdout)
