"""The one declaration of `vevents check`'s options, shared by the CLI and the pytest plugin.

Each option is an `OptionSpec`: its name, its help, its type and how its value lands in a
`CheckConfig`. `cli.py` turns the table into click options (`--max-events`) and
`pytest_plugin.py` into pytest options (`--vevents-max-events`); neither restates a default:
defaults live on `CheckConfig` and the help shows them from there. A new option is one row here
(plus a field on `CheckConfig` when it configures the run).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["OPTIONS", "REPORT_OPTIONS", "OptionSpec", "config_from", "default_of", "split_names"]


def split_names(values: Iterable[str] | str | None) -> tuple[str, ...]:
    """`a,b` or repeated values (or both) as a tuple of names."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = (values,)
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


@dataclass(frozen=True, slots=True)
class OptionSpec:
    """One option of `vevents check` (and `--vevents-<name>` in pytest)."""

    name: str
    """The long name without dashes in front: `max-events`."""
    help: str
    type: type = str
    """str, int, float or bool (a flag)."""
    metavar: str | None = None
    multiple: bool = False
    """Repeatable; the values are collected in a tuple."""
    field: str | None = None
    """The `CheckConfig` field it sets (default: the name with underscores); "" for report-only options."""
    convert: Callable[[Any], Any] | None = None
    """Turns the raw value(s) into the field's value (e.g. comma-separated names into a tuple)."""
    short: str | None = None
    """A one-letter alias for the CLI (`-v`)."""

    @property
    def dest(self) -> str:
        return self.name.replace("-", "_")

    @property
    def config_field(self) -> str | None:
        return self.dest if self.field is None else (self.field or None)

    @property
    def is_flag(self) -> bool:
        return self.type is bool

    def help_text(self) -> str:
        """The help, with the default read from `CheckConfig` when it is worth showing."""
        default = default_of(self.config_field) if self.config_field else None
        if self.is_flag or default is None or default in ((), "") or (self.type is float and default == 0):
            return self.help
        shown = (
            ",".join(default)
            if isinstance(default, tuple)
            else f"{default:g}"
            if isinstance(default, float)
            else str(default)
        )
        return f"{self.help} [default: {shown}]"


