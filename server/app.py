"""The one app factory: `create_app(settings)` -> a Connexion AsyncApp serving the spec.

Used alike by `vevents serve`, the tests and the conformance suite's embedded stub. Routing,
parameter and body validation and security all come from `spec/virtual-events.yaml`; the
spec is served twice, under `/v1.0` and `/beta`, and every operationId is resolved to a
handler through the contract (no route is declared by hand).

Three things differ from a stock Connexion app, all for speed and all invisible on the wire:
operations call handlers as `async (scope, receive) -> Response` (no per-request signature
inspection), the stack has an outermost middleware for request ids and body limits, and a
fast path (`fastpath.py`, `Settings.fast_path`) answers well-formed GETs and cancel/publish
calls with the same handlers but without Connexion's routing, security and validation layers
(tests/test_fast_path.py proves the answers identical).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import connexion
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.resolver import Resolver

from vevents.server import error_handlers
from vevents.server._connexion import (
    DEFAULT_MIDDLEWARES,
    VALIDATOR_MAP_OVERRIDES,
    DirectHandlerApp,
    install_validate_spec_once,
)
from vevents.server.auth import PermissiveVerifier, TokenVerifier
from vevents.server.children import ChildStore
from vevents.server.control.api import ControlApi
from vevents.server.control.gate import PassedGateHandler
from vevents.server.control.notifications import NotificationControl
from vevents.server.control.plane import ControlPlane
from vevents.server.dburl import is_postgres_url
from vevents.server.fastpath import FastPath, fast_routes
from vevents.server.handlers import Handler, Handlers
from vevents.server.home import HomePage
from vevents.server.lifecycle import Lifecycle
from vevents.server.liveness import Liveness
from vevents.server.method_guard import MethodGuard
from vevents.server.middleware import ODATA_JSON, RequestContextMiddleware
from vevents.server.notifications.dispatcher import Notifications
from vevents.server.notifications.events import NotifyingStore
from vevents.server.notifications.handlers import SubscriptionHandlers
from vevents.server.notifications.subscriptions import MemorySubscriptions, SqliteSubscriptions, SubscriptionStore
from vevents.server.notifications.targets import TargetPolicy
from vevents.server.security import security_map
from vevents.server.seed import Seeded, seed_store
from vevents.server.settings import Settings
from vevents.server.store import MemoryStore, SqliteStore, Store
from vevents.server.subresources import SubresourceHandlers
from vevents.spec import contract, load_spec
from vevents.spec.control import CONTROL_PREFIX, LIVENESS_PATH, load_control_spec

__all__ = ["app_from_env", "create_app", "open_store"]

logger = logging.getLogger("vevents.server")


class StubApp(DirectHandlerApp):
    """The stub: a Connexion AsyncApp whose operations call our handlers. `.store` is its state,
    `.control` its control plane (journal, fault rules, read lag)."""

    store: Store
    seeded: Seeded
    """What the seed did at start-up, and which of its events the store holds (the banner's "Try it")."""
    control: ControlPlane
    notifications: Notifications
    """Subscriptions, the delivery queue and its journal (server/notifications/)."""
    authenticator: TokenVerifier | PermissiveVerifier
    """Who a bearer token is (its `clock` is the time tokens expire by: tests move it, never sleep)."""


# Replaced (ServerErrorMiddleware, to answer Graph's envelope) or not needed: handlers take
# (scope, receive) rather than Connexion's context variables, and responses are validated by
# the test suite, not on every request. Each one dropped is one less hop per request.
_UNUSED_MIDDLEWARE = (ServerErrorMiddleware, ContextMiddleware, ResponseValidationMiddleware)


def open_store(settings: Settings) -> Store:
    """The store `settings` ask for: in memory, PostgreSQL at a `postgresql://` URL, or SQLite at `db`."""
    if settings.memory:
        return MemoryStore()
    if is_postgres_url(settings.db):
        # Imported here: psycopg is an optional extra, and SQLite users never load it.
        from vevents.server.postgres import PostgresStore

        return PostgresStore(settings.db)
    return SqliteStore(settings.db)


def open_subscriptions(settings: Settings, *, own_store: bool) -> SubscriptionStore:
    """Beside the events in their SQLite file; in memory with --memory, a store given by a test,
    or PostgreSQL (whose subscriptions table is not written yet: they last as long as the process)."""
    if settings.memory or not own_store or is_postgres_url(settings.db):
        return MemorySubscriptions()
    return SqliteSubscriptions(settings.db)


def _first(*resolvers: Callable[[str], Any]) -> Callable[[str], Any]:
    """A resolver function trying each of `resolvers` in turn (LookupError: not theirs)."""

    def resolve(operation_id: str) -> Any:
        for resolver in resolvers[:-1]:
            try:
                return resolver(operation_id)
            except LookupError:
                continue
        return resolvers[-1](operation_id)

    return resolve


def _authenticator(settings: Settings) -> TokenVerifier | PermissiveVerifier:
    the_contract = contract()
    delegated, application = the_contract.delegated_permissions, the_contract.application_permissions
    if settings.auth_mode == "permissive":
        return PermissiveVerifier(delegated_scopes=delegated, application_scopes=application)
    return TokenVerifier(secret=settings.secret, delegated_scopes=delegated, application_scopes=application)


def create_app(settings: Settings, *, store: Store | None = None) -> connexion.AsyncApp:
    """Build the stub.

    Args:
        settings: the configuration (see `Settings`).
        store: the state to serve; None opens the one `settings` describe (and closes it at
            shutdown). The seed goes in by `seed_store`'s rule (server/seed.py): an empty store
            receives it, a store that holds it is left as it is, another raises SeedError.

    Example:
        app = create_app(Settings(memory=True))
        with serve_in_background(app) as base_url: ...
    """
    install_validate_spec_once()
    the_contract = contract()
    owned = store is None
    store = open_store(settings) if store is None else store
    try:
        seeded = seed_store(
            store,
            settings.seed_path,
            reseed=settings.reseed,
            store_name="the in-memory store" if settings.memory else settings.db,
        )
    except Exception:
        if owned:
            store.close()
        raise
    if seeded.written:
        logger.info("seeded %d events", seeded.written)
    table = settings.lifecycle if settings.lifecycle is not None else the_contract.lifecycle
    control = ControlPlane.from_settings(settings, store, the_contract)
    assert the_contract.notifications is not None
    notifications = Notifications(
        open_subscriptions(settings, own_store=owned),
        the_contract.notifications,
        TargetPolicy(settings.notify_allow),
        attempts=settings.notify_attempts,
        retry_ms=settings.notify_retry_ms,
        queue_max=settings.notify_queue,
    )
    control.on_reset.append(notifications.clear)
    handlers = Handlers(
        NotifyingStore(control.lag.writes, notifications),
        Lifecycle(table, the_contract.create_outcome),
        the_contract,
        reads=control.lag.reads,
        store_threads=getattr(store, "threads", 8) if getattr(store, "blocks_event_loop", False) else 0,
    )
    subscriptions = SubscriptionHandlers(notifications, control.lag.reads, the_contract)
    # Registrations, questions, sessions and presenters: the store's ChildStore part (a store
    # without one, such as a test's own, keeps them in memory beside it).
    children = store if isinstance(store, ChildStore) else MemoryStore()
    subresources = SubresourceHandlers(control.lag.reads, children, the_contract)

    def resolve_subresource(operation_id: str) -> Handler:
        if subresources.handles(operation_id):
            return subresources.resolve(operation_id)
        raise LookupError(operation_id)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        yield
        notifications.close()
        handlers.close()
        if owned:
            store.close()

    authenticator = _authenticator(settings)
    middlewares = [
        functools.partial(
            RequestContextMiddleware,
            max_body_bytes=settings.max_body_bytes,
            max_header_bytes=settings.max_header_bytes,
            hook=control,
            json_content_type=ODATA_JSON if settings.odata_content_type else None,
            versions=the_contract.versions,
        ),
        functools.partial(ServerErrorMiddleware, handler=error_handlers.server_error_handler),
        *(m for m in DEFAULT_MIDDLEWARES if m not in _UNUSED_MIDDLEWARE),
    ]
    guard = functools.partial(MethodGuard, contract=the_contract)
    middlewares.insert(middlewares.index(ExceptionMiddleware) + 1, guard)
    if settings.fast_path:
        # Just inside Connexion's exception middleware: the fast path's exceptions become
        # Graph errors exactly as the operations' do (see server/fastpath.py).
        routes = fast_routes(the_contract, handlers.resolve)
        fast = functools.partial(FastPath, contract=the_contract, routes=routes, authenticator=authenticator)
        middlewares.insert(middlewares.index(ExceptionMiddleware) + 1, fast)
    app = StubApp(
        __name__,
        lifespan=lifespan,
        middlewares=middlewares,
        resolver=Resolver(_first(subscriptions.resolve, resolve_subresource, handlers.resolve)),
        # `bearer`: the control document's http scheme, checked by the control gate before routing.
        security_map={**security_map(authenticator), "bearer": PassedGateHandler},
        strict_validation=False,
        validate_responses=False,
        validator_map=VALIDATOR_MAP_OVERRIDES,
    )
    app.store = store
    app.seeded = seeded
    app.control = control
    app.notifications = notifications
    app.authenticator = authenticator
    for version in the_contract.versions:
        app.add_api(load_spec(), base_path=f"/{version}", name=version)
    app.add_api(
        load_control_spec(),
        base_path=CONTROL_PREFIX,
        name="control",
        resolver=Resolver(_first(ControlApi(control).resolve, NotificationControl(notifications).resolve)),
    )
    home = HomePage(the_contract.versions, control_prefix=CONTROL_PREFIX if control.gate.enabled else None)
    app.add_url_rule("/", "home", home.page, methods=["GET"])
    app.add_url_rule(LIVENESS_PATH, "liveness", Liveness(store).page, methods=["GET"])
    error_handlers.register(app, the_contract)
    return app


def app_from_env() -> connexion.AsyncApp:
    """For `uvicorn --factory vevents.server.app:app_from_env` (one app per worker process)."""
    from vevents.server.logs import configure_logging

    settings = Settings.from_env(os.environ)
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
