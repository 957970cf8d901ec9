"""The runner: reach the target, hand out events, run the checks, and produce results.

It prints nothing. Progress goes to an optional callback as small event objects; reporters
(`report.py`) turn the returned `RunResult` into a table, JUnit XML or JSON.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import enum
import os
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

from .context import CANCELED, CheckContext
from .coverage import Coverage, measure
from .errors import BrokenAnswer, ConformanceError, UsageError
from .escaping import printable
from .event_pool import EventPool
from .failures import PreconditionFailed, Skip, Violation
from .framing import answer_violations, broken_answer_violation
from .planner import Plan, plan
from .registry import Check, select
from .scenarios import EventSource, parse_event_id, read_status
from .schemathesis_phase import DEFAULT_MAX_EXAMPLES, PHASES, BuiltinResult, SchemathesisRun, run_schemathesis
from .target import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_WAIT,
    DEFAULT_TIMEOUT,
    CreatedEvent,
    EventLedger,
    RetryPolicy,
    Target,
    encode_id,
)
from .tokens import Provider, TokenCommand, Tokens

__all__ = [
    "CheckConfig",
    "CheckFinished",
    "CheckResult",
    "CheckStarted",
    "Note",
    "Outcome",
    "Precondition",
    "RunResult",
    "run",
]


@dataclass(frozen=True, kw_only=True)
class CheckConfig:
    """Everything a run needs; `base_url=None` means the bundled stub (and tokens minted for it)."""

    base_url: str | None = None
    token: str | None = None
    read_only_token: str | None = None
    other_user_token: str | None = None
    token_command: str | None = None
    """A shell command printing the organizer's token (or JSON with it and its expiry); re-run before it expires."""
    read_only_token_command: str | None = None
    other_user_token_command: str | None = None
    other_tenant_token: str | None = None
    msal_tenant: str | None = None
    """The tenant (id or domain) the `--*msal-client-id` applications sign in to (client credentials)."""
    msal_authority: str | None = None
    """The authority's host instead of https://login.microsoftonline.com (a sovereign cloud, a local authority)."""
    msal_client_id: str | None = None
    msal_client_secret_env: str | None = None
    """The environment variable holding the client secret (never the secret itself: flags show in `ps`)."""
    read_only_msal_client_id: str | None = None
    read_only_msal_client_secret_env: str | None = None
    other_user_msal_client_id: str | None = None
    other_user_msal_client_secret_env: str | None = None
    event_ids: tuple[str, ...] = ()
    strict: bool = False
    checks: tuple[str, ...] = ()
    exclude_checks: tuple[str, ...] = ()
    phases: tuple[str, ...] = PHASES
    max_examples: int = DEFAULT_MAX_EXAMPLES
    seed: int | None = None
    timeout: float = DEFAULT_TIMEOUT
    settle: float = 0.0
    """Seconds a read may take to show a write (Graph is eventually consistent); 0: read once."""
    max_events: int = 25
    """The most events the run may create (they cannot be deleted: the contract has no DELETE)."""
    workers: int = 4
    """How many of the suite's own checks run at once."""
    max_retries: int = DEFAULT_MAX_RETRIES
    """Resends of one request answered 429 (or 503) with Retry-After."""
    max_retry_wait: float = DEFAULT_MAX_RETRY_WAIT
    """The run's total time waiting on Retry-After; past it, a throttled answer ends the check."""
    permanence_wait: float = 0.0
    """Seconds the end-of-run sweep waits before re-reading every canceled event once more; 0: sweep once."""
    max_schemathesis_time: float = 20.0
    """The Schemathesis phases' share of the run; the requests they would send later are skipped."""

    def __post_init__(self) -> None:
        unknown = sorted(set(self.phases) - set(PHASES))
        if unknown:
            raise UsageError(f"unknown Schemathesis phase(s): {', '.join(unknown)} (choose from {', '.join(PHASES)})")
        if self.max_examples < 1:
            raise UsageError("--max-examples must be at least 1")
        if self.timeout <= 0:
            raise UsageError("--timeout must be positive")
        if self.settle < 0:
            raise UsageError("--settle must not be negative")
        if self.permanence_wait < 0:
            raise UsageError("--permanence-wait must not be negative")
        if self.max_events < 1:
            raise UsageError("--max-events must be at least 1 (the suite works on events it creates)")
        if self.workers < 1:
            raise UsageError("--workers must be at least 1")
        if self.max_schemathesis_time <= 0:
            raise UsageError("--max-schemathesis-time must be positive (use --no-schemathesis to skip the phases)")
        if self.max_retries < 0 or self.max_retry_wait < 0:
            raise UsageError("--max-retries and --max-retry-wait must not be negative")
        for option, (token, command), (client, secret_env) in (
            ("token", (self.token, self.token_command), (self.msal_client_id, self.msal_client_secret_env)),
            (
                "read-only-token",
                (self.read_only_token, self.read_only_token_command),
                (self.read_only_msal_client_id, self.read_only_msal_client_secret_env),
            ),
            (
                "other-user-token",
                (self.other_user_token, self.other_user_token_command),
                (self.other_user_msal_client_id, self.other_user_msal_client_secret_env),
            ),
        ):
            msal_option = option.removesuffix("token") + "msal-client-id"
            if token and command:
                raise UsageError(f"give --{option} or --{option}-command, not both")
            if client and (token or command):
                raise UsageError(f"give --{option}, --{option}-command or --{msal_option}, one of them")
            if command is not None and self.base_url is None:
                raise UsageError(f"--{option}-command needs --base-url (the bundled stub mints its own tokens)")
            if client and self.base_url is None:
                raise UsageError(f"--{msal_option} needs --base-url (the bundled stub mints its own tokens)")
            if client and not self.msal_tenant:
                raise UsageError(f"--{msal_option} needs --msal-tenant")
            if client and not secret_env:
                raise UsageError(
                    f"--{msal_option} needs --{msal_option.removesuffix('id')}secret-env "
                    "(the environment variable holding its client secret)"
                )
        if self.base_url is not None and not (self.token or self.token_command or self.msal_client_id):
            raise UsageError(
                "--token is required with --base-url (delegated, VirtualEvent.ReadWrite), "
                "or --token-command, or --msal-client-id"
            )
        if self.base_url is None and self.event_ids:
            raise UsageError("--event-id needs --base-url (the bundled stub creates its own events)")

    def __repr__(self) -> str:
        shown = {name: ("***" if "token" in name and value else value) for name, value in self.__dict__.items()}
        return f"CheckConfig({', '.join(f'{name}={value!r}' for name, value in shown.items())})"


