"""`vevents check`: judge a base URL (or the bundled stub) against the contract.

Thin: parse options (declared once in `options.py`), build a `CheckConfig`, call `runner.run`,
hand the result to reporters. Exit codes: 0 conformant, 1 not conformant (violations found),
2 not judged or could not run; a run that cannot start says why on ONE line of stderr
(`vevents check: could not run: ...`), bad options included.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from .escaping import printable
from .options import OPTIONS, REPORT_OPTIONS, OptionSpec, config_from

__all__ = ["check"]

_MAX_ERROR = 400


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


def _click_option(spec: OptionSpec) -> Callable[[Any], Any]:
    names = [f"--{spec.name}", *([f"-{spec.short}"] if spec.short else [])]
    kwargs: dict[str, Any] = {"help": spec.help_text(), "default": None}
    if spec.is_flag:
        kwargs.update(is_flag=True, default=False)
    else:
        kwargs.update(type=spec.type, metavar=spec.metavar, multiple=spec.multiple)
        if spec.multiple:
            kwargs["default"] = ()
    return click.option(*names, spec.dest, **kwargs)


class _OneLineErrors(click.Command):
    """Usage errors (an unknown option, a bad value) as one line on stderr, exit 2: no usage block."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            message = " ".join(exc.format_message().split())
            click.echo(f"vevents check: could not run: {message} (see vevents check --help)", err=True)
            ctx.exit(2)


def _command(function: Callable[..., None]) -> click.Command:
    for spec in reversed((*OPTIONS, *REPORT_OPTIONS)):
        function = _click_option(spec)(function)
    function = click.option(
        "--list-checks",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_list_checks,
        help="List every check with its one-line description and exit.",
    )(function)
    return click.command("check", cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})(
        function
    )


@_command
def check(**values: Any) -> None:
    """Check a base URL (or, without --base-url, the bundled stub) against the virtual events contract.

    Exit status: 0 conformant (every check judged), 1 not conformant (violations found), 2 not judged (a check could
    not be: each is listed with why) or could not run.
    """
    from . import report
    from .errors import ConformanceError
    from .runner import run

    try:
        config = config_from(values)
        progress = report.ProgressLine(sys.stderr, verbose=bool(values.get("verbose")))
        try:
            result = run(config, on_progress=progress)
        finally:
            progress.close()
    except ConformanceError as exc:
        # One line, whatever the target answered (an HTML page has many), and no byte a terminal acts on.
        message = printable(" ".join(str(exc).split()))
        click.echo(f"vevents check: could not run: {message[:_MAX_ERROR]}", err=True)
        sys.exit(exc.exit_code)
    report.write_reports(
        result,
        sys.stdout,
        junit_xml=values.get("junit_xml"),
        report_json=values.get("report_json"),
        html=values.get("html"),
    )
    sys.exit(result.exit_code)
