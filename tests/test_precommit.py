"""The pre-commit hooks (.pre-commit-hooks.yaml) and `vevents diff --base-ref`, on a scratch git repository.

The hooks run with the real pre-commit tool. A `language: python` hook of a remote repository
would make pre-commit pip-install vevents and its dependencies into an environment of its own
(minutes, and the package index); the test instead hands pre-commit the very same hooks as
`repo: local` with `language: system`, so the tool runs the manifest's entries, args and file
filters with the `vevents` being tested.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from vevents.cli import main
from vevents.spec import load_spec, load_yaml_file, spec_path

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
HOOKS: list[dict[str, Any]] = load_yaml_file(ROOT / ".pre-commit-hooks.yaml")
CANCEL = "/solutions/virtualEvents/events/{virtualEvent-id}/cancel"
PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which("pre-commit")


def git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def write_spec(repo: Path, document: dict[str, Any]) -> None:
    (repo / "spec").mkdir(exist_ok=True)
    (repo / "spec" / "virtual-events.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose `main` holds the contract, checked out on a feature branch."""
    for name, value in {
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid",
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    scratch = tmp_path / "repo"
    scratch.mkdir()
    git(scratch, "init", "-q", "-b", "main")
    write_spec(scratch, load_spec())
    git(scratch, "add", ".")
    git(scratch, "commit", "-q", "-m", "the contract")
    git(scratch, "switch", "-q", "-c", "feature")
    return scratch


def compatible(document: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["info"]["description"] = "A clarified description."
    return changed


def breaking(document: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    del changed["paths"][CANCEL]
    return changed


# ---------------------------------------------------------------------------- vevents diff --base-ref
def diff(repo: Path, *args: str) -> Any:
    cwd = Path.cwd()
    os.chdir(repo / "spec")  # any folder inside the repository
    try:
        return CliRunner().invoke(main, ["diff", *args])
    finally:
        os.chdir(cwd)


def test_base_ref_reads_the_old_version_from_git(repo: Path) -> None:
    write_spec(repo, compatible(load_spec()))
    result = diff(repo, "--base-ref", "main", "virtual-events.yaml")
    assert result.exit_code == 0, result.output
    assert result.output.strip().startswith("0 breaking changes, ")
    write_spec(repo, breaking(load_spec()))
    result = diff(repo, "--base-ref", "main", "virtual-events.yaml")
    assert result.exit_code == 1
    assert f"BREAKING POST {CANCEL}" in result.output


def test_base_ref_a_file_new_since_the_base_is_not_breaking(repo: Path) -> None:
    shutil.copy(spec_path(), repo / "spec" / "second.yaml")
    result = diff(repo, "--base-ref", "main", "second.yaml", "virtual-events.yaml")
    assert result.exit_code == 0, result.output
    assert "second.yaml: new at main, nothing to compare" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--base-ref", "no-such-branch", "virtual-events.yaml"], "names no commit"),
        (["--base-ref", "main"], "--base-ref REF needs the file(s)"),
        (["virtual-events.yaml"], "give OLD and NEW"),
    ],
)
def test_base_ref_bad_input_exits_2(repo: Path, args: list[str], message: str) -> None:
    result = diff(repo, *args)
    assert result.exit_code == 2
    assert message in result.output


def test_base_ref_outside_a_repository_exits_2(tmp_path: Path) -> None:
    shutil.copy(spec_path(), tmp_path / "spec.yaml")
    result = CliRunner().invoke(main, ["diff", "--base-ref", "main", str(tmp_path / "spec.yaml")])
    assert result.exit_code == 2
    assert "not inside a git repository" in result.output


# ---------------------------------------------------------------------------- the hooks, by pre-commit
def local_config(base: str) -> str:
    """.pre-commit-hooks.yaml's hooks as a `repo: local` config (language system), `args` set as a user would."""
    hooks = []
    for hook in HOOKS:
        local = {key: value for key, value in hook.items() if key != "additional_dependencies"}
        local["language"] = "system"
        if hook["id"] == "vevents-diff":
            local["args"] = [base]
        hooks.append(local)
    return yaml.safe_dump({"repos": [{"repo": "local", "hooks": hooks}]}, sort_keys=False)


def pre_commit(repo: Path) -> subprocess.CompletedProcess[str]:
    assert PRE_COMMIT is not None, "pre-commit is in the test extra (pip install -e '.[test]')"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # this vevents
        "PRE_COMMIT_HOME": str(repo.parent / "pre-commit-home"),
    }
    git(repo, "add", "-A")
    return subprocess.run(
        [PRE_COMMIT, "run", "--config", str(repo.parent / "pre-commit.yaml"), "--color", "never"],
        cwd=repo, env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def test_the_manifest_names_both_hooks() -> None:
    assert {hook["id"]: hook["entry"] for hook in HOOKS} == {
        "vevents-lint": "vevents lint",
        "vevents-diff": "vevents diff --base-ref",
    }
    assert all(hook["language"] == "python" for hook in HOOKS)


def test_hooks_pass_a_compatible_change_and_fail_a_breaking_one(repo: Path) -> None:
    (repo.parent / "pre-commit.yaml").write_text(local_config("main"), encoding="utf-8")
    write_spec(repo, compatible(load_spec()))
    passed = pre_commit(repo)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert passed.stdout.count("Passed") == 2

    write_spec(repo, breaking(load_spec()))
    failed = pre_commit(repo)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"BREAKING POST {CANCEL}" in failed.stdout
    lint_line, diff_line = (line for line in failed.stdout.splitlines() if line.startswith("vevents "))
    assert lint_line.endswith("Passed") and diff_line.endswith("Failed")


def test_lint_hook_fails_an_invalid_spec(repo: Path) -> None:
    (repo.parent / "pre-commit.yaml").write_text(local_config("main"), encoding="utf-8")
    invalid = load_spec()
    del invalid["info"]["version"]
    write_spec(repo, invalid)
    failed = pre_commit(repo)
    assert failed.returncode == 1
    assert "spec/virtual-events.yaml: INVALID: " in failed.stdout, failed.stdout
    assert "'version' is a required property" in failed.stdout.replace('"', "'")
