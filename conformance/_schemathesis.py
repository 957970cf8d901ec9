"""Every Schemathesis name the suite uses beyond `schemathesis.Config` and `schemathesis.openapi`.

Schemathesis 4's engine (the runner behind `st run`) is not documented as a Python API, so each
name below may move in an upgrade. They are all here, and `missing_private_names()` (run by
tests/test_conformance_cli.py) names the first one an upgrade removed, instead of a traceback
in the middle of a user's run.

Private names touched:
    schemathesis.engine.from_schema                 build the engine for a loaded schema; `.execute()` gives
                                                    an event stream with `.stop()` (the next event is the last)
    schemathesis.engine.Status                      a check node's status (SUCCESS, FAILURE, ERROR)
    schemathesis.engine.events.PhaseStarted         `.phase.name.value` ("examples", ..., "stateful")
    schemathesis.engine.events.ScenarioFinished     one scenario done; `.recorder.checks`, `.phase`
    schemathesis.engine.events.NonFatalError        `.label`, `.info.title`, `.info.message`
    schemathesis.engine.events.FatalError           `.exception`
    schemathesis.engine.events.EngineFinished       `.failures`
    schemathesis.engine.context.make_session        wrapped: each session the engine makes gets
                                                    the suite's `GuardedAdapter` mounted
    schemathesis.transport.requests.SameHostRedirectsSession
                                                    replaced by a subclass that mounts it too (the
                                                    session of requests sent without one, such as
                                                    `ignored_auth`'s probes without credentials)
"""

from __future__ import annotations

import contextlib
import importlib
import urllib.parse
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the sessions are Schemathesis's; only the transport's adapter sends (`_requests.py`)
    import requests
    import requests.adapters

__all__ = [
    "PRIVATE_NAMES",
    "engine_events",
    "engine_for",
    "environment_read_once",
    "missing_private_names",
    "sessions_with_adapter",
    "status_enum",
]

PRIVATE_NAMES = (
    "schemathesis.engine.from_schema",
    "schemathesis.engine.Status",
    "schemathesis.engine.events.PhaseStarted",
    "schemathesis.engine.events.ScenarioFinished",
    "schemathesis.engine.events.NonFatalError",
    "schemathesis.engine.events.FatalError",
    "schemathesis.engine.events.EngineFinished",
    "schemathesis.engine.context.make_session",
    "schemathesis.transport.requests.SameHostRedirectsSession",
)


def _resolve(dotted: str) -> Any:
    module_name, _, attribute = dotted.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        head, _, middle = module_name.rpartition(".")
        module = getattr(importlib.import_module(head), middle)
    return getattr(module, attribute)


def missing_private_names() -> list[str]:
    """The private names above that this Schemathesis no longer has (empty when all is well)."""
    missing = []
    for dotted in PRIVATE_NAMES:
        try:
            _resolve(dotted)
        except (ImportError, AttributeError):
            missing.append(dotted)
    return missing


def engine_for(schema: Any) -> Any:
    """The engine that runs every phase over `schema` (`.execute()` yields events)."""
    from schemathesis.engine import from_schema

    return from_schema(schema)


def engine_events() -> Any:
    """The module holding the engine's event classes."""
    from schemathesis.engine import events

    return events


def status_enum() -> Any:
    from schemathesis.engine import Status

    return Status


@contextlib.contextmanager
def sessions_with_adapter(adapter: Callable[[], requests.adapters.BaseAdapter]) -> Iterator[None]:
    """While inside, every `requests.Session` the engine makes sends through `adapter()` (http and https)."""
    from schemathesis.engine import context
    from schemathesis.transport import requests as st_requests

    original = context.make_session
    original_class = st_requests.SameHostRedirectsSession

    def mount(session: requests.Session) -> requests.Session:
        mounted = adapter()
        session.mount("http://", mounted)
        session.mount("https://", mounted)
        return environment_read_once(session)

    def make_session(*args: Any, **kwargs: Any) -> requests.Session:
        return mount(original(*args, **kwargs))

    class GuardedSession(original_class):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            mount(self)

    # setattr: the module attributes are replaced for the duration (mypy reads a class name as a type).
    context.make_session = make_session
    setattr(st_requests, "SameHostRedirectsSession", GuardedSession)  # noqa: B010
    try:
        yield
    finally:
        context.make_session = original
        setattr(st_requests, "SameHostRedirectsSession", original_class)  # noqa: B010


def environment_read_once(session: requests.Session) -> requests.Session:
    """`session` with `merge_environment_settings` answered once per target and arguments.

    requests reads the proxy variables for every request it sends (`trust_env`): about 0.3 ms
    of walking `os.environ` each, 0.5 s of a run's 1,600 Schemathesis requests. The answer
    depends only on the scheme and host, the arguments and the environment, none of which
    change during a run; the proxies the caller passed get the same entries as on a first call.
    """
    original = session.merge_environment_settings
    known: dict[tuple[Any, ...], tuple[dict[str, str] | None, dict[str, Any]]] = {}

    def merge_environment_settings(url: Any, proxies: Any, stream: Any, verify: Any, cert: Any) -> dict[str, Any]:
        parts = urllib.parse.urlsplit(url if isinstance(url, str) else str(url))
        key = (
            parts.scheme,
            parts.netloc,
            None if proxies is None else repr(sorted(proxies.items())),
            repr(
                (stream, verify, cert, session.proxies, session.stream, session.verify, session.cert, session.trust_env)
            ),
        )
        if key not in known:
            settings = original(url, proxies, stream, verify, cert)
            known[key] = (None if proxies is None else dict(proxies), settings)
        after, settings = known[key]
        if proxies is not None and after is not None:
            proxies.update(after)
        return {**settings, "proxies": dict(settings["proxies"])}

    session.merge_environment_settings = merge_environment_settings  # type: ignore[method-assign]
    return session
