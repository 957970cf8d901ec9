"""Issue 5: Schemathesis fuzzing of the stub, negative data and stateful, with a fixed seed.

Schemathesis' engine (what `schemathesis run` executes) drives the live stub:

- negative: the coverage and fuzzing phases with schema-invalid data only (wrong types,
  missing required properties, out-of-range values, malformed ids and `$select`s); every
  such request must be refused with a 4xx (`negative_data_rejection`), never a 5xx;
- stateful: create -> get/update/publish/cancel chains over the spec's links, with valid and
  invalid data mixed.

Every response Schemathesis saw is then validated with openapi-core (`SpecValidator`), on top
of Schemathesis' own conformance checks. CI runs a bounded number of examples; `make fuzz`
runs the same module with many more (docs/reliability.md, "Fuzzing"):

    VEVENTS_FUZZ_EXAMPLES   examples per operation and phase (CI: 20)
    VEVENTS_FUZZ_STEPS      stateful steps per scenario (CI: 8)
    VEVENTS_FUZZ_SEED       the seed (CI: 20261124)
    VEVENTS_FUZZ_REPORT     write the figures as JSON to this file
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from conftest import SECRET, Stub
from reliability import SpecValidator
from schemathesis.engine import events as st_events
from schemathesis.engine import from_schema

from vevents.server.auth import mint_token
from vevents.server.settings import Settings
from vevents.spec import SECURITY_SCHEME, contract, load_spec

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("VEVENTS_FUZZ_EXAMPLES", "20"))
STEPS = int(os.environ.get("VEVENTS_FUZZ_STEPS", "8"))
SEED = int(os.environ.get("VEVENTS_FUZZ_SEED", "20261124"))
REPORT = os.environ.get("VEVENTS_FUZZ_REPORT")
LONG_TOKENS = 48 * 3600
DELEGATED = mint_token(secret=SECRET, expires_in=LONG_TOKENS)
APPLICATION = mint_token(secret=SECRET, roles=["VirtualEvent.Read.All"], expires_in=LONG_TOKENS)
LIST_OPERATIONS = [op.operation_id for op in contract().operations if op.action == "list"]
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
]


@dataclass
class FuzzRun:
    """What one run did: cases sent, statuses, Schemathesis failures, openapi-core problems."""

    label: str
    seed: int
    cases: int = 0
    scenarios: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def figures(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "seed": self.seed,
            "examples": EXAMPLES,
            "steps": STEPS,
            "cases": self.cases,
            "scenarios": self.scenarios,
            "statuses": dict(sorted(self.statuses.items())),
            "schemathesis_failures": len(self.failures),
            "openapi_core_invalid": len(self.invalid),
            "errors": len(self.errors),
            "seconds": round(self.seconds, 1),
        }


def _spec() -> dict[str, Any]:
    # The stub's spec as is, except the OAuth2 scheme: on the wire it is a bearer token, and
    # Schemathesis sends the headers below itself.
    spec = load_spec()
    spec["components"]["securitySchemes"][SECURITY_SCHEME] = {"type": "http", "scheme": "bearer"}
    return spec


def _config(base_url: str, *, mode: str, phases: tuple[str, ...], seed: int) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "base-url": base_url,
            "seed": seed,
            "workers": 1,
            "request-timeout": 10,
            "headers": {"Authorization": f"Bearer {DELEGATED}"},
            "generation": {"max-examples": EXAMPLES, "mode": mode, "database": "none"},
            "checks": {
                name: {"enabled": name in CHECKS}
                for name in (
                    *CHECKS,
                    "positive_data_acceptance",
                    "use_after_free",
                    "ensure_resource_availability",
                    "ignored_auth",
                    "unsupported_method",
                    "missing_required_header",
                    "object_level_authorization",
                )
            },
            "phases": {name: {"enabled": name in phases} for name in ("examples", "coverage", "fuzzing")}
            | {"stateful": {"enabled": "stateful" in phases, "max-steps": STEPS}},
            # The list operations take an application permission (Graph's permissions table).
            "operations": [
                {"include-operation-id": LIST_OPERATIONS, "headers": {"Authorization": f"Bearer {APPLICATION}"}}
            ],
            "suppress-health-check": ["all"],
        }
    )


def fuzz(
    base_url: str,
    label: str,
    *,
    mode: str,
    phases: tuple[str, ...],
    seed: int = SEED,
    validator: SpecValidator | None = None,
) -> FuzzRun:
    validator = validator or SpecValidator()
    run = FuzzRun(label, seed)
    schema = schemathesis.openapi.from_dict(_spec(), config=_config(base_url, mode=mode, phases=phases, seed=seed))
    schema.config.update(base_url=base_url)
    started = time.monotonic()
    for event in from_schema(schema).execute():
        if isinstance(event, st_events.ScenarioFinished):
            run.scenarios += 1
            for interaction in event.recorder.interactions.values():
                response = interaction.response
                if response is None:
                    continue
                run.cases += 1
                run.statuses[response.status_code] += 1
                headers = {k: ", ".join(v) if isinstance(v, list) else v for k, v in response.headers.items()}
                problem = validator.check(
                    interaction.request.method,
                    interaction.request.uri,
                    response.status_code,
                    headers,
                    response.content or b"",
                )
                if problem:
                    run.invalid.append(
                        f"{interaction.request.method} {interaction.request.uri} -> {response.status_code}: {problem}"
                    )
        elif isinstance(event, st_events.NonFatalError):
            run.errors.append(f"{event.label}: {event.info.title}: {event.info.message}")
        elif isinstance(event, st_events.FatalError):
            run.errors.append(f"Schemathesis stopped: {event.exception}")
        elif isinstance(event, st_events.EngineFinished):
            run.failures += [f"{f.operation}: {f.title}: {f.message}"[:1500] for f in event.failures]
    run.seconds = time.monotonic() - started
    print(f"\n{label}: {json.dumps(run.figures())}")
    if REPORT:
        path = Path(REPORT)
        previous = json.loads(path.read_text()) if path.exists() else []
        path.write_text(json.dumps([*previous, run.figures()], indent=2))
    return run


def _assert_clean(run: FuzzRun) -> None:
    assert run.cases > 0
    assert not run.errors, "\n".join(run.errors[:10])
    assert not run.failures, "\n".join(run.failures[:10])
    assert not run.invalid, "\n".join(run.invalid[:10])
    assert not [s for s in run.statuses if s >= 500], run.statuses


@pytest.fixture(scope="module")
def fuzz_stub(start_stub_module: Callable[..., Stub]) -> Stub:
    return start_stub_module(Settings(memory=True))


@pytest.fixture(scope="module")
def start_stub_module() -> Any:
    import contextlib

    from conftest import running_stub

    with contextlib.ExitStack() as stack:
        yield lambda settings=None: stack.enter_context(running_stub(settings))


def test_negative_data_is_refused_with_4xx_and_valid_errors(fuzz_stub: Stub) -> None:
    run = fuzz(
        f"{fuzz_stub.base_url}/v1.0", "negative (coverage + fuzzing)", mode="negative", phases=("coverage", "fuzzing")
    )
    _assert_clean(run)  # negative_data_rejection: every schema-invalid request was a 4xx
    refused = sum(n for status, n in run.statuses.items() if 400 <= status < 500)
    assert refused > 0.9 * run.cases, run.statuses


@pytest.mark.parametrize("version", contract().versions)
def test_stateful_chains_stay_in_the_spec(fuzz_stub: Stub, version: str) -> None:
    seed = SEED + contract().versions.index(version)
    run = fuzz(f"{fuzz_stub.base_url}/{version}", f"stateful ({version})", mode="all", phases=("stateful",), seed=seed)
    _assert_clean(run)
    assert run.scenarios > 0 and {201, 204} <= set(run.statuses), run.statuses
