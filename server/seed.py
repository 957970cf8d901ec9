"""Seed files: events to load into an empty store at start-up (YAML or JSON).

    events:                       # or a bare list
      - '@odata.type': '#microsoft.graph.virtualEventWebinar'
        id: <guid>@<tenant-guid>
        status: published         # one of the lifecycle table's states
        displayName: ...          # any other property of the type
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from vevents.server.ids import parse_event_id
from vevents.server.store import Event
from vevents.spec import contract

__all__ = ["DEFAULT_SEED", "SeedError", "load_seed"]

DEFAULT_SEED = "default-seed.yaml"
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser when PyYAML has it


class SeedError(ValueError):
    """A seed file cannot be read or describes an event the stub cannot hold."""


def _text(path: str | None) -> tuple[str, str]:
    if path is None:
        return DEFAULT_SEED, importlib.resources.files(__package__).joinpath(DEFAULT_SEED).read_text(encoding="utf-8")
    try:
        return path, Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise SeedError(f"cannot read seed file {path}: {exc.strerror}") from exc


def _parse(text: str) -> Any:
    # JSON is YAML, but PyYAML reads it about 100 times slower than `json` does: a JSON seed
    # of tens of thousands of events loads in a fraction of a second this way.
    if text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text)
        except ValueError:
            pass  # YAML flow style, or invalid: let PyYAML parse it or explain the error
    return yaml.load(text, Loader=_Loader)


def load_seed(path: str | None = None, *, states: tuple[str, ...] | None = None) -> list[Event]:
    """The events of the seed file at `path` (None: the shipped default seed)."""
    name, text = _text(path)
    try:
        document = _parse(text)
    except yaml.YAMLError as exc:
        raise SeedError(f"{name} is not valid YAML/JSON: {exc}") from exc
    items = document.get("events") if isinstance(document, Mapping) else document
    if not isinstance(items, list):
        raise SeedError(f"{name}: expected a list of events (or a mapping with `events`)")
    kinds = {odata_type: kind for kind, odata_type in contract().odata_types.items()}
    states = states or tuple(contract().lifecycle["get"])
    events, seen = [], set()
    for index, item in enumerate(items):
        where = f"{name}: event {index + 1}"
        if not isinstance(item, Mapping):
            raise SeedError(f"{where} is not a mapping")
        resource: dict[str, Any] = dict(item)
        kind = kinds.get(resource.get("@odata.type"))  # type: ignore[arg-type]
        if kind is None:
            raise SeedError(f"{where}: '@odata.type' must be one of {sorted(kinds)}")
        raw_id = resource.get("id")
        event_id = parse_event_id(raw_id, "") if isinstance(raw_id, str) and "@" in raw_id else None
        if event_id is None:
            raise SeedError(f"{where}: 'id' must be '<guid>@<tenant-guid>'")
        if resource.get("status") not in states:
            raise SeedError(f"{where}: 'status' must be one of {list(states)}")
        if (kind, event_id) in seen:
            raise SeedError(f"{where}: a {kind[:-1]} with id {event_id} is already in the seed")
        seen.add((kind, event_id))
        resource["id"] = event_id
        events.append(Event(kind=kind, id=event_id, tenant=event_id.split("@", 1)[1], resource=resource))
    return events
