"""The GitHub Action (action.yml): its steps are the scripts in action/, run here as the runner would.

The runner gives a step its inputs as environment variables (the `env:` of the step in
action.yml), files for `$GITHUB_OUTPUT` and `$GITHUB_ENV`, and `$RUNNER_TEMP`; the test does the
same with temporary files and puts this interpreter's `vevents` first on PATH. The serve step
starts a real stub on a free port (`port: 0`), the check step judges it, the stop step ends it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import SAMPLE_ID

from vevents.spec import load_yaml_file

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
ACTION: dict[str, Any] = load_yaml_file(ROOT / "action.yml")
STEPS = {step["name"]: step for step in ACTION["runs"]["steps"]}


@dataclass
class Runner:
    """What a GitHub runner gives a step: its files and environment."""

    home: Path

    @property
    def output(self) -> Path:
        return self.home / "output"

    @property
    def env_file(self) -> Path:
        return self.home / "env"

    def outputs(self, path: Path) -> dict[str, str]:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)

    def run(self, step: str, inputs: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
        script = re.fullmatch(r'"\$GITHUB_ACTION_PATH/(action/[\w.-]+)"', STEPS[step]["run"])
        assert script is not None, STEPS[step]["run"]
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_ACTION_PATH": str(ROOT),
            "GITHUB_OUTPUT": str(self.output),
            "GITHUB_ENV": str(self.env_file),
            "RUNNER_TEMP": str(self.home / "temp"),
            **inputs,
        }
        return subprocess.run(
            ["bash", str(ROOT / script.group(1))],
            cwd=self.home, env=env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip


@pytest.fixture
def runner(tmp_path: Path) -> Iterator[Runner]:
    (tmp_path / "temp").mkdir()
    yield Runner(tmp_path)
    pidfile = tmp_path / "temp" / "vevents-stub" / "pid"
    if pidfile.exists():  # a failed test must not leave its stub running
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pidfile.read_text()), signal.SIGKILL)


def test_every_step_runs_a_script_of_the_repository_with_declared_inputs() -> None:
    assert ACTION["runs"]["using"] == "composite"
    inputs = set(ACTION["inputs"])
    for step in ACTION["runs"]["steps"]:
        if "uses" in step:
            assert step["uses"] == "actions/upload-artifact@v4" and "always()" in step["if"]
            continue
        script = re.fullmatch(r'"\$GITHUB_ACTION_PATH/(action/[\w.-]+)"', step["run"])
        assert script is not None and os.access(ROOT / script.group(1), os.X_OK), step["name"]
        for value in step.get("env", {}).values():
            used = re.fullmatch(r"\$\{\{ inputs\.([\w-]+) \}\}", value)
            assert used is not None and used.group(1) in inputs, value


def test_install_step_installs_this_checkout_with_the_check_extra(runner: Runner) -> None:
    done = runner.run("Install vevents", {"VEVENTS_ACTION_PIP": "echo pip"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"pip install --quiet {ROOT}[check]"


def test_serve_check_and_stop(runner: Runner) -> None:
    served = runner.run("Serve the stub", {"VEVENTS_ACTION_PORT": "0", "VEVENTS_ACTION_WAIT": "60"})
    assert served.returncode == 0, served.stdout + served.stderr
    base_url = runner.outputs(runner.output)["base-url"]
    job_env = runner.outputs(runner.env_file)
    assert job_env["VEVENTS_BASE_URL"] == base_url and re.fullmatch(r"http://127\.0\.0\.1:\d+/v1\.0", base_url)
    token = job_env["VEVENTS_TOKEN"]
    assert f"::add-mask::{token}" in served.stdout  # the job's log never shows it
    sample = httpx.get(
        f"{base_url}/solutions/virtualEvents/webinars/{SAMPLE_ID}", headers={"Authorization": f"Bearer {token}"}
    )
    assert sample.status_code == 200

    checked = runner.run(
        "Check against the contract",
        {
            "VEVENTS_ACTION_BASE_URL": base_url,
            "VEVENTS_ACTION_TOKEN_COMMAND": "vevents token",
            "VEVENTS_ACTION_CHECK_ARGS": "--checks cancel_no_content,cancel_is_visible --seed 5",
            "VEVENTS_ACTION_REPORTS": "reports/vevents",
        },
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert runner.outputs(runner.output)["exit-code"] == "0"
    cases = ET.parse(runner.home / "reports" / "vevents" / "junit.xml").getroot().iter("testcase")
    assert sorted(case.get("name") or "" for case in cases) == ["cancel_is_visible", "cancel_no_content"]
    assert (runner.home / "reports" / "vevents" / "report.json").is_file()
    assert "judged 2/2" in (runner.home / "reports" / "vevents" / "report.html").read_text(encoding="utf-8")

    pid = int((runner.home / "temp" / "vevents-stub" / "pid").read_text())
    stopped = runner.run("Stop the stub", {})
    assert stopped.returncode == 0 and "stopped" in stopped.stdout, stopped.stdout + stopped.stderr
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_check_step_fails_with_the_verdict_and_still_writes_the_reports(runner: Runner) -> None:
    checked = runner.run(
        "Check against the contract",
        {"VEVENTS_ACTION_BASE_URL": "http://127.0.0.1:9/v1.0", "VEVENTS_ACTION_TOKEN": "x" * 40},
    )
    assert checked.returncode == 2  # could not run: nothing listens there
    assert runner.outputs(runner.output)["exit-code"] == "2"
    assert "x" * 40 not in checked.stderr.replace("::add-mask::" + "x" * 40, "")


def test_serve_step_fails_when_the_stub_cannot_start(runner: Runner) -> None:
    served = runner.run("Serve the stub", {"VEVENTS_ACTION_PORT": "0", "VEVENTS_ACTION_SERVE_ARGS": "--no-such-option"})
    assert served.returncode == 1
    assert "::error::vevents serve did not start" in served.stdout
