"""What a check is: the `Check` record, the `@check` decorator that declares one, and its `needs`.

This module imports nothing of the suite, so that the modules holding checks import it and the
registry imports them, in one direction only (no import circle, no re-sorting).

Declaring the events a check needs (read by `planner.py` before the run, so that a run is
planned within --max-events and a budget too low is refused up front, naming the number):

    @check(needs=(fresh(PUBLISHED, provides=CANCELED), shareable(PUBLISHED, kind=KINDS[0])))
    def my_check(ctx): ...

- `fresh(state, kind=EVERY_KIND, count=1)`: events the check takes with `ctx.event(kind, state)`
  and may change (cancel, update); `EVERY_KIND` means `count` of each kind of the contract.
  Count the most the check can use on any target (a lenient target that accepts what the stub
  refuses included): the plan is an upper bound, never an estimate.
  `provides=CANCELED`: the check verifies its cancel and offers the event (`ctx.pool.adopt`),
  so that the checks asking for a shareable canceled one need no event of their own.
  `experiment="name"`: the events of one experiment that several checks judge, each its own
  aspect of the same exchanges (`ctx.pool.observe`): counted once per kind whichever of those
  checks run (e.g. the cancel of a published event: its answer, its effect, the body it keeps).
- `shareable(state, kind=EVERY_KIND)`: an event the check only reads or probes
  (`ctx.shareable(kind, state)`); every check asking for the same (kind, state) shares one.
A check that declares nothing is planned as needing no event (e.g. it only sends unknown ids).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .context import CheckContext

__all__ = ["DECLARED", "EVERY_KIND", "Check", "CheckFunction", "Need", "check", "fresh", "shareable"]

CheckFunction = Callable[["CheckContext"], None]

EVERY_KIND = "*"
"""A need's kind meaning: one such need for each kind the contract has (webinars, town halls)."""


@dataclass(frozen=True, slots=True)
class Need:
    """Events a check needs: `count` of `kind` in `state`, its own (`fresh`) or shared with others."""

    state: str
    kind: str = EVERY_KIND
    count: int = 1
    fresh: bool = True
    provides: str | None = None
    """The state a fresh event is left in and offered to other checks (`adopt`), e.g. canceled."""
    experiment: str | None = None
    """The experiment these fresh events belong to: shared by every check judging it (counted once)."""


def fresh(
    state: str, kind: str = EVERY_KIND, count: int = 1, provides: str | None = None, experiment: str | None = None
) -> Need:
    """`count` events of `kind` in `state` for the check alone (`ctx.event`), or for the checks judging
    one `experiment` together: it (they) may change them."""
    return Need(state=state, kind=kind, count=count, fresh=True, provides=provides, experiment=experiment)


def shareable(state: str, kind: str = EVERY_KIND) -> Need:
    """An event of `kind` in `state` the check only probes (`ctx.shareable`), shared with every such check."""
    return Need(state=state, kind=kind, fresh=False)


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
    # The events it needs (see the module docstring); the planner adds them up before the run.
    needs: tuple[Need, ...] = ()


DECLARED: list[Check] = []
"""The suite's own checks (and any a user declares), in declaration order: the order they run in."""


def check(
    *, strict_only: bool = False, final: bool = False, needs: tuple[Need, ...] = ()
) -> Callable[[CheckFunction], CheckFunction]:
    """Declare a scenario check; its name is the function's, its description the docstring's first line."""

    def decorate(function: CheckFunction) -> CheckFunction:
        doc = (function.__doc__ or "").strip().splitlines()
        if not doc:
            raise ValueError(f"check {function.__name__} needs a one-line docstring")
        item = Check(
            name=function.__name__,
            description=doc[0],
            function=function,
            strict_only=strict_only,
            final=final,
            needs=tuple(needs),
        )
        existing = next((known for known in DECLARED if known.name == item.name), None)
        if existing is not None and existing.function is not function:
            raise ValueError(f"two checks are named {item.name!r}")
        if existing is None:
            DECLARED.append(item)
        return function

    return decorate
