"""The release artifacts: an sdist and a wheel built as a release would, installed into a clean venv.

`python -m build` builds the sdist, then the wheel from it (so the sdist misses nothing the wheel
needs), from a copy of the sources in a temporary folder: the build leaves nothing (build/,
*.egg-info) in the checkout that other work shares. The wheel is installed with `--no-deps` into
a fresh venv; the dependencies it would pull are read from this interpreter's site-packages by a
`.pth` line (no download, no install: the test stays fast), after the venv's own, so `vevents`
itself always comes from the wheel.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

import vevents
from vevents.spec import contract

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# Source folder -> where setuptools' package-dir puts it in the wheel.
PACKAGES = {
    "vevents": "vevents",
    "spec": "vevents/spec",
    "server": "vevents/server",
    "conformance": "vevents/conformance",
}
SHIPPED_SUFFIXES = (".py", ".yaml", ".typed")


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding the built sdist and wheel."""
    work = tmp_path_factory.mktemp("dist")
    source = work / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    for folder in PACKAGES:
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = work / "dist"
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> Path:
    (built,) = dist.glob("vevents-*.whl")
    return built


@pytest.fixture(scope="module")
def clean_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel installed (`--no-deps`); its dependencies are this interpreter's."""
    home = tmp_path_factory.mktemp("venv") / "venv"
    venv.create(home, with_pip=False)
    python = home / "bin" / "python"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--quiet", str(wheel)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout.strip()  # fmt: skip
    # A plain path line: the host's own .pth files (the editable install's finder) are not run.
    Path(purelib, "zz-host-dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n", encoding="utf-8")
    return home


def _run_in(home: Path, *command: str) -> subprocess.CompletedProcess[str]:
    elsewhere = home.parent / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(
        [str(home / "bin" / command[0]), *command[1:]],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


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


def test_installed_wheel_reads_the_spec_from_any_folder(clean_venv: Path) -> None:
    probe = (
        "import vevents.spec as s, vevents.cli;"
        "print(s.__file__); print(len(s.spec_text())); print(s.spec_path()); print(len(s.contract().operations))"
    )
    proc = _run_in(clean_venv, "python", "-c", probe)
    assert proc.returncode == 0, proc.stderr
    module_file, length, path, operations = proc.stdout.split("\n")[:4]
    assert Path(module_file).is_relative_to(clean_venv)
    assert Path(path).is_relative_to(clean_venv)
    assert int(length) == len((ROOT / "spec" / "virtual-events.yaml").read_text(encoding="utf-8"))
    assert int(operations) == len(contract().operations)


def test_installed_wheel_is_typed_and_declares_its_entry_points(clean_venv: Path) -> None:
    probe = (
        "import importlib.metadata as m, importlib.resources as r, vevents;"
        "print(r.files('vevents').joinpath('py.typed').is_file());"
        "print(r.files('vevents.server').joinpath('default-seed.yaml').is_file());"
        "print(m.version('vevents'));"
        "(p,) = m.entry_points(group='pytest11', name='vevents'); print(p.load().__name__, p.load().__file__);"
        "(c,) = m.entry_points(group='console_scripts', name='vevents'); print(c.value)"
    )
    proc = _run_in(clean_venv, "python", "-c", probe)
    assert proc.returncode == 0, proc.stderr
    typed, seed, version, plugin, script = proc.stdout.splitlines()
    assert (typed, seed, version) == ("True", "True", vevents.__version__)
    name, _, where = plugin.partition(" ")
    assert name == "vevents.testing" and Path(where).is_relative_to(clean_venv)
    assert script == "vevents.cli:main"


def test_installed_command_prints_the_one_version(clean_venv: Path) -> None:
    proc = _run_in(clean_venv, "vevents", "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"vevents, version {vevents.__version__}"


def test_sdist_carries_the_sources_and_the_contract(dist: Path) -> None:
    (sdist,) = dist.glob("vevents-*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"pyproject.toml", "README.md", "spec/virtual-events.yaml", "spec/control.yaml", "vevents/py.typed"} <= names


def test_metadata_is_ready_to_publish(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        (metadata,) = (n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        text = archive.read(metadata).decode()
    assert f"Version: {vevents.__version__}\n" in text
    for line in ("Classifier: Framework :: Pytest", "Classifier: Typing :: Typed", "Project-URL: Changelog, "):
        assert line in text
    assert "Keywords: " in text and "microsoft-graph" in text


def test_one_version_source_and_a_changelog_entry_for_it() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "vevents.__version__"}
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    assert f"## [{vevents.__version__}] - " in changelog
