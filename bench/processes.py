"""Starting and stopping the servers under measurement (shared by run.py and suite_cost.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def vevents_bin() -> str:
    """The `vevents` of the running interpreter's environment (the checkout's .venv)."""
    candidate = Path(sys.executable).with_name("vevents")
    return str(candidate) if candidate.exists() else "vevents"


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server's process group (workers included); SIGKILL it after 10 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextlib.contextmanager
def postgres_server() -> Iterator[Callable[[], str]]:
    """A throwaway PostgreSQL server on 127.0.0.1 (the tests' own launcher, tests/postgres.py);
    yields a maker of fresh database URLs, and removes the server afterwards."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from postgres import PostgresServer

    server = PostgresServer.start()
    try:
        yield server.new_database
    finally:
        server.remove()