class Outcome(enum.StrEnum):
    """How a check ended. Judged: passed or failed. Not judged: error, not judged (with why), skipped.

    `NOT_JUDGED`: the check is of the chosen mode but the run could not judge it (the budget, the
    time, a route the target does not serve, a token not given); `SKIPPED`: it is not of the chosen
    mode (strict only, in default mode), so it never counts against the verdict.
    """

    PASSED = "passed"
    FAILED = "failed"
    NOT_JUDGED = "not judged"
    ERROR = "error"
    SKIPPED = "skipped"


@dataclass(slots=True)
class CheckResult:
    """The verdict of one check."""

    name: str
    description: str
    source: str
    outcome: Outcome
    violations: list[Violation] = field(default_factory=list)
    reason: str = ""
    duration: float = 0.0
    blocked_by: Violation | None = None
    """The failed precondition that left this check not judged (reported once, in `RunResult.preconditions`)."""


@dataclass(frozen=True, slots=True)
class Precondition:
    """An operation every check builds on broke: one violation, and the checks it left not judged."""

    violation: Violation
    checks: tuple[str, ...]


@dataclass(slots=True)
class RunResult:
    """The verdict of a run (see `verdict` and `exit_code`)."""

    target: str
    strict: bool
    seed: int
    results: list[CheckResult]
    duration: float = 0.0
    embedded: bool = False
    created: list[CreatedEvent] = field(default_factory=list)
    """Every event the run created, with what the cleanup at the end did to it."""
    max_events: int | None = None
    budget_refused: int = 0
    """Creates not sent because --max-events was reached (their checks or examples were skipped)."""
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    coverage: Coverage | None = None
    requests: int = 0
    cost: bool = True
    """Whether the reports show the run's cost on the target (requests, events, throttling,
    coverage): False for `vevents check-webhook`, which creates nothing."""
    schemathesis: dict[str, int | bool] = field(default_factory=dict)
    """The Schemathesis phases' counters (`SchemathesisRun.counters`); empty when they did not run."""
    narrowed: bool = False
    """The user chose the checks (--checks, --exclude-checks): a check not judged does not make the run 2."""

    @property
    def in_mode(self) -> list[CheckResult]:
        """The checks of the chosen mode (strict-only ones are not, in default mode)."""
        return [item for item in self.results if item.outcome is not Outcome.SKIPPED]

    @property
    def judged(self) -> list[CheckResult]:
        return [item for item in self.results if item.outcome in (Outcome.PASSED, Outcome.FAILED)]

    @property
    def not_judged(self) -> list[CheckResult]:
        """Checks of the mode that were not judged (errors included), each with its reason."""
        return [item for item in self.results if item.outcome in (Outcome.NOT_JUDGED, Outcome.ERROR)]

    @property
    def preconditions(self) -> list[Precondition]:
        """Each failed precondition once (by its title), with the checks it left not judged."""
        grouped: dict[str, tuple[Violation, list[str]]] = {}
        for item in self.results:
            if item.blocked_by is not None:
                grouped.setdefault(item.blocked_by.title, (item.blocked_by, []))[1].append(item.name)
        return [Precondition(violation, tuple(names)) for violation, names in grouped.values()]

    @property
    def verdict(self) -> str:
        """`not conformant` (a violation), `not judged` (a check of the mode could not be), or `conformant`."""
        if any(item.outcome is Outcome.FAILED or item.blocked_by is not None for item in self.results):
            return "not conformant"
        if any(item.outcome is Outcome.ERROR for item in self.results):
            return "not judged"
        if not self.narrowed and self.not_judged:
            return "not judged"
        return "conformant"

    @property
    def exit_code(self) -> int:
        """1: a violation; 2: not judged (a check of the mode could not be, or an error); 0: conformant."""
        return {"not conformant": 1, "not judged": 2, "conformant": 0}[self.verdict]

    def count(self, outcome: Outcome) -> int:
        return sum(item.outcome is outcome for item in self.results)

    def failed_checks(self) -> list[str]:
        return [item.name for item in self.results if item.outcome is Outcome.FAILED]


