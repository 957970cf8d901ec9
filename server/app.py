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
import copy
import functools
import hashlib
import json
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import connexion
import jsonschema
from connexion.apps.asynchronous import AsyncApi, AsyncASGIApp
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator
from connexion.middleware import ConnexionMiddleware
from connexion.middleware.context import ContextMiddleware
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.server_error import ServerErrorMiddleware
from connexion.resolver import Resolver
from connexion.spec import OpenAPISpecification
from connexion.utils import is_null, is_nullable
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator

from vevents.server import errors
from vevents.server.auth import PermissiveVerifier, TokenVerifier
from vevents.server.control.api import ControlApi
from vevents.server.control.plane import ControlPlane
from vevents.server.dburl import is_postgres_url
from vevents.server.fastpath import FastPath, fast_routes
from vevents.server.handlers import Handler, Handlers
from vevents.server.lifecycle import Lifecycle
from vevents.server.middleware import RequestContextMiddleware
from vevents.server.security import security_map
from vevents.server.seed import Seeded, seed_store
from vevents.server.settings import Settings
from vevents.server.store import MemoryStore, SqliteStore, Store
from vevents.spec import SECURITY_SCHEME, contract, load_spec
from vevents.spec.control import CONTROL_PREFIX, load_control_spec

__all__ = ["app_from_env", "create_app", "open_store"]

logger = logging.getLogger("vevents.server")

_DELEGATED_FLOW = "authorizationCode"
_APPLICATION_FLOW = "clientCredentials"


class _Operation:
    """The innermost ASGI app of one operation: call the handler, send its response."""

    __slots__ = ("handler",)

    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        response = await self.handler(scope, receive)
        await response(scope, receive, send)


class _Api(AsyncApi):
    def make_operation(self, operation: Any) -> Any:
        return _Operation(operation.function)


class _ASGIApp(AsyncASGIApp):
    api_cls = _Api


_FORMATS = jsonschema.FormatChecker()
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _int_format(name: str) -> None:
    low, high = _INT_RANGES[name]

    @_FORMATS.checks(name)
    def check(value: object) -> bool:
        return not isinstance(value, int) or isinstance(value, bool) or low <= value <= high


for _name in _INT_RANGES:
    _int_format(_name)


class _JSONBodyValidator(JSONRequestBodyValidator):
    """Connexion's JSON body validator, plus: `int32`/`int64` formats are enforced (Connexion's
    Draft 4 checker ignores them, so a town hall could store a capacity the spec forbids), and
    a body that is not text in its charset is a 400 (Connexion lets the UnicodeDecodeError or
    unknown-charset LookupError become a 500)."""

    @property
    def _validator(self) -> Any:
        return Draft4RequestValidator(self._schema, format_checker=_FORMATS)

    async def _parse(self, stream: Any, scope: Any) -> Any:
        try:
            return await super()._parse(stream, scope)
        except UnicodeDecodeError as exc:
            raise BadRequestProblem(detail=f"The request body is not valid {self._encoding}.") from exc
        except LookupError as exc:
            raise BadRequestProblem(detail=f"Unknown charset {self._encoding!r}.") from exc


class _ParameterValidator(ParameterValidator):
    """Connexion's parameter validator without its per-request costs: each parameter's JSON
    Schema validator is built once (Connexion deep-copies the parameter and builds a new
    validator on every request), and a parameter is checked once even when Connexion's
    operation lists it several times (path-level parameters repeat once per middleware)."""

    _compiled: dict[int, tuple[Any, Any]] = {}

    def __init__(self, parameters: Any, uri_parser: Any, **kwargs: Any) -> None:
        unique = {(p["in"], p["name"]): p for p in parameters}
        super().__init__(list(unique.values()), uri_parser, **kwargs)

    @staticmethod
    def validate_parameter(parameter_type: str, value: Any, param: Any, param_name: Any = None) -> str | None:
        if value is None:
            return ParameterValidator.validate_parameter(parameter_type, value, param, param_name)
        if is_nullable(param) and is_null(value):
            return None
        entry = _ParameterValidator._compiled.get(id(param))
        if entry is None or entry[0] is not param:
            schema = copy.deepcopy(param.get("schema", param))
            entry = _ParameterValidator._compiled[id(param)] = (param, Draft4Validator(schema, format_checker=_FORMATS))
        error = jsonschema.exceptions.best_match(entry[1].iter_errors(value))
        return str(error) if error is not None else None


_VALIDATOR_MAP = {
    "parameter": _ParameterValidator,
    "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": _JSONBodyValidator}),
}


class StubApp(connexion.AsyncApp):
    """A Connexion AsyncApp whose operations are `_Operation`s. `.store` is its state, `.control`
    its control plane (journal, fault rules, read lag)."""

    store: Store
    seeded: Seeded
    """What the seed did at start-up, and which of its events the store holds (the banner's "Try it")."""
    control: ControlPlane

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._middleware_app = _ASGIApp()
        self.middleware.app = self._middleware_app


