"""`vevents check --html PATH`: the run as one self-contained page a person opens in a browser.

Built from the JSON report (`report.to_json`), so the page shows exactly what the machine-readable
report says: the verdict, "judged X/Y", each check's outcome (passed, failed, not judged with its
reason), the state-transition grid (requests per state x action x route x version; - unreached),
and every failure with its evidence and curl reproduction.

Whatever a target sent (bodies, headers, ids in evidence and reproductions) is text here, never
markup: every value goes through `html.escape`, nothing from a report is placed inside a
`<script>` or `<style>` (the page has no script at all), and a Content-Security-Policy that
forbids scripts and every fetch backs that up. The page loads nothing from the network: its
only style is the inline one below.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["render_html", "write_html"]

_VERDICTS = {0: "conformant", 1: "violations found", 2: "not judged / could not run"}
_NOT_JUDGED = ("skipped", "error")
_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left}
.passed{background:#e3f6e3}.failed{background:#fbe0e0}.skipped,.error{background:#fff4d6}
.unreached{color:#999}pre{background:#f5f5f5;padding:.6em;white-space:pre-wrap;word-break:break-all}
#verdict{font-size:1.4em}
"""
_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; base-uri 'none'"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _label(outcome: str) -> str:
    return "not judged" if outcome in _NOT_JUDGED else outcome


def _checks_table(checks: Iterable[Mapping[str, Any]]) -> str:
    rows = []
    for item in checks:
        outcome = str(item["outcome"])
        detail = item.get("reason") or ""
        if outcome == "failed":
            detail = f"{len(item.get('violations') or ())} violation(s)"
        rows.append(
            f'<tr class="{_e(outcome)}" data-check="{_e(item["name"])}" data-outcome="{_e(outcome)}">'
            f"<td>{_e(item['name'])}</td><td>{_e(_label(outcome))}</td><td>{_e(detail)}</td>"
            f"<td>{_e(item.get('description') or '')}</td></tr>"
        )
    head = "<tr><th>check</th><th>outcome</th><th>detail</th><th>what it checks</th></tr>"
    return f'<table id="checks">{head}{"".join(rows)}</table>'


_CELL_KEY = ("caller", "state", "action", "route", "version", "view")
"""The members of a cell of the contract's matrix as the JSON report writes it (conformance/coverage.py)."""


def _cell(item: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(str(item.get(k, "")) for k in _CELL_KEY)


def _grid(coverage: Mapping[str, Any] | None) -> str:
    """The contract's matrix: one row per caller, action, route and view; one column per version and state."""
    if not coverage:
        return "<p>No matrix coverage in this report.</p>"
    judged = {_cell(item): str(item.get("requests", "")) for item in coverage.get("judged", ())}
    not_reachable = {_cell(item) for item in coverage.get("not_reachable", ())}
    not_judged = {_cell(item): str(item.get("why", "")) for item in coverage.get("not_judged", ())}
    cells = {*judged, *not_reachable, *not_judged}
    columns = sorted({(c[4], c[1]) for c in cells})
    rows = sorted({(c[0], c[2], c[3], c[5]) for c in cells})
    head = "".join(f"<th>{_e(version)} {_e(state)}</th>" for version, state in columns)
    body = []
    for caller, action, route, view in rows:
        tds = []
        for version, state in columns:
            cell = (caller, state, action, route, version, view)
            name = _e(" ".join(cell))
            if cell in judged:
                tds.append(f'<td class="passed" data-cell="{name}">{_e(judged[cell])}</td>')
            elif cell in not_reachable:
                tds.append(f'<td class="unreached" data-cell="{name}">-</td>')
            elif cell in not_judged:
                tds.append(f'<td class="skipped" data-cell="{name}" title="{_e(not_judged[cell])}">?</td>')
            else:
                tds.append("<td></td>")
        body.append(
            f"<tr><th>{_e(caller)}</th><th>{_e(action)}</th><th>{_e(route)}</th><th>{_e(view)}</th>{''.join(tds)}</tr>"
        )
    summary = (
        f"{len(judged)} of {coverage.get('cells', len(cells))} cells judged, "
        f"{len(not_reachable)} not reachable, {len(not_judged)} not judged"
    )
    return (
        f"<p>{_e(summary)} (requests per caller x state x action x route x version x view;"
        " - not reachable, ? not judged: hover for why)</p>"
        f'<table id="grid"><tr><th>caller</th><th>action</th><th>route</th><th>view</th>{head}</tr>'
        f"{''.join(body)}</table>"
    )


def _failures(checks: Iterable[Mapping[str, Any]]) -> str:
    parts = []
    for item in checks:
        if item["outcome"] != "failed":
            continue
        parts.append(f'<section class="failure" data-check="{_e(item["name"])}"><h3>{_e(item["name"])}</h3>')
        for violation in item.get("violations") or ():
            choice = "" if violation.get("documented", True) else " (the stub's choice, judged with --strict)"
            parts.append(f'<h4 class="title">{_e(violation.get("title", ""))}{_e(choice)}</h4>')
            if violation.get("message"):
                parts.append(f'<pre class="evidence">{_e(violation["message"])}</pre>')
            if violation.get("repro"):
                parts.append(f'<pre class="repro">{_e(chr(10).join(violation["repro"]))}</pre>')
        parts.append("</section>")
    return "".join(parts) or "<p>No failures.</p>"


def render_html(report: Mapping[str, Any]) -> str:
    """The page for one JSON report (`report.to_json`)."""
    checks = list(report.get("checks") or ())
    judged = sum(1 for item in checks if item["outcome"] in ("passed", "failed"))
    code = int(report.get("exit_code", 2))
    verdict = _VERDICTS.get(code, f"exit {code}")
    counts = ", ".join(f"{count} {_label(name)}" for name, count in (report.get("summary") or {}).items() if count)
    meta = (
        f"target {report.get('target')}{' (bundled stub)' if report.get('embedded') else ''}; "
        f"{'strict' if report.get('strict') else 'default'} mode, seed {report.get('seed')}; "
        f"{report.get('requests', 0)} requests in {report.get('duration', 0)} s"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>vevents check: {_e(verdict)}</title><style>{_STYLE}</style></head><body>"
        f'<h1>vevents check</h1><p id="verdict" class="{"passed" if code == 0 else "failed"}">'
        f'{_e(verdict)} - <span id="judged">judged {judged}/{len(checks)}</span></p>'
        f'<p id="meta">{_e(meta)}</p><p id="counts">{_e(counts)}</p>'
        f"<h2>Checks</h2>{_checks_table(checks)}"
        f"<h2>The contract's matrix</h2>{_grid(report.get('coverage'))}"
        f"<h2>Failures</h2>{_failures(checks)}"
        "<p>Reproductions read tokens from $VEVENTS_TOKEN and its siblings; no token is in this page.</p>"
        "</body></html>\n"
    )


def write_html(report: Mapping[str, Any], path: str) -> None:
    with open(path, "w", encoding="utf-8") as file:
        file.write(render_html(report))
