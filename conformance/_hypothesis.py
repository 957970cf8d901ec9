"""Every Hypothesis name the suite touches beyond its public API, in one fenced place.

Hypothesis keeps its source caches per thread, and Schemathesis runs each phase in worker
threads of its own: every run starts them empty and parses the same large library modules
again, to describe the same lambdas (the coverage phase's filters) and to digest each stateful
suite's state machine class (its example-database key; a nested class is found by parsing its
whole module). Measured: about 0.6 s of CPU for each run with the coverage phase, 1 s for a
stateful phase that finds failures (13 suites). While a run is on, `shared_source_caches()`
answers both from caches kept for the process (across runs too). They are pure functions of
code that does not change while the process runs, so every description and digest is the same
as without it.

Private names touched (a test checks they exist, `missing_private_names()`):
    hypothesis.internal.lambda_sources._lambda_description   a lambda's source text, by parsing its module
    hypothesis.stateful.function_digest                       a state machine's digest (imported there from
                                                              hypothesis.internal.reflection)
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["PRIVATE_NAMES", "missing_private_names", "shared_source_caches"]

PRIVATE_NAMES = (
    "hypothesis.internal.lambda_sources._lambda_description",
    "hypothesis.stateful.function_digest",
)

_lock = threading.Lock()
_users = 0
_originals: dict[str, Any] = {}


def missing_private_names() -> list[str]:
    """The private names above that this Hypothesis no longer has (empty when all is well)."""
    missing = []
    for dotted in PRIVATE_NAMES:
        module_name, _, attribute = dotted.rpartition(".")
        try:
            if not callable(getattr(importlib.import_module(module_name), attribute)):
                missing.append(dotted)
        except (ImportError, AttributeError):
            missing.append(dotted)
    return missing


# Kept for the process, across runs: a run's worker threads are gone when the next one starts.
_MAX_DESCRIPTIONS = 1000
_descriptions: dict[tuple[Any, ...], str] = {}
_digests: weakref.WeakKeyDictionary[Any, bytes] = weakref.WeakKeyDictionary()


def _describing_once(original: Callable[..., str]) -> Callable[..., str]:
    def describe(f: Any, *args: Any, **kwargs: Any) -> str:
        target = getattr(f, "__wrapped_target", f)
        code = getattr(target, "__code__", None)
        if args or kwargs or code is None:
            return original(f, *args, **kwargs)
        # What the description depends on: where the code is, the code, and the defaults it shows.
        key = (
            code.co_filename,
            code.co_firstlineno,
            code,
            repr((getattr(target, "__defaults__", None), getattr(target, "__kwdefaults__", None))),
        )
        if key not in _descriptions:
            if len(_descriptions) >= _MAX_DESCRIPTIONS:  # lambdas with ever-new defaults: stay bounded
                _descriptions.clear()
            _descriptions[key] = original(f)
        return _descriptions[key]

    return describe


def _digesting_once(original: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    def digest(function: Any) -> bytes:
        try:
            return _digests[function]
        except (KeyError, TypeError):
            pass
        value = original(function)
        with contextlib.suppress(TypeError):  # not weakly referenceable: not kept
            _digests[function] = value
        return value

    return digest


@contextlib.contextmanager
def shared_source_caches() -> Iterator[None]:
    """While inside (from any number of threads at once), lambda descriptions and state machine
    digests are computed once for the process instead of once per Schemathesis worker thread."""
    global _users
    from hypothesis import stateful
    from hypothesis.internal import lambda_sources

    # getattr/setattr: private module attributes, replaced for the duration.
    with _lock:
        if _users == 0:
            _originals["describe"] = getattr(lambda_sources, "_lambda_description")  # noqa: B009
            _originals["digest"] = getattr(stateful, "function_digest")  # noqa: B009
            setattr(lambda_sources, "_lambda_description", _describing_once(_originals["describe"]))  # noqa: B010
            setattr(stateful, "function_digest", _digesting_once(_originals["digest"]))  # noqa: B010
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                setattr(lambda_sources, "_lambda_description", _originals.pop("describe"))  # noqa: B010
                setattr(stateful, "function_digest", _originals.pop("digest"))  # noqa: B010
