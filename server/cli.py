"""`vevents serve` and `vevents token`: thin commands that build `Settings` and call one function."""

from __future__ import annotations

import dataclasses
import os
import shlex
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import click

from vevents.server.dburl import is_postgres_url, redacted_url
from vevents.server.logs import STARLETTE_NOTICE, configure_logging
from vevents.server.settings import Declaration, Settings, declarations, env_name

if TYPE_CHECKING:
    from vevents.server.store import Event
    from vevents.server.tls import TlsFiles

__all__ = ["serve", "setting_option", "settings_options", "token"]

FC = TypeVar("FC", bound=Callable[..., Any])
_T = TypeVar("_T")


def setting_option(name: str) -> Callable[[FC], FC]:
    """The click option of one setting, from its declaration in `Settings` (server/settings.py).

    It reads the setting's `VEVENTS_*` variable too, and `--help` shows that variable.
    """
    field = next(f for f in dataclasses.fields(Settings) if f.name == name)
    declaration: Declaration = field.metadata["setting"]
    is_switch = declaration.value_type is bool
    default = field.default
    return click.option(
        declaration.flag,
        name,
        envvar=env_name(name),
        show_envvar=True,
        type=None if is_switch else declaration.click_type(),
        is_flag=is_switch,
        multiple=declaration.multiple,
        default=default if default is not None else None,
        # A lone switch (--memory) is off unless given: "default: False" would only add noise.
        show_default=declaration.show_default if default not in (None, False) else False,
        metavar=declaration.metavar,
        help=declaration.help,
    )


def settings_options(func: FC) -> FC:
    """Every declared setting as a click option, in declaration order."""
    for name, _declaration in reversed(list(declarations())):
        func = setting_option(name)(func)
    return func


def _settings(**kwargs: object) -> Settings:
    try:
        return Settings(**kwargs)  # type: ignore[arg-type]
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from exc


@click.command()
@settings_options
def serve(**options: object) -> None:
    """Run the stateful Graph virtual-events stub.

    Tests arrange and inspect it through its control API under /_vevents/ (reset, state,
    journal, fault rules, read lag; docs/control.md), or from pytest with the `vevents_stub`
    fixture (docs/testing.md). Fault rules are written
    ACTION[:OPERATION_ID][:KEY=VALUE]..., for example:

    \b
      throttle:cancelWebinar:times=2:retry-after=1   429 twice, then normal answers
      unavailable:method=POST:every=3                503 on every 3rd POST
      gatewayTimeout:probability=0.1:seed=7          504 on ~10%, the same ones each run
      delay:getWebinar:ms=250                        answer 250 ms late
      drop:kind=townhalls:times=1                    close the connection, once
    """
    settings = _settings(**options)
    if settings.memory and settings.workers > 1:
        raise click.BadParameter("--memory cannot be shared by several --workers; use --db")
    configure_logging(settings.log_level, settings.log_format)
    run(settings)


