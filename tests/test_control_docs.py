"""docs/testing.md's Python examples pass as written: they are a user's test file, run by pytest
with the `vevents_stub` plugin exactly as installed (one subprocess for all of them)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "testing.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


@pytest.mark.slow
def test_the_guides_python_examples_pass(tmp_path: Path) -> None:
    blocks = _BLOCK.findall(GUIDE.read_text(encoding="utf-8"))
    assert len(blocks) >= 5, "the guide lost its examples"
    tests = [name for block in blocks for name in re.findall(r"^def (test_\w+)", block, flags=re.MULTILINE)]
    assert len(tests) == len(set(tests)) >= 6
    for number, block in enumerate(blocks):
        (tmp_path / f"test_guide_{number}.py").write_text(block, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert f"{len(tests)} passed" in proc.stdout
