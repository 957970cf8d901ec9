"""Acceptance 2: the contract lints clean with Spectral, and the ruleset really lints.

Spectral is the npm package pinned in package.json; `make test` installs it into
node_modules. In CI (env CI set) a missing binary is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from vevents.spec import load_yaml_file

pytestmark = pytest.mark.lint

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "spec" / "virtual-events.yaml"
RULESET = ROOT / ".spectral.yaml"
SPECTRAL = ROOT / "node_modules" / ".bin" / "spectral"
LINT_DOC = ROOT / "docs" / "spec-lint.md"


@pytest.fixture(scope="module")
def spectral() -> Path:
    if not SPECTRAL.exists():
        reason = f"{SPECTRAL.relative_to(ROOT)} is missing: run `make test`, which installs it with npm"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return SPECTRAL


def run_spectral(spectral: Path, document: Path, out: Path) -> tuple[int, list[dict[str, Any]]]:
    proc = subprocess.run(
        [str(spectral), "lint", "--ruleset", str(RULESET), "--fail-severity=hint", "-f", "json", "-o", str(out),
         str(document)],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    if not out.exists():
        pytest.fail(f"spectral wrote no report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc.returncode, json.loads(out.read_text(encoding="utf-8"))


def test_spec_lints_clean_with_every_rule(spectral: Path, tmp_path: Path) -> None:
    code, results = run_spectral(spectral, SPEC, tmp_path / "report.json")
    findings = [f"{r['code']} {'.'.join(map(str, r['path']))}: {r['message']}" for r in results]
    assert findings == []
    assert code == 0


def _broken_spec() -> dict[str, Any]:
    """The spec with one known fault for each rule the project relies on."""
    spec = load_yaml_file(SPEC)
    components = spec["components"]
    # Spectral's own example validation: the fault it found in the real spec.
    del components["schemas"]["communicationsIdentitySet"]["type"]
    components["responses"]["PayloadTooLarge"]["content"]["application/json"]["schema"] = {"type": "object"}
    events = spec["paths"]["/solutions/virtualEvents/events/{virtualEvent-id}/publish"]
    events["post"]["x-vevents-action"] = "publicise"
    events["delete"] = {**events["post"], "operationId": "deleteEvent", "x-vevents-action": "cancel"}
    return dict(spec)


def test_ruleset_reports_each_known_fault(spectral: Path, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(_broken_spec(), sort_keys=False), encoding="utf-8")
    code, results = run_spectral(spectral, broken, tmp_path / "report.json")
    codes = {r["code"] for r in results}
    expected = {"oas3-valid-media-example", "vevents-operation-action", "vevents-no-delete", "vevents-error-envelope"}
    assert expected <= codes
    assert code != 0


def _rules_turned_off(ruleset: dict[str, Any]) -> set[str]:
    off = {name for name, setting in ruleset.get("rules", {}).items() if setting == "off"}
    for override in ruleset.get("overrides", []):
        off |= {name for name, setting in override.get("rules", {}).items() if setting == "off"}
    return off


def test_rules_turned_off_match_the_documented_list() -> None:
    ruleset = load_yaml_file(RULESET)
    doc = LINT_DOC.read_text(encoding="utf-8")
    section = doc.split("## Rules turned off, and why", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z0-9-]+)` \|", section, flags=re.MULTILINE))
    assert documented == _rules_turned_off(ruleset)
    comments = "\n".join(
        line for line in RULESET.read_text(encoding="utf-8").splitlines() if line.lstrip().startswith("#")
    )
    assert {name for name in documented if name not in comments} == set()
