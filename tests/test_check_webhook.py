"""`vevents check-webhook` on the receivers catalogue (tests/webhook_fakes.py): the correct ones
pass, each broken one is caught by exactly the checks of its fault; reports and exit codes are
`vevents check`'s."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from webhook_fakes import RECEIVERS, config

from vevents.conformance.runner import Outcome
from vevents.conformance.webhook import WEBHOOK_CHECKS, check_webhook
from vevents.receiver import Receiver


@pytest.mark.parametrize("name", sorted(RECEIVERS))
def test_catalogue(name: str) -> None:
    knobs, faults = RECEIVERS[name]
    with Receiver(**knobs) as receiver:
        result = check_webhook(config(receiver.url, receiver.lifecycle_url))
    failed = {item.name for item in result.results if item.outcome is Outcome.FAILED}
    assert failed == faults
    assert result.exit_code == (1 if faults else 0)
    if not faults:
        assert all(item.outcome is Outcome.PASSED for item in result.results)
        assert len(receiver.handshakes()) == 2  # both URLs validated
        assert len(receiver.notifications(receiver.lifecycle_url.removeprefix(receiver.base_url))) == 3


def test_every_check_is_proved_by_some_broken_receiver() -> None:
    assert set().union(*(faults for _, faults in RECEIVERS.values())) == set(WEBHOOK_CHECKS)


def test_the_notifications_sent_are_graphs_shapes() -> None:
    with Receiver() as receiver:
        check_webhook(config(receiver.url, client_state="mine"))
    (
        single,
        *batch,
    ) = [r for r in receiver.receipts if r.token is None][:4]
    assert len(single.body["value"]) == 1 and len(batch[0].body["value"]) == 3
    note = single.body["value"][0]
    assert note["clientState"] == "mine" and note["changeType"] == "updated"
    assert set(note["resourceData"]) == {"@odata.type", "@odata.id", "id"}


def test_nothing_listening_could_not_judge() -> None:
    with Receiver() as receiver:
        url = receiver.url
    result = check_webhook(config(url))
    assert result.exit_code == 2
    assert all(item.outcome is Outcome.ERROR for item in result.results[:3])


def test_command_reports_like_vevents_check(tmp_path: Path) -> None:
    junit, report = tmp_path / "webhook.xml", tmp_path / "webhook.json"
    with Receiver(echo="wrong") as receiver:
        done = subprocess.run(
            [sys.executable, "-m", "vevents", "check-webhook", receiver.url, "--handshake-timeout", "2",
             "--delivery-timeout", "2", "--junit-xml", str(junit), "--report-json", str(report)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "handshake_echo          FAILED" in done.stdout
    assert "not conformant" in done.stdout
    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    assert set(cases) == set(WEBHOOK_CHECKS)
    assert cases["handshake_echo"].find("failure") is not None
    data = json.loads(report.read_text())
    assert data["exit_code"] == 1
    assert {c["name"]: c["outcome"] for c in data["checks"]}["handshake_echo"] == "failed"


def test_bad_timeout_is_a_one_line_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vevents", "check-webhook", "http://127.0.0.1:9/", "--handshake-timeout", "0"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
