"""The bundled stub, started in-process on 127.0.0.1 when `vevents check` has no --base-url.

This is the only module of the suite that imports the server, and only when called.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

from vevents.spec import contract

__all__ = ["EmbeddedStub", "embedded_stub"]


@dataclass(frozen=True, slots=True)
class EmbeddedStub:
    """Where the embedded stub listens and the tokens minted for it, by role."""

    base_url: str
    tokens: dict[str, str]


@contextlib.contextmanager
def embedded_stub() -> Iterator[EmbeddedStub]:
    """Serve a fresh in-memory stub on an ephemeral port; yield its versioned base URL and tokens."""
    with warnings.catch_warnings():
        # Import-time notices of the server's libraries (toolchain notes G12) are not the user's business.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", UserWarning)
        from vevents.server.app import create_app
        from vevents.server.auth import SEED_ORGANIZER, SEED_TENANT, mint_token
        from vevents.server.background import serve_in_background
        from vevents.server.settings import Settings

    secret = secrets.token_urlsafe(48)
    # The stub's own logs (a traceback for each 5xx) stay quiet: the report shows every 5xx with a repro.
    settings = Settings(host="127.0.0.1", port=0, memory=True, secret=secret, log_level="critical")
    tokens = {
        "main": mint_token(secret=secret, tenant=SEED_TENANT, user=SEED_ORGANIZER),
        "read_only": mint_token(secret=secret, tenant=SEED_TENANT, user=SEED_ORGANIZER, scopes=("VirtualEvent.Read",)),
        "other_user": mint_token(secret=secret, tenant=SEED_TENANT, user=str(uuid.uuid4())),
        # A user of another tenant (any tenant but the seed's): sees none of this tenant's events.
        "other_tenant": mint_token(secret=secret, tenant=str(uuid.uuid4()), user=str(uuid.uuid4())),
    }
    # A handler of our own keeps Python's last-resort handler from printing the server's
    # tracebacks on stderr when the application has configured no logging.
    quiet = logging.NullHandler()
    server_log = logging.getLogger("vevents.server")
    server_log.addHandler(quiet)
    try:
        with serve_in_background(create_app(settings), host=settings.host, port=0, log_level="critical") as url:
            yield EmbeddedStub(base_url=f"{url}/{contract().versions[0]}", tokens=tokens)
    finally:
        server_log.removeHandler(quiet)
