"""The core install serves the stub; the conformance suite's engines are the `check` extra.

`make serve` installs only the core dependencies (a light first run, README), so the stub must
never import the suite's engines, and `vevents check` / `vevents validate-traffic` without them
must say in one line what to install instead of failing mid-run with a traceback. The
"without them" runs happen in a subprocess where those packages cannot be imported.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE_ENGINES = ("schemathesis", "openapi_core", "pytest", "hypothesis")
_WITHOUT_SUITE = "import sys\nfor name in {names!r}:\n    sys.modules[name] = None  # import fails, find_spec is None\n"


def _run_without_suite(code: str) -> subprocess.CompletedProcess[str]:
    script = _WITHOUT_SUITE.format(names=SUITE_ENGINES) + code
    return subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False, cwd=ROOT
    )


def _requirement_names(requirements: list[str]) -> set[str]:
    return {req.split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower() for req in requirements}


def test_core_dependencies_leave_the_suite_to_the_check_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = _requirement_names(project["dependencies"])
    extras = project["optional-dependencies"]
    assert core.isdisjoint({"schemathesis", "openapi-core", "pytest", "msgraph-sdk"})
    assert {"schemathesis", "openapi-core", "pytest"} <= _requirement_names(extras["check"])
    assert any(req.startswith("vevents[") and "check" in req for req in extras["test"])


def test_the_stub_serves_without_the_suite_installed(tmp_path: Path) -> None:
    code = (
        "from starlette.testclient import TestClient\n"
        "from vevents.server.app import create_app\n"
        "from vevents.server.settings import Settings\n"
        "from vevents.server.tls import local_ca\n"
        f"local_ca({str(tmp_path)!r})\n"
        "with TestClient(create_app(Settings(memory=True)), base_url='http://127.0.0.1') as client:\n"
        "    print(client.get('/v1.0/openapi.json').status_code)\n"
        "from click.testing import CliRunner\n"
        "from vevents.cli import main\n"
        "print(CliRunner().invoke(main, ['token']).exit_code)\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] in "
        f"{SUITE_ENGINES!r} and sys.modules[name] is not None))\n"
    )
    proc = _run_without_suite(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split("\n")[:3] == ["200", "0", "[]"]


def test_check_without_the_suite_says_what_to_install() -> None:
    code = (
        "import json\n"
        "from click.testing import CliRunner\n"
        "from vevents.cli import main\n"
        "for args in (['check', '--token', 'x'], ['validate-traffic', 'x.har'], ['check', '--help']):\n"
        "    result = CliRunner().invoke(main, args)\n"
        "    print(json.dumps([result.exit_code, result.output]))\n"
    )
    proc = _run_without_suite(code)
    assert proc.returncode == 0, proc.stderr
    check, validate, help_ = (json.loads(line) for line in proc.stdout.splitlines())
    advice = "needs the conformance suite's dependencies: pip install 'vevents[check]'\n"
    assert check == [2, "vevents check " + advice]
    assert validate == [2, "vevents validate-traffic " + advice]
    assert help_[0] == 0 and help_[1].startswith("Usage: ")  # --help still explains every flag
