"""`vevents check --html`: the page a person opens, rendered by a real headless browser.

A run against a fake whose cancel answers 200 with markup (a `<script>` and an element of its
own) fails, and its evidence carries that markup: the page must show it as text, never run it
or build its element. Chromium (Debian's package; `make test` installs it, required in CI,
skipped elsewhere) loads the file with networking off and prints the DOM after load
(`--dump-dom`); the test reads the checks and the grid back from that DOM and compares them with
the JSON report of the same run.
"""

from __future__ import annotations

import html.parser
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fakes import Fake, Request, Response, serve, tokens

from vevents.conformance.cli import check
from vevents.conformance.html_report import render_html

pytestmark = pytest.mark.slow

HOSTILE = "<script>document.title='PWNED'</script><b id=\"injected\">bold</b><img src=x onerror=alert(1)>"
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")


def _cancel_answers_markup(request: Request, response: Response) -> Response:
    if request.method == "POST" and request.path.endswith("/cancel") and response.status == 204:
        answer = response.with_body(HOSTILE.encode(), content_type="text/html")
        answer.status = 200
        return answer
    return response


MARKUP = Fake(
    "cancel_answers_markup",
    "cancel answers 200 with an HTML page",
    "cancel_no_content",
    response=_cancel_answers_markup,
)


class _Dom(html.parser.HTMLParser):
    """What a reader sees: the title, the checks' rows, the grid's cells, ids and text."""

    def __init__(self) -> None:
        super().__init__()
        self.title = ""
        self.rows: dict[str, str] = {}
        self.cells: dict[str, str] = {}
        self.ids: set[str] = set()
        self.text: list[str] = []
        self._in: list[str] = []
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self._in.append(tag)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag == "tr" and found.get("data-check"):
            self.rows[str(found["data-check"])] = str(found["data-outcome"])
        self._cell = str(found["data-cell"]) if tag == "td" and found.get("data-cell") else None

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "title":
            self.title += data
        if self._cell is not None:
            self.cells[self._cell] = data
            self._cell = None
        self.text.append(data)


def dump_dom(page: Path, profile: Path) -> str:
    if BROWSER is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required in CI (make test installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    proc = subprocess.run(
        [
            BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
            "--dump-dom", page.as_uri(),
        ],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, Any]]]:
    out = tmp_path_factory.mktemp("html")
    role = tokens()
    with serve(MARKUP) as base_url:
        result = CliRunner().invoke(
            check,
            [
                "--base-url", base_url, "--token", role["main"], "--read-only-token", role["read_only"],
                "--checks", "vevents", "--seed", "11",
                "--html", str(out / "report.html"), "--report-json", str(out / "report.json"),
            ],
            catch_exceptions=False,
        )  # fmt: skip
    assert result.exit_code == 1, result.output
    yield out / "report.html", json.loads((out / "report.json").read_text(encoding="utf-8"))


def test_the_page_renders_what_the_json_report_says(run: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    page, report = run
    dom = _Dom()
    dom.feed(dump_dom(page, tmp_path / "profile"))
    text = " ".join(dom.text)
    judged = sum(item["outcome"] in ("passed", "failed") for item in report["checks"])
    assert f"violations found - judged {judged}/{len(report['checks'])}" in "".join(dom.text)
    assert dom.rows == {item["name"]: item["outcome"] for item in report["checks"]}
    assert dom.rows["cancel_no_content"] == "failed"

    def name(cell: dict[str, Any]) -> str:
        return " ".join(cell[k] for k in ("caller", "state", "action", "route", "version", "view"))

    coverage = report["coverage"]
    expected = {name(cell): str(cell["requests"]) for cell in coverage["judged"]}
    expected |= {name(cell): "-" for cell in coverage["not_reachable"]}
    expected |= {name(cell): "?" for cell in coverage["not_judged"]}
    assert dom.cells == expected
    assert "curl " in text  # the failure's reproduction


def test_a_hostile_targets_markup_stays_text(run: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    page, report = run
    evidence = json.dumps(report["checks"])
    assert "<script>" in evidence, "the run's evidence should carry the target's markup"
    dom = _Dom()
    dom.feed(dump_dom(page, tmp_path / "profile"))
    assert "PWNED" not in dom.title  # the script never ran
    assert "injected" not in dom.ids  # nor did its element get built
    assert any("<script>document.title='PWNED'</script>" in piece for piece in dom.text)  # shown, as text


def test_every_field_is_escaped_without_a_browser() -> None:
    report: dict[str, Any] = {
        "target": HOSTILE, "seed": HOSTILE, "exit_code": 1, "summary": {"failed": 1},
        "coverage": {"cells": 2, "judged": [], "not_reachable": [
            {"caller": HOSTILE, "state": HOSTILE, "action": HOSTILE,
             "route": HOSTILE, "version": "v1.0", "view": HOSTILE}
        ], "not_judged": [
            {"caller": HOSTILE, "state": "draft", "action": "get",
             "route": "own", "version": "v1.0", "view": "@", "why": HOSTILE}
        ]},
        "checks": [{
            "name": HOSTILE, "description": HOSTILE, "outcome": "failed", "reason": HOSTILE,
            "violations": [{"title": HOSTILE, "message": HOSTILE, "repro": [HOSTILE], "documented": True}],
        }],
    }  # fmt: skip
    page = render_html(report)
    assert "<script" not in page and "<b id" not in page and "<img" not in page
    assert page.count("&lt;script&gt;") >= 8
    assert "http://" not in page and "https://" not in page  # nothing to fetch
