"""Starting and stopping the servers under measurement (shared by run.py and suite_cost.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
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
