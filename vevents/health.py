"""`vevents health URL`: one health check of a running stub, for containers and CI services.

Docker (`HEALTHCHECK`, `--health-cmd`), Kubernetes exec probes and CI service containers run a
command and read its exit status: 0 healthy, 1 unhealthy (Docker reserves 2, so nothing else
is used). The command prints one line either way and never waits longer than `--timeout`.

URL is the stub's root (`http://127.0.0.1:8080`, the liveness route is added) or any full URL
to GET (`.../_vevents/health` with `--control-token`). The liveness route needs no token and is
open on every address and with several workers, unlike the control API.
"""

from __future__ import annotations

import time
import urllib.parse

import click
import httpx

from vevents.spec.control import LIVENESS_PATH

__all__ = ["check_health", "health", "health_url"]

EXIT_HEALTHY, EXIT_UNHEALTHY = 0, 1
_MAX_SHOWN = 120


def health_url(url: str) -> str:
    """The URL to GET: the liveness route when `url` is a bare root, `url` itself otherwise."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise click.BadParameter(f"expected an http(s) URL such as http://127.0.0.1:8080, not {url!r}")
    if parts.path in ("", "/"):
        return urllib.parse.urlunsplit((parts.scheme, parts.netloc, LIVENESS_PATH, parts.query, ""))
    return url


def check_health(
    url: str, *, timeout: float, verify: str | bool = True, control_token: str | None = None
) -> tuple[bool, str]:
    """(healthy, one line saying so) for one GET of `url` (a 200 answer is healthy)."""
    headers = {"Authorization": f"Bearer {control_token}"} if control_token else {}
    started = time.monotonic()
    try:
        with httpx.Client(timeout=timeout, verify=verify, follow_redirects=False, trust_env=False) as client:
            answer = client.get(url, headers=headers)
    except httpx.TimeoutException:
        return False, f"unhealthy: {url} did not answer within {timeout:g} s"
    except httpx.HTTPError as exc:
        reason = " ".join(str(exc).split())[:_MAX_SHOWN] or type(exc).__name__
        return False, f"unhealthy: cannot reach {url}: {reason}"
    elapsed = (time.monotonic() - started) * 1000
    if answer.status_code == 200:
        return True, f"healthy: {url} answered 200 in {elapsed:.0f} ms"
    return False, f"unhealthy: {url} answered {answer.status_code}"


@click.command("health")
@click.argument("url", default="http://127.0.0.1:8080")
@click.option("--timeout", default=5.0, show_default=True, type=float, help="Longest wait for the answer (seconds).")
@click.option(
    "--cacert",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="CA certificate to trust for an https URL (the local test CA that `vevents serve --tls` prints).",
)
@click.option(
    "--control-token",
    envvar="VEVENTS_CONTROL_TOKEN",
    default=None,
    help="Sent as the bearer token (for a URL of the control API, such as .../_vevents/health). "
    "Env: VEVENTS_CONTROL_TOKEN.",
)
def health(url: str, timeout: float, cacert: str | None, control_token: str | None) -> None:
    """Check that the stub at URL answers (exit 0 healthy, 1 unhealthy); one line of output.

    URL defaults to http://127.0.0.1:8080; a bare root gets the open liveness route (/healthz).
    """
    if timeout <= 0:
        raise click.BadParameter("must be positive", param_hint="--timeout")
    healthy, line = check_health(health_url(url), timeout=timeout, verify=cacert or True, control_token=control_token)
    click.echo(line, err=not healthy)
    raise SystemExit(EXIT_HEALTHY if healthy else EXIT_UNHEALTHY)
