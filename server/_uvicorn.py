"""Every way the stub leans on uvicorn's undocumented parts, in one fenced place.

Undocumented uvicorn names this module touches - an upgrade that removes or moves one is
caught by `tests/test_library_adaptations.py`:

    uvicorn.supervisors.Multiprocess        the worker supervisor, given a socket bound by us
    uvicorn.supervisors.Multiprocess.run

`uvicorn.run(..., workers=N)` binds the socket itself, after the caller could print the URL;
`vevents serve --workers N` binds first (so that `--port 0` can announce the port actually
bound and connections queue from the moment the URL is printed), then hands the socket to
uvicorn's supervisor, which is what `uvicorn.run` does internally.
"""

from __future__ import annotations

import socket

import uvicorn

__all__ = ["run_workers"]


def run_workers(config: uvicorn.Config, sock: socket.socket) -> None:
    """Run `config.workers` worker processes serving `sock`, until SIGINT/SIGTERM."""
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[sock]).run()
