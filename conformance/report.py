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

from .coverage import CALLERS, rows, state_label
from .runner import CheckFinished, CheckStarted, Note, Outcome, RunResult
from .target import TOKEN_ENV

__all__ = ["ProgressLine", "to_json", "write_json", "write_junit", "write_reports", "write_summary"]

_MARK = {
    Outcome.PASSED: "passed",
    Outcome.FAILED: "FAILED",
    Outcome.NOT_JUDGED: "NOT JUDGED",
    Outcome.ERROR: "ERROR",
    Outcome.SKIPPED: "skipped",
}


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
    stream.write(f"\n{'check'.ljust(width)}  {'result':10}  detail\n")
    for item in result.results:
        detail = item.reason
        if item.outcome is Outcome.FAILED:
            detail = f"{len(item.violations)} violation(s)"
        stream.write(f"{item.name.ljust(width)}  {_MARK[item.outcome]:10}  {detail}\n")
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
    write_preconditions(result, stream)
    write_not_judged(result, stream)
    if result.cost:
        write_cost(result, stream)
        write_coverage(result, stream)
    stream.write("\n" + summary_line(result) + "\n")


def summary_line(result: RunResult) -> str:
    """`judged X/Y checks (mode, seed): ... - verdict`: Y counts the checks of the chosen mode only."""
    mode = "strict" if result.strict else "default"
    counts = [
        f"{result.count(Outcome.PASSED)} passed",
        f"{result.count(Outcome.FAILED)} failed",
        f"{result.count(Outcome.NOT_JUDGED)} not judged",
        f"{result.count(Outcome.ERROR)} errors",
    ]
    if result.preconditions:
        counts.insert(1, f"{len(result.preconditions)} precondition(s) failed")
    if result.count(Outcome.SKIPPED):
        counts.append(f"{result.count(Outcome.SKIPPED)} not of this mode")
    narrowed = " (checks chosen with --checks/--exclude-checks)" if result.narrowed else ""
    return (
        f"judged {len(result.judged)}/{len(result.in_mode)} checks ({mode} mode, seed {result.seed}): "
        f"{', '.join(counts)} in {result.duration:.1f} s - {result.verdict}{narrowed}"
    )


def write_preconditions(result: RunResult, stream: TextIO) -> None:
    """Each failed precondition once: the violation of the operation that broke, and what it left unjudged."""
    for broken in result.preconditions:
        violation = broken.violation
        stream.write(f"\n=== precondition failed: {violation.title}\n")
        if violation.message:
            stream.write("".join(f"    {line}\n" for line in violation.message.splitlines()))
        if violation.repro:
            stream.write("  reproduce:\n" + "".join(f"    {line}\n" for line in violation.repro))
        stream.write(f"  left not judged ({len(broken.checks)}): {', '.join(broken.checks)}\n")


def write_not_judged(result: RunResult, stream: TextIO) -> None:
    """Every check of the mode the run could not judge, with why: what keeps the verdict from `conformant`."""
    missing = [item for item in result.not_judged if item.blocked_by is None]
    if not missing:
        return
    stream.write(f"\nnot judged ({len(missing)}):\n")
    for item in missing:
        stream.write(f"- {item.name}: {item.reason}\n")


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


def _schemathesis(result: RunResult) -> str:
    counts = result.schemathesis
    stopped = " (stopped: its time share was over)" if counts.get("stopped_for_time") else ""
    return (
        f"{counts.get('scenarios', 0)} scenarios{stopped}; "
        f"requests skipped for time {counts.get('skipped_for_time', 0)}, "
        f"creates skipped for the budget {counts.get('skipped_for_budget', 0)}, "
        f"throttled answers left unjudged {counts.get('throttled_unjudged', 0)}, errors {counts.get('errors', 0)}"
    )


def write_cost(result: RunResult, stream: TextIO) -> None:
    """What the run cost the target: requests, events created (and what the cleanup did), throttling."""
    stream.write(f"\n{result.requests} requests; {_budget(result)}; throttling: {_throttling(result)}\n")
    if result.schemathesis:
        stream.write(f"schemathesis: {_schemathesis(result)}\n")
    if not result.created:
        return
    stream.write("events created by the run (canceled at the end: the contract has no DELETE):\n")
    width = max(len(event.id) for event in result.created)
    for event in result.created:
        stream.write(
            f"  {event.kind:9}  {event.id.ljust(width)}  {event.cleanup or 'not cleaned up'}  (by {event.by})\n"
        )