# Replaced (ServerErrorMiddleware, to answer Graph's envelope) or not needed: handlers take
# (scope, receive) rather than Connexion's context variables, and responses are validated by
# the test suite, not on every request. Each one dropped is one less hop per request.
_UNUSED_MIDDLEWARE = (ServerErrorMiddleware, ContextMiddleware, ResponseValidationMiddleware)


_validate_spec = OpenAPISpecification._validate_spec
_valid_specs: set[bytes] = set()


def _validate_spec_once(cls: type[OpenAPISpecification], spec: dict[str, Any]) -> None:
    """Connexion validates the whole document against the OpenAPI meta-schema in every
    `add_api` (~45 ms each; the stub adds the same document twice, /v1.0 and /beta, and the
    tests build hundreds of apps). A document whose exact content passed once is not
    validated again in this process; any other document still is, every time."""
    key = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).digest()
    if key not in _valid_specs:
        _validate_spec.__func__(cls, spec)  # type: ignore[attr-defined]
        _valid_specs.add(key)


OpenAPISpecification._validate_spec = classmethod(_validate_spec_once)  # type: ignore[method-assign,assignment]


def open_store(settings: Settings) -> Store:
    """The store `settings` ask for: in memory, PostgreSQL at a `postgresql://` URL, or SQLite at `db`."""
    if settings.memory:
        return MemoryStore()
    if is_postgres_url(settings.db):
        # Imported here: psycopg is an optional extra, and SQLite users never load it.
        from vevents.server.postgres import PostgresStore

        return PostgresStore(settings.db)
    return SqliteStore(settings.db)


def _authenticator(settings: Settings) -> TokenVerifier | PermissiveVerifier:
    flows = load_spec()["components"]["securitySchemes"][SECURITY_SCHEME]["flows"]
    scopes = {
        "delegated_scopes": flows[_DELEGATED_FLOW]["scopes"],
        "application_scopes": flows[_APPLICATION_FLOW]["scopes"],
    }
    if settings.auth_mode == "permissive":
        return PermissiveVerifier(**scopes)
    return TokenVerifier(secret=settings.secret, **scopes)


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
    the_contract = contract()
    owned = store is None
    store = open_store(settings) if store is None else store
    try:
        seeded = seed_store(store, settings.seed_path, reseed=settings.reseed,
                            store_name="the in-memory store" if settings.memory else settings.db)
    except Exception:
        if owned:
            store.close()
        raise
    if seeded.written:
        logger.info("seeded %d events", seeded.written)
    table = settings.lifecycle if settings.lifecycle is not None else the_contract.lifecycle
    control = ControlPlane.from_settings(settings, store, the_contract)
    handlers = Handlers(control.lag.writes, Lifecycle(table, the_contract.create_outcome), the_contract,
                        reads=control.lag.reads)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Any) -> AsyncIterator[None]:
        yield
        if owned:
            store.close()

    authenticator = _authenticator(settings)
    middlewares = [
        functools.partial(RequestContextMiddleware, max_body_bytes=settings.max_body_bytes,
                          max_header_bytes=settings.max_header_bytes, hook=control),
        functools.partial(ServerErrorMiddleware, handler=errors.server_error_handler),
        *(m for m in ConnexionMiddleware.default_middlewares if m not in _UNUSED_MIDDLEWARE),
    ]
    if settings.fast_path:
        # Just inside Connexion's exception middleware: the fast path's exceptions become
        # Graph errors exactly as the operations' do (see server/fastpath.py).
        routes = fast_routes(load_spec(), the_contract.versions, handlers.resolve, SECURITY_SCHEME)
        fast = functools.partial(FastPath, routes=routes, authenticator=authenticator)
        middlewares.insert(middlewares.index(ExceptionMiddleware) + 1, fast)
    app = StubApp(
        __name__,
        lifespan=lifespan,
        middlewares=middlewares,
        resolver=Resolver(handlers.resolve),
        security_map=security_map(authenticator),
        strict_validation=False,
        validate_responses=False,
        validator_map=_VALIDATOR_MAP,
    )
    app.store = store
    app.seeded = seeded
    app.control = control
    for version in the_contract.versions:
        app.add_api(load_spec(), base_path=f"/{version}", name=version)
    app.add_api(_control_spec(), base_path=CONTROL_PREFIX, name="control",
                resolver=Resolver(ControlApi(control).resolve))
    errors.register(
        app,
        paths=[(op.method, op.path) for op in the_contract.operations],
        versions=the_contract.versions,
    )
    return app


def _control_spec() -> dict[str, Any]:
    # The control gate (server/control/gate.py) checks the control token before routing, so
    # that a caller without it learns nothing, not even a validation error; the document
    # keeps its `security` for clients generated from it.
    spec = load_control_spec()
    spec.pop("security", None)
    return spec


def app_from_env() -> connexion.AsyncApp:
    """For `uvicorn --factory vevents.server.app:app_from_env` (one app per worker process)."""
    from vevents.server.logs import configure_logging

    settings = Settings.from_env(os.environ)
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
