"""`vevents diff`: breaking changes between two spec versions exit 1, safe ones 0, bad input 2."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from vevents.cli import main
from vevents.spec import load_spec, spec_path
from vevents.specdiff import BREAKING, compare

BASE = load_spec()
WEBINAR_ITEM = "/solutions/virtualEvents/webinars/{virtualEventWebinar-id}"
Edit = Callable[[dict[str, Any]], None]


def changed(edit: Edit) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    edit(document)
    return document


def run(tmp_path: Path, new: dict[str, Any], *args: str, old: dict[str, Any] = BASE) -> Any:
    old_file, new_file = tmp_path / "old.yaml", tmp_path / "new.yaml"
    old_file.write_text(yaml.safe_dump(old, sort_keys=False), encoding="utf-8")
    new_file.write_text(yaml.safe_dump(new, sort_keys=False), encoding="utf-8")
    return CliRunner().invoke(main, ["diff", str(old_file), str(new_file), *args])


def rules(new: dict[str, Any], old: dict[str, Any] = BASE) -> set[tuple[str, str]]:
    return {(c.rule, c.level) for c in compare(old, new)}


def schemas(document: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = document["components"]["schemas"]
    return found


def test_same_spec_has_no_changes_and_exits_0(tmp_path: Path) -> None:
    result = run(tmp_path, BASE)
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "0 breaking changes, 0 other"


def test_removed_operation_is_breaking_and_exits_1(tmp_path: Path) -> None:
    new = changed(lambda d: d["paths"].pop("/solutions/virtualEvents/events/{virtualEvent-id}/cancel"))
    result = run(tmp_path, new)
    assert result.exit_code == 1
    assert "BREAKING POST /solutions/virtualEvents/events/{virtualEvent-id}/cancel" in result.output
    assert "[operation-removed]" in result.output


def test_narrowed_response_enum_is_breaking_and_exits_1(tmp_path: Path) -> None:
    new = changed(lambda d: schemas(d)["virtualEventStatus"].update(enum=["draft", "published", "unknownFutureValue"]))
    result = run(tmp_path, new, "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    removed = [c for c in report["changes"] if c["rule"] == "response-enum-value-removed"]
    assert removed and all(c["level"] == BREAKING and "'canceled'" in c["message"] for c in removed)
    assert f"GET {WEBINAR_ITEM}" in {c["operation"] for c in removed}
    assert report["breaking"] == len([c for c in report["changes"] if c["level"] == BREAKING])


def test_added_optional_field_is_not_breaking_and_exits_0(tmp_path: Path) -> None:
    new = changed(lambda d: schemas(d)["virtualEvent"]["properties"].update(isHybrid={"type": "boolean"}))
    result = run(tmp_path, new)
    assert result.exit_code == 0, result.output
    assert "new optional property" in result.output
    assert "0 breaking changes" in result.output


def test_added_operation_is_not_breaking() -> None:
    new = changed(lambda d: d["paths"][WEBINAR_ITEM].update(delete={"responses": {"204": {"description": "Gone"}}}))
    assert rules(new) == {("operation-added", "info")}


def test_added_request_enum_value_is_not_breaking() -> None:
    def widen(d: dict[str, Any]) -> None:
        schemas(d)["bodyType"]["enum"] = ["text", "html", "markdown", None]

    found = rules(widen_doc := changed(widen))
    assert ("request-enum-value-added", "info") in found
    assert ("response-enum-value-added", "warning") in found
    assert not any(c.breaking for c in compare(BASE, widen_doc))


def test_removed_request_enum_value_is_breaking() -> None:
    new = changed(lambda d: schemas(d)["bodyType"].update(enum=["text", None]))
    assert ("request-enum-value-removed", "breaking") in rules(new)


def test_removed_response_status_is_breaking_unless_a_range_covers_it() -> None:
    def drop(status: str) -> Edit:
        return lambda d: d["paths"][WEBINAR_ITEM]["get"]["responses"].pop(status)

    assert ("response-status-removed", "breaking") in rules(changed(drop("200")))
    assert rules(changed(drop("404"))) == {("response-status-removed", "info")}  # 4XX still covers it


def test_new_required_parameter_and_parameter_becoming_required_are_breaking() -> None:
    def add(d: dict[str, Any]) -> None:
        d["paths"][WEBINAR_ITEM]["get"]["parameters"].append(
            {"name": "tenant", "in": "query", "required": True, "schema": {"type": "string"}}
        )

    def require(d: dict[str, Any]) -> None:
        d["components"]["parameters"]["webinarSelect"]["required"] = True

    assert rules(changed(add)) == {("new-required-request-parameter", "breaking")}
    assert rules(changed(require)) == {("request-parameter-became-required", "breaking")}


def test_new_required_request_property_is_breaking() -> None:
    def require(d: dict[str, Any]) -> None:
        create = d["paths"]["/solutions/virtualEvents/webinars"]["post"]["requestBody"]["content"]["application/json"]
        create["schema"]["allOf"][1]["required"].append("audience")

    assert rules(changed(require)) == {("request-property-became-required", "breaking")}


def test_type_change_and_removed_response_property_are_breaking() -> None:
    def retype(d: dict[str, Any]) -> None:
        schemas(d)["virtualEventTownhall"]["allOf"][1]["properties"]["capacity"]["type"] = "string"

    def remove(d: dict[str, Any]) -> None:
        del schemas(d)["virtualEvent"]["properties"]["isRegistrationRequired"]

    assert ("response-type-changed", "breaking") in rules(changed(retype))
    assert ("request-type-changed", "breaking") in rules(changed(retype))
    assert ("response-property-removed", "breaking") in rules(changed(remove))


def test_tightened_security_is_breaking() -> None:
    new = changed(lambda d: d["paths"][WEBINAR_ITEM]["get"].update(security=[{"microsoftIdentityPlatform": ["X.All"]}]))
    assert ("security-requirement-tightened", "breaking") in rules(new)


def test_renamed_path_parameter_is_not_a_removal() -> None:
    def rename(d: dict[str, Any]) -> None:
        item = d["paths"].pop("/solutions/virtualEvents/events/{virtualEvent-id}/cancel")
        item["parameters"] = [{**d["components"]["parameters"]["eventId"], "name": "id"}]
        d["paths"]["/solutions/virtualEvents/events/{id}/cancel"] = item

    assert rules(changed(rename)) == set()


def test_json_output_lists_every_change(tmp_path: Path) -> None:
    new = changed(lambda d: schemas(d)["virtualEvent"]["properties"].update(isHybrid={"type": "boolean"}))
    report = json.loads(run(tmp_path, new, "--format", "json").output)
    assert report["breaking"] == 0
    assert {tuple(sorted(c)) for c in report["changes"]} == {("level", "location", "message", "operation", "rule")}


@pytest.mark.parametrize(
    "content",
    ["openapi: [unclosed\n", "just a string\n", "openapi: 3.0.3\ninfo: {}\n", b"\xff\xfe\x00bad"],
    ids=["invalid-yaml", "not-a-mapping", "no-paths", "not-utf8"],
)
def test_unreadable_input_exits_2(tmp_path: Path, content: str | bytes) -> None:
    bad = tmp_path / "bad.yaml"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(main, ["diff", spec_path(), str(bad)])
    assert result.exit_code == 2
    assert "Error:" in result.output


def test_missing_file_and_dangling_ref_exit_2(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["diff", spec_path(), str(tmp_path / "missing.yaml")]).exit_code == 2
    dangling = changed(lambda d: schemas(d).pop("virtualEventStatus"))
    result = run(tmp_path, dangling)
    assert result.exit_code == 2
    assert "virtualEventStatus" in result.output


def test_diff_is_listed_in_vevents_help() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert "diff" in result.output
    assert "Report breaking changes between two versions of the spec." in result.output
