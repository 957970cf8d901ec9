"""The wheel carries the contract and all three packages, and works when installed (not editable).

The wheel is built from a copy of the sources in a temporary folder, so the build leaves
nothing (build/, *.egg-info) in the checkout that other work shares.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# Source folder -> where setuptools' package-dir puts it in the wheel.
PACKAGES = {
    "vevents": "vevents",
    "spec": "vevents/spec",
    "server": "vevents/server",
    "conformance": "vevents/conformance",
}
SHIPPED_SUFFIXES = (".py", ".yaml")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for folder in PACKAGES:
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = work / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (built,) = out.glob("vevents-*.whl")
    return built


def _names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def test_wheel_carries_the_spec_and_the_three_packages(wheel: Path) -> None:
    names = _names(wheel)
    assert "vevents/spec/virtual-events.yaml" in names
    for package in PACKAGES.values():
        assert f"{package}/__init__.py" in names


def test_wheel_carries_every_module_and_yaml_file(wheel: Path) -> None:
    names = _names(wheel)
    expected = {
        f"{target}/{path.relative_to(ROOT / folder).as_posix()}"
        for folder, target in PACKAGES.items()
        for path in (ROOT / folder).rglob("*")
        if path.suffix in SHIPPED_SUFFIXES and "__pycache__" not in path.parts
    }
    assert expected - names == set()


def test_wheel_declares_the_vevents_command(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (entry_points,) = (n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt"))
        text = archive.read(entry_points).decode()
    assert "vevents = vevents.cli:main" in text


def test_installed_wheel_reads_the_spec_from_any_folder(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    probe = (
        "import vevents.spec as s, vevents.cli;"
        "print(s.__file__); print(len(s.spec_text())); print(s.spec_path()); print(len(s.contract().operations))"
    )
    env = {**os.environ, "PYTHONPATH": str(target)}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    proc = subprocess.run(
        [sys.executable, "-c", probe], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    module_file, length, path, operations = proc.stdout.split("\n")[:4]
    assert Path(module_file).is_relative_to(target)
    assert Path(path).is_relative_to(target)
    assert int(length) == len((ROOT / "spec" / "virtual-events.yaml").read_text(encoding="utf-8"))
    assert int(operations) == 14
