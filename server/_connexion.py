"""Every way the stub leans on Connexion's internals, in one fenced place.

Private (or undocumented) Connexion names this module touches - an upgrade that removes or
moves one is caught by `tests/test_library_adaptations.py`, which names the one that moved:

    connexion.spec.OpenAPISpecification._validate_spec     replaced process-wide (validate once)
    connexion.validators.ParameterValidator.validate_parameter   overridden (compiled once)
    connexion.validators.ParameterValidator.__init__        called with the de-duplicated parameters
    connexion.json_schema.Draft4RequestValidator            the body validator's Draft 4 class
    connexion.utils.is_null / is_nullable                   how Connexion reads a nullable parameter
    connexion.validators.JSONRequestBodyValidator._validator / ._parse / ._validate / ._schema /
                                                   ._encoding / ._nullable
    connexion.validators.VALIDATOR_MAP                      the stock validators, extended
    connexion.apps.asynchronous.AsyncApi.make_operation     operations call our handlers directly
    connexion.apps.asynchronous.AsyncASGIApp.api_cls
    connexion.AsyncApp._middleware_app / .middleware.app     our AsyncASGIApp in the stack
    connexion.middleware.ConnexionMiddleware.default_middlewares
    scope["extensions"]["connexion_context"]                where the security middleware leaves
                                                            the token info (the fast path writes it);
                                                            read by connexion.lifecycle.ConnexionRequest.context

Why each one earns its keep is said where it is used. Everything else the stub uses from
Connexion is public (AsyncApp, exceptions, lifecycle, security handlers, Resolver).
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import OrderedDict
from collections.abc import MutableMapping
from typing import Any

import connexion
import jsonschema
from connexion.apps.asynchronous import AsyncApi, AsyncASGIApp
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator
from connexion.middleware import ConnexionMiddleware
from connexion.spec import OpenAPISpecification
from connexion.utils import is_null, is_nullable
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator
from jsonschema.exceptions import ValidationError

from vevents.server.messages import body_message, missing_parameter_message, parameter_message

__all__ = [
    "CONTEXT_KEY",
    "DEFAULT_MIDDLEWARES",
    "VALIDATOR_MAP_OVERRIDES",
    "DirectHandlerApp",
    "install_validate_spec_once",
    "set_security_context",
]

CONTEXT_KEY = "connexion_context"
"""The `scope["extensions"]` key under which Connexion's security middleware leaves
`{"user": ..., "token_info": ...}` for the operation (connexion/middleware/security.py)."""

DEFAULT_MIDDLEWARES: tuple[Any, ...] = tuple(ConnexionMiddleware.default_middlewares)
"""Connexion's stack, in order; app.py drops the layers the stub does not need."""


def set_security_context(scope: MutableMapping[str, Any], *, user: str, token_info: dict[str, Any]) -> None:
    """Leave what Connexion's security middleware leaves, for a request it did not see (the fast path)."""
    scope.setdefault("extensions", {})[CONTEXT_KEY] = {"user": user, "token_info": token_info}


def security_context(scope: Any) -> dict[str, Any]:
    """What the security middleware (or the fast path) left in `scope`."""
    return scope["extensions"][CONTEXT_KEY]  # type: ignore[no-any-return]


# ---------------------------------------------------------------- operations
class _Operation:
    """The innermost ASGI app of one operation: call the handler, send its response."""

    __slots__ = ("handler",)

    def __init__(self, handler: Any) -> None:
        self.handler = handler

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        response = await self.handler(scope, receive)
        await response(scope, receive, send)


class _Api(AsyncApi):
    """Operations call `async handler(scope, receive) -> Response`: Connexion's own operation
    wrapper inspects the handler's signature and builds its arguments on every request."""

    def make_operation(self, operation: Any) -> Any:
        return _Operation(operation.function)


class _ASGIApp(AsyncASGIApp):
    api_cls = _Api