@dataclass(frozen=True, slots=True)
class CheckStarted:
    name: str
    index: int
    total: int


@dataclass(frozen=True, slots=True)
class CheckFinished:
    result: CheckResult
    index: int
    total: int


@dataclass(frozen=True, slots=True)
class Note:
    """Free-form progress, e.g. the Schemathesis phase's scenario count."""

    text: str


ProgressCallback = Callable[[object], None]


STRICT_ONLY = "strict only (run with --strict)"
# Of --max-events, what the suite's own checks leave for the Schemathesis phases.
SCHEMATHESIS_EVENTS = 2


def _budget(config: CheckConfig, embedded: bool) -> int | None:
    """The bundled stub is thrown away after the run: only a real target's events are budgeted."""
    return None if embedded else config.max_events


@contextlib.contextmanager
def _target(config: CheckConfig) -> Iterator[tuple[Target, bool]]:
    retry = RetryPolicy(max_retries=config.max_retries, max_wait=config.max_retry_wait)
    # Room for every worker plus the parallel reads of the cleanup and the final sweep: no waiting for a socket.
    connections = max(16, config.workers * 2 + 8)
    if config.base_url is not None:
        tokens = run_tokens(config)
        target = Target(
            config.base_url,
            tokens,
            timeout=config.timeout,
            retry=retry,
            ledger=EventLedger(_budget(config, False)),
            max_connections=connections,
        )
        try:
            yield target, False
        finally:
            target.close()
        return
    from .embedded import embedded_stub

    with embedded_stub() as stub:
        target = Target(
            stub.base_url,
            dict(stub.tokens),
            timeout=config.timeout,
            retry=retry,
            ledger=EventLedger(_budget(config, True)),
            max_connections=connections,
        )
        try:
            yield target, True
        finally:
            target.close()


