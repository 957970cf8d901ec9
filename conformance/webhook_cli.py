"""`vevents check-webhook URL`: the command around `webhook.check_webhook`.

Same reports (terminal table, `--junit-xml`, `--report-json`, through `report.py`) and exit
codes (0 conformant, 1 violations, 2 could not judge) as `vevents check`; its report options
are the suite's own declarations.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from .cli import _click_option, _OneLineErrors
from .options import REPORT_OPTIONS

__all__ = ["check_webhook_command"]


def _seconds(ctx: click.Context, param: click.Parameter, value: float | None) -> float | None:
    if value is not None and value <= 0:
        raise click.BadParameter("must be more than 0 seconds")
    return value


@click.command("check-webhook", cls=_OneLineErrors, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("url")
@click.option("--lifecycle-url", metavar="URL", help="Where lifecycle notifications go (default: URL).")
@click.option(
    "--client-state",
    default="vevents-check-webhook",
    show_default=True,
    help="The clientState the notifications carry (your receiver may check it).",
)
@click.option("--subscription-id", metavar="GUID", help="The subscriptionId they carry (default: a fresh GUID).")
@click.option("--tenant-id", metavar="GUID", help="The tenantId they carry (default: the sample tenant).")
@click.option(
    "--handshake-timeout",
    type=float,
    callback=_seconds,
    metavar="SECONDS",
    help="How long the validation answer may take (default: Graph's 10 s).",
)
@click.option(
    "--delivery-timeout",
    type=float,
    callback=_seconds,
    metavar="SECONDS",
    help="How long a notification's 2xx may take (default: Graph's 3 s).",
)
def check_webhook_command(**values: Any) -> None:
    """Judge the webhook receiver at URL against Graph's delivery contract: the validation
    handshake, single and batched change notifications, lifecycle notifications.

    Exit status: 0 conformant, 1 violations found, 2 could not judge.
    """
    from . import report
    from .webhook import WebhookConfig, check_webhook

    config = WebhookConfig(
        url=values["url"],
        lifecycle_url=values["lifecycle_url"],
        client_state=values["client_state"],
        **({"subscription_id": values["subscription_id"]} if values["subscription_id"] else {}),
        tenant_id=values["tenant_id"] or "",
        handshake_timeout=values["handshake_timeout"],
        delivery_timeout=values["delivery_timeout"],
    )
    result = check_webhook(config)
    report.write_reports(result, sys.stdout, junit_xml=values.get("junit_xml"), report_json=values.get("report_json"))
    sys.exit(result.exit_code)


for _spec in reversed([spec for spec in REPORT_OPTIONS if spec.name in ("junit-xml", "report-json")]):
    check_webhook_command = _click_option(_spec)(check_webhook_command)