def write_coverage(result: RunResult, stream: TextIO) -> None:
    """The matrix: per action or view (rows) and state as reached (columns), the callers whose cell was judged."""
    coverage = result.coverage
    if coverage is None:
        return
    letters = dict(zip((label for _, label, _ in CALLERS), "ORUTN", strict=True))
    states = [state_label(state, reached) for state, reached in contract().reached_states()]
    unreachable = {cell.state_label for cell in coverage.not_reachable}
    judged: dict[tuple[str, str, str, str, str], str] = {}
    for cell in coverage.judged:
        key = (cell.action, cell.route, cell.version, cell.view, cell.state_label)
        judged[key] = judged.get(key, "") + letters[cell.caller]
    stream.write(
        f"\ncoverage of the matrix: {len(coverage.judged)} of {coverage.total} cells judged, "
        f"{len(coverage.not_reachable)} not reachable, {len(coverage.not_judged)} not judged\n"
        f"  (callers judged per cell: {', '.join(f'{letter} {label}' for label, letter in letters.items())}; "
        "- none; x state not reached)\n"
    )
    widths = [max(len(label), 5) for label in states]
    stream.write(f"  {'action':8} {'route':10} {'version':7} {'view':7} ")
    stream.write("  ".join(label.ljust(width) for label, width in zip(states, widths, strict=True)) + "\n")
    order = "".join(letters.values())
    for action, route, version, view in rows():
        shown = []
        for label, width in zip(states, widths, strict=True):
            who = judged.get((action, route, version, view, label), "")
            text = "x" if label in unreachable else "".join(sorted(set(who), key=order.index)) or "-"
            shown.append(text.ljust(width))
        stream.write(f"  {action:8} {route:10} {version:7} {view:7} " + "  ".join(shown) + "\n")
    reasons: dict[str, set[str]] = {}
    for cell, why in coverage.not_judged.items():
        reasons.setdefault(why, set()).add(cell.caller)
    for why, callers in sorted(reasons.items()):
        stream.write(f"  not judged ({', '.join(sorted(callers))}): {why}\n")


def to_json(result: RunResult) -> dict[str, Any]:
    return {
        "target": result.target,
        "embedded": result.embedded,
        "strict": result.strict,
        "seed": result.seed,
        "duration": round(result.duration, 3),
        "exit_code": result.exit_code,
        "verdict": result.verdict,
        "judged": len(result.judged),
        "of": len(result.in_mode),
        "narrowed": result.narrowed,
        "not_judged": [
            {"name": item.name, "outcome": item.outcome.value, "reason": item.reason} for item in result.not_judged
        ],
        "preconditions": [
            {"violation": broken.violation.to_dict(), "not_judged": list(broken.checks)}
            for broken in result.preconditions
        ],
        "summary": {outcome.value: result.count(outcome) for outcome in Outcome},
        "requests": result.requests,
        "max_events": result.max_events,
        "budget_refused": result.budget_refused,
        "events_created": [event.to_dict() for event in result.created],
        "throttling": result.retry.to_dict(),
        "schemathesis": dict(result.schemathesis),
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
        tests=str(len(result.results) + len(result.preconditions)),
        failures=str(result.count(Outcome.FAILED) + len(result.preconditions)),
        errors=str(result.count(Outcome.ERROR)),
        skipped=str(result.count(Outcome.SKIPPED) + result.count(Outcome.NOT_JUDGED)),
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
        ("verdict", result.verdict),
        ("schemathesis", _schemathesis(result) if result.schemathesis else "not run"),
        ("judged", f"{len(result.judged)}/{len(result.in_mode)}"),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    for event in result.created:
        ET.SubElement(
            properties,
            "property",
            name="created_event",
            value=f"{event.kind} {event.id} {event.cleanup or 'not cleaned up'}",
        )
    for broken in result.preconditions:
        # One test case per failed precondition, the checks it stopped skipped with a pointer to it.
        case = ET.SubElement(
            suite, "testcase", classname="vevents.conformance.precondition", name=broken.violation.title
        )
        failure = ET.SubElement(case, "failure", message=broken.violation.title, type="Violation")
        failure.text = "\n".join(
            [str(broken.violation), *broken.violation.repro, "", "left not judged: " + ", ".join(broken.checks)]
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
        elif item.outcome is Outcome.NOT_JUDGED:
            ET.SubElement(case, "skipped", message=f"not judged: {item.reason}")
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
