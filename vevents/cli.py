"""The `vevents` command: one entry point, subcommands loaded only when called.

`vevents check` must not import the server (it may judge a remote target), so each
subcommand is named here by its import path and imported on first use.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util

import click

from vevents import __version__

# name -> ("module:attribute" of a click command, one-line help shown by `vevents --help`).
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("vevents.server.cli:serve", "Run the stateful Graph stub (default 127.0.0.1:8080)."),
    "token": ("vevents.server.cli:token", "Mint a bearer token the stub trusts."),
    "check": ("vevents.conformance.cli:check", "Check a base URL (or the bundled stub) against the contract."),
    "check-webhook": (
        "vevents.conformance.webhook_cli:check_webhook_command",
        "Judge a webhook receiver against Graph's delivery contract.",
    ),
    "validate-traffic": ("vevents.traffic:validate_traffic_command", "Validate recorded traffic (HAR, cassettes)."),
    "diff": ("vevents.diff:diff", "Report breaking changes between two versions of the spec."),
    "lint": ("vevents.lint:lint", "Check that spec files are valid OpenAPI documents."),
    "health": ("vevents.health:health", "Check that a running stub answers (exit 0 healthy, 1 not)."),
}

# Subcommands whose engines are an extra, not the core install (which is the stub's):
# name -> (modules they import while running, the extra that brings them).
NEEDS_EXTRA: dict[str, tuple[tuple[str, ...], str]] = {
    "check": (("schemathesis", "openapi_core"), "check"),
    "check-webhook": (("schemathesis", "openapi_core"), "check"),
    "validate-traffic": (("openapi_core",), "check"),
    "lint": (("openapi_spec_validator",), "check"),
}


def missing_extra(name: str) -> str | None:
    """The extra to install before subcommand `name` can run, or None if nothing is missing."""
    modules, extra = NEEDS_EXTRA.get(name, ((), ""))
    return extra if any(importlib.util.find_spec(module) is None for module in modules) else None


def _refusing(command: click.Command, name: str, extra: str) -> click.Command:
    """`command` with its options and --help, but whose run says in one line what to install (exit 2)."""

    def refuse(**_options: object) -> None:
        click.echo(
            f"vevents {name} needs the conformance suite's dependencies: pip install 'vevents[{extra}]'", err=True
        )
        raise SystemExit(2)

    refusing = copy.copy(command)
    refusing.callback = refuse
    return refusing


class LazyGroup(click.Group):
    """A click group whose subcommands are imported when invoked or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = SUBCOMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, _, attribute = entry[0].partition(":")
        command: click.Command = getattr(importlib.import_module(module_name), attribute)
        extra = missing_extra(cmd_name)
        return command if extra is None else _refusing(command, cmd_name, extra)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing must not import every subcommand (the server is heavy to import).
        with formatter.section("Commands"):
            formatter.write_dl([(name, SUBCOMMANDS[name][1]) for name in self.list_commands(ctx)])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vevents")
def main() -> None:
    """A contract-first stub and conformance suite for Microsoft Graph virtual events."""
