"""`bench/adaptations.py` still works: one tiny round prints every adaptation's ON/OFF row.

Timings live in the benchmark (docs/benchmarks.md), never in tests: this checks only that the
script builds every ON and OFF variant (they must answer alike, or it exits 1), measures each,
prints the table with a figure in every cell, and leaves Connexion as the product installed it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROWS = [
    ("spec validated once", "first create_app in a process"),
    ("spec validated once", "each later create_app (tests, fixtures)"),
    ("parameter validator", "GET, GET $select, PATCH via Connexion"),
    ("direct handlers", "GET, GET $select via Connexion"),
    ("fast path", "GET, GET $select"),
]


def test_one_small_round_prints_every_adaptation_on_and_off() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "adaptations.py"), "--rounds", "1", "--requests", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "round 1/1, gains: " in proc.stdout, proc.stdout
    cells = [
        [cell.strip() for cell in line.split("|")[1:-1]]
        for line in proc.stdout.splitlines()
        if line.startswith("| ") and not line.startswith("| adaptation ")
    ]
    assert [tuple(row[:2]) for row in cells] == ROWS, proc.stdout
    for name, _, unit, on, off, gain, spread in cells:
        assert unit in ("ms", "req/s"), name
        assert float(on) > 0 and float(off) > 0, (name, on, off)
        assert gain.endswith("x") and float(gain[:-1]) > 0, (name, gain)
        low, high = (float(part) for part in spread.rstrip("x").split("-"))
        assert low == high == float(gain[:-1]), (name, gain, spread)  # one round: one figure


def test_help_explains_every_flag() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "adaptations.py"), "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "--rounds" in proc.stdout and "--requests" in proc.stdout and "default" in proc.stdout
