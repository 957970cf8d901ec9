"""Reporters: a live progress line and a summary table on a terminal, JUnit XML, JSON.

They consume what the runner produces (progress events, then a `RunResult`) and never judge.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import xml.etree.ElementTree as ET
from typing import Any, TextIO

from vevents.spec import contract

from .runner import CheckFinished, CheckStarted, Note, Outcome, RunResult
from .target import TOKEN_ENV

__all__ = ["ProgressLine", "to_json", "write_json", "write_junit", "write_reports", "write_summary"]

_MARK = {Outcome.PASSED: "passed", Outcome.FAILED: "FAILED", Outcome.SKIPPED: "skipped", Outcome.ERROR: "ERROR"}


class ProgressLine:
    """One line rewritten in place on a terminal; one line per finished check elsewhere."""

    def __init__(self, stream: TextIO, *, verbose: bool = False) -> None:
        self.stream = stream
        self.verbose = verbose
        self.live = stream.isatty()
        self.width = shutil.get_terminal_size((100, 20)).columns - 1

    def __call__(self, event: object) -> None:
        if isinstance(event, CheckStarted):
            self._show(f"[{event.index}/{event.total}] {event.name} ...")
        elif isinstance(event, Note):
            if self.live:
                self._show(event.text)
            elif self.verbose:
                self.stream.write(event.text + "\n")
        elif isinstance(event, CheckFinished) and (not self.live or self.verbose):
            result = event.result
            self._clear()
            self.stream.write(f"[{event.index}/{event.total}] {result.name}: {_MARK[result.outcome]}\n")
        self.stream.flush()

    def _show(self, text: str) -> None:
        if self.live:
            self.stream.write("\r\033[K" + text[: self.width])

    def _clear(self) -> None:
        if self.live:
            self.stream.write("\r\033[K")

    def close(self) -> None:
        self._clear()
        self.stream.flush()


def write_summary(result: RunResult, stream: TextIO) -> None:
    """The per-check table, then every failure with its reproduction, then the verdict."""
    width = max(len(item.name) for item in result.results)
    stream.write(f"\n{'check'.ljust(width)}  {'result':7}  detail\n")
    for item in result.results:
        detail = item.reason
        if item.outcome is Outcome.FAILED:
            detail = f"{len(item.violations)} violation(s)"
        stream.write(f"{item.name.ljust(width)}  {_MARK[item.outcome]:7}  {detail}\n")
    failed = [item for item in result.results if item.outcome is Outcome.FAILED]
    for item in failed:
        stream.write(f"\n=== {item.name}: {item.description}\n")
        for violation in item.violations:
            note = "" if violation.documented else " [stub's choice, --strict]"
            stream.write(f"- {violation.title}{note}\n")
            if violation.message:
                stream.write("".join(f"    {line}\n" for line in violation.message.splitlines()))
            if violation.repro:
                stream.write("  reproduce:\n")
                stream.write("".join(f"    {line}\n" for line in violation.repro))
    if failed and result.cost:
        env = ", ".join(f"${name}" for name in TOKEN_ENV.values())
        stream.write(f"\n(The reproductions read tokens from {env}.)\n")
    if result.cost:
        write_cost(result, stream)
        write_coverage(result, stream)
    verdict = {0: "conformant", 1: "violations found", 2: "some checks could not run"}[result.exit_code]
    mode = "strict" if result.strict else "default"
    stream.write(
        f"\n{len(result.results)} checks ({mode} mode, seed {result.seed}): {result.count(Outcome.PASSED)} passed, "
        f"{result.count(Outcome.FAILED)} failed, {result.count(Outcome.SKIPPED)} skipped, "
        f"{result.count(Outcome.ERROR)} errors in {result.duration:.1f} s - {verdict}\n"
    )


def _budget(result: RunResult) -> str:
    limit = (
        "no limit: the bundled stub is thrown away"
        if result.max_events is None
        else f"--max-events {result.max_events}"
    )
    refused = f"; {result.budget_refused} create(s) not sent, the budget was spent" if result.budget_refused else ""
    return f"{len(result.created)} event(s) created ({limit}{refused})"


def _throttling(result: RunResult) -> str:
    retry = result.retry
    if not retry.throttled:
        return "no 429/503 answers"
    gave_up = f", gave up {retry.gave_up} time(s)" if retry.gave_up else ""
    retries = f"{retry.retries} retr{'y' if retry.retries == 1 else 'ies'}"
    return (
        f"{retry.throttled} answer(s) 429/503 waited out: {retries}, {retry.waited:.1f} s waited{gave_up} "
        f"(--max-retries {retry.max_retries}, "
        f"--max-retry-wait {retry.max_wait:g})"
    )


def write_cost(result: RunResult, stream: TextIO) -> None:
    """What the run cost the target: requests, events created (and what the cleanup did), throttling."""
    stream.write(f"\n{result.requests} requests; {_budget(result)}; throttling: {_throttling(result)}\n")
    if not result.created:
        return
    stream.write("events created by the run (canceled at the end: the contract has no DELETE):\n")
    width = max(len(event.id) for event in result.created)
    for event in result.created:
        stream.write(
            f"  {event.kind:9}  {event.id.ljust(width)}  {event.cleanup or 'not cleaned up'}  (by {event.by})\n"
        )


def write_coverage(result: RunResult, stream: TextIO) -> None:
    """The state-transition table: requests per (state x action x route x version) cell, `-` unreached."""
    coverage = result.coverage
    if coverage is None:
        return
    cells = sorted({*coverage.exercised, *coverage.unreached})
    spec = contract()
    states = [state for state in spec.statuses if any(cell.state == state for cell in cells)]
    rows = sorted({(cell.action, cell.route) for cell in cells})
    columns = [(version, state) for version in spec.versions for state in states]
    stream.write(
        f"\nstate-transition coverage: {len(coverage.exercised)} of {coverage.total} cells exercised "
        "(requests per state x action x route x version; - not reached)\n"
    )
    labels = [f"{version} {state}" for version, state in columns]
    widths = [max(len(label), 4) for label in labels]
    stream.write(
        f"  {'action':8} {'route':10} "
        + "  ".join(label.rjust(w) for label, w in zip(labels, widths, strict=True))
        + "\n"
    )
    for action, route in rows:
        counts = []
        for (version, state), width in zip(columns, widths, strict=True):
            cell = next(
                (c for c in cells if (c.action, c.route, c.version, c.state) == (action, route, version, state)), None
            )
            count = coverage.exercised.get(cell, 0) if cell is not None else None
            counts.append(("" if cell is None else str(count) if count else "-").rjust(width))
        stream.write(f"  {action:8} {route:10} " + "  ".join(counts) + "\n")


def to_json(result: RunResult) -> dict[str, Any]:
    return {
        "target": result.target,
        "embedded": result.embedded,
        "strict": result.strict,
        "seed": result.seed,
        "duration": round(result.duration, 3),
        "exit_code": result.exit_code,
        "summary": {outcome.value: result.count(outcome) for outcome in Outcome},
        "requests": result.requests,
        "max_events": result.max_events,
        "budget_refused": result.budget_refused,
        "events_created": [event.to_dict() for event in result.created],
        "throttling": result.retry.to_dict(),
        "coverage": result.coverage.to_dict() if result.coverage is not None else None,
        "checks": [
            {
                "name": item.name,
                "description": item.description,
                "source": item.source,
                "outcome": item.outcome.value,
                "reason": item.reason,
                "duration": round(item.duration, 3),
                "violations": [violation.to_dict() for violation in item.violations],
            }
            for item in result.results
        ],
    }


def write_json(result: RunResult, path: str) -> None:
    _ensure_parent(path)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(to_json(result), file, indent=2)
        file.write("\n")


def write_junit(result: RunResult, path: str) -> None:
    """One <testcase> per check; failures carry every violation and its curl reproduction."""
    suite = ET.Element(
        "testsuite",
        name="vevents.conformance",
        tests=str(len(result.results)),
        failures=str(result.count(Outcome.FAILED)),
        errors=str(result.count(Outcome.ERROR)),
        skipped=str(result.count(Outcome.SKIPPED)),
        time=f"{result.duration:.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("target", result.target),
        ("strict", str(result.strict).lower()),
        ("seed", str(result.seed)),
        ("requests", str(result.requests)),
        ("events_created", str(len(result.created))),
        ("max_events", str(result.max_events)),
        ("throttling", _throttling(result)),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    for event in result.created:
        ET.SubElement(
            properties,
            "property",
            name="created_event",
            value=f"{event.kind} {event.id} {event.cleanup or 'not cleaned up'}",
        )
    for item in result.results:
        classname = f"vevents.conformance.{item.source}"
        case = ET.SubElement(suite, "testcase", classname=classname, name=item.name, time=f"{item.duration:.3f}")
        if item.outcome is Outcome.FAILED:
            text = []
            for violation in item.violations:
                text.append(str(violation))
                text.extend(violation.repro)
                text.append("")
            failure = ET.SubElement(case, "failure", message=item.violations[0].title, type="Violation")
            failure.text = "\n".join(text)
        elif item.outcome is Outcome.SKIPPED:
            ET.SubElement(case, "skipped", message=item.reason)
        elif item.outcome is Outcome.ERROR:
            ET.SubElement(case, "error", message=item.reason, type="CouldNotRun")
    out = io.StringIO()
    if result.cost:
        write_cost(result, out)
        write_coverage(result, out)
    ET.SubElement(suite, "system-out").text = out.getvalue()
    root = ET.Element("testsuites", name="vevents check")
    root.append(suite)
    ET.indent(root)
    _ensure_parent(path)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def write_reports(
    result: RunResult, stream: TextIO, *, junit_xml: str | None, report_json: str | None, html: str | None = None
) -> None:
    """The summary on `stream`, and the JUnit XML, JSON and HTML reports where asked for (both commands' reporting)."""
    write_summary(result, stream)
    if junit_xml:
        write_junit(result, junit_xml)
    if report_json:
        write_json(result, report_json)
    if html:
        from .html_report import write_html

        _ensure_parent(html)
        write_html(to_json(result), html)


def _ensure_parent(path: str) -> None:
    parent = os.path.dirname(os.path.abspath(path))
    os.makedirs(parent, exist_ok=True)
