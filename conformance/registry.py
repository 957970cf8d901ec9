"""The one registry of checks: the suite's own scenario checks and the Schemathesis built-ins.

A check is a small named function with a one-line docstring; the docstring is what
`vevents check --list-checks` shows. `@check` registers the suite's own checks;
`schemathesis_phase` registers the built-ins it runs (their results come from one shared
Schemathesis run, so their function is never called directly).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import UsageError

if TYPE_CHECKING:
    from .context import CheckContext

__all__ = ["REGISTRY", "Check", "CheckFunction", "check", "select"]

CheckFunction = Callable[["CheckContext"], None]


@dataclass(frozen=True, slots=True)
class Check:
    """One named check, as listed and reported."""

    name: str
    description: str
    function: CheckFunction | None
    # "vevents" (a scenario run by this suite) or "schemathesis" (a built-in run by the Schemathesis phase).
    source: str = "vevents"
    # Judged only with --strict (otherwise reported as skipped).
    strict_only: bool = False


REGISTRY: dict[str, Check] = {}


def _register(item: Check) -> Check:
    existing = REGISTRY.get(item.name)
    if existing is not None and existing != item:
        raise ValueError(f"two checks are named {item.name!r}")
    REGISTRY[item.name] = item
    return item


def check(*, strict_only: bool = False) -> Callable[[CheckFunction], CheckFunction]:
    """Register a scenario check; its name is the function's, its description the docstring's first line."""

    def decorate(function: CheckFunction) -> CheckFunction:
        doc = (function.__doc__ or "").strip().splitlines()
        if not doc:
            raise ValueError(f"check {function.__name__} needs a one-line docstring")
        _register(Check(name=function.__name__, description=doc[0], function=function, strict_only=strict_only))
        return function

    return decorate


def register_builtin(name: str, description: str, *, strict_only: bool = False) -> Check:
    """Register a Schemathesis built-in check under its Schemathesis name."""
    item = Check(name=name, description=description, function=None, source="schemathesis", strict_only=strict_only)
    return _register(item)


def load_all() -> dict[str, Check]:
    """Import the modules that register checks and return the registry (in listing order)."""
    from . import checks, schemathesis_phase  # noqa: F401 - imported for their registrations

    # The suite's own checks first (they run first), then the built-ins, each in definition order.
    ordered = sorted(REGISTRY.values(), key=lambda item: item.source != "vevents")
    if list(REGISTRY.values()) != ordered:
        REGISTRY.clear()
        REGISTRY.update((item.name, item) for item in ordered)
    return REGISTRY


def select(include: Iterable[str] | None = None, exclude: Iterable[str] = ()) -> list[Check]:
    """The checks to run, in registry order; unknown names are a usage error."""
    registry = load_all()
    include = list(include or [])
    exclude = list(exclude)
    unknown = sorted({*include, *exclude} - set(registry) - {"all", "schemathesis", "vevents"})
    if unknown:
        raise UsageError(f"unknown check(s): {', '.join(unknown)} (see `vevents check --list-checks`)")

    def matches(item: Check, names: list[str]) -> bool:
        return item.name in names or "all" in names or item.source in names

    chosen = [item for item in registry.values() if not include or matches(item, include)]
    return [item for item in chosen if not matches(item, exclude)]