class DirectHandlerApp(connexion.AsyncApp):
    """A Connexion AsyncApp whose operations are `_Operation`s (app.py's StubApp)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._middleware_app = _ASGIApp()
        self.middleware.app = self._middleware_app


# ---------------------------------------------------------------- validators
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
    Draft 4 checker ignores them, so a town hall could store a capacity the spec forbids), a
    body that is not text in its charset is a 400 (Connexion lets the UnicodeDecodeError or
    unknown-charset LookupError become a 500), and a refusal says what is wrong in Graph's
    words (`messages.body_message`), not in jsonschema's."""

    def _validate(self, body: Any) -> Any:
        if not self._nullable and body is None:
            raise BadRequestProblem(detail="The request body must not be empty.")
        try:
            return self._validator.validate(body)
        except ValidationError as exc:
            raise BadRequestProblem(detail=body_message(exc)) from None

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


_COMPILED_LIMIT = 256
"""Parameters whose compiled validator is kept: a spec has a handful, but every app built in a
process (the tests build hundreds) has its own copies; beyond this the oldest are dropped."""


class _ParameterValidator(ParameterValidator):
    """Connexion's parameter validator without its per-request costs: each parameter's JSON
    Schema validator is built once (Connexion deep-copies the parameter and builds a new
    validator on every request), and a parameter is checked once even when Connexion's
    operation lists it several times (path-level parameters repeat once per middleware).

    Connexion builds this class anew for every request, so the compiled validators live in a
    class-level cache keyed by the parameter's `id()` (the entry keeps the parameter, so an id
    is never reused while its entry lives), bounded so that apps that are gone are forgotten.
    """

    _compiled: OrderedDict[int, tuple[Any, Any]] = OrderedDict()

    def __init__(self, parameters: Any, uri_parser: Any, **kwargs: Any) -> None:
        unique = {(p["in"], p["name"]): p for p in parameters}
        super().__init__(list(unique.values()), uri_parser, **kwargs)

    @staticmethod
    def validate_parameter(parameter_type: str, value: Any, param: Any, param_name: Any = None) -> str | None:
        """None if `value` fits the parameter's schema, else the 400's message in Graph's words
        (`messages.parameter_message`: it names the id or the parameter, never the pattern)."""
        if value is None:
            if ParameterValidator.validate_parameter(parameter_type, value, param, param_name) is None:
                return None
            return missing_parameter_message(param)
        if is_nullable(param) and is_null(value):
            return None
        compiled = _ParameterValidator._compiled
        entry = compiled.get(id(param))
        if entry is None or entry[0] is not param:
            schema = copy.deepcopy(param.get("schema", param))
            entry = compiled[id(param)] = (param, Draft4Validator(schema, format_checker=_FORMATS))
            while len(compiled) > _COMPILED_LIMIT:
                compiled.popitem(last=False)
        error = jsonschema.exceptions.best_match(entry[1].iter_errors(value))
        return parameter_message(param, value, error) if error is not None else None


VALIDATOR_MAP_OVERRIDES: dict[str, Any] = {
    "parameter": _ParameterValidator,
    "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": _JSONBodyValidator}),
}
"""Connexion's `validator_map` argument."""


# ---------------------------------------------------------------- spec validation
_validate_spec = OpenAPISpecification._validate_spec
_valid_specs: set[bytes] = set()


def _validate_spec_once(cls: type[OpenAPISpecification], spec: dict[str, Any]) -> None:
    """Connexion validates the whole document against the OpenAPI meta-schema in every
    `add_api` (~45 ms each; the stub adds the same document twice, /v1.0 and /beta, and the
    tests build hundreds of apps). A document whose exact content passed once is not
    validated again in this process; any other document still is, every time."""
    key = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).digest()
    if key not in _valid_specs:
        _validate_spec.__func__(cls, spec)
        _valid_specs.add(key)


def install_validate_spec_once() -> None:
    """Replace `OpenAPISpecification._validate_spec` process-wide (idempotent). Called by
    `create_app`: importing this module changes nothing by itself."""
    if OpenAPISpecification._validate_spec.__func__ is not _validate_spec_once:
        OpenAPISpecification._validate_spec = classmethod(_validate_spec_once)