def _msal_provider(config: CheckConfig, role: str, client_id: str, secret_env: str) -> Provider:
    from .msal_tokens import MsalClientCredentials, graph_scope

    secret = os.environ.get(secret_env)
    if not secret:
        caller = role.replace("_", "-")
        raise UsageError(f"the environment variable {secret_env} (the {caller} client secret) is not set")
    return MsalClientCredentials(
        role=role,
        tenant=config.msal_tenant or "",
        client_id=client_id,
        client_secret=secret,
        scope=graph_scope(config.base_url or ""),
        authority_host=config.msal_authority,
    )


def run_tokens(config: CheckConfig) -> Mapping[str, str]:
    """Role -> token for a run against `--base-url`: as given, or from token commands or MSAL (renewed)."""
    static: dict[str, str] = {}
    providers: dict[str, Provider] = {}
    for role, token, command, client_id, secret_env in (
        ("main", config.token, config.token_command, config.msal_client_id, config.msal_client_secret_env),
        (
            "read_only",
            config.read_only_token,
            config.read_only_token_command,
            config.read_only_msal_client_id,
            config.read_only_msal_client_secret_env,
        ),
        (
            "other_user",
            config.other_user_token,
            config.other_user_token_command,
            config.other_user_msal_client_id,
            config.other_user_msal_client_secret_env,
        ),
        ("other_tenant", config.other_tenant_token, None, None, None),
    ):
        if token:
            static[role] = token
        elif command:
            providers[role] = TokenCommand(command, role=role)
        elif client_id:
            providers[role] = _msal_provider(config, role, client_id, secret_env or "")
    if not providers:
        return static
    tokens = Tokens(static, providers)
    for role in providers:
        tokens[role]
    return tokens


class _Serialized:
    """The progress callback, called from one worker at a time."""

    def __init__(self, notify: ProgressCallback) -> None:
        self._notify = notify
        self._lock = threading.Lock()

    def __call__(self, event: object) -> None:
        with self._lock:
            self._notify(event)


def run(config: CheckConfig, *, on_progress: ProgressCallback | None = None) -> RunResult:
    """Run the chosen checks against the target; raises `ConformanceError` if it cannot judge it at all."""
    notify = _Serialized(on_progress or (lambda event: None))
    chosen = select(config.checks, config.exclude_checks)
    if not chosen:
        raise UsageError("no check selected")
    given = [parse_event_id(value) for value in config.event_ids] or None
    the_plan = plan(item for item in chosen if item.source == "vevents" and (config.strict or not item.strict_only))
    if config.base_url is not None and given is None and config.max_events < the_plan.total:
        raise UsageError(
            f"--max-events {config.max_events} is too low: the chosen checks need {the_plan.total} events "
            f"(pass --max-events {the_plan.total} or more, or choose fewer checks)"
        )
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
    started = time.monotonic()
    with _target(config) as (target, embedded):
        notify(Note(f"target {target.base_url}{' (bundled stub)' if embedded else ''}"))
        if any(item.source == "schemathesis" for item in chosen) and target.ledger.max_events is not None:
            # The planned checks' events first; the stateful phase gets a few of what the plan leaves.
            target.keep_events = max(0, min(SCHEMATHESIS_EVENTS, target.ledger.max_events - the_plan.total))
        try:
            events = EventSource(target, given, settle=config.settle)
            counters: dict[str, int | bool] = {}
            broken: Violation | None = None
            try:
                events.probe()
            except PreconditionFailed as failed:
                broken = failed.violation
            ctx = CheckContext(
                target=target,
                events=events,
                strict=config.strict,
                rng=random.Random(seed),
                extra_tokens=frozenset(set(target.tokens) - {"main"}),
                settle=config.settle,
                permanence_wait=config.permanence_wait,
                pool=EventPool(events),
            )
            # The first create already broke: one violation. The checks that need events are not
            # judged (listed under it); the others (unknown ids, error answers, Schemathesis
            # without creates) still judge what they can.
            runnable = [item for item in chosen if broken is None or item.source == "schemathesis" or not item.needs]
            results = _run_all(
                runnable,
                ctx,
                config,
                seed,
                notify,
                the_plan,
                counters,
                exclude_create=given is not None or broken is not None,
            )
            if broken is not None:
                ran = {item.name: item for item in results}
                results = [ran.get(item.name) or _blocked(item, broken, config.strict) for item in chosen]
        finally:
            # Whatever happened, the events the run made are canceled (the only tombstone the contract has).
            if target.ledger.created:
                notify(Note(f"canceling the {len(target.ledger.created)} event(s) the run created"))
                _cancel_created(target, config.workers)
        coverage = measure(target.exchanges, target.ledger.created, tokens=target.tokens)
    return RunResult(
        target=target.base_url,
        strict=config.strict,
        seed=seed,
        results=results,
        duration=time.monotonic() - started,
        embedded=embedded,
        created=list(target.ledger.created),
        max_events=target.ledger.max_events,
        budget_refused=target.ledger.refused,
        retry=target.retry,
        coverage=coverage,
        requests=len(target.exchanges),
        narrowed=bool(config.checks or config.exclude_checks),
        schemathesis=counters,
    )


