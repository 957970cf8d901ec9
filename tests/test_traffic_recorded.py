"""`vevents validate-traffic` on real recordings: a clean run of the stub, and a faulty fake.

The committed HAR files in tests/data/traffic/ were recorded by `record.py` beside them
(the stub, and the `publish_revives` fake whose publish brings a canceled event back).
Fresh recordings are made here too, so the fixtures cannot drift from the stub.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest
from click.testing import CliRunner

from vevents.recordings import read_recording
from vevents.traffic import validate_traffic, validate_traffic_command

TRAFFIC = Path(__file__).parent / "data" / "traffic"


def recorder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("traffic_record", TRAFFIC / "record.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recorded_clean_run_passes() -> None:
    result = CliRunner().invoke(validate_traffic_command, [str(TRAFFIC / "clean.har")])
    assert result.exit_code == 0, result.output
    assert len(read_recording(TRAFFIC / "clean.har")) == 8


def test_recorded_faulty_fake_is_caught() -> None:
    result = CliRunner().invoke(validate_traffic_command, [str(TRAFFIC / "publish_revives.har"), "--format", "json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert {f["rule"] for f in report["findings"]} == {"canceled_is_permanent"}
    # The read after the second publish (exchange 7) is the one that shows `published`.
    assert [f["index"] for f in report["findings"]] == [7]


def test_recordings_carry_no_token() -> None:
    for har in TRAFFIC.glob("*.har"):
        assert "eyJ" not in har.read_text(), f"{har.name} contains what looks like a JWT"


@pytest.mark.parametrize("fake_name", [None, "publish_revives"])
def test_fresh_recording_matches_the_committed_verdict(tmp_path: Path, fake_name: str | None) -> None:
    module = recorder()
    fake = module.publish_revives() if fake_name else None
    path = tmp_path / "fresh.har"
    path.write_text(json.dumps(module.record(fake)))
    violations = {f.rule for f in validate_traffic(path) if f.severity == "violation"}
    assert violations == ({"canceled_is_permanent"} if fake_name else set())
