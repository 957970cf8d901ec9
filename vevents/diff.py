"""`vevents diff OLD NEW`: report the changes between two versions of the spec, breaking ones first.

Exit codes: 0 no breaking change, 1 at least one breaking change, 2 an input that cannot be
read as an OpenAPI document. The comparison itself lives in `vevents.specdiff`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import click

from vevents.specdiff import BREAKING, Change, DiffInputError, compare, load_document

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


@click.command("diff")
@click.argument("old", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("new", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: one line per change, then a summary; json: every change as an object, for CI tools.",
)
@click.option("--breaking-only", is_flag=True, help="In text output, list only the breaking changes.")
def diff(old: Path, new: Path, output_format: str, breaking_only: bool) -> None:
    """Report breaking changes between two versions of the spec (exit 1 if there is one)."""
    try:
        changes = compare(load_document(old), load_document(new))
    except DiffInputError as exc:
        click.echo(f"Error: {exc}", err=True)
        raise SystemExit(exc.exit_code) from exc
    if output_format == "json":
        click.echo(render_json(changes, old, new))
    else:
        click.echo(render_text(changes, show_all=not breaking_only))
    raise SystemExit(EXIT_BREAKING if any(c.breaking for c in changes) else EXIT_OK)
