"""Run an ASGI app with uvicorn in a background thread (tests, the embedded stub of `vevents check`)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import uvicorn

if TYPE_CHECKING:
    from vevents.server.tls import TlsFiles

__all__ = ["serve_in_background"]

_START_TIMEOUT = 20.0


@contextlib.contextmanager
def serve_in_background(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
    tls: TlsFiles | None = None,
) -> Iterator[str]:
    """Serve `app` on `host:port` (0: an ephemeral port) and yield its base URL, e.g.
    "http://127.0.0.1:54321" (or "https://..." with `tls`, e.g. `local_ca()`); stop the server
    (and wait for it) on exit.

    The socket is bound before the thread starts, so the URL accepts connections as soon
    as it is yielded.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    bound_port = sock.getsockname()[1]
    certfile, keyfile = (str(tls.cert), str(tls.key)) if tls else (None, None)
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=False,
        lifespan="auto",
        timeout_graceful_shutdown=5,
        ssl_certfile=certfile,
        ssl_keyfile=keyfile,
    )
    server = uvicorn.Server(config)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name=f"vevents-uvicorn-{bound_port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:
        if failure or not thread.is_alive():
            sock.close()
            raise RuntimeError(f"the server did not start: {failure[0] if failure else 'thread exited'}")
        if time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5)
            sock.close()
            raise RuntimeError(f"the server did not start within {_START_TIMEOUT} s")
        time.sleep(0.005)
    netloc = f"[{host}]" if ":" in host else host
    try:
        yield f"{'https' if tls else 'http'}://{netloc}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
