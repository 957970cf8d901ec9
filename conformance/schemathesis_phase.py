"""Schemathesis's built-in checks, property-based and stateful, run once over the whole spec.

Which built-ins run, and where, is a judgement about soundness: a check belongs in the default
mode only if no correct implementation of Graph's documented behaviour can fail it.

- everywhere: `not_a_server_error` (no 5xx on any input), `content_type_conformance` (errors are
  `application/json`, never problem+json), `ignored_auth` (every operation needs a token);
- on cancel and get (every operation with --strict): `status_code_conformance`,
  `response_schema_conformance`, `response_headers_conformance`; the spec documents explicit
  codes plus 4XX/5XX ranges, so they only reject what no Graph client can handle (a 200 for
  cancel, a 3xx, a body that is not a virtualEvent, a bad status enum);
- --strict only: `unsupported_method` (Graph answers 405, but a 404/400 from a router is a
  legitimate choice; the default mode judges the cancel path with `cancel_path_other_methods`
  instead), `negative_data_rejection` (`$select` of an unknown property is one of the stub's
  choices), `ensure_resource_availability` (Graph is eventually consistent: a GET right after
  create may briefly answer 404);
- never: `positive_data_acceptance` (schema-valid data such as an end before the start, or
  `isInviteOnly` with audience `everyone`, is legitimately refused), `use_after_free` (the
  contract has no DELETE), `object_level_authorization` (covered by `other_user_forbidden`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vevents.spec import SECURITY_SCHEME, contract, load_spec

from .exchange import GARBAGE_TOKEN, TOKEN_ENV
from .failures import Violation
from .transport import Target, retry_after_seconds

__all__ = ["BUILTINS", "PHASES", "BuiltinResult", "SchemathesisRun", "run_schemathesis"]

ACTION = "x-vevents-action"
PHASES = ("examples", "coverage", "fuzzing", "stateful")
DEFAULT_MAX_EXAMPLES = 25
DEFAULT_STATEFUL_STEPS = 6
# Hypothesis's documented variable for where it keeps its files (default: ./.hypothesis).
_HYPOTHESIS_HOME = "HYPOTHESIS_STORAGE_DIRECTORY"

# name -> (description, scope): "all" operations, "judged" (cancel and get; all with --strict), "strict".
BUILTINS: dict[str, tuple[str, str]] = {
    "not_a_server_error": ("Schemathesis: no operation answers 5xx, for valid or invalid input.", "all"),
    "status_code_conformance": ("Schemathesis: cancel and get answer only documented status codes.", "judged"),
    "content_type_conformance": (
        "Schemathesis: every answer has a documented Content-Type (errors: application/json).",
        "all",
    ),
    "response_schema_conformance": ("Schemathesis: cancel and get bodies match the spec's schemas.", "judged"),
    "response_headers_conformance": ("Schemathesis: documented response headers have valid values.", "judged"),
    "ignored_auth": ("Schemathesis: every operation refuses a missing or invalid token (401/403).", "all"),
    "unsupported_method": ("Schemathesis (strict): undocumented methods answer 405 with an Allow header.", "strict"),
    "negative_data_rejection": ("Schemathesis (strict): schema-invalid requests answer 4xx.", "strict"),
    "ensure_resource_availability": ("Schemathesis (strict): a created event is readable right away.", "strict"),
}


@dataclass(slots=True)
class PhaseGate:
    """Which Schemathesis pass is running, and how much of the time share it may still use.

    The stateful phase runs first (it reaches cancel and get on events it created) and may use
    half the share; the other phases get the rest. Past it, every request is skipped.
    """

    max_time: float | None = None
    first_share: float = 0.5
    phase: str = ""
    started: float = field(default_factory=time.monotonic)
    last_pass: bool = True
    skipped_for_time: int = 0
    skipped_for_budget: int = 0

    def begin_pass(self, *, last: bool) -> None:
        self.last_pass = last

    def time_is_over(self) -> bool:
        if self.max_time is None:
            return False
        share = self.max_time if self.last_pass else self.max_time * self.first_share
        return time.monotonic() - self.started > share

    def admit(self) -> str | None:
        """None while the time share lasts; then why every request is skipped (`_requests.Gate`)."""
        if not self.time_is_over():
            return None
        self.skipped_for_time += 1
        return "the Schemathesis phases' time share is over (--max-schemathesis-time)"

    def refused_for_budget(self) -> None:
        self.skipped_for_budget += 1


@dataclass(slots=True)
class BuiltinResult:
    """What one built-in check saw over the whole Schemathesis run."""

    name: str
    passed: int = 0
    event_bodies: int = 0
    """Of `passed`, the 200 answers that carried an event (a body of either kind, judged whole)."""
    failures: list[Violation] = field(default_factory=list)
    errors: int = 0
    _seen: set[tuple[str, str]] = field(default_factory=set)


@dataclass(slots=True)
class SchemathesisRun:
    """The outcome of the Schemathesis phase: results per built-in, and problems of the run itself."""

    results: dict[str, BuiltinResult]
    errors: list[str] = field(default_factory=list)
    scenarios: int = 0
    throttled_unjudged: int = 0
    """Throttled answers (429, 503 with Retry-After) left unjudged once the retries were spent."""
    skipped_for_time: int = 0
    """Requests not sent because the phases' time share was over."""
    skipped_for_budget: int = 0
    """Creates not sent because of --max-events."""
    stopped_for_time: bool = False

    def counters(self) -> dict[str, int | bool]:
        """Every count of the phases, for the reports (nothing counted is left out of them)."""
        return {
            "scenarios": self.scenarios,
            "skipped_for_time": self.skipped_for_time,
            "skipped_for_budget": self.skipped_for_budget,
            "throttled_unjudged": self.throttled_unjudged,
            "stopped_for_time": self.stopped_for_time,
            "errors": len(self.errors),
        }


