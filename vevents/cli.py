"""The `vevents` command: one entry point, subcommands loaded only when called.

`vevents check` must not import the server (it may judge a remote target), so each
subcommand is named here by its import path and imported on first use.
"""

from __future__ import annotations

import importlib

import click

from vevents import __version__

# name -> "module:attribute" of a click command.
SUBCOMMANDS: dict[str, str] = {
    "serve": "vevents.server.cli:serve",
    "token": "vevents.server.cli:token",
    "check": "vevents.conformance.cli:check",
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported when invoked or listed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = SUBCOMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        return getattr(importlib.import_module(module_name), attribute)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vevents")
def main() -> None:
    """A contract-first stub and conformance suite for Microsoft Graph virtual events.

    \b
    vevents serve    run the stateful Graph stub on 127.0.0.1
    vevents token    mint a bearer token the stub trusts
    vevents check    check any base URL (or the bundled stub) against the contract
    """
