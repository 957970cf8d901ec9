"""`vevents check`: judge a base URL (or the bundled stub) against the contract.

Thin: parse options, build a `CheckConfig`, call `runner.run`, hand the result to reporters.
Exit codes: 0 conformant, 1 violations found, 2 could not run (the message says why).
"""

from __future__ import annotations

import sys

import click

__all__ = ["check"]


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _list_checks(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from .registry import load_all

    registry = load_all()
    width = max(len(name) for name in registry)
    for item in registry.values():
        tags = []
        if item.source == "schemathesis":
            tags.append("schemathesis")
        if item.strict_only:
            tags.append("strict only")
        suffix = f"  [{', '.join(tags)}]" if tags else ""
        click.echo(f"{item.name.ljust(width)}  {item.description}{suffix}")
    ctx.exit(0)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--base-url", metavar="URL",
              help="The target, including the version segment, e.g. https://graph.microsoft.com/v1.0. "
              "Without it, the bundled stub is started in-process on 127.0.0.1 with tokens minted for it.")
@click.option("--token", metavar="TOKEN",
              help="Delegated bearer token (VirtualEvent.ReadWrite) of the user who organizes the test events. "
              "Required with --base-url.")
@click.option("--read-only-token", metavar="TOKEN",
              help="Optional token with VirtualEvent.Read only; enables read_only_token_forbidden.")
@click.option("--other-user-token", metavar="TOKEN",
              help="Optional token of another user of the same tenant; enables other_user_forbidden.")
@click.option("--event-id", "event_ids", multiple=True, metavar="[KIND:]ID",
              help="Use this existing event (repeatable) instead of creating events, for targets that cannot "
              "create; KIND is webinars or townhalls (found by GET if omitted). The suite may cancel it.")
@click.option("--strict", is_flag=True,
              help="Also hold the target to the stub's documented choices where Graph's docs are silent "
              "(the spec's lifecycle table, 405 for other methods, 400 for malformed ids, ...).")
@click.option("--checks", "checks", multiple=True, metavar="NAMES",
              help="Run only these checks (comma-separated or repeated; 'vevents' or 'schemathesis' select a family).")
@click.option("--exclude-checks", multiple=True, metavar="NAMES",
              help="Skip these checks (comma-separated or repeated).")
@click.option("--list-checks", is_flag=True, expose_value=False, is_eager=True, callback=_list_checks,
              help="List every check with its one-line description and exit.")
@click.option("--phases", default="examples,coverage,fuzzing,stateful", show_default=True, metavar="PHASES",
              help="Schemathesis phases to run (comma-separated).")
@click.option("--no-schemathesis", is_flag=True, help="Skip the Schemathesis built-in checks (only the suite's own).")
@click.option("--max-examples", type=int, default=None, metavar="N",
              help="Schemathesis examples per operation and phase [default: 25].")
@click.option("--seed", type=int, default=None,
              help="Seed for Schemathesis and the suite's random ids (printed at the end).")
@click.option("--timeout", type=float, default=None, metavar="SECONDS", help="Per-request timeout [default: 10].")
@click.option("--settle", type=float, default=0.0, show_default=True, metavar="SECONDS",
              help="For eventually consistent targets (a real Graph tenant): re-read an event for up to SECONDS "
                   "until it shows the expected status before calling it a violation. 0 reads once.")
@click.option("--junit-xml", type=click.Path(dir_okay=False), metavar="PATH",
              help="Write a JUnit XML report (one test case per check).")
@click.option("--report-json", type=click.Path(dir_okay=False), metavar="PATH", help="Write a JSON report.")
@click.option("-v", "--verbose", is_flag=True, help="Print one line per finished check and Schemathesis progress.")
def check(
    base_url: str | None,
    token: str | None,
    read_only_token: str | None,
    other_user_token: str | None,
    event_ids: tuple[str, ...],
    strict: bool,
    checks: tuple[str, ...],
    exclude_checks: tuple[str, ...],
    phases: str,
    no_schemathesis: bool,
    max_examples: int | None,
    seed: int | None,
    timeout: float | None,
    settle: float,
    junit_xml: str | None,
    report_json: str | None,
    verbose: bool,
) -> None:
    """Check a base URL (or, without --base-url, the bundled stub) against the virtual events contract.

    Exit status: 0 conformant, 1 violations found, 2 could not run.
    """
    from . import report
    from .errors import ConformanceError
    from .runner import CheckConfig, run

    excluded = _split(exclude_checks) + (("schemathesis",) if no_schemathesis else ())
    try:
        config = CheckConfig(
            base_url=base_url,
            token=token,
            read_only_token=read_only_token,
            other_user_token=other_user_token,
            event_ids=event_ids,
            strict=strict,
            checks=_split(checks),
            exclude_checks=excluded,
            phases=_split((phases,)),
            seed=seed,
            settle=settle,
            **({"max_examples": max_examples} if max_examples is not None else {}),
            **({"timeout": timeout} if timeout is not None else {}),
        )
        progress = report.ProgressLine(sys.stderr, verbose=verbose)
        try:
            result = run(config, on_progress=progress)
        finally:
            progress.close()
    except ConformanceError as exc:
        click.echo(f"vevents check: could not run: {exc}", err=True)
        sys.exit(exc.exit_code)
    report.write_summary(result, sys.stdout)
    if junit_xml:
        report.write_junit(result, junit_xml)
    if report_json:
        report.write_json(result, report_json)
    sys.exit(result.exit_code)
