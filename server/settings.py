"""The stub's configuration: one frozen `Settings`, built once (CLI, tests) and passed down.

Each setting is declared ONCE, as a field of `Settings` made with `setting(...)`: its default,
its command-line flag, its help text, its allowed values. Everything else derives from that
declaration, so that a setting behaves the same wherever it is given:

- `vevents serve` builds its click options from it (`settings_options`, in server/cli.py),
  each reading the `VEVENTS_<FIELD>` variable too and showing it in `--help`;
- `Settings.from_env()` reads the same variables with the same click types (what
  `vevents.server.app:app_from_env`, the factory, uses: `uvicorn --factory` and `--workers`);
- `Settings.to_env()` writes them back (the parent of `--workers` hands its settings on).

Adding a setting is one `setting(...)` line below (then use it where it matters); the flag,
the variable, `--help`, the environment round trip and tests/test_server_cli.py's
every-variable check follow.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from vevents.spec import Outcome

__all__ = [
    "AUTH_MODES",
    "DEFAULT_DB_PATH",
    "DEFAULT_HOST",
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_HEADER_BYTES",
    "DEFAULT_PORT",
    "DEFAULT_SECRET",
    "ENV_PREFIX",
    "Declaration",
    "Settings",
    "declarations",
    "env_name",
    "setting",
]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8080
DEFAULT_DB_PATH = "vevents.db"
DEFAULT_MAX_BODY_BYTES = 1_048_576
DEFAULT_MAX_HEADER_BYTES = 32_768
"""The request target and the headers, each (a long token with many claims is ~8 KB)."""
# A fixed, public secret: `vevents token` in one shell mints tokens that `vevents serve` in
# another trusts with no configuration. It protects nothing; pass --secret to change it.
DEFAULT_SECRET = "vevents-local-development-secret-not-for-production"
MIN_SECRET_BYTES = 32
MIN_CONTROL_TOKEN_CHARS = 16
AUTH_MODES = ("strict", "permissive")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
LOG_FORMATS = ("text", "json")
ENV_PREFIX = "VEVENTS_"


@dataclass(frozen=True)
class Declaration:
    """How one setting is given on the command line and in the environment."""

    flag: str
    """The option, e.g. "--max-body-bytes"; a boolean is "--fast-path/--no-fast-path" or a
    lone "--memory" (off unless given)."""
    help: str
    choices: tuple[str, ...] | None = None
    minimum: int | None = None
    maximum: int | None = None
    existing_file: bool = False
    """The value names a file that must exist (checked by click on the command line)."""
    multiple: bool = False
    """Repeatable flag; a tuple of strings. In the environment: separated by whitespace."""
    value_type: type = str
    """str, int or bool (derived from the default by `setting`); float for fractions."""
    show_default: bool | str = True
    """True: `--help` shows the default; a string: shows that instead (the secret)."""
    metavar: str | None = None

    def click_type(self) -> click.ParamType[Any]:
        """The click type that parses this setting, on the command line and in the environment."""
        if self.choices is not None:
            return click.Choice(self.choices, case_sensitive=False)
        if self.existing_file:
            return click.Path(exists=True, dir_okay=False)
        if self.value_type is bool:
            return click.BOOL
        if self.value_type is int:
            return click.IntRange(self.minimum, self.maximum)
        if self.value_type is float:
            return click.FloatRange(self.minimum, self.maximum)
        return click.STRING


def setting(default: Any, flag: str, help: str, **declaration: Any) -> Any:
    """A `Settings` field declared with its flag and help (see `Declaration` for the rest)."""
    if "value_type" not in declaration:
        declaration["value_type"] = str if default is None or isinstance(default, tuple) else type(default)
    if isinstance(default, tuple):
        declaration.setdefault("multiple", True)
    if declaration["value_type"] in (int, float):
        declaration.setdefault("metavar", "NUMBER")  # click would say "INTEGER RANGE"
    return dataclasses.field(default=default, metadata={"setting": Declaration(flag, help, **declaration)})


def env_name(field_name: str) -> str:
    """The environment variable of a setting: `VEVENTS_` + the field name in capitals."""
    return ENV_PREFIX + field_name.upper()


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the stub needs to know; keyword-only, validated, immutable."""

    host: str = setting(DEFAULT_HOST, "--host", "Interface to listen on.")
    port: int = setting(DEFAULT_PORT, "--port", "Port (0: any free port).", minimum=0, maximum=65535, metavar="PORT")
    db: str = setting(
        DEFAULT_DB_PATH,
        "--db",
        "The store (survives restarts): a SQLite file, or a PostgreSQL "
        "URL postgresql://USER:PASSWORD@HOST:PORT/DB shared by several stub processes "
        "(pip install 'vevents[postgres]'; docs/shared-stub.md).",
        metavar="PATH",
    )
    memory: bool = setting(False, "--memory", "Keep state in memory instead of --db (lost on exit).")
    seed_path: str | None = setting(
        None,
        "--seed",
        "YAML/JSON seed file (docs/seeds.md); default: the documentation's sample event. "
        "Refused if the store already holds other events, unless --reseed.",
        existing_file=True,
        metavar="FILE",
    )
    reseed: bool = setting(
        False,
        "--reseed",
        "Replace the events the store holds with the seed's (--seed FILE, or the default seed) before serving.",
    )
    auth_mode: str = setting(
        "strict",
        "--auth",
        "strict: verify tokens; permissive: any bearer token is the seed tenant's organizer.",
        choices=AUTH_MODES,
    )
    """"strict": verify HS256 tokens signed with `secret`; "permissive": any bearer token is
    the seed tenant's organizer."""
    secret: str = setting(
        DEFAULT_SECRET,
        "--secret",
        f"HS256 secret for tokens; at least {MIN_SECRET_BYTES} bytes.",
        show_default="a fixed development secret",
    )
    log_level: str = setting(
        "info",
        "--log-level",
        "info logs one line per request (method, path, status, duration, request-id).",
        choices=LOG_LEVELS,
    )
    log_format: str = setting(
        "text",
        "--log-format",
        "text: readable lines; json: one JSON object per line, request fields as keys.",
        choices=LOG_FORMATS,
    )
    """"text": one readable line per record; "json": one JSON object per line (log shippers)."""
    workers: int = setting(
        1, "--workers", "Worker processes sharing the --db store (not with --memory).", minimum=1, metavar="N"
    )
    max_body_bytes: int = setting(
        DEFAULT_MAX_BODY_BYTES,
        "--max-body-bytes",
        "Largest request body accepted; a larger one answers 413 (refused while it streams in).",
        minimum=0,
        metavar="BYTES",
    )
    max_header_bytes: int = setting(
        DEFAULT_MAX_HEADER_BYTES,
        "--max-header-bytes",
        "Largest request URL, and largest request headers, accepted; larger ones answer 414/431.",
        minimum=1024,
        metavar="BYTES",
    )
    fast_path: bool = setting(
        True,
        "--fast-path/--no-fast-path",
        "Answer well-formed GETs and cancel/publish "
        "calls without Connexion's middleware layers (same answers; docs/benchmarks.md).",
    )
    """Answer well-formed GETs and cancel/publish calls without Connexion's routing, security
    and validation layers (`server/fastpath.py`); False: every request takes the full stack."""
    odata_content_type: bool = setting(
        False,
        "--odata-content-type/--plain-content-type",
        "Send JSON as Graph labels it, 'application/json;odata.metadata=minimal;"
        "odata.streaming=true;IEEE754Compatible=false' (default: plain 'application/json').",
    )
    """Label JSON answers (success and error) with Graph's full content type, as strict clients
    and recordings see it from graph.microsoft.com; False: plain `application/json`."""
    tls: bool = setting(
        False,
        "--tls",
        "Serve HTTPS with a certificate for 127.0.0.1/localhost from a local test "
        "CA, made on first use and reused; prints the CA file clients must trust "
        "(NODE_EXTRA_CA_CERTS, SSL_CERT_FILE).",
    )
    """HTTPS (`server/tls.py`): the local test CA's certificate, or `tls_cert` when given
    (giving it implies `tls`)."""
    tls_dir: str | None = setting(
        None,
        "--tls-dir",
        "Folder of the local test CA's files; default $XDG_CACHE_HOME/vevents/tls or ~/.cache/vevents/tls.",
        metavar="DIR",
    )
    tls_cert: str | None = setting(
        None,
        "--tls-cert",
        "Serve HTTPS with this PEM certificate (chain) instead of "
        "the local CA's; its key from --tls-key, or from the same file.",
        existing_file=True,
        metavar="FILE",
    )
    tls_key: str | None = setting(
        None, "--tls-key", "The PEM private key of --tls-cert.", existing_file=True, metavar="FILE"
    )
    control_token: str | None = setting(
        None,
        "--control-token",
        "Open the control API (/_vevents/) on any address, "
        "to callers sending 'Authorization: Bearer TOKEN' only (16+ characters). "
        "Without it the control API is open on a loopback --host only, and off on "
        "any other.",
        metavar="TOKEN",
        show_default=False,
    )
    """None: the control API is open on a loopback address and off elsewhere; a token: it is on,
    and every control call needs `Authorization: Bearer <token>` (server/control/gate.py)."""
    faults: tuple[str, ...] = setting(
        (),
        "--fault",
        "A fault rule on the Graph routes, repeatable, tried in "
        "order (the control API's reset restores them): "
        "ACTION[:OPERATION_ID][:KEY=VALUE]...; ACTION throttle (429 + Retry-After), "
        "unavailable (503 + Retry-After), gatewayTimeout (504), delay, drop; keys "
        "method, kind, event, times, every, probability, seed, retry-after "
        "(seconds, default 1), ms (delay). Examples above; docs/control.md.",
        metavar="RULE",
        show_default=False,
    )
    read_lag_ms: int = setting(
        0,
        "--read-lag",
        "Writes show in GET and list only MS milliseconds later (Graph's "
        "eventual consistency); the control API changes it, per event too.",
        minimum=0,
        maximum=600_000,
        metavar="MS",
    )
    notify_allow: tuple[str, ...] = setting(
        (),
        "--notify-allow",
        "A host, IP address or CIDR range change notifications may be sent to, besides "
        "loopback (repeatable; '*' allows any). The resolved address is checked, not only "
        "the name; docs/notifications.md.",
        metavar="HOST",
        show_default=False,
    )
    notify_attempts: int = setting(
        6,
        "--notify-attempts",
        "Delivery attempts per notification before it is given up (Graph retries for up to 4 hours).",
        minimum=1,
        maximum=20,
        metavar="N",
    )
    notify_retry_ms: int = setting(
        1000,
        "--notify-retry-ms",
        "Wait before the first retry of a failed delivery; doubled for each next one (capped at 5 minutes).",
        minimum=1,
        maximum=300_000,
        metavar="MS",
    )
    notify_queue: int = setting(
        10_000,
        "--notify-queue",
        "Deliveries waiting to be sent, at most; beyond that a notification is dropped (and journaled).",
        minimum=1,
        maximum=1_000_000,
        metavar="N",
    )
    lifecycle: Mapping[str, Mapping[str, Outcome]] | None = None
    """In-process only (no flag, no variable). None: the spec's lifecycle table. A test fake
    may pass a modified table."""

    def __post_init__(self) -> None:
        for name, declaration in declarations():
            value = getattr(self, name)
            if declaration.choices is not None and isinstance(value, str):
                object.__setattr__(self, name, value := value.lower())
                if value not in declaration.choices:
                    raise ValueError(f"{name} must be one of {declaration.choices}, not {value!r}")
            if isinstance(value, int) and not isinstance(value, bool):
                if declaration.minimum is not None and value < declaration.minimum:
                    raise ValueError(f"{name} must be at least {declaration.minimum}, not {value}")
                if declaration.maximum is not None and value > declaration.maximum:
                    raise ValueError(f"{name} must be at most {declaration.maximum}, not {value}")
        if self.tls_cert is not None:
            object.__setattr__(self, "tls", True)
        if self.control_token is not None and len(self.control_token) < MIN_CONTROL_TOKEN_CHARS:
            raise ValueError(f"control_token must be at least {MIN_CONTROL_TOKEN_CHARS} characters")
        object.__setattr__(self, "faults", tuple(self.faults))
        if len(self.secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"secret must be at least {MIN_SECRET_BYTES} bytes (HS256, RFC 7518 section 3.2)")

    def __repr__(self) -> str:
        parts = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "secret" or (field.name == "control_token" and value is not None):
                value = "***"
            elif field.name == "lifecycle" and value is not None:
                value = "<custom>"
            parts.append(f"{field.name}={value!r}")
        return f"Settings({', '.join(parts)})"

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    # ------------------------------------------------------------ environment
    def to_env(self) -> dict[str, str]:
        """The `VEVENTS_*` variables that `from_env` turns back into these settings.

        The lifecycle table cannot travel this way; a custom table is in-process only.
        """
        if self.lifecycle is not None:
            raise ValueError("a custom lifecycle table cannot be passed through the environment")
        env = {}
        for name, declaration in declarations():
            value = getattr(self, name)
            if value is None:
                continue
            if declaration.multiple:
                env[env_name(name)] = " ".join(value)
            elif isinstance(value, bool):
                env[env_name(name)] = "1" if value else "0"
            else:
                env[env_name(name)] = str(value)
        return env

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Settings from `VEVENTS_*` variables in `environ`; absent ones keep their defaults.

        Each value is parsed by the same click type as its command-line flag, so a variable
        means the same to `vevents serve` and to the factory. Raises ValueError naming the
        variable when one is malformed.
        """
        kwargs: dict[str, object] = {}
        for name, declaration in declarations():
            text = environ.get(env_name(name))
            if text is None:
                continue
            param_type = declaration.click_type()
            try:
                if declaration.multiple:
                    kwargs[name] = tuple(
                        param_type.convert(part, None, None) for part in param_type.split_envvar_value(text)
                    )
                else:
                    kwargs[name] = param_type.convert(text, None, None)
            except click.BadParameter as exc:
                raise ValueError(f"{env_name(name)}: {exc.message}") from None
        return cls(**kwargs)  # type: ignore[arg-type]


def declarations() -> Iterator[tuple[str, Declaration]]:
    """(field name, declaration) of every setting that has a flag and a variable, in order."""
    for field in dataclasses.fields(Settings):
        declaration = field.metadata.get("setting")
        if declaration is not None:
            yield field.name, declaration
