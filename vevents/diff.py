"""`vevents diff OLD NEW`: report the changes between two versions of the spec, breaking ones first.

`vevents diff --base-ref REF NEW...` reads each old version from git (`vevents.gitbase`): the
pre-commit hook and CI compare the working copy against the base branch that way. A file that
does not exist at REF is new: nothing to break.

Exit codes: 0 no breaking change, 1 at least one breaking change, 2 an input that cannot be
read as an OpenAPI document (or a REF git does not know). The comparison itself lives in
`vevents.specdiff`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from vevents.specdiff import BREAKING, Change, DiffInputError, compare, load_document, parse_document

__all__ = ["diff", "render_json", "render_text"]

EXIT_OK, EXIT_BREAKING = 0, 1


def render_text(changes: Sequence[Change], *, show_all: bool) -> str:
    """One line per change, then a summary line."""
    shown = [c for c in changes if show_all or c.level == BREAKING]
    breaking = sum(c.breaking for c in changes)
    summary = f"{breaking} breaking change{'s' if breaking != 1 else ''}, {len(changes) - breaking} other"
    return "\n".join([*map(str, shown), summary])


def render_json(changes: Sequence[Change], old: Path, new: Path) -> str:
    """The changes as one JSON object, for CI tools."""
    report = {
        "old": str(old),
        "new": str(new),
        "breaking": sum(c.breaking for c in changes),
        "changes": [asdict(c) for c in changes],
    }
    return json.dumps(report, indent=2)


def _document_at(ref: str, path: Path) -> dict[str, Any] | None:
    """The OpenAPI document `path` was at git revision `ref`, or None if it did not exist there."""
    from vevents.gitbase import text_at

    text = text_at(ref, path)
    return None if text is None else parse_document(text, f"{path} at {ref}")


def _pairs(paths: Sequence[Path], base_ref: str | None) -> list[tuple[str, dict[str, Any] | None, Path]]:
    """(name of the old version, its document or None if new, the new file) for each comparison."""
    if base_ref is None:
        if len(paths) != 2:
            raise click.UsageError("give OLD and NEW, or --base-ref REF and one or more NEW files")
        return [(str(paths[0]), load_document(paths[0]), paths[1])]
    if not paths:
        raise click.UsageError("--base-ref REF needs the file(s) to compare with their version at REF")
    return [(f"{path}@{base_ref}", _document_at(base_ref, path), path) for path in paths]


@click.command("diff")
@click.argument("paths", metavar="[OLD] NEW...", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--base-ref",
    metavar="REF",
    default=None,
    help="Compare each NEW file with its version at this git revision (a branch, tag or commit: "
    "origin/main), read with git itself; then give only the NEW file(s).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one line per change, then a summary; json: every change as an object, for CI tools.",
)
@click.option("--breaking-only", is_flag=True, help="In text output, list only the breaking changes.")
def diff(paths: tuple[Path, ...], base_ref: str | None, output_format: str, breaking_only: bool) -> None:
    """Report breaking changes between two versions of the spec (exit 1 if there is one).

    vevents diff OLD NEW, or vevents diff --base-ref REF NEW... (the old version read from git).
    """
    breaking = False
    try:
        pairs = _pairs(paths, base_ref)
        compared = [
            (old_name, new, compare(old, load_document(new)) if old is not None else None)
            for old_name, old, new in pairs
        ]
    except DiffInputError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(exc.exit_code) from exc
    for old_name, new, changes in compared:
        if changes is None:
            click.echo(f"{new}: new at {base_ref}, nothing to compare")
            continue
        breaking = breaking or any(c.breaking for c in changes)
        if output_format == "json":
            click.echo(render_json(changes, Path(old_name), new))
        else:
            if len(compared) > 1:
                click.echo(f"{old_name} -> {new}:")
            click.echo(render_text(changes, show_all=not breaking_only))
    raise SystemExit(EXIT_BREAKING if breaking else EXIT_OK)
