"""What a `--db` value names: a SQLite file or a PostgreSQL URL (no driver imported here)."""

from __future__ import annotations

import re

__all__ = ["is_postgres_url", "redacted_url"]

_PASSWORD = re.compile(r"(://[^:/@]*):[^@/]*@")


def is_postgres_url(db: str) -> bool:
    """Whether a `--db` value names a PostgreSQL database rather than a SQLite file."""
    return db.startswith(("postgresql://", "postgres://"))


def redacted_url(url: str) -> str:
    """The URL without its password, for banners, logs and error messages."""
    return _PASSWORD.sub(r"\1:***@", url)
