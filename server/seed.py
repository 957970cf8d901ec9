"""Seed files: the events the stub starts with (format: docs/seeds.md, schema: spec/seed.schema.yaml).

    events:                       # or a bare list
      - '@odata.type': '#microsoft.graph.virtualEventWebinar'
        id: <guid>@<tenant-guid>
        status: published         # one of the lifecycle table's states
        displayName: ...          # any other property of the type

`load_seed` reads and validates a file (every problem is a `SeedError` of one line naming
the file, the event and the field); `seed_store` puts a seed into a store at start-up, with
one rule a user can predict (docs/seeds.md):

- an empty store receives the seed;
- a store that already holds the seed's events is kept as it is (a restart keeps its state);
- a store that holds other events and an explicit `--seed FILE` is an error that says what to
  do: `--reseed` replaces the store's events with the seed's, or use another `--db`/`--memory`;
- `--reseed` always replaces the store's events with the seed's.
"""

from __future__ import annotations

import gc
import importlib.resources
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vevents.server.ids import parse_event_id
from vevents.server.store import Event, Store
from vevents.spec import contract, singular
from vevents.spec.seed import parse_seed_text, seed_problems

__all__ = ["DEFAULT_SEED", "SeedError", "Seeded", "events_from", "load_seed", "seed_store"]

DEFAULT_SEED = "default-seed.yaml"


class SeedError(ValueError):
    """A seed file cannot be read, describes an event the stub cannot hold, or does not fit the store.

    Its message is one line, fit to print as it is.
    """


@dataclass(frozen=True)
class Seeded:
    """What `seed_store` did: how many events it wrote, and the seed's events now in the store."""

    written: int
    present: tuple[Event, ...]
    """The seed's events the store holds, in seed order (the banner's "Try it" uses the first)."""


def _text(path: str | None) -> tuple[str, str]:
    if path is None:
        return DEFAULT_SEED, importlib.resources.files(__package__).joinpath(DEFAULT_SEED).read_text(encoding="utf-8")
    try:
        return path, Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise SeedError(f"seed file {path}: cannot read it: {reason}") from None


def _describe(index: int, item: Any) -> str:
    label = f"event {index + 1}"
    if isinstance(item, Mapping) and isinstance(item.get("id"), str):
        label += f" (id {item['id']})"
    return label


def _items(document: Any) -> list[Any]:
    if isinstance(document, Mapping):
        return list(document.get("events") or [])
    return list(document) if isinstance(document, list) else []


def load_seed(path: str | None = None, *, states: tuple[str, ...] | None = None) -> list[Event]:
    """The events of the seed file at `path` (None: the shipped default seed).

    Raises SeedError (one line: the file, the event, the field, what is wrong) at the first
    problem: the file is checked against spec/seed.schema.yaml, then for what a schema cannot
    say (the id's form, a state the lifecycle knows, an event given twice).
    """
    name, text = _text(path)
    try:
        document = parse_seed_text(text)
    except ValueError as exc:
        raise SeedError(f"seed file {name}: {exc}") from None
    return events_from(document, f"seed file {name}", states=states)


def events_from(document: Any, name: str, *, states: tuple[str, ...] | None = None) -> list[Event]:
    """The events of a parsed seed document, checked as `load_seed` checks a file's (the control
    API's loadEvents uses it); `name` begins each error message, e.g. "seed file x.yaml"."""
    items = _items(document)
    for problem in seed_problems(document):
        where = "" if problem.event is None else f" {_describe(problem.event, items[problem.event])}:"
        field = f" {problem.field}:" if problem.field else ""
        raise SeedError(f"{name}:{where}{field} {problem.message}")
    kinds = {odata_type: kind for kind, odata_type in contract().odata_types.items()}
    states = states or tuple(contract().lifecycle["get"])
    events, seen = [], set()
    for index, item in enumerate(items):
        # (Said only when something is wrong: a 100,000-event seed should not format 100,000 labels.)
        resource: dict[str, Any] = dict(item)
        kind = kinds[resource["@odata.type"]]
        raw_id = resource["id"]
        event_id = parse_event_id(raw_id, "") if "@" in raw_id else None
        if event_id is None:
            raise SeedError(f"{name}: {_describe(index, item)}: id: must be '<guid>@<tenant-guid>', not {raw_id!r}")
        if resource["status"] not in states:
            status = resource["status"]
            raise SeedError(f"{name}: {_describe(index, item)}: status: {status!r} is not one of {list(states)}")
        key = (kind, event_id)
        if key in seen:
            where = f"{name}: {_describe(index, item)}"
            raise SeedError(f"{where}: id: a {singular(kind)} with this id is already in the seed")
        seen.add(key)
        resource["id"] = event_id
        events.append(Event(kind=kind, id=event_id, tenant=event_id.split("@", 1)[1], resource=resource))
    return events


def seed_store(store: Store, seed_path: str | None, *, reseed: bool = False, store_name: str = "the store") -> Seeded:
    """Put the seed at `seed_path` (None: the default seed) into `store`, by the rule above.

    `store_name` names the store in the error (e.g. "./vevents.db").
    """
    with _collector_paused():
        return _seed_store(store, seed_path, reseed=reseed, store_name=store_name)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while a seed is read and written.

    A 100,000-event seed allocates millions of containers (the parsed document, the events,
    their rows), none of them in a cycle: every collection the allocations trigger walks the
    ones still alive, for nothing (about a third of a large seed's time). Reference counting
    still frees everything as usual; the collector is back on at the end, as it was.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _held(store: Store, events: list[Event]) -> set[tuple[str, str]]:
    """Which of `events` (kind, id) the store holds: one read of every event where the store
    offers it (a restart on a 100,000-event store), else one `find` per event."""
    every = getattr(store, "all_events", None)
    if callable(every):
        return {(event.kind, event.id) for event in every()}
    return {(event.kind, event.id) for event in events if store.find(event.id, event.kind)}


def _seed_store(store: Store, seed_path: str | None, *, reseed: bool, store_name: str) -> Seeded:
    events = load_seed(seed_path)
    if reseed:
        written = store.reset(events)
        return Seeded(written, tuple(events))
    written = store.seed(events)
    if written:
        return Seeded(written, tuple(events))
    held = _held(store, events)
    present = tuple(event for event in events if (event.kind, event.id) in held)
    if seed_path is not None and len(present) < len(events):
        missing = next(event for event in events if (event.kind, event.id) not in held)
        raise SeedError(
            f"seed file {seed_path}: {store_name} already holds other events "
            f"(no {singular(missing.kind)} {missing.id}); "
            "pass --reseed to replace them with the seed's, or use another --db, or --memory"
        )
    return Seeded(0, present)
