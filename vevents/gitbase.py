"""A file as it is in another git revision (`git show REF:./path`), for `vevents diff --base-ref`.

The old spec comes from git itself, so a pre-commit hook or a CI job compares the working copy
against the base branch with no temporary file and no `git show` of its own. Paths are taken
relative to the file's own folder (`REF:./name`), so the command works from any directory
inside the repository.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from vevents.specdiff import DiffInputError

__all__ = ["text_at"]

_GIT_TIMEOUT = 30.0


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    try:
        return subprocess.run(["git", "-C", str(folder), *args], capture_output=True, timeout=_GIT_TIMEOUT, check=False)
    except FileNotFoundError as exc:
        raise DiffInputError("--base-ref needs git on PATH") from exc
    except subprocess.TimeoutExpired as exc:
        raise DiffInputError(f"git did not answer within {_GIT_TIMEOUT:g} s") from exc


def text_at(ref: str, path: Path) -> str | None:
    """The text of `path` at revision `ref`, or None when the file does not exist there (a new file).

    Raises DiffInputError when `path` is not in a git repository or `ref` names no commit.
    """
    folder = path.resolve().parent
    if ref.startswith("-"):
        raise DiffInputError(f"--base-ref {ref!r} is not a git revision")
    if _git(folder, "rev-parse", "--git-dir").returncode != 0:
        raise DiffInputError(f"{path}: not inside a git repository (--base-ref reads the old version from git)")
    if _git(folder, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}").returncode != 0:
        raise DiffInputError(f"--base-ref {ref!r} names no commit of this repository (fetch it first?)")
    shown = _git(folder, "show", f"{ref}:./{path.name}")
    if shown.returncode != 0:
        return None
    try:
        return shown.stdout.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DiffInputError(f"{path} at {ref}: not UTF-8 text") from exc
