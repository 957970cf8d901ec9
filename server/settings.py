"""The stub's configuration: one frozen `Settings`, built once (CLI, tests) and passed down.

`Settings.from_env()` / `to_env()` carry the same values through `VEVENTS_*` environment
variables, so that `uvicorn --workers N` can build the app in each worker process from an
import string (`vevents.server.app:app_from_env`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
    "Settings",
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
AUTH_MODES = ("strict", "permissive")
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
LOG_FORMATS = ("text", "json")
ENV_PREFIX = "VEVENTS_"

_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the stub needs to know; keyword-only, validated, immutable."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    db_path: str = DEFAULT_DB_PATH
    memory: bool = False
    """True: keep state in memory (tests); False: SQLite at `db_path`."""
    seed_path: str | None = None
    """A YAML/JSON seed file; None: the shipped default seed."""
    auth_mode: str = "strict"
    """"strict": verify HS256 tokens signed with `secret`; "permissive": any bearer token is
    the seed tenant's organizer."""
    secret: str = DEFAULT_SECRET
    log_level: str = "info"
    log_format: str = "text"
    """"text": one readable line per record; "json": one JSON object per line (log shippers)."""
    workers: int = 1
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    lifecycle: Mapping[str, Mapping[str, Outcome]] | None = None
    """None: the spec's lifecycle table. A test fake may pass a modified table."""
    fast_path: bool = True
    """Answer well-formed GETs and cancel/publish calls without Connexion's routing, security
    and validation layers (`server/fastpath.py`); False: every request takes the full stack."""

    def __post_init__(self) -> None:
        if self.auth_mode not in AUTH_MODES:
            raise ValueError(f"auth_mode must be one of {AUTH_MODES}, not {self.auth_mode!r}")
        if self.log_level.lower() not in LOG_LEVELS:
            raise ValueError(f"log_level must be one of {LOG_LEVELS}, not {self.log_level!r}")
        object.__setattr__(self, "log_level", self.log_level.lower())
        if self.log_format not in LOG_FORMATS:
            raise ValueError(f"log_format must be one of {LOG_FORMATS}, not {self.log_format!r}")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0-65535, not {self.port}")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")
        if self.max_body_bytes < 0:
            raise ValueError("max_body_bytes must not be negative")
        if self.max_header_bytes < 1024:
            raise ValueError("max_header_bytes must be at least 1024")
        if len(self.secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"secret must be at least {MIN_SECRET_BYTES} bytes (HS256, RFC 7518 section 3.2)")

    def __repr__(self) -> str:
        parts = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "secret":
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
        env = {
            "HOST": self.host,
            "PORT": str(self.port),
            "DB_PATH": self.db_path,
            "MEMORY": "1" if self.memory else "0",
            "AUTH_MODE": self.auth_mode,
            "SECRET": self.secret,
            "LOG_LEVEL": self.log_level,
            "LOG_FORMAT": self.log_format,
            "WORKERS": str(self.workers),
            "MAX_BODY_BYTES": str(self.max_body_bytes),
            "MAX_HEADER_BYTES": str(self.max_header_bytes),
            "FAST_PATH": "1" if self.fast_path else "0",
        }
        if self.seed_path is not None:
            env["SEED_PATH"] = self.seed_path
        return {ENV_PREFIX + key: value for key, value in env.items()}

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Settings from `VEVENTS_*` variables in `environ`; absent ones keep their defaults."""

        def get(key: str) -> str | None:
            return environ.get(ENV_PREFIX + key)

        kwargs: dict[str, object] = {}
        for key, name in (("HOST", "host"), ("DB_PATH", "db_path"), ("SEED_PATH", "seed_path"),
                          ("AUTH_MODE", "auth_mode"), ("SECRET", "secret"), ("LOG_LEVEL", "log_level"),
                          ("LOG_FORMAT", "log_format")):
            if (value := get(key)) is not None:
                kwargs[name] = value
        for key, name in (("PORT", "port"), ("WORKERS", "workers"), ("MAX_BODY_BYTES", "max_body_bytes"),
                          ("MAX_HEADER_BYTES", "max_header_bytes")):
            if (value := get(key)) is not None:
                kwargs[name] = int(value)
        if (value := get("MEMORY")) is not None:
            kwargs["memory"] = value.strip().lower() in _TRUE
        if (value := get("FAST_PATH")) is not None:
            kwargs["fast_path"] = value.strip().lower() in _TRUE
        return cls(**kwargs)  # type: ignore[arg-type]
