"""Fault rules: make Graph routes fail the way Graph fails, exactly when a test says so.

A rule has an action (what happens), a match (which requests), and a trigger (which of the
matching requests): every one, the next `times`, every `every`-th, or each with
`probability` from a generator seeded with `seed` (so a run can be repeated exactly).

The same rule is written as JSON (the control API, camelCase) or on the command line
(`vevents serve --fault`), e.g.

    throttle:cancelWebinar:times=2:retry-after=1
    unavailable:method=POST:every=3
    gatewayTimeout:kind=townhalls:probability=0.2:seed=7
    delay:getWebinar:ms=250
    drop:event=bce9a3ca-a310-48fa-baf3-1cedcd04bb3f@4aa05bcc-1cac-4a83-a9ae-0db84b88f4ba:times=1
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vevents.server.control.requests import RequestInfo, canonical_event_id

if TYPE_CHECKING:
    from vevents.server.errors import GraphError

__all__ = ["ACTIONS", "RULE_SYNTAX", "FaultRule", "Faults", "Match", "parse_rule", "rule_from_json"]

ACTIONS = ("throttle", "unavailable", "gatewayTimeout", "delay", "drop")
METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS")
MAX_RETRY_AFTER_SECONDS = 3600
MAX_DELAY_MS = 60_000
MAX_RULES = 1000
"""More rules than any test needs; a bound so that a runaway loop cannot grow the stub."""
_ALIASES = {"gateway-timeout": "gatewayTimeout", "gatewaytimeout": "gatewayTimeout", "timeout": "gatewayTimeout"}

RULE_SYNTAX = """\
ACTION[:OPERATION_ID][:KEY=VALUE]...
  ACTION       throttle (429 TooManyRequests + Retry-After), unavailable (503
               serviceNotAvailable + Retry-After), gatewayTimeout (504), delay, drop
  OPERATION_ID an operationId of the Graph contract, e.g. cancelWebinar (default: any)
  KEY=VALUE    method=POST  kind=webinars|townhalls|events  event=<guid>@<tenant>
               times=N (next N matching requests)  every=N (every N-th)
               probability=P seed=S (each with probability P, seeded)
               retry-after=SECONDS (default 1)  ms=MILLISECONDS (delay)"""


@dataclass(frozen=True, slots=True)
class Match:
    """Which requests a rule applies to; None matches anything."""

    operation_id: str | None = None
    method: str | None = None
    kind: str | None = None
    event_id: str | None = None

    def __call__(self, request: RequestInfo) -> bool:
        return (
            (self.method is None or self.method == request.method)
            and (self.operation_id is None or self.operation_id == request.operation_id)
            and (self.kind is None or self.kind == request.kind)
            and (self.event_id is None or self.event_id == request.event_id)
        )

    def to_json(self) -> dict[str, str | None]:
        return {"operationId": self.operation_id, "method": self.method, "kind": self.kind, "eventId": self.event_id}


@dataclass(slots=True, eq=False)
class FaultRule:
    """One rule and its counters (`matched`, `fired`)."""

    id: int
    action: str
    match: Match = field(default_factory=Match)
    retry_after_seconds: int = 1
    delay_ms: int = 0
    times: int | None = None
    every: int | None = None
    probability: float | None = None
    seed: int | None = None
    matched: int = 0
    fired: int = 0
    _random: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed or 0)

    def fires(self) -> bool:
        """Count one matching request; whether the rule fires on it."""
        self.matched += 1
        if self.times is not None:
            fire = self.fired < self.times
        elif self.every is not None:
            fire = self.matched % self.every == 0
        elif self.probability is not None:
            fire = self._random.random() < self.probability
        else:
            fire = True
        if fire:
            self.fired += 1
        return fire

    def error(self) -> GraphError | None:
        """The Graph error this rule answers with (None: delay and drop answer none)."""
        # Imported here: `vevents serve --fault` parses rules before the server (and
        # Connexion, which `errors` imports) is loaded.
        from vevents.server.errors import GraphError

        retry_after = {"Retry-After": str(self.retry_after_seconds)}
        if self.action == "throttle":
            return GraphError(
                429,
                "Too many requests have been sent; retry after the time in Retry-After.",
                code="TooManyRequests",
                headers=retry_after,
            )
        if self.action == "unavailable":
            return GraphError(
                503,
                "The service is temporarily unavailable; retry after the time in Retry-After.",
                code="serviceNotAvailable",
                headers=retry_after,
            )
        if self.action == "gatewayTimeout":
            return GraphError(504, "The gateway did not receive a response in time.", code="gatewayTimeout")
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "action": self.action,
            "retryAfterSeconds": self.retry_after_seconds,
            "delayMs": self.delay_ms,
            "match": self.match.to_json(),
            "times": self.times,
            "every": self.every,
            "probability": self.probability,
            "seed": self.seed,
            "matched": self.matched,
            "fired": self.fired,
        }


class Faults:
    """The rules, in the order they are tried. Safe to use from several threads."""

    def __init__(self, operation_ids: Iterable[str], kinds: Iterable[str]) -> None:
        self.operation_ids = frozenset(operation_ids)
        self.kinds = frozenset(kinds)
        self._rules: list[FaultRule] = []
        self._next_id = 1
        self._lock = threading.Lock()
        self.active = False
        """Whether any rule is set: the one check a request pays when none is."""

    def add(self, spec: Mapping[str, Any]) -> FaultRule:
        """Add the rule `spec` describes (the control API's JSON); ValueError if it is not valid."""
        with self._lock:
            if len(self._rules) >= MAX_RULES:
                raise ValueError(f"There are already {MAX_RULES} fault rules; remove some first.")
            rule = rule_from_json(spec, self._next_id, self.operation_ids, self.kinds)
            self._next_id += 1
            self._rules.append(rule)
            self.active = True
            return rule

    def remove(self, rule_id: int) -> bool:
        with self._lock:
            before = len(self._rules)
            self._rules = [r for r in self._rules if r.id != rule_id]
            self.active = bool(self._rules)
            return len(self._rules) != before

    def clear(self) -> None:
        with self._lock:
            self._rules = []
            self.active = False

    def get(self, rule_id: int) -> FaultRule | None:
        with self._lock:
            return next((r for r in self._rules if r.id == rule_id), None)

    def rules(self) -> list[FaultRule]:
        with self._lock:
            return list(self._rules)

    def pick(self, request: RequestInfo) -> FaultRule | None:
        """The first rule that matches `request` and fires on it (rules after it do not see the request)."""
        with self._lock:
            for rule in self._rules:
                if rule.match(request) and rule.fires():
                    return rule
        return None


def _int(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"'{name}' must be an integer.")
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ValueError(f"'{name}' must be {bound}, not {value}.")
    return value


def _optional_str(match: Mapping[str, Any], name: str) -> str | None:
    value = match.get(name)
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError(f"'match.{name}' must be a non-empty string.")
    return value


def rule_from_json(
    spec: Mapping[str, Any], rule_id: int, operation_ids: frozenset[str], kinds: frozenset[str]
) -> FaultRule:
    """A rule from the control API's JSON, every member checked (the spec checks types first)."""
    known = {"action", "retryAfterSeconds", "delayMs", "match", "times", "every", "probability", "seed"}
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"Unknown member '{unknown[0]}' in the fault rule.")
    action = spec.get("action")
    if action not in ACTIONS:
        raise ValueError(f"'action' must be one of {', '.join(ACTIONS)}.")
    match = spec.get("match") or {}
    if not isinstance(match, Mapping):
        raise ValueError("'match' must be an object.")
    unknown = sorted(set(match) - {"operationId", "method", "kind", "eventId"})
    if unknown:
        raise ValueError(f"Unknown member 'match.{unknown[0]}' in the fault rule.")
    operation_id = _optional_str(match, "operationId")
    if operation_id is not None and operation_id not in operation_ids:
        raise ValueError(f"'{operation_id}' is not an operationId of the Graph contract.")
    method = _optional_str(match, "method")
    if method is not None:
        method = method.upper()
        if method not in METHODS:
            raise ValueError(f"'match.method' must be one of {', '.join(METHODS)}.")
    kind = _optional_str(match, "kind")
    if kind is not None and kind not in kinds:
        raise ValueError(f"'match.kind' must be one of {', '.join(sorted(kinds))}.")
    event_id = _optional_str(match, "eventId")
    triggers = [name for name in ("times", "every", "probability") if spec.get(name) is not None]
    if len(triggers) > 1:
        raise ValueError(f"Give at most one of 'times', 'every' and 'probability', not {' and '.join(triggers)}.")
    probability = spec.get("probability")
    if probability is not None and (
        isinstance(probability, bool) or not isinstance(probability, int | float) or not 0 <= probability <= 1
    ):
        raise ValueError("'probability' must be a number between 0 and 1.")
    seed = spec.get("seed")
    if seed is not None:
        _int("seed", seed, -(2**63), 2**63 - 1)
    return FaultRule(
        id=rule_id,
        action=action,
        match=Match(operation_id, method, kind, canonical_event_id(event_id)),
        retry_after_seconds=_int("retryAfterSeconds", spec.get("retryAfterSeconds", 1), 0, MAX_RETRY_AFTER_SECONDS),
        delay_ms=_int("delayMs", spec.get("delayMs", 0), 0, MAX_DELAY_MS),
        times=_int("times", spec["times"], 1) if spec.get("times") is not None else None,
        every=_int("every", spec["every"], 1) if spec.get("every") is not None else None,
        probability=float(probability) if probability is not None else None,
        seed=seed,
    )


