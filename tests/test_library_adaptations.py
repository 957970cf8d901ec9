"""The private library names the stub leans on still exist (issue 12).

`server/_connexion.py` and `server/_uvicorn.py` each open with the list of private names they
touch. An upgrade of Connexion or uvicorn that removes or moves one fails here, naming it,
instead of failing somewhere deep in a request. The lists below are those modules' lists.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import pytest

# (module, attribute path) for every private or undocumented name the fences touch.
CONNEXION_NAMES = [
    ("connexion.spec", "OpenAPISpecification._validate_spec"),
    ("connexion.validators", "ParameterValidator.validate_parameter"),
    ("connexion.validators", "ParameterValidator.__init__"),
    ("connexion.validators", "JSONRequestBodyValidator._validator"),
    ("connexion.validators", "JSONRequestBodyValidator._parse"),
    ("connexion.validators", "VALIDATOR_MAP"),
    ("connexion.apps.asynchronous", "AsyncApi.make_operation"),
    ("connexion.apps.asynchronous", "AsyncASGIApp.api_cls"),
    ("connexion.middleware", "ConnexionMiddleware.default_middlewares"),
    ("connexion.lifecycle", "ConnexionRequest.context"),
    ("connexion.json_schema", "Draft4RequestValidator"),
    ("connexion.utils", "is_null"),
    ("connexion.utils", "is_nullable"),
]
UVICORN_NAMES = [
    ("uvicorn.supervisors", "Multiprocess"),
    ("uvicorn.supervisors", "Multiprocess.run"),
]


def _lookup(module: str, path: str) -> Any:
    value: Any = importlib.import_module(module)
    for part in path.split("."):
        value = getattr(value, part)
    return value


@pytest.mark.parametrize(
    ("module", "path"), CONNEXION_NAMES + UVICORN_NAMES, ids=[f"{m}.{p}" for m, p in CONNEXION_NAMES + UVICORN_NAMES]
)
def test_private_name_still_exists(module: str, path: str) -> None:
    try:
        _lookup(module, path)
    except (ImportError, AttributeError) as exc:
        pytest.fail(
            f"{module}.{path} is gone ({exc}): the library was upgraded; adapt the fence "
            f"(server/_connexion.py or server/_uvicorn.py) and its list of private names"
        )


def test_the_fences_list_what_this_test_checks() -> None:
    from vevents.server import _connexion, _uvicorn

    for fence, names in ((_connexion, CONNEXION_NAMES), (_uvicorn, UVICORN_NAMES)):
        header = inspect.getdoc(fence) or ""
        for _, path in names:
            leaf = path.rsplit(".", 1)[-1]
            assert leaf in header, f"{fence.__name__} does not list {path} in its opening list"


def test_connexion_still_calls_validators_the_way_the_overrides_expect() -> None:
    """The overrides rely on call shapes, not only names: `validate_parameter(type, value, param)`
    is called on the instance Connexion builds per request, and the body validator reads its
    schema from `_schema`."""
    from connexion.validators import JSONRequestBodyValidator, ParameterValidator

    assert list(inspect.signature(ParameterValidator.validate_parameter).parameters)[:3] == [
        "parameter_type",
        "value",
        "param",
    ]
    source = inspect.getsource(JSONRequestBodyValidator)
    assert "self._schema" in source and "def _validator" in source


def test_connexion_security_context_layout() -> None:
    """The fast path leaves the caller where Connexion's security middleware does."""
    from connexion import lifecycle

    from vevents.server._connexion import CONTEXT_KEY

    source = inspect.getsource(lifecycle)  # ConnexionRequest.context: where security leaves token_info
    assert f'"{CONTEXT_KEY}"' in source or f"'{CONTEXT_KEY}'" in source


def test_the_parameter_validator_cache_is_bounded() -> None:
    """The id()-keyed cache of compiled parameter validators forgets apps that are gone."""
    from vevents.server._connexion import _COMPILED_LIMIT, _ParameterValidator

    for number in range(_COMPILED_LIMIT + 50):
        param = {"in": "query", "name": f"p{number}", "schema": {"type": "string"}}
        assert _ParameterValidator.validate_parameter("query", "x", param) is None
    assert len(_ParameterValidator._compiled) <= _COMPILED_LIMIT
    assert _ParameterValidator.validate_parameter("query", 1, {"schema": {"type": "string"}}) is not None