def _judged_operation_ids() -> list[str]:
    return [op.operation_id for op in contract().operations if op.action in ("cancel", "get")]


def _spec_for_run(
    unknown_id: str, *, exclude_create: bool, real_ids: Mapping[str, Sequence[str]] | None = None
) -> dict[str, Any]:
    """The spec as Schemathesis sees it: example ids replaced by an unknown one, and the run's own events.

    The spec's example id is the documentation's sample event, which the stub seeds and a real
    tenant might hold; the suite must never cancel an event it did not create or was not given.
    `real_ids` (by kind) are events the run created: each id parameter then takes one of them or
    the unknown id (an enum), so that every phase reads real events and the schema checks judge
    real 200 bodies, not only the 404s of random ids.
    """
    spec = load_spec()
    kinds_of = _kinds_by_id_parameter()
    # Schemathesis probes auth (`ignored_auth`) only for apiKey/http schemes. On the wire the
    # OAuth2 scheme is exactly an HTTP bearer token, so it sees it as one, under the same name.
    spec["components"]["securitySchemes"][SECURITY_SCHEME] = {"type": "http", "scheme": "bearer"}
    for requirements in _security_lists(spec):
        for requirement in requirements:
            for name in requirement:
                requirement[name] = []
    for parameter in spec["components"]["parameters"].values():
        if parameter.get("in") == "path":
            parameter["example"] = unknown_id
            ids = [
                event_id for kind in kinds_of.get(parameter["name"], ()) for event_id in (real_ids or {}).get(kind, ())
            ]
            if ids:
                # An enum, without the pattern: a target's ids may have another format than the spec's.
                parameter["schema"] = {"type": "string", "enum": [*dict.fromkeys(ids), unknown_id]}
                parameter["examples"] = {f"event{n}": {"value": value} for n, value in enumerate(ids)}
                del parameter["example"]
    if exclude_create:
        for item in spec["paths"].values():
            creates = [name for name, op in item.items() if isinstance(op, dict) and op.get(ACTION) == "create"]
            for method in creates:
                del item[method]
    return spec


