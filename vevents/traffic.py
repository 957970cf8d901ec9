"""`vevents validate-traffic`: offline validation of recorded traffic, with no token.

Users record exchanges with a real Graph tenant (or any implementation) as HAR or cassettes;
every response is checked against the spec (`traffic_schema`, openapi-core) and the lifecycle
is replayed (`traffic_rules`): once a cancel was answered 204, the event must read back as
`canceled` forever. This module joins the two and prints the findings (text or JSON).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

import click

from vevents.recordings import Exchange, RecordingError, read_recording
from vevents.traffic_rules import Finding, lifecycle_findings, match, split
from vevents.traffic_schema import ResponseValidator

__all__ = ["Finding", "validate_exchanges", "validate_traffic", "validate_traffic_command"]


def validate_exchanges(exchanges: list[Exchange]) -> list[Finding]:
    """All findings for a recording: per-exchange spec checks, then the lifecycle replay."""
    validator = ResponseValidator()
    findings: list[Finding] = []
    for exchange in exchanges:
        _, path, _ = split(exchange)
        if match(exchange.method, path) is None:
            findings.append(
                Finding(
                    exchange.index,
                    exchange.label,
                    "outside_contract",
                    "warning",
                    "not an operation of the contract; skipped",
                )
            )
            continue
        for error in validator.response_errors(exchange):
            findings.append(Finding(exchange.index, exchange.label, "response_conformance", "violation", error))
    findings.extend(lifecycle_findings(exchanges))
    return sorted(findings, key=lambda f: (f.index, f.rule))


def validate_traffic(path: Path) -> list[Finding]:
    """Read a recording and validate it."""
    return validate_exchanges(read_recording(path))


@click.command("validate-traffic")
@click.argument("recording", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one line per finding and a summary; json: a JSON document with every finding.",
)
@click.option(
    "--strict-warnings", is_flag=True, help="Fail (exit 1) on warnings too, such as exchanges outside the contract."
)
def validate_traffic_command(recording: Path, output_format: str, strict_warnings: bool) -> None:
    """Validate recorded traffic (HAR or Schemathesis/VCR cassette) against the contract.

    Every response is validated against the spec with openapi-core, and the lifecycle is
    replayed: after a cancel answered 204, any later read of that event must show status
    `canceled`. No token and no network are needed.

    Exit codes: 0 no violations, 1 violations found, 2 the recording could not be read.
    """
    try:
        exchanges = read_recording(recording)
    except RecordingError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    findings = validate_exchanges(exchanges)
    violations = [f for f in findings if f.severity == "violation" or strict_warnings]
    if output_format == "json":
        click.echo(
            json.dumps(
                {"exchanges": len(exchanges), "violations": len(violations), "findings": [asdict(f) for f in findings]},
                indent=2,
            )
        )
    else:
        for f in findings:
            click.echo(f"{f.severity.upper():9} {f.rule}: {f.exchange}\n          {f.message}")
        click.echo(
            f"{len(exchanges)} exchanges, {len(violations)} violations, "
            f"{len(findings) - len([f for f in findings if f.severity == 'violation'])} warnings"
        )
    sys.exit(1 if violations else 0)
