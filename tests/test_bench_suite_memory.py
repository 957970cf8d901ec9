"""`bench/suite_memory.py --smoke` works: it runs the stub and a gzip bomb and prints the table.

The figures live in docs/benchmarks.md, never in tests; this checks the script's shape and its
own limit line (a peak past 500 MB makes it exit 1).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


def test_suite_memory_smoke_prints_one_row_per_target_within_the_limit() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "suite_memory.py"), "--smoke"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = [line.split("|")[1:-1] for line in proc.stdout.splitlines() if line.startswith("| ") and "---" not in line]
    assert [cells[0].strip() for cells in rows] == ["target", "bundled stub", "gzip-bomb-negotiated"], proc.stdout
    stub, bomb = rows[1], rows[2]
    assert stub[3].strip() == "0" and bomb[3].strip() == "2", proc.stdout
    assert "decodes to more than 4 MiB" in bomb[4], proc.stdout
    assert all(0 < float(cells[1]) <= 500 for cells in rows[1:]), proc.stdout
    assert "(limit 500 MB): within" in proc.stdout
