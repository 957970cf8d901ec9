"""The runner: reach the target, hand out events, run the checks, and produce results.

It prints nothing. Progress goes to an optional callback as small event objects; reporters
(`report.py`) turn the returned `RunResult` into a table, JUnit XML or JSON.
"""

from __future__ import annotations

import contextlib
import enum
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from .context import CheckContext
from .errors import ConformanceError, TargetUnreachable, UsageError
from .failures import Skip, Violation
from .registry import Check, select
from .scenarios import EventSource, parse_event_id
from .schemathesis_phase import DEFAULT_MAX_EXAMPLES, PHASES, BuiltinResult, SchemathesisRun, run_schemathesis
from .target import DEFAULT_TIMEOUT, Target

__all__ = [
    "CheckConfig",
    "CheckFinished",
    "CheckResult",
    "CheckStarted",
    "Note",
    "Outcome",
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
    max_retries: int = 4
    """Resends of one request answered 429 (or 503) with Retry-After."""
    max_retry_wait: float = 60.0
    """The run's total time waiting on Retry-After; past it, a throttled answer ends the check."""
    permanence_wait: float = 0.0
    """Seconds the end-of-run sweep waits before re-reading every canceled event once more; 0: sweep once."""

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
        if self.max_retries < 0 or self.max_retry_wait < 0:
            raise UsageError("--max-retries and --max-retry-wait must not be negative")
        if self.base_url is not None and not self.token:
            raise UsageError("--token is required with --base-url (a delegated token with VirtualEvent.ReadWrite)")
        if self.base_url is None and self.event_ids:
            raise UsageError("--event-id needs --base-url (the bundled stub creates its own events)")

    def __repr__(self) -> str:
        shown = {name: ("***" if "token" in name and value else value) for name, value in self.__dict__.items()}
        return f"CheckConfig({', '.join(f'{name}={value!r}' for name, value in shown.items())})"


class Outcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"
    ERROR = "error"


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


@dataclass(slots=True)
class RunResult:
    """The verdict of a run; `exit_code` is 1 if anything failed, else 2 if a check could not run, else 0."""

    target: str
    strict: bool
    seed: int
    results: list[CheckResult]
    duration: float = 0.0
    embedded: bool = False

    @property
    def exit_code(self) -> int:
        if any(item.outcome is Outcome.FAILED for item in self.results):
            return 1
        if any(item.outcome is Outcome.ERROR for item in self.results):
            return 2
        return 0

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


@contextlib.contextmanager
def _target(config: CheckConfig) -> Iterator[tuple[Target, bool]]:
    if config.base_url is not None:
        tokens = {"main": config.token or ""}
        if config.read_only_token:
            tokens["read_only"] = config.read_only_token
        if config.other_user_token:
            tokens["other_user"] = config.other_user_token
        target = Target(config.base_url, tokens, timeout=config.timeout)
        try:
            yield target, False
        finally:
            target.close()
        return
    from .embedded import embedded_stub

    with embedded_stub() as stub:
        target = Target(stub.base_url, dict(stub.tokens), timeout=config.timeout)
        try:
            yield target, True
        finally:
            target.close()


def run(config: CheckConfig, *, on_progress: ProgressCallback | None = None) -> RunResult:
    """Run the chosen checks against the target; raises `ConformanceError` if it cannot judge it at all."""
    notify = on_progress or (lambda event: None)
    chosen = select(config.checks, config.exclude_checks)
    if not chosen:
        raise UsageError("no check selected")
    given = [parse_event_id(value) for value in config.event_ids] or None
    seed = config.seed if config.seed is not None else random.SystemRandom().randrange(2**31)
    started = time.monotonic()
    with _target(config) as (target, embedded):
        notify(Note(f"target {target.base_url}{' (bundled stub)' if embedded else ''}"))
        events = EventSource(target, given, settle=config.settle)
        events.probe()
        ctx = CheckContext(
            target=target,
            events=events,
            strict=config.strict,
            rng=random.Random(seed),
            extra_tokens=frozenset(set(target.tokens) - {"main"}),
            settle=config.settle,
            permanence_wait=config.permanence_wait,
        )
        results = _run_all(chosen, ctx, config, seed, notify, exclude_create=given is not None)
    return RunResult(
        target=target.base_url,
        strict=config.strict,
        seed=seed,
        results=results,
        duration=time.monotonic() - started,
        embedded=embedded,
    )


def _run_all(
    chosen: list[Check],
    ctx: CheckContext,
    config: CheckConfig,
    seed: int,
    notify: ProgressCallback,
    *,
    exclude_create: bool,
) -> list[CheckResult]:
    total = len(chosen)
    by_name: dict[str, CheckResult] = {}
    builtins = [item for item in chosen if item.source == "schemathesis" and (config.strict or not item.strict_only)]
    for index, item in enumerate(chosen, 1):
        if item.source == "schemathesis" or item.final:
            continue
        notify(CheckStarted(item.name, index, total))
        result = _run_one(item, ctx)
        by_name[item.name] = result
        notify(CheckFinished(result, index, total))
    if builtins:
        notify(CheckStarted("schemathesis", total - len(builtins) + 1, total))
        phase_started = time.monotonic()
        try:
            phase = run_schemathesis(
                base_url=ctx.target.base_url,
                token=ctx.target.tokens["main"],
                names=[item.name for item in builtins],
                strict=config.strict,
                phases=config.phases,
                max_examples=config.max_examples,
                seed=seed,
                timeout=config.timeout,
                exclude_create=exclude_create,
                on_progress=lambda text: notify(Note(text)),
            )
        except Exception as exc:  # a crash of the tool must not hide the other checks' verdicts
            phase = SchemathesisRun(
                results={item.name: BuiltinResult(name=item.name) for item in builtins},
                errors=[f"Schemathesis crashed: {type(exc).__name__}: {exc}"],
            )
        elapsed = time.monotonic() - phase_started
        for item in builtins:
            by_name[item.name] = _builtin_result(item, phase, elapsed / len(builtins))
    # Checks that look back over the whole run (the permanence sweep) come last.
    for index, item in enumerate(chosen, 1):
        if item.final:
            notify(CheckStarted(item.name, index, total))
            by_name[item.name] = _run_one(item, ctx)
            notify(CheckFinished(by_name[item.name], index, total))
    results = []
    for index, item in enumerate(chosen, 1):
        result = by_name.get(item.name) or CheckResult(
            name=item.name, description=item.description, source=item.source,
            outcome=Outcome.SKIPPED, reason="strict only (run with --strict)",
        )
        if item.source == "schemathesis":
            notify(CheckFinished(result, index, total))
        results.append(result)
    return results


def _run_one(item: Check, ctx: CheckContext) -> CheckResult:
    result = CheckResult(name=item.name, description=item.description, source=item.source, outcome=Outcome.PASSED)
    if item.strict_only and not ctx.strict:
        result.outcome, result.reason = Outcome.SKIPPED, "strict only (run with --strict)"
        return result
    started = time.monotonic()
    ctx.begin()
    assert item.function is not None
    try:
        item.function(ctx)
    except Violation as violation:
        result.violations.append(violation)
    except Skip as skip:
        result.outcome, result.reason = Outcome.SKIPPED, str(skip)
    except TargetUnreachable as exc:
        result.outcome, result.reason = Outcome.ERROR, str(exc)
    except ConformanceError as exc:
        result.outcome, result.reason = Outcome.ERROR, f"could not set up: {exc}"
    except Exception as exc:  # a bug in the suite must not hide the other checks' verdicts
        result.outcome, result.reason = Outcome.ERROR, f"the check crashed: {type(exc).__name__}: {exc}"
    result.violations = [*ctx.findings, *result.violations]
    if result.violations:
        result.outcome = Outcome.FAILED
    result.duration = time.monotonic() - started
    return result


def _builtin_result(item: Check, phase: SchemathesisRun, duration: float) -> CheckResult:
    data = phase.results[item.name]
    result = CheckResult(
        name=item.name, description=item.description, source=item.source, outcome=Outcome.PASSED, duration=duration
    )
    if data.failures:
        result.outcome, result.violations = Outcome.FAILED, list(data.failures)
    elif data.passed == 0 and phase.errors:
        result.outcome, result.reason = Outcome.ERROR, phase.errors[0]
    elif data.passed == 0:
        result.outcome, result.reason = Outcome.SKIPPED, "no request it applies to"
    else:
        result.reason = f"{data.passed} responses judged"
    return result