def run(settings: Settings) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn handles both and shuts down cleanly)."""
    _check_fault_rules(settings.faults)
    tls = _tls_files(settings)
    if settings.seed_path is not None:
        # A bad seed is the user's first problem to hear about, whatever the port's state.
        from vevents.server.seed import SeedError, load_seed

        try:
            load_seed(settings.seed_path)
        except SeedError as exc:
            raise OneLineError(str(exc)) from None

    # Bound here, before the URL is printed, in both modes: connections queue from the moment
    # the URL is announced, and `--port 0` announces the port actually bound (workers too).
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror}") from exc
    with sock:
        _serve(settings, sock, tls)


def _serve(settings: Settings, sock: socket.socket, tls: TlsFiles | None) -> None:
    import uvicorn

    from vevents.server.seed import SeedError, seed_store

    certfile, keyfile = (str(tls.cert), str(tls.key)) if tls else (None, None)
    if settings.workers > 1:
        from vevents.server._uvicorn import run_workers
        from vevents.server.app import open_store

        # The seed goes in once, here, before any worker starts (a --reseed in every worker
        # would wipe what the others already served); the workers find it in place. This is
        # also where an unreachable database is one clear line, not a traceback per worker.
        store = _opened(open_store, settings)
        try:
            seeded = seed_store(store, settings.seed_path, reseed=settings.reseed, store_name=_store_label(settings))
        except SeedError as exc:
            raise OneLineError(str(exc)) from None
        finally:
            store.close()
        os.environ.update(settings.replace(reseed=False).to_env())
        # Worker processes start fresh interpreters: pass on the warning filter set below.
        os.environ.setdefault("PYTHONWARNINGS", f"ignore:{STARLETTE_NOTICE}")
        config = uvicorn.Config(
            "vevents.server.app:app_from_env",
            factory=True,
            workers=settings.workers,
            log_level=settings.log_level,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=5,
            ssl_certfile=certfile,
            ssl_keyfile=keyfile,
        )
        _announce(settings, sock.getsockname()[1], seeded.present, tls)
        run_workers(config, sock)
        click.echo("vevents stub stopped.")
        return

    from vevents.server.app import create_app

    try:
        app = _opened(create_app, settings)
    except SeedError as exc:
        raise OneLineError(str(exc)) from None
    _announce(settings, sock.getsockname()[1], app.seeded.present, tls)
    config = uvicorn.Config(
        app,
        log_level=settings.log_level,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )
    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the
    # handler it found installed; make that one a no-op so a clean stop exits with status 0.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _ignore_signal)
    uvicorn.Server(config).run(sockets=[sock])
    click.echo("vevents stub stopped.")


def _ignore_signal(signum: int, frame: object) -> None:
    pass


def _store_label(settings: Settings) -> str:
    """The store as the banner and messages name it (a database URL without its password)."""
    if settings.memory:
        return "memory"
    return redacted_url(settings.db) if is_postgres_url(settings.db) else os.path.abspath(settings.db)


def _opened(open_: Callable[[Settings], _T], settings: Settings) -> _T:
    """`open_(settings)`, with a store that cannot be opened (an unreachable database, a schema
    from a newer release, a missing driver) as one clear line rather than a traceback."""
    from vevents.server.store import StoreUnavailable

    try:
        return open_(settings)
    except (StoreUnavailable, RuntimeError) as exc:
        raise OneLineError(f"cannot open the store {_store_label(settings)}: {exc}") from None


def _tls_files(settings: Settings) -> TlsFiles | None:
    """The certificate to serve (the operator's, or the local CA's), checked before binding."""
    import ssl

    from vevents.server.tls import TlsFiles, local_ca

    if settings.tls_key is not None and settings.tls_cert is None:
        raise click.UsageError("--tls-key is the key of --tls-cert: give the certificate too")
    if not settings.tls:
        return None
    if settings.tls_cert is not None:
        key = settings.tls_key or settings.tls_cert  # a PEM file may hold the key and the certificate
        files = TlsFiles(ca_cert=Path(settings.tls_cert), cert=Path(settings.tls_cert), key=Path(key))
    else:
        try:
            files = local_ca(Path(settings.tls_dir) if settings.tls_dir else None)
        except OSError as exc:
            raise click.ClickException(f"cannot make the local test CA in {exc.filename}: {exc.strerror}") from exc
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(str(files.cert), str(files.key))
    except (OSError, ssl.SSLError) as exc:
        raise click.ClickException(f"cannot serve {files.cert} with key {files.key}: {exc}") from exc
    return files


class OneLineError(click.ClickException):
    """A start-up problem the user must fix (a bad seed, a seed that does not fit the store): one line, exit 2."""

    exit_code = 2


def _check_fault_rules(rules: tuple[str, ...]) -> None:
    """click.BadParameter naming the first `--fault` rule that is malformed or names what the contract lacks."""
    from vevents.server.control.faults import parse_rule, rule_from_json
    from vevents.spec import contract

    operations = contract().operations
    operation_ids = frozenset(op.operation_id for op in operations)
    kinds = frozenset(op.kind for op in operations)
    for rule in rules:
        try:
            rule_from_json(parse_rule(rule), 1, operation_ids, kinds)
        except ValueError as exc:
            raise click.BadParameter(f"{rule!r}: {exc}", param_hint="--fault") from None


def _control_lines(settings: Settings, base: str) -> list[str]:
    from vevents.server.control.gate import ControlGate

    gate = ControlGate(listen_host=settings.host, token=settings.control_token, workers=settings.workers)
    if not gate.enabled:
        return ["Control API: off (not a loopback address, or several workers; see --control-token)"]
    lines = [
        f"Control API: {base}/_vevents/ (docs/control.md)"
        + (" - needs the control token" if settings.control_token else "")
    ]
    if settings.faults or settings.read_lag_ms:
        lines.append(f"Faults: {' '.join(settings.faults) or 'none'}; read lag: {settings.read_lag_ms} ms")
    return lines


def _announce(settings: Settings, port: int, seeded: Sequence[Event], tls: TlsFiles | None = None) -> None:
    """Where the stub listens, and a request that works against one of the seed's events."""
    from vevents.server.auth import SEED_ORGANIZER, SEED_TENANT, mint_token, organizer_of
    from vevents.server.control.gate import is_loopback
    from vevents.server.tls import SERVER_NAMES

    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    base = f"{'https' if tls else 'http'}://{host}:{port}"
    store = _store_label(settings)
    event = seeded[0] if seeded else None
    if event is not None:
        url = f"{base}/v1.0/solutions/virtualEvents/{event.kind}/{quote(event.id, safe='')}"
    else:  # the store holds no event of the seed (e.g. an empty seed): its list answers anyway
        url = f"{base}/v1.0/solutions/virtualEvents/webinars"
    lines = [
        f"vevents stub listening on {base} (/v1.0 and /beta; store: {store}; auth: {settings.auth_mode})",
        f"Swagger UI: {base}/v1.0/ui/",
        *_control_lines(settings, base),
    ]
    cacert = ""
    if tls is not None and settings.tls_cert is None:
        ca = shlex.quote(str(tls.ca_cert))
        cacert = f"--cacert {ca} "
        lines += [
            f"TLS: certificate from the local test CA {ca}; make your client trust it:",
            f"  export NODE_EXTRA_CA_CERTS={ca}                      # Node.js",
            f"  export SSL_CERT_FILE={ca} REQUESTS_CA_BUNDLE={ca}    # Python (httpx, msgraph-sdk, requests)",
        ]
        if not is_loopback(settings.host):
            names = ", ".join(SERVER_NAMES)
            lines.append(
                f"  (the certificate names {names} only: clients reaching this host by another name "
                "need --tls-cert/--tls-key)"
            )
    if settings.auth_mode == "permissive":
        lines.append("Try it (--auth permissive: any bearer token is accepted):")
        bearer = "anything"
    else:
        lines.append("Try it (token valid for 1 hour; mint more with `vevents token`):")
        # The event's organizer, in its tenant: the token that may read, cancel and publish it.
        tenant, user = SEED_TENANT, SEED_ORGANIZER
        if event is not None:
            tenant, user = event.tenant, organizer_of(event.resource) or user
        bearer = mint_token(secret=settings.secret, tenant=tenant, user=user)
    lines.append(f"  curl {cacert}-H {shlex.quote('Authorization: Bearer ' + bearer)} {url}")
    click.echo("\n".join(lines))
    sys.stdout.flush()


@click.command()
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    help="Delegated permission (scp); repeatable. Default VirtualEvent.ReadWrite unless --role is given.",
)
@click.option(
    "--role",
    "roles",
    multiple=True,
    help="Application permission (roles); repeatable. With no --scope this makes an application token.",
)
@click.option("--tenant", default=None, help="Tenant id (tid); default the seed's tenant.")
@click.option("--user", default=None, help="User or app object id (oid); default the seed's organizer.")
@click.option("--expires-in", default=3600, show_default=True, type=int, help="Lifetime in seconds.")
@setting_option("secret")
def token(
    scopes: tuple[str, ...], roles: tuple[str, ...], tenant: str | None, user: str | None, expires_in: int, secret: str
) -> None:
    """Print a bearer token that `vevents serve` (same --secret) trusts."""
    from vevents.server.auth import SEED_ORGANIZER, SEED_TENANT, mint_token

    _settings(secret=secret)  # validates the secret
    click.echo(
        mint_token(
            secret=secret,
            tenant=tenant or SEED_TENANT,
            user=user or SEED_ORGANIZER,
            scopes=scopes or None,
            roles=roles,
            expires_in=expires_in,
        )
    )
