"""The leaked-secret scan: every output of a run, searched for every token and secret it had.

A run's outputs are whatever a user or CI keeps: stdout, stderr, the JUnit XML, the JSON
report, the HTML page, an exchange log. A secret counts as leaked in any of three forms: as is,
URL-encoded, or inside base64 (standard or URL-safe, at any of the three byte alignments, so a
target that echoes `base64("Bearer " + token)` is caught too). Written independently of the
suite's own masking (conformance/exchange.py), so that it judges it rather than repeats it.
"""

from __future__ import annotations

import base64
import urllib.parse
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["assert_no_leak", "leaked_forms", "outputs_of"]


def _base64_cores(secret: bytes) -> set[str]:
    """The base64 characters that encode `secret` alone, wherever it starts (three alignments)."""
    cores = set()
    for shift in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            text = encode(b"\xff" * shift + secret).decode("ascii")
            # A char is the secret's alone when its 6 bits all lie past the `shift` bytes before it.
            start = (8 * shift + 5) // 6
            stop = (8 * (shift + len(secret))) // 6
            cores.add(text[start:stop])
    return cores


def leaked_forms(secret: str) -> dict[str, str]:
    """form name -> the text that would show `secret` in that form."""
    forms = {"raw": secret, "url-encoded": urllib.parse.quote(secret, safe="")}
    forms |= {f"base64 #{n}": core for n, core in enumerate(sorted(_base64_cores(secret.encode())))}
    return forms


def outputs_of(stdout: str, stderr: str, *files: Path) -> dict[str, str]:
    """name -> text of every output of a run (a file not written is an empty output, not an error)."""
    found = {"stdout": stdout, "stderr": stderr}
    found |= {path.name: path.read_text(encoding="utf-8", errors="replace") for path in files if path.exists()}
    return found


def assert_no_leak(outputs: Mapping[str, str], secrets: Iterable[str]) -> None:
    """Fail, naming where and in which form, if any secret (8 characters or more) is in any output."""
    leaks = []
    for secret in {value for value in secrets if len(value) >= 8}:
        for form, text in leaked_forms(secret).items():
            leaks += [f"{name}: a secret ({form})" for name, output in outputs.items() if text in output]
    assert leaks == [], "leaked: " + "; ".join(sorted(set(leaks)))
