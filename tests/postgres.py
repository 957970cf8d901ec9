"""A throwaway PostgreSQL server for the tests (not a test module).

    PostgresServer.start()           initdb + pg_ctl start on 127.0.0.1, a free port; trust auth
    server.new_database()            a fresh database URL (one per test: tests never share state)
    server.stop() / server.start_again()   for the "database goes away and comes back" tests

PostgreSQL refuses to run as root; when the tests run as root (CI), the server runs as the
`postgres` system user that Debian's package creates. Where the binaries are missing the tests
skip with the reason - except under CI (`CI` set), where a missing server is a failure:
`make test` installs PostgreSQL when it runs as root.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "binaries_or_skip"]


def _bin_dir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return Path(candidates[-1]).parent if candidates else None


def binaries_or_skip() -> Path:
    """The directory holding initdb/pg_ctl, or skip (fail under CI) with the reason."""
    reason = None
    bin_dir = _bin_dir()
    if bin_dir is None:
        reason = "PostgreSQL server binaries (initdb, pg_ctl) not found: apt-get install postgresql"
    else:
        try:
            import psycopg  # noqa: F401
            import psycopg_pool  # noqa: F401
        except ImportError:
            reason = "psycopg 3 is not installed: pip install 'vevents[postgres]'"
    if os.geteuid() == 0 and reason is None:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            reason = "running as root and there is no 'postgres' user to run the server as"
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
        pytest.skip(reason)
    assert bin_dir is not None
    return bin_dir


_START_ATTEMPTS = 5
"""Ports tried before giving up: PostgreSQL cannot bind port 0 and report the port it got, so
the OS picks a free one, and another xdist worker may take it before the server binds it."""


def _free_port() -> int:
    # Free when asked, not reserved: `start` retries on another one if the server loses the race.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    bin_dir: Path
    data: Path
    port: int
    log: Path

    @classmethod
    def start(cls) -> PostgresServer:
        """A new server in its own directory under the system's temporary directory - not
        pytest's, which is private to root (pytest resets it to 0700) and so unreachable by the
        `postgres` user. `remove()` deletes it."""
        bin_dir = binaries_or_skip()
        directory = Path(tempfile.mkdtemp(prefix="vevents-postgres-"))
        server = cls(bin_dir, directory / "data", _free_port(), directory / "postgres.log")
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(directory, user.pw_uid, user.pw_gid)
        server._run("initdb", "-D", str(server.data), "-A", "trust", "-U", "vevents", "--no-sync", "-E", "UTF8")
        for attempt in range(1, _START_ATTEMPTS + 1):
            try:
                server.start_again()
                return server
            except RuntimeError:
                lost_the_port = server.log.exists() and "could not bind" in server.log.read_text(errors="replace")
                if not lost_the_port or attempt == _START_ATTEMPTS:
                    raise
                server.log.unlink()
                server.port = _free_port()
        raise AssertionError("unreachable")

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin_dir / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")

    @property
    def url(self) -> str:
        return f"postgresql://vevents@127.0.0.1:{self.port}/postgres"

    def start_again(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data} -c max_connections=200"
        self._run("pg_ctl", "start", "-w", "-t", "60", "-D", str(self.data), "-l", str(self.log), "-o", options)

    def stop(self, mode: str = "fast") -> None:
        """`fast` disconnects every client and shuts down cleanly; `immediate` is a crash."""
        self._run("pg_ctl", "stop", "-w", "-t", "60", "-D", str(self.data), "-m", mode)

    def remove(self) -> None:
        """Stop the server (as a crash: nothing to keep) and delete its directory."""
        with contextlib.suppress(RuntimeError):
            self.stop("immediate")
        shutil.rmtree(self.data.parent, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh, empty database on this server; its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:16]
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://vevents@127.0.0.1:{self.port}/{name}"