_KEYS = {
    "op": ("match", "operationId"),
    "operation": ("match", "operationId"),
    "operationid": ("match", "operationId"),
    "method": ("match", "method"),
    "kind": ("match", "kind"),
    "event": ("match", "eventId"),
    "eventid": ("match", "eventId"),
    "times": ("times", None),
    "every": ("every", None),
    "probability": ("probability", None),
    "p": ("probability", None),
    "seed": ("seed", None),
    "retry-after": ("retryAfterSeconds", None),
    "retryafterseconds": ("retryAfterSeconds", None),
    "ms": ("delayMs", None),
    "delay": ("delayMs", None),
    "delayms": ("delayMs", None),
}
_NUMBERS = {"times": int, "every": int, "seed": int, "retryAfterSeconds": int, "delayMs": int, "probability": float}


def parse_rule(text: str) -> dict[str, Any]:
    """The control API's JSON for a `--fault` rule (see RULE_SYNTAX); ValueError explains a bad one."""
    parts = [part.strip() for part in text.strip().split(":")]
    if not parts or not parts[0]:
        raise ValueError(f"empty fault rule {text!r}; expected {RULE_SYNTAX.splitlines()[0]}")
    action = _ALIASES.get(parts[0].lower(), parts[0])
    if action not in ACTIONS:
        raise ValueError(f"unknown fault action {parts[0]!r} in {text!r}; expected one of {', '.join(ACTIONS)}")
    spec: dict[str, Any] = {"action": action}
    match: dict[str, Any] = {}
    for index, part in enumerate(parts[1:]):
        key, equals, value = part.partition("=")
        if not equals:
            if index != 0 or not part:
                raise ValueError(f"{part!r} in {text!r} is not KEY=VALUE (only the first part may be an operationId)")
            match["operationId"] = part
            continue
        target = _KEYS.get(key.strip().lower())
        if target is None:
            raise ValueError(f"unknown key {key!r} in {text!r}; expected one of {', '.join(sorted(_KEYS))}")
        name, member = target
        if member is not None:
            match[member] = value.strip()
            continue
        try:
            spec[name] = _NUMBERS[name](value)
        except ValueError:
            raise ValueError(f"{key}={value!r} in {text!r} is not a number") from None
    if match:
        spec["match"] = match
    return spec
