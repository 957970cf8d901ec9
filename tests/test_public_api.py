"""The public API of each package, against an exact list (issue 12).

A name added to or dropped from a package's `__all__` is a change of the API users import, so
it must show up here in the same commit. Every listed name must import, and nothing public
outside `__all__` may be defined in the package's `__init__` (modules and `from __future__`
aside): whatever a user can `from vevents.X import` by name is exactly the list.
"""

from __future__ import annotations

import importlib
import types

import pytest

PUBLIC_API = {
    "vevents": ["__version__"],
    "vevents.spec": [
        "GUID_PATTERN",
        "SECURITY_SCHEME",
        "SPEC_FILENAME",
        "Contract",
        "DocumentError",
        "Operation",
        "Outcome",
        "Route",
        "Sample",
        "SpecDocument",
        "contract",
        "singular",
        "load_spec",
        "load_yaml_file",
        "parse_yaml",
        "ref_of",
        "resolve",
        "spec_path",
        "spec_text",
    ],
    "vevents.server": [],
    "vevents.conformance": [
        "REGISTRY",
        "Check",
        "CheckConfig",
        "CheckFinished",
        "CheckResult",
        "CheckStarted",
        "ConformanceError",
        "NotThisApi",
        "Note",
        "Outcome",
        "RunResult",
        "SetupError",
        "Skip",
        "TargetUnreachable",
        "UsageError",
        "Violation",
        "check",
        "list_checks",
        "load_all",
        "run",
    ],
}
# Imported helpers an `__init__` may hold without exporting them.
_HELPERS = {"annotations", "Any", "Mapping", "Path", "dataclass", "field"}


@pytest.mark.parametrize("package", sorted(PUBLIC_API))
def test_all_is_the_exact_list(package: str) -> None:
    module = importlib.import_module(package)
    assert sorted(getattr(module, "__all__", ())) == sorted(PUBLIC_API[package])


@pytest.mark.parametrize("package", sorted(PUBLIC_API))
def test_every_listed_name_imports(package: str) -> None:
    module = importlib.import_module(package)
    for name in PUBLIC_API[package]:
        exec(f"from {package} import {name}", {})  # the way users write it
        assert getattr(module, name) is not None


@pytest.mark.parametrize("package", sorted(PUBLIC_API))
def test_nothing_public_is_left_out_of_all(package: str) -> None:
    module = importlib.import_module(package)
    unlisted = [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and name not in PUBLIC_API[package]
        and name not in _HELPERS
        and not isinstance(value, types.ModuleType)
    ]
    assert unlisted == [], f"{package} defines public names outside __all__: {unlisted}"