def _cancel_created(target: Target, workers: int) -> None:
    """Read every event the run created and cancel those not canceled yet; record what happened."""
    from vevents.spec import contract

    def settle(event: CreatedEvent) -> None:
        try:
            get = contract().find(action="get", kind=event.kind)
            status = read_status(target.call(get.method, get.url_path(encode_id(event.id)), base_url=event.base_url))
            if status == CANCELED:
                event.final_status, event.cleanup = status, "already canceled"
                return
            cancel = contract().find(action="cancel", kind=event.kind)
            answer = target.call(cancel.method, cancel.url_path(encode_id(event.id)), base_url=event.base_url)
            if answer.is_success:
                event.final_status, event.cleanup = CANCELED, "canceled"
            else:
                event.final_status, event.cleanup = status, f"cancel answered {answer.status}; left {status}"
        except ConformanceError as exc:
            event.cleanup = f"could not cancel: {exc}"

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(settle, list(target.ledger.created)))


def _run_all(
    chosen: list[Check],
    ctx: CheckContext,
    config: CheckConfig,
    seed: int,
    notify: ProgressCallback,
    the_plan: Plan,
    counters: dict[str, int | bool],
    *,
    exclude_create: bool,
) -> list[CheckResult]:
    """Run the checks; the Schemathesis phases' counters go into `counters`."""
    total = len(chosen)
    by_name: dict[str, CheckResult] = {}
    builtins = [item for item in chosen if item.source == "schemathesis" and (config.strict or not item.strict_only)]
    own = [(index, item) for index, item in enumerate(chosen, 1) if item.source != "schemathesis" and not item.final]
    # The checks that offer canceled events start first: the ones asking for a shared canceled
    # event wait for theirs instead of creating one (the plan counts on it).
    own.sort(key=lambda entry: entry[1].name not in the_plan.providers)
    # Forked here, in order, so that a seed gives every check the same random ids whatever the workers do.
    contexts = [ctx.fork() for _ in own]

    def one(index: int, item: Check, context: CheckContext) -> CheckResult:
        notify(CheckStarted(item.name, index, total))
        try:
            result = _run_one(item, context)
        finally:
            ctx.pool.adopted(the_plan.providers.get(item.name, frozenset()))
        notify(CheckFinished(result, index, total))
        return result

    for _, item in own:
        ctx.pool.will_adopt(the_plan.providers.get(item.name, frozenset()))
    with concurrent.futures.ThreadPoolExecutor(max_workers=config.workers) as pool:
        futures = {
            pool.submit(one, index, item, context): item for (index, item), context in zip(own, contexts, strict=True)
        }
        for future, item in futures.items():
            by_name[item.name] = future.result()
    if builtins:
        notify(CheckStarted("schemathesis", total - len(builtins) + 1, total))
        phase_started = time.monotonic()
        try:
            phase = run_schemathesis(
                target=ctx.target,
                names=[item.name for item in builtins],
                strict=config.strict,
                phases=config.phases,
                max_examples=config.max_examples,
                seed=seed,
                max_time=config.max_schemathesis_time,
                exclude_create=exclude_create,
                on_progress=lambda text: notify(Note(text)),
            )
        except Exception as exc:  # a crash of the tool must not hide the other checks' verdicts
            phase = SchemathesisRun(
                results={item.name: BuiltinResult(name=item.name) for item in builtins},
                errors=[f"Schemathesis crashed: {type(exc).__name__}: {exc}"],
            )
        elapsed = time.monotonic() - phase_started
        counters.update(phase.counters())
        for item in builtins:
            by_name[item.name] = _builtin_result(item, phase, elapsed / len(builtins), config.max_schemathesis_time)
    # Checks that look back over the whole run (the permanence sweep) come last.
    for index, item in enumerate(chosen, 1):
        if item.final:
            notify(CheckStarted(item.name, index, total))
            by_name[item.name] = _run_one(item, ctx.fork())
            notify(CheckFinished(by_name[item.name], index, total))
    results = []
    for index, item in enumerate(chosen, 1):
        result = by_name.get(item.name) or CheckResult(
            name=item.name,
            description=item.description,
            source=item.source,
            outcome=Outcome.SKIPPED,
            reason=STRICT_ONLY,
        )
        if item.source == "schemathesis":
            notify(CheckFinished(result, index, total))
        results.append(result)
    return results


