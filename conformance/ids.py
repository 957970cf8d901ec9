"""Ids a check makes up: well-formed, shaped like the target's own, and belonging to no event."""

from __future__ import annotations

import random
import re
import string
import uuid

__all__ = ["unknown_id_like"]

_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def unknown_id_like(sample: str | None, rng: random.Random) -> str:
    """A fresh id shaped like `sample` (one of the target's ids), drawn from `rng` so a seed repeats a run.

    `guid@tenant` keeps the tenant and gets a fresh GUID; an id with no GUID in it (an opaque
    format) keeps its length and punctuation with every letter and digit redrawn.
    """
    fresh = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    if not sample:
        return fresh
    if _GUID.search(sample):
        return _GUID.sub(lambda _: fresh, sample, count=1)
    return "".join(_redraw(char, rng) for char in sample)


def _redraw(char: str, rng: random.Random) -> str:
    for alphabet in (string.digits, string.ascii_lowercase, string.ascii_uppercase):
        if char in alphabet:
            return rng.choice(alphabet)
    return char