def default_of(field_name: str) -> Any:
    """The default of a `CheckConfig` field (the one place defaults are typed)."""
    from .runner import CheckConfig

    for item in dataclasses.fields(CheckConfig):
        if item.name == field_name:
            if item.default is not dataclasses.MISSING:
                return item.default
            if item.default_factory is not dataclasses.MISSING:
                return item.default_factory()
    raise KeyError(field_name)


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "base-url",
        "The target, including the version segment, e.g. https://graph.microsoft.com/v1.0. "
        "Without it, the bundled stub is started in-process on 127.0.0.1 with tokens minted for it.",
        metavar="URL",
    ),
    OptionSpec(
        "token",
        "Delegated bearer token (VirtualEvent.ReadWrite) of the user who organizes the test events. "
        "Required with --base-url. Never printed: reproductions read it from $VEVENTS_TOKEN.",
        metavar="TOKEN",
    ),
    OptionSpec(
        "read-only-token",
        "Optional token with VirtualEvent.Read only; enables read_only_token_forbidden.",
        metavar="TOKEN",
    ),
    OptionSpec(
        "other-user-token",
        "Optional token of another user of the same tenant; enables other_user_forbidden.",
        metavar="TOKEN",
    ),
    OptionSpec(
        "token-command",
        "Instead of --token: a shell command that prints the organizer's token, or JSON with it and its "
        "expiry (accessToken, expiresOn), as `az account get-access-token` or `vevents login --print-token` "
        "do; re-run before the token expires and once after a 401 for an expired one. Tokens are never printed.",
        metavar="COMMAND",
    ),
    OptionSpec(
        "read-only-token-command",
        "Instead of --read-only-token: a command printing it (as --token-command).",
        metavar="COMMAND",
    ),
    OptionSpec(
        "other-user-token-command",
        "Instead of --other-user-token: a command printing it (as --token-command).",
        metavar="COMMAND",
    ),
    OptionSpec(
        "other-tenant-token",
        "Optional token of a user of another tenant; callers_in_every_state then judges that caller too.",
        metavar="TOKEN",
    ),
    OptionSpec(
        "msal-tenant",
        "The tenant (id or domain) the --*msal-client-id applications sign in to with MSAL "
        "(client credentials: an application token, renewed before it expires; docs/real-tenant.md).",
        metavar="TENANT",
    ),
    OptionSpec(
        "msal-authority",
        "The authority's host instead of https://login.microsoftonline.com (a sovereign cloud, a "
        "local authority); MSAL's instance discovery is then off.",
        metavar="URL",
    ),
    OptionSpec(
        "msal-client-id",
        "Instead of --token: the organizer's token from this application's client credentials (MSAL).",
        metavar="CLIENT_ID",
    ),
    OptionSpec(
        "msal-client-secret-env",
        "The environment variable that holds --msal-client-id's client secret (never the secret itself).",
        metavar="VAR",
    ),
    OptionSpec(
        "read-only-msal-client-id",
        "Instead of --read-only-token: this application's token (an app with VirtualEvent.Read.All only).",
        metavar="CLIENT_ID",
    ),
    OptionSpec(
        "read-only-msal-client-secret-env",
        "The environment variable that holds --read-only-msal-client-id's client secret.",
        metavar="VAR",
    ),
    OptionSpec(
        "other-user-msal-client-id",
        "Instead of --other-user-token: this application's token.",
        metavar="CLIENT_ID",
    ),
    OptionSpec(
        "other-user-msal-client-secret-env",
        "The environment variable that holds --other-user-msal-client-id's client secret.",
        metavar="VAR",
    ),
    OptionSpec(
        "event-id",
        "Use this existing event (repeatable) instead of creating events, for targets that cannot "
        "create; KIND is webinars or townhalls (found by GET if omitted). The suite may cancel it.",
        metavar="[KIND:]ID",
        multiple=True,
        field="event_ids",
        convert=tuple,
    ),
    OptionSpec(
        "strict",
        "Also hold the target to the stub's documented choices where Graph's docs are silent "
        "(the spec's lifecycle table, 405 for other methods, 400 for malformed ids, ...).",
        type=bool,
    ),
    OptionSpec(
        "checks",
        "Run only these checks (comma-separated or repeated; 'vevents' or 'schemathesis' select a family).",
        metavar="NAMES",
        multiple=True,
        convert=split_names,
    ),
    OptionSpec(
        "exclude-checks",
        "Skip these checks (comma-separated or repeated).",
        metavar="NAMES",
        multiple=True,
        convert=split_names,
    ),
    OptionSpec("phases", "Schemathesis phases to run (comma-separated).", metavar="PHASES", convert=split_names),
    OptionSpec("no-schemathesis", "Skip the Schemathesis built-in checks (only the suite's own).", type=bool, field=""),
    OptionSpec("max-examples", "Schemathesis examples per operation and phase.", type=int, metavar="N"),
    OptionSpec("seed", "Seed for Schemathesis and the suite's random ids (printed at the end).", type=int, metavar="N"),
    OptionSpec(
        "timeout",
        "Longest time one request may take, answer body included (a target that drip-feeds its answer is cut off).",
        type=float,
        metavar="SECONDS",
    ),
    OptionSpec(
        "settle",
        "For eventually consistent targets (a real Graph tenant): re-read an event for up to "
        "SECONDS until it shows the expected status before calling it a violation. 0 reads once.",
        type=float,
        metavar="SECONDS",
    ),
    OptionSpec(
        "permanence-wait",
        "After the end-of-run sweep (every event the run canceled must still read "
        "canceled), wait SECONDS and sweep again: a longer look at 'canceled is permanent'.",
        type=float,
        metavar="SECONDS",
    ),
    OptionSpec(
        "max-events",
        "The most events the run may create, Schemathesis included; checks that need more "
        "are skipped. Every event the run created is canceled at the end and listed in the reports.",
        type=int,
        metavar="N",
    ),
    OptionSpec(
        "workers",
        "How many of the suite's own checks run at the same time (1: one after the other).",
        type=int,
        metavar="N",
    ),
    OptionSpec(
        "max-schemathesis-time",
        "The Schemathesis phases' share of the run: once it is over, the cases "
        "they would still send are skipped (a slow target gets fewer cases, never a longer run).",
        type=float,
        metavar="SECONDS",
    ),
    OptionSpec(
        "max-retries",
        "How often one request answered 429 or 503 with Retry-After is sent again after "
        "waiting as told (0: never; the throttled answer is then not judged, the check cannot run).",
        type=int,
        metavar="N",
    ),
    OptionSpec(
        "max-retry-wait",
        "The longest total time the whole run may spend waiting on Retry-After.",
        type=float,
        metavar="SECONDS",
    ),
)

# Options that choose where results go; they do not configure the run.
REPORT_OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "junit-xml",
        "Write a JUnit XML report (one test case per check, the events the run created as properties).",
        metavar="PATH",
        field="",
    ),
    OptionSpec("report-json", "Write a JSON report.", metavar="PATH", field=""),
    OptionSpec(
        "html",
        "Write the report as one self-contained HTML page (verdict, checks, coverage grid, failures with "
        "their evidence and curl reproductions; whatever the target sent is shown as text).",
        metavar="PATH",
        field="",
    ),
    OptionSpec(
        "verbose", "Print one line per finished check and Schemathesis progress.", type=bool, field="", short="v"
    ),
)


def config_from(values: Mapping[str, Any]) -> Any:
    """A `CheckConfig` from option values by `dest` (None or absent: the default); raises `UsageError`."""
    from .runner import CheckConfig

    kwargs: dict[str, Any] = {}
    for spec in OPTIONS:
        value = values.get(spec.dest)
        if spec.config_field is None or value is None or (spec.multiple and not value):
            continue
        kwargs[spec.config_field] = spec.convert(value) if spec.convert else value
    if values.get("no_schemathesis"):
        kwargs["exclude_checks"] = (*kwargs.get("exclude_checks", ()), "schemathesis")
    return CheckConfig(**kwargs)