def _run_one(item: Check, ctx: CheckContext) -> CheckResult:
    result = CheckResult(name=item.name, description=item.description, source=item.source, outcome=Outcome.PASSED)
    if item.strict_only and not ctx.strict:
        result.outcome, result.reason = Outcome.SKIPPED, STRICT_ONLY
        return result
    started = time.monotonic()
    ctx.begin()
    assert item.function is not None
    try:
        with ctx.target.recording(ctx.sent):
            item.function(ctx)
    except Violation as violation:
        result.violations.append(violation)
    except Skip as skip:
        result.outcome, result.reason = Outcome.NOT_JUDGED, str(skip)
    except BrokenAnswer as exc:
        # The target answered, but not in HTTP: a finding of the operation, not a run that cannot judge.
        result.violations.append(broken_answer_violation(exc))
    except PreconditionFailed as broken:
        result.outcome, result.reason = Outcome.NOT_JUDGED, f"precondition failed: {broken.violation.title}"
        result.blocked_by = broken.violation
    except ConformanceError as exc:
        result.outcome, result.reason = Outcome.ERROR, printable(str(exc))
    except Exception as exc:  # a bug in the suite must not hide the other checks' verdicts
        result.outcome, result.reason = Outcome.ERROR, f"the check crashed: {type(exc).__name__}: {exc}"
    finally:
        ctx.finish()
    result.violations = [*ctx.findings, *result.violations, *answer_violations(ctx.sent)]
    if result.violations:
        result.outcome = Outcome.FAILED
    result.duration = time.monotonic() - started
    return result


def _blocked(item: Check, violation: Violation, strict: bool) -> CheckResult:
    if item.strict_only and not strict:
        return CheckResult(item.name, item.description, item.source, Outcome.SKIPPED, reason=STRICT_ONLY)
    return CheckResult(
        name=item.name,
        description=item.description,
        source=item.source,
        outcome=Outcome.NOT_JUDGED,
        reason=f"precondition failed: {violation.title}",
        blocked_by=violation,
    )


def _builtin_result(item: Check, phase: SchemathesisRun, duration: float, max_time: float) -> CheckResult:
    data = phase.results[item.name]
    result = CheckResult(
        name=item.name, description=item.description, source=item.source, outcome=Outcome.PASSED, duration=duration
    )
    if data.failures:
        result.outcome, result.violations = Outcome.FAILED, list(data.failures)
    elif data.passed == 0 and phase.errors:
        result.outcome, result.reason = Outcome.ERROR, printable(phase.errors[0])
    elif data.passed == 0 and phase.stopped_for_time:
        result.outcome = Outcome.NOT_JUDGED
        result.reason = (
            f"the Schemathesis share (--max-schemathesis-time {max_time:g}) was over before it judged an answer"
        )
    elif data.passed == 0:
        result.outcome, result.reason = Outcome.NOT_JUDGED, "no request it applies to"
    else:
        result.reason = f"{data.passed} responses judged"
        if item.name == "response_schema_conformance":
            result.reason += f" ({data.event_bodies} of them events, 200)"
    return result
