"""The one registry of checks: the suite's own scenario checks and the Schemathesis built-ins.

A check is a small named function with a one-line docstring (declared with `@check`, see
`definitions.py`); the docstring is what `vevents check --list-checks` shows. The registry
imports the modules that declare checks (they do not import it back) and lists the suite's own
checks first, in declaration order, then the built-ins the Schemathesis phase runs (their
results come from one shared Schemathesis run, so they have no function).

The checks live side by side in the `checks` package (see its docstring); this is the one
place that imports them.
"""

from __future__ import annotations

from collections.abc import Iterable

from .definitions import DECLARED, Check, CheckFunction, check
from .errors import UsageError

__all__ = ["REGISTRY", "Check", "CheckFunction", "check", "load_all", "select"]

REGISTRY: dict[str, Check] = {}


def load_all() -> dict[str, Check]:
    """Import the modules that declare checks and return the registry (in listing order)."""
    from .checks import cancel, canceled, isolation, lists, matrix, permanence  # noqa: F401 - imported for their declarations
    from .schemathesis_phase import BUILTINS

    builtins = [
        Check(name=name, description=description, function=None, source="schemathesis", strict_only=scope == "strict")
        for name, (description, scope) in BUILTINS.items()
    ]
    clash = {item.name for item in DECLARED} & set(BUILTINS)
    if clash:
        raise ValueError(f"checks named like Schemathesis built-ins: {', '.join(sorted(clash))}")
    REGISTRY.clear()
    REGISTRY.update((item.name, item) for item in (*DECLARED, *builtins))
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
