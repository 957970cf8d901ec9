"""What a check is: the `Check` record and the `@check` decorator that declares one.

This module imports nothing of the suite, so that the modules holding checks import it and the
registry imports them, in one direction only (no import circle, no re-sorting).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .context import CheckContext

__all__ = ["DECLARED", "Check", "CheckFunction", "check"]

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
    # Runs after every other check, the Schemathesis phase included (e.g. the end-of-run sweep).
    final: bool = False


DECLARED: list[Check] = []
"""The suite's own checks (and any a user declares), in declaration order: the order they run in."""


def check(*, strict_only: bool = False, final: bool = False) -> Callable[[CheckFunction], CheckFunction]:
    """Declare a scenario check; its name is the function's, its description the docstring's first line."""

    def decorate(function: CheckFunction) -> CheckFunction:
        doc = (function.__doc__ or "").strip().splitlines()
        if not doc:
            raise ValueError(f"check {function.__name__} needs a one-line docstring")
        item = Check(
            name=function.__name__, description=doc[0], function=function, strict_only=strict_only, final=final
        )
        existing = next((known for known in DECLARED if known.name == item.name), None)
        if existing is not None and existing.function is not function:
            raise ValueError(f"two checks are named {item.name!r}")
        if existing is None:
            DECLARED.append(item)
        return function

    return decorate
