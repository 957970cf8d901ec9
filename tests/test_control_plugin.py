"""`vevents.testing` is a pytest plugin (the `pytest11` entry point) that is cheap to load: pytest
imports it in every project where vevents is installed, whether a test uses it or not."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points


def test_registered_as_a_pytest_plugin() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins.get("vevents") == "vevents.testing"


def test_importing_the_plugin_loads_no_server() -> None:
    code = (
        "import sys, vevents.testing; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('connexion', 'starlette', 'uvicorn', 'httpx', 'jwt', 'yaml') or m.startswith('vevents.server')))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert proc.stdout.strip() == "[]"
