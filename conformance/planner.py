"""The event plan: how many events the chosen checks need, added up before the run from their `needs`.

Each check declares what it needs (`definitions.fresh` / `definitions.shareable`). Fresh events
are the check's own: they add up. Shareable ones are shared: one per (kind, state) for every
check that asks. A shareable canceled event costs nothing when a chosen check `provides` one of
that kind (it verifies its cancel and offers the event); otherwise it is one more. Fresh events
of an experiment (several checks judging the same exchanges, each one aspect) are counted once
per (experiment, kind), however many of its checks run.

The runner refuses a --max-events lower than the plan before sending anything (naming the
number needed), runs the checks that provide canceled events first, and leaves what the plan
does not use to the Schemathesis phases.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from vevents.spec import contract

from .definitions import EVERY_KIND, Check, Need

__all__ = ["Plan", "plan"]


@dataclass(frozen=True, slots=True)
class Plan:
    """The events a run's checks need: each check's own, and the shared ones."""

    fresh: dict[str, int] = field(default_factory=dict)
    """Check name -> the events it takes for itself (at most)."""
    shared: frozenset[tuple[str, str]] = frozenset()
    """(kind, state) of every shared event the plan creates."""
    providers: dict[str, frozenset[str]] = field(default_factory=dict)
    """Check name -> the kinds of which it offers a canceled event to the others."""
    experiments: dict[tuple[str, str], int] = field(default_factory=dict)
    """(experiment, kind) -> the events it takes, whichever of the checks judging it ask first."""

    @property
    def total(self) -> int:
        return sum(self.fresh.values()) + len(self.shared) + sum(self.experiments.values())


def _kinds(need: Need) -> tuple[str, ...]:
    return tuple(contract().kinds) if need.kind == EVERY_KIND else (need.kind,)


def plan(checks: Iterable[Check]) -> Plan:
    """The plan for these checks (the ones the run will call: mode and tokens already applied)."""
    fresh: dict[str, int] = {}
    wanted: set[tuple[str, str]] = set()
    providers: dict[str, frozenset[str]] = {}
    provided: set[tuple[str, str]] = set()
    experiments: dict[tuple[str, str], int] = {}
    for item in checks:
        own = 0
        offered: set[str] = set()
        for need in item.needs:
            for kind in _kinds(need):
                if need.fresh:
                    if need.experiment is None:
                        own += need.count
                    else:
                        key = (need.experiment, kind)
                        experiments[key] = max(experiments.get(key, 0), need.count)
                    if need.provides is not None:
                        provided.add((kind, need.provides))
                        offered.add(kind)
                else:
                    wanted.add((kind, need.state))
        fresh[item.name] = own
        if offered:
            providers[item.name] = frozenset(offered)
    return Plan(fresh=fresh, shared=frozenset(wanted - provided), providers=providers, experiments=experiments)
