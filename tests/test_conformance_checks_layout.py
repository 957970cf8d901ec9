"""The check modules stand side by side: each imports the check API and `checks.common`, never another.

A check module that imported another would stack the modules again (one chain of floors, where
moving a helper breaks modules that never use it); the one shared module is `common`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from vevents.conformance import list_checks

CHECKS = Path(__file__).resolve().parents[1] / "conformance" / "checks"
# What a check module may import of the suite: the check API and the one shared helper module.
CHECK_API = {"..context", "..definitions", "..failures"}
HELPERS = ".common"
CHECK_MODULES = sorted(path.stem for path in CHECKS.glob("*.py") if path.stem not in {"__init__", "common"})


def _suite_imports(path: Path) -> set[str]:
    """The suite modules a file imports, as relative names (`.x`: in checks/, `..x`: in conformance/)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level and module:
                found.add("." * node.level + module)
            elif node.level:  # `from . import x`: x is the module
                found.update("." * node.level + alias.name for alias in node.names)
            elif module.startswith("vevents.conformance"):
                found.add(module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("vevents.conformance"))
    return found


def test_there_are_check_modules() -> None:
    assert {"cancel", "canceled", "isolation", "permanence"} <= set(CHECK_MODULES)


@pytest.mark.parametrize("module", CHECK_MODULES)
def test_a_check_module_imports_only_the_check_api_and_common(module: str) -> None:
    imported = _suite_imports(CHECKS / f"{module}.py")
    siblings = {f".{name}" for name in CHECK_MODULES} | {f"..checks.{name}" for name in CHECK_MODULES}
    assert not imported & siblings, f"checks/{module}.py imports another check module: {sorted(imported & siblings)}"
    assert imported <= CHECK_API | {HELPERS}, f"checks/{module}.py imports {sorted(imported - CHECK_API - {HELPERS})}"


def test_common_imports_no_check_module() -> None:
    imported = _suite_imports(CHECKS / "common.py")
    assert not imported & {f".{name}" for name in CHECK_MODULES}


def test_the_layout_test_sees_a_sibling_import(tmp_path: Path) -> None:
    offender = tmp_path / "offender.py"
    offender.write_text("from .cancel import KINDS\nfrom . import canceled\nfrom ..target import Target\n")
    assert _suite_imports(offender) == {".cancel", ".canceled", "..target"}


def test_every_check_module_declares_checks_the_registry_lists() -> None:
    modules = {item.function.__module__.rsplit(".", 1)[-1] for item in list_checks() if item.function is not None}
    assert set(CHECK_MODULES) <= modules
