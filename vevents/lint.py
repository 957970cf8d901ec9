"""`vevents lint SPEC...`: is each file a valid OpenAPI document (the pre-commit hook `vevents-lint`)?

openapi-spec-validator (the suite's `check` extra brings it) checks each document against the
OpenAPI meta-schema, following its `$ref`s, those into other files too, relative to the file
(spec/control.yaml refers into spec/virtual-events.yaml). Spectral's style rules stay with
`make lint` in this repository (they need Node.js).

Exit codes: 0 every file valid, 1 at least one is not, 2 a file that cannot be read as YAML/JSON.
"""

from __future__ import annotations

from pathlib import Path

import click

from vevents.specdiff import DiffInputError, load_document

__all__ = ["lint", "problem_of"]

EXIT_VALID, EXIT_INVALID = 0, 1


def problem_of(path: Path) -> str | None:
    """Why the document at `path` is not valid OpenAPI (one line), or None when it is."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    document = load_document(path)  # DiffInputError (exit 2) for what is not an OpenAPI document at all
    try:
        validate(document, base_uri=path.resolve().as_uri())
    except OpenAPIValidationError as exc:
        where = "/".join(str(part) for part in getattr(exc, "path", ()) or ())
        message = " ".join(str(getattr(exc, "message", exc)).split("\n\n", 1)[0].split())[:300]
        return f"{message} (at {where or 'the document root'})"
    except (OSError, ValueError, LookupError) as exc:  # a $ref that cannot be followed
        return f"cannot follow a reference: {' '.join(str(exc).split())[:300]}"
    return None


@click.command("lint")
@click.argument("paths", metavar="SPEC...", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def lint(paths: tuple[Path, ...]) -> None:
    """Check that each SPEC is a valid OpenAPI document (exit 1 if one is not)."""
    invalid = False
    for path in paths:
        try:
            problem = problem_of(path)
        except DiffInputError as exc:
            click.echo(f"Error: {exc}", err=True)
            raise SystemExit(exc.exit_code) from exc
        invalid = invalid or problem is not None
        click.echo(f"{path}: {'valid OpenAPI' if problem is None else 'INVALID: ' + problem}")
    raise SystemExit(EXIT_INVALID if invalid else EXIT_VALID)
