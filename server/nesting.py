"""How deeply a JSON body may nest: the one limit and the one measure, for the Graph routes
(`handlers.py`) and the control API (`control/api.py`)."""

from __future__ import annotations

from typing import Any

__all__ = ["MAX_JSON_DEPTH", "json_depth"]

MAX_JSON_DEPTH = 32
"""Deepest nesting of objects and arrays accepted in a request body (Graph's types need 4);
deeper bodies are refused with a 400."""


def json_depth(value: Any) -> int:
    """How deeply objects and arrays nest in `value` (iterative: no recursion limit to hit; stops
    descending past MAX_JSON_DEPTH, so the answer is exact up to one level beyond it)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                stack.extend((child, depth + 1) for child in children)
    return deepest
