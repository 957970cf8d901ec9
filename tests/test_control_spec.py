"""spec/control.yaml: a valid OpenAPI 3.0.3 document, Spectral-clean, separate from the Graph contract,
and served self-contained (its references into the Graph contract copied in)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
from test_spec_lint import SPECTRAL, _rules_turned_off

from vevents.server.control.api import ControlApi
from vevents.server.control.notifications import NotificationControl
from vevents.spec import load_spec, load_yaml_file, ref_of, resolve
from vevents.spec.control import CONTROL_PREFIX, control_path, load_control_spec

CONTROL_APIS = (ControlApi, NotificationControl)
"""The classes whose `op_<operationId>` methods serve the control document (the app tries each)."""

ROOT = Path(__file__).resolve().parents[1]
RULESET = ROOT / ".spectral-control.yaml"


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        ref = ref_of(node)
        return [*([ref] if ref is not None else []), *(r for v in node.values() for r in _refs(v))]
    if isinstance(node, list):
        return [r for item in node for r in _refs(item)]
    return []


def test_the_file_is_valid_openapi_with_its_references_into_the_graph_contract() -> None:
    document, base_uri = read_from_filename(control_path())
    assert document["openapi"] == "3.0.3"
    assert any(ref.startswith("virtual-events.yaml#") for ref in _refs(document))
    validate(document, base_uri=base_uri)


def test_the_served_document_stands_alone_and_is_valid() -> None:
    document = load_control_spec()
    assert all(ref.startswith("#/") for ref in _refs(document))
    assert document["components"]["schemas"]["ODataError"] == load_spec()["components"]["schemas"]["ODataError"]
    validate(document)


def test_every_operation_has_a_handler_tags_and_an_error_envelope() -> None:
    document = load_control_spec()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            where = f"{method.upper()} {path}"
            assert any(hasattr(api, "op_" + operation["operationId"]) for api in CONTROL_APIS), where
            assert operation["tags"], where
            errors = {status: response for status, response in operation["responses"].items() if status >= "400"}
            assert "401" in errors, f"{where}: a control token may be needed"
            for response in errors.values():
                target = resolve(document, response)
                assert target["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ODataError"}


def test_it_never_mixes_with_the_graph_contract() -> None:
    graph = load_spec()
    assert not any(path.startswith(CONTROL_PREFIX) for path in graph["paths"])
    assert not any("control" in name.lower() for name in graph["components"]["schemas"])
    documented = {
        op["operationId"]
        for item in load_control_spec()["paths"].values()
        for method, op in item.items()
        if method != "parameters"
    }
    handlers = {name.removeprefix("op_") for api in CONTROL_APIS for name in vars(api) if name.startswith("op_")}
    assert handlers == documented
    assert not documented & {
        op["operationId"] for item in graph["paths"].values() for method, op in item.items() if method != "parameters"
    }


def test_control_ruleset_turns_off_only_what_the_graph_ruleset_does() -> None:
    control_off = _rules_turned_off(load_yaml_file(RULESET))
    graph_off = _rules_turned_off(load_yaml_file(ROOT / ".spectral.yaml"))
    assert control_off <= graph_off


@pytest.mark.lint
def test_control_spec_lints_clean_with_every_rule(tmp_path: Path) -> None:
    if not SPECTRAL.exists():
        reason = f"{SPECTRAL.relative_to(ROOT)} is missing: run `make test`, which installs it with npm"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    out = tmp_path / "report.json"
    proc = subprocess.run(
        [str(SPECTRAL), "lint", "--ruleset", str(RULESET), "--fail-severity=hint", "-f", "json", "-o", str(out),
         control_path()],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.exists(), f"spectral wrote no report (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    findings = [
        f"{r['code']} {'.'.join(map(str, r['path']))}: {r['message']}"
        for r in json.loads(out.read_text(encoding="utf-8"))
    ]
    assert findings == []
    assert proc.returncode == 0


def test_a_client_generates_cleanly_from_the_self_contained_document(tmp_path: Path) -> None:
    """Generators that cannot follow a reference into another file (openapi-python-client) take
    `load_control_spec()`'s document (docs/control.md): `security` kept, no warning."""
    document = load_control_spec()
    assert document["security"] and document["components"]["securitySchemes"]["controlToken"]["scheme"] == "bearer"
    path = tmp_path / "control.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    generator = Path(sys.executable).with_name("openapi-python-client")
    env = {**os.environ, "PATH": f"{generator.parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # for its ruff pass
    proc = subprocess.run(
        [str(generator), "generate", "--path", str(path), "--meta", "none"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=env,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Warning" not in output and "WARNING" not in output, output
    operations = {p.stem for p in (tmp_path / "vevents_control_api_client" / "api").rglob("*.py")}
    assert {"add_fault", "reset_stub", "list_journal", "put_event", "set_read_lag"} <= operations
