"""Offline validation of recorded traffic: the contract, and the lifecycle rules, with no token.

Users record exchanges with a real Graph tenant (or any implementation) as HAR or cassettes;
this module checks every response against the spec with openapi-core and replays the
lifecycle: once a cancel was answered 204, the event must read back as `canceled` forever.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import click

from vevents.recordings import Exchange, RecordingError, read_recording
from vevents.spec import Operation, contract, spec_path

__all__ = ["Finding", "validate_exchanges", "validate_traffic"]

_GRAPH_HOST = "https://graph.microsoft.com"
_ANCHOR = "/solutions/"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing wrong with one recorded exchange."""

    index: int
    exchange: str
    rule: str
    severity: str  # "violation" fails the run; "warning" is reported only
    message: str


def _split(exchange: Exchange) -> tuple[str, str, dict[str, str]]:
    """(version, path below the version, query args), whatever host the traffic went to.

    Recordings come from Graph, from a stub on 127.0.0.1 or from a proxy; the contract
    only cares about what follows the version segment.
    """
    parts = urlsplit(exchange.url)
    anchor = parts.path.find(_ANCHOR)
    query = dict(parse_qsl(parts.query))
    if anchor < 0:
        return "v1.0", parts.path, query
    version = parts.path[:anchor].rstrip("/").rsplit("/", 1)[-1]
    return (version if version in contract().versions else "v1.0"), parts.path[anchor:], query


def _match(method: str, path: str) -> tuple[Operation, str | None] | None:
    """The contract operation a recorded request hit, and its (decoded) event id."""
    route = contract().route(method, path)
    if route is None:
        return None
    return route.operation, unquote(route.event_id) if route.event_id is not None else None


def _json(body: bytes) -> object:
    try:
        return json.loads(body)
    except ValueError:
        return None


class _Validator:
    """Spec validation with openapi-core, read once."""

    def __init__(self) -> None:
        from openapi_core import OpenAPI

        self._openapi = OpenAPI.from_file_path(spec_path())

    def response_errors(self, exchange: Exchange) -> list[str]:
        from openapi_core.testing import MockRequest, MockResponse

        version, path, args = _split(exchange)
        request = MockRequest(
            _GRAPH_HOST,
            exchange.method,
            f"/{version}{path}",
            args=args,
            headers=dict(exchange.request_headers),
            data=exchange.request_body,
            content_type=exchange.request_headers.get("content-type", "application/json"),
        )
        response = MockResponse(
            exchange.response_body,
            status_code=exchange.status,
            headers=dict(exchange.response_headers),
            content_type=exchange.response_headers.get("content-type", "").split(";")[0].strip(),
        )
        try:
            self._openapi.validate_response(request, response)
        except Exception as exc:  # openapi-core raises a family of errors; each is a finding
            return [_describe(exc)]
        return []


def _describe(exc: BaseException) -> str:
    """openapi-core's error and its causes (schema errors say which field is wrong)."""
    texts = [str(exc) or exc.__class__.__name__]
    causes = getattr(exc, "schema_errors", None) or ([exc.__cause__] if exc.__cause__ else [])
    for cause in causes:
        text = getattr(cause, "message", None) or str(cause)
        if text and not any(text in seen for seen in texts):
            texts.append(text)
    return "; ".join(texts)


def _lifecycle(exchanges: Iterable[Exchange]) -> Iterator[Finding]:
    """Replay cancels: after a 204 cancel, the event must stay readable and `canceled`."""
    canceled_at: dict[str, int] = {}
    for exchange in exchanges:
        _, path, _ = _split(exchange)
        matched = _match(exchange.method, path)
        if matched is None:
            continue
        op, event_id = matched
        if event_id is None:
            continue

        def finding(rule: str, message: str, ex: Exchange = exchange) -> Finding:
            return Finding(ex.index, ex.label, rule, "violation", message)

        if op.action == "cancel" and 200 <= exchange.status < 300:
            if exchange.status != 204 or exchange.response_body:
                yield finding("cancel_answers_204", f"cancel answered {exchange.status} with "
                              f"{len(exchange.response_body)} body bytes; Graph answers 204 No Content")
            canceled_at.setdefault(event_id, exchange.index)
            continue
        since = canceled_at.get(event_id)
        if since is None:
            continue
        if op.action == "get" and exchange.status == 404:
            yield finding("canceled_event_readable", f"event canceled in #{since} is gone (404); "
                          "a canceled event can still be read with GET")
        elif op.action in ("get", "update") and exchange.status == 200:
            body = _json(exchange.response_body)
            status = body.get("status") if isinstance(body, dict) else None
            if status is not None and status != contract().canceled:
                yield finding("canceled_is_permanent", f"event canceled in #{since} reads back with "
                              f"status {status!r}; canceled is permanent")


def validate_exchanges(exchanges: list[Exchange]) -> list[Finding]:
    """All findings for a recording: per-exchange spec checks, then the lifecycle replay."""
    validator = _Validator()
    findings: list[Finding] = []
    for exchange in exchanges:
        _, path, _ = _split(exchange)
        if _match(exchange.method, path) is None:
            findings.append(Finding(exchange.index, exchange.label, "outside_contract", "warning",
                                    "not an operation of the contract; skipped"))
            continue
        for error in validator.response_errors(exchange):
            findings.append(Finding(exchange.index, exchange.label, "response_conformance", "violation", error))
    findings.extend(_lifecycle(exchanges))
    return sorted(findings, key=lambda f: (f.index, f.rule))


def validate_traffic(path: Path) -> list[Finding]:
    """Read a recording and validate it."""
    return validate_exchanges(read_recording(path))


@click.command("validate-traffic")
@click.argument("recording", type=click.Path(path_type=Path))
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: one line per finding and a summary; json: a JSON document with every finding.")
@click.option("--strict-warnings", is_flag=True,
              help="Fail (exit 1) on warnings too, such as exchanges outside the contract.")
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
        click.echo(json.dumps({"exchanges": len(exchanges), "violations": len(violations),
                               "findings": [asdict(f) for f in findings]}, indent=2))
    else:
        for f in findings:
            click.echo(f"{f.severity.upper():9} {f.rule}: {f.exchange}\n          {f.message}")
        click.echo(f"{len(exchanges)} exchanges, {len(violations)} violations, "
                   f"{len(findings) - len([f for f in findings if f.severity == 'violation'])} warnings")
    sys.exit(1 if violations else 0)
