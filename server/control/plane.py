"""ControlPlane: the journal, the fault rules, the read lag and the gate, in the request pipeline.

It is the `RequestHook` of `middleware.RequestContextMiddleware`: it runs inside the request
ids and outside everything else (body limits, Connexion, the fast path), so that

    a control request (`/_vevents/...`)  passes the gate, then goes to Connexion, which routes
                                         and validates it against spec/control.yaml
    a Graph request                      is refused if it carries the control token; else may
                                         meet a fault rule (answered here with the same Graph
                                         envelope as every other error, delayed, or dropped);
                                         then goes on, and is journaled when answered

With no rule set, a Graph request costs one flag check here and one journal append.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from vevents.server.control.faults import Faults, parse_rule
from vevents.server.control.gate import ControlGate
from vevents.server.control.journal import Journal
from vevents.server.control.lag import ReadLag
from vevents.server.control.requests import RequestClassifier
from vevents.server.control.uvicorn import abort_connection
from vevents.server.errors import SCOPE_KEY, GraphError, RequestIds, error_response
from vevents.server.seed import load_seed
from vevents.server.store import Event, Store
from vevents.spec import Contract
from vevents.spec.control import CONTROL_PREFIX, LIVENESS_PATH

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Receive, Scope, Send

    from vevents.server.settings import Settings

__all__ = ["ConnectionDropped", "ControlPlane", "InspectableStore"]

_CONTROL_KEY = "vevents.control"
_FAULT_KEY = "vevents.fault"
_PREFIX_SLASH = CONTROL_PREFIX + "/"


class ConnectionDropped(Exception):
    """A `drop` fault fired where no uvicorn connection can be aborted (an in-process client)."""


@runtime_checkable
class InspectableStore(Protocol):
    """What the state view needs beyond the `Store` protocol (both shipped stores have it)."""

    def all_events(self) -> list[Event]: ...


class ControlPlane:
    """Everything the control API changes, and the hook that applies it to every request."""

    def __init__(
        self,
        store: Store,
        contract: Contract,
        *,
        gate: ControlGate,
        secret: str,
        seed_path: str | None = None,
        fault_rules: Sequence[str] = (),
        read_lag_ms: int = 0,
    ) -> None:
        self.store = store
        self.contract = contract
        self.gate = gate
        self.secret = secret
        """The HS256 secret the stub verifies tokens with (the token route mints with it)."""
        self.seed_path = seed_path
        self.classify = RequestClassifier(contract.operations, contract.versions)
        self.journal = Journal(self.classify)
        self.faults = Faults((op.operation_id for op in contract.operations), {op.kind for op in contract.operations})
        self._start_rules = [parse_rule(text) for text in fault_rules]
        self._start_lag_ms = read_lag_ms
        self._seed: list[Event] | None = None
        self.lag = ReadLag(store, global_ms=read_lag_ms)
        self.on_reset: list[Callable[[], None]] = []
        """What else a reset empties (the notifications' subscriptions and deliveries)."""
        for rule in self._start_rules:
            self.faults.add(rule)

    @classmethod
    def from_settings(cls, settings: Settings, store: Store, contract: Contract) -> ControlPlane:
        gate = ControlGate(listen_host=settings.host, token=settings.control_token, workers=settings.workers)
        return cls(
            store,
            contract,
            gate=gate,
            secret=settings.secret,
            seed_path=settings.seed_path,
            fault_rules=settings.faults,
            read_lag_ms=settings.read_lag_ms,
        )

    def reset(self) -> None:
        """Back to the start: the seed's events, the start-up rules and lag, an empty journal."""
        if self._seed is None:
            # Read once: the seed as the stub started with it (and a reset per test stays cheap).
            self._seed = load_seed(self.seed_path)
        self.store.reset(self._seed)
        self.faults.clear()
        for rule in self._start_rules:
            self.faults.add(rule)
        self.lag.clear(self._start_lag_ms)
        self.journal.clear()
        for hook in self.on_reset:
            hook()

    # ------------------------------------------------------------ RequestHook
    async def around(
        self, scope: Scope, receive: Receive, send: Send, call_next: ASGIApp, connection_send: Send
    ) -> None:
        path: str = scope["path"]
        if path == CONTROL_PREFIX or path.startswith(_PREFIX_SLASH):
            scope[_CONTROL_KEY] = True
            refusal = self.gate.refusal(scope)
            if refusal is not None:
                await _answer(scope, receive, send, refusal)
                return
        elif path == LIVENESS_PATH:
            # A health check: never a fault, never lagged, never journaled (the probes would fill it).
            scope[_CONTROL_KEY] = True
        elif self.gate.token is not None and self.gate.carries_token(scope):
            await _answer(
                scope,
                receive,
                send,
                GraphError(401, "The control token is not a Graph token; the Graph routes do not accept it."),
            )
            return
        elif self.faults.active:
            rule = self.faults.pick(self.classify(scope["method"], path))
            if rule is not None:
                scope[_FAULT_KEY] = rule.id
                error = rule.error()
                if error is not None:
                    await _answer(scope, receive, send, error)
                    return
                if rule.action == "drop":
                    if await abort_connection(connection_send):
                        return
                    raise ConnectionDropped(f"fault rule {rule.id} dropped the connection")
                await asyncio.sleep(rule.delay_ms / 1000)
        await call_next(scope, receive, send)

    def finished(self, scope: Scope, status: int, started: float, duration_ms: float) -> None:
        if scope.get(_CONTROL_KEY):
            return
        ids: RequestIds = scope[SCOPE_KEY]
        self.journal.record(
            time.time() - duration_ms / 1000,
            scope["method"],
            scope["path"],
            status,
            duration_ms,
            ids.request_id,
            ids.client_request_id,
            scope.get(_FAULT_KEY),
        )


async def _answer(scope: Scope, receive: Receive, send: Send, error: GraphError) -> None:
    response = error_response(scope, error.status, error.message, code=error.code, headers=error.headers)
    await response(scope, receive, send)


def store_name(store: Any) -> str:
    """How /health names the store: memory, sqlite, postgresql, or the class's own name."""
    name = type(store).__name__
    return {"MemoryStore": "memory", "SqliteStore": "sqlite", "PostgresStore": "postgresql"}.get(name, name)