def _kinds_by_id_parameter() -> dict[str, tuple[str, ...]]:
    """Each id path parameter's name -> the kinds whose events it names (the base-type route: all of them)."""
    the_contract = contract()
    found: dict[str, set[str]] = {}
    for op in the_contract.operations:
        if op.id_parameter is not None:
            kinds = {op.kind} if op.kind in the_contract.kinds else set(the_contract.kinds)
            found.setdefault(op.id_parameter, set()).update(kinds)
    return {name: tuple(sorted(kinds)) for name, kinds in found.items()}


def real_event_ids(target: Target) -> dict[str, list[str]]:
    """The events this run created so far (through any version), by kind, in order."""
    found: dict[str, list[str]] = {}
    for event in list(target.ledger.created):
        found.setdefault(event.kind, []).append(event.id)
    return found


def _security_lists(spec: dict[str, Any]) -> Iterator[list[dict[str, list[str]]]]:
    yield spec.get("security", [])
    for item in spec["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and "security" in op:
                yield op["security"]


def _config(
    *,
    base_url: str,
    token: str,
    names: Iterable[str],
    strict: bool,
    phases: Iterable[str],
    max_examples: int,
    seed: int | None,
    timeout: float,
    workers: int = 1,
) -> dict[str, Any]:
    names = set(names)
    everywhere = {name for name in names if BUILTINS[name][1] == "all" or strict}
    judged_only = {name for name in names if BUILTINS[name][1] == "judged" and not strict}
    checks: dict[str, Any] = {name: {"enabled": name in everywhere} for name in BUILTINS}
    checks["positive_data_acceptance"] = {"enabled": False}
    checks["use_after_free"] = {"enabled": False}
    checks["missing_required_header"] = {"enabled": False}
    checks["object_level_authorization"] = {"enabled": False}
    checks["allow_header_conformance"] = {"enabled": "unsupported_method" in everywhere}
    chosen = set(phases)
    data: dict[str, Any] = {
        "base-url": base_url,
        # As the scheme's bearer (not a bare header): `ignored_auth` then knows the credentials
        # are explicit and probes each operation without them and with garbage.
        "auth": {"openapi": {SECURITY_SCHEME: {"bearer": token}}},
        "workers": workers,
        "request-timeout": timeout,
        # Never follow a redirect: the answer is judged, and the token stays with the target's host.
        "max-redirects": 0,
        "generation": {"max-examples": max_examples, "mode": "all", "database": "none"},
        "checks": checks,
        "phases": {
            "examples": {"enabled": "examples" in chosen},
            "coverage": {"enabled": "coverage" in chosen},
            "fuzzing": {"enabled": "fuzzing" in chosen},
            "stateful": {"enabled": "stateful" in chosen, "max-steps": DEFAULT_STATEFUL_STEPS},
        },
        "suppress-health-check": ["all"],
    }
    if seed is not None:
        data["seed"] = seed
    if judged_only:
        enabled = {name: {"enabled": True} for name in judged_only}
        data["operations"] = [{"include-operation-id": _judged_operation_ids(), "checks": enabled}]
    return data


def _mask(text: str, token: str) -> str:
    """Take the token out of a code sample: `Authorization: Bearer $VEVENTS_TOKEN` (Schemathesis filters it)."""
    header = f'"Authorization: Bearer ${TOKEN_ENV["main"]}"'
    text = re.sub(rf"'Authorization: (\[Filtered\]|Bearer {re.escape(token)})'", lambda _: header, text)
    # Only whole tokens: a short test token ("x") must not be cut out of ordinary words.
    standalone = rf"(?<![\w.~+/=-]){re.escape(token)}(?![\w.~+/=-])"
    return re.sub(standalone, lambda _: f"${TOKEN_ENV['main']}", text)


def run_schemathesis(
    *,
    target: Target,
    names: Iterable[str],
    strict: bool = False,
    phases: Iterable[str] = PHASES,
    max_examples: int = DEFAULT_MAX_EXAMPLES,
    seed: int | None = None,
    max_time: float | None = None,
    exclude_create: bool = False,
    on_progress: Callable[[str], None] | None = None,
) -> SchemathesisRun:
    """Run the chosen built-ins over every operation; never raises for what the target does.

    Every request goes through the target's guard (`_requests.GuardedAdapter`): same host only,
    bounded size and time, 429/503 waited out, creates drawn from the event budget. A throttled
    answer the retries could not get past is never judged (`filter_failure`).
    """
    import schemathesis

    from ._hypothesis import shared_source_caches
    from ._requests import GuardedAdapter
    from ._schemathesis import engine_for, sessions_with_adapter

    token = target.tokens["main"]
    names = [name for name in names if name in BUILTINS]
    results = {name: BuiltinResult(name=name) for name in names}
    run = SchemathesisRun(results=results)
    if not names:
        return run
    gate = PhaseGate(max_time=max_time)
    chosen = [phase for phase in PHASES if phase in set(phases)]
    # The stateful phase first: it is the one that reaches cancel and get on events it created,
    # so it gets the events left in the budget and the first half of the time share.
    passes = [
        group
        for group in (["stateful"] if "stateful" in chosen else [], [phase for phase in chosen if phase != "stateful"])
        if group
    ]
    with sessions_with_adapter(lambda: GuardedAdapter(target, gate)), _hypothesis_home(), shared_source_caches():
        for index, group in enumerate(passes):
            gate.begin_pass(last=index == len(passes) - 1)
            config = schemathesis.Config.from_dict(
                _config(
                    base_url=target.base_url,
                    token=token,
                    names=names,
                    strict=strict,
                    phases=group,
                    max_examples=max_examples,
                    seed=seed,
                    timeout=target.timeout,
                )
            )
            unknown = f"{uuid.uuid4()}@{uuid.uuid4()}"
            schema = schemathesis.openapi.from_dict(
                _spec_for_run(unknown, exclude_create=exclude_create, real_ids=real_event_ids(target)), config=config
            )
            schema.config.update(base_url=target.base_url)
            schema.hook(_unjudged_throttling(run))
            _execute(engine_for(schema), run, gate, token, on_progress)
    run.skipped_for_time, run.skipped_for_budget = gate.skipped_for_time, gate.skipped_for_budget
    return run


def _unjudged_throttling(run: SchemathesisRun) -> Callable[..., bool]:
    def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
        # 429 (and 503 that says when to come back) is Graph's throttling: never a violation by itself.
        throttled = response.status_code == 429 or (
            response.status_code == 503 and retry_after_seconds(_header(response, "retry-after")) is not None
        )
        if throttled:
            run.throttled_unjudged += 1
        return not throttled

    return filter_failure


# What the guard says when it skips a case (budget or time): a choice of the run, not a problem of it.
_OUR_SKIPS = ("--max-events", "--max-schemathesis-time")


def _execute(
    engine: Any, run: SchemathesisRun, gate: Any, token: str, on_progress: Callable[[str], None] | None
) -> None:
    from ._schemathesis import engine_events

    st_events = engine_events()
    events = engine.execute()
    stopping = False
    for event in events:
        if gate.time_is_over() and not stopping:
            # Stop drawing cases too, not only sending them: a skipped case still costs the CPU to draw.
            # The engine's next event is its last (with the failures found so far).
            stopping = run.stopped_for_time = True
            events.stop()
        if isinstance(event, st_events.PhaseStarted):
            gate.phase = str(event.phase.name.value)
        elif isinstance(event, st_events.ScenarioFinished):
            run.scenarios += 1
            _collect(run.results, event.recorder, token)
            if on_progress is not None:
                on_progress(f"schemathesis {event.phase.value}: {run.scenarios} scenarios")
        elif isinstance(event, st_events.NonFatalError):
            text = f"{event.label}: {event.info.title}: {event.info.message}".strip()
            if not any(marker in text for marker in _OUR_SKIPS):
                run.errors.append(text)
        elif isinstance(event, st_events.FatalError):
            run.errors.append(f"Schemathesis stopped: {event.exception}")
        elif isinstance(event, st_events.EngineFinished):
            for failure in event.failures:
                for name in failure.checks:
                    _add_failure(run.results, name, failure, "", token)


@contextlib.contextmanager
def _hypothesis_home() -> Iterator[None]:
    """Hypothesis keeps caches in `./.hypothesis` unless told otherwise: not in the user's working directory."""
    if os.environ.get(_HYPOTHESIS_HOME):
        yield
        return
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    os.environ[_HYPOTHESIS_HOME] = os.path.join(cache, "vevents", "hypothesis")
    try:
        yield
    finally:
        os.environ.pop(_HYPOTHESIS_HOME, None)


def _header(response: Any, name: str) -> str | None:
    value = response.headers.get(name)
    if isinstance(value, list):
        return value[0] if value else None
    return value  # type: ignore[no-any-return]


def _collect(results: Mapping[str, BuiltinResult], recorder: Any, token: str) -> None:
    from ._schemathesis import status_enum

    Status = status_enum()

    for case_id, nodes in recorder.checks.items():
        interaction = recorder.interactions.get(case_id)
        response = interaction.response if interaction is not None else None
        for node in nodes:
            result = results.get(node.name)
            if result is None:
                continue
            if node.status == Status.SUCCESS:
                result.passed += 1
                result.event_bodies += response is not None and _is_event_body(response.status_code, response.content)
            elif node.status == Status.FAILURE and node.failure_info is not None:
                info = node.failure_info
                _add_failure(results, node.name, info.failure, info.code_sample, token)
            elif node.status == Status.ERROR:
                result.errors += 1


_EVENT_TYPES = frozenset(contract().odata_types.values())


def _is_event_body(status: int, content: bytes) -> bool:
    """A 200 answer whose body is one event of either kind (not an error, not a list)."""
    if status != 200:
        return False
    try:
        body = json.loads(content)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("@odata.type") in _EVENT_TYPES and "id" in body


_AUTH_HEADER = re.compile(r"""\s*-H\s+(['"])Authorization: [^'"]*\1""", re.IGNORECASE)


def _as_sent(code_sample: str, failure: Any) -> str:
    """The code sample with the credentials `ignored_auth` really sent: none, or an invalid token.

    Schemathesis filters the header to `[Filtered]`, which `_mask` would turn into the valid
    token: the replay would then succeed for the wrong reason and reproduce nothing.
    """
    scenario = str(getattr(failure, "scenario", ""))
    if scenario == "no_auth":
        return _AUTH_HEADER.sub("", code_sample)
    if scenario in ("invalid_auth", "generated_auth"):
        return _AUTH_HEADER.sub(f" -H 'Authorization: Bearer {GARBAGE_TOKEN}'", code_sample)
    return code_sample


def _add_failure(results: Mapping[str, BuiltinResult], name: str, failure: Any, code_sample: str, token: str) -> None:
    result = results.get(name)
    if result is None:
        return
    key = (str(failure.operation), str(failure.title))
    if key in result._seen:
        return
    result._seen.add(key)
    documented = BUILTINS[name][1] != "strict"
    result.failures.append(
        Violation(
            title=f"{failure.operation}: {failure.title}",
            message=_mask(str(failure.message), token),
            repro=tuple(_mask(_as_sent(code_sample, failure), token).splitlines()),
            documented=documented,
        )
    )
