"""Helpers for the reliability tests (load, crash, hostile input, tokens, fuzz); not a test module.

served(db, workers=1, ...)   `vevents serve` as a subprocess on 127.0.0.1 -> Served(base_url, process)
SpecValidator                openapi-core validation of one response (deduplicated: same shape, same verdict)
rss_kib(pid)                 a process's resident set size, from /proc
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
from conftest import SECRET
from openapi_core import OpenAPI
from openapi_core.templating.paths.exceptions import OperationNotFound
from openapi_core.testing import MockRequest, MockResponse

from vevents.spec import spec_path

_LISTENING = re.compile(r"listening on (http://\S+)")
EVENTS = "/solutions/virtualEvents"


@dataclass
class Served:
    """A `vevents serve` subprocess: where it listens, the process, its stderr log file."""

    base_url: str
    process: subprocess.Popen[str]
    log: Path

    def url(self, kind: str, event_id: str | None = None, action: str | None = None, version: str = "v1.0") -> str:
        path = f"{self.base_url}/{version}{EVENTS}/{kind}"
        if event_id is not None:
            path += "/" + quote(event_id, safe="")
        return path + (f"/{action}" if action else "")

    def pids(self) -> list[int]:
        """The server's process and its children (the workers of `--workers N`)."""
        pids = [self.process.pid]
        with contextlib.suppress(OSError):
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
            pids += [int(c) for c in children]
        return pids


@contextlib.contextmanager
def served(
    db: Path | str,
    *,
    workers: int = 1,
    args: Sequence[str] = (),
    log_level: str = "warning",
    env: Mapping[str, str] | None = None,
    log_dir: Path | None = None,
) -> Iterator[Served]:
    """Run `vevents serve --db DB --port 0` (its own process group); stop it with SIGTERM on exit.

    DB is a SQLite file (the log goes beside it) or a PostgreSQL URL (give `log_dir`).

    If the test already killed it, nothing is left behind: the group (workers included) is
    killed by its id.
    """
    command = [
        sys.executable,
        "-m",
        "vevents",
        "serve",
        "--db",
        str(db),
        "--port",
        "0",
        "--log-level",
        log_level,
        "--workers",
        str(workers),
        *args,
    ]
    log = (Path(db) if log_dir is None else log_dir / "serve").with_suffix(f".{time.time_ns()}.log")
    environ = {**os.environ, "VEVENTS_SECRET": SECRET, **(env or {})}
    with log.open("w") as stderr:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=environ, start_new_session=True
        )
    try:
        assert process.stdout is not None
        base_url = None
        for line in process.stdout:
            if match := _LISTENING.search(line):
                base_url = match.group(1)
                break
        if base_url is None:
            process.wait(timeout=5)
            raise AssertionError(f"vevents serve did not start:\n{log.read_text()}")
        _wait_until_ready(base_url, workers)
        yield Served(base_url, process, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # workers orphaned by a SIGKILLed parent
        if process.stdout is not None:
            process.stdout.close()


def _wait_until_ready(base_url: str, workers: int) -> None:
    # The socket is bound before the URL is printed; connections queue until a worker accepts.
    # With several workers, wait until a few requests in a row succeed (each worker builds its app).
    deadline = time.monotonic() + 30
    ok = 0
    with httpx.Client(timeout=10) as client:
        while ok < 2 * workers:
            try:
                ok = ok + 1 if client.get(base_url + "/v1.0/openapi.json").status_code == 200 else 0
            except httpx.TransportError:
                ok = 0
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


def rss_kib(pid: int) -> int:
    """VmRSS of `pid` in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise LookupError(pid)


# ---------------------------------------------------------------- openapi-core
GRAPH = "https://graph.microsoft.com"
"""The spec's server host: openapi-core matches request URLs against `servers`."""


@dataclass
class SpecValidator:
    """Validates responses with openapi-core against the spec.

    Responses that differ only in request ids and dates validate alike, so each distinct
    (method, path, status, header names, body without `innerError`) is validated once.
    """

    openapi: OpenAPI = field(default_factory=lambda: OpenAPI.from_file_path(spec_path()))
    seen: dict[str, str | None] = field(default_factory=dict)
    validated: int = 0

    def check(
        self,
        method: str,
        url: str,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        request_headers: Mapping[str, str] | None = None,
    ) -> str | None:
        """None if the response is valid, else openapi-core's complaint."""
        self.validated += 1
        parts = urlsplit(url)
        headers = {k.lower(): v for k, v in headers.items()}
        key = hashlib.sha1(repr((method, parts.path, status, sorted(headers), _shape(body))).encode()).hexdigest()
        if key in self.seen:
            return self.seen[key]
        problem = self._validate(method, parts.path, parts.query, status, headers, body, request_headers or {})
        self.seen[key] = problem
        return problem

    def _validate(
        self,
        method: str,
        path: str,
        query: str,
        status: int,
        headers: dict[str, str],
        body: bytes,
        request_headers: Mapping[str, str],
    ) -> str | None:
        response = MockResponse(body, status, headers, headers.get("content-type", "application/json"))
        args = dict(parse_qsl(query))
        try:
            try:
                self.openapi.validate_response(
                    MockRequest(GRAPH, method.lower(), path, args=args, headers=dict(request_headers)), response
                )
            except OperationNotFound:
                # A method the spec does not describe on a path: the spec says 405 + Allow with the
                # error envelope, i.e. the 4XX response of a method it does describe there.
                if status != 405 or "allow" not in headers:
                    raise
                described = headers["allow"].split(",")[0].strip().lower()
                self.openapi.validate_response(MockRequest(GRAPH, described, path, args=args), response)
        except Exception as exc:  # openapi-core's validation errors have no common base worth naming
            return f"{type(exc).__name__}: {exc}"[:2000]
        return None


_FREE_TEXT = ("displayName", "content")
"""Properties whose schema is a plain string: any value validates like any other."""


def _shape(body: bytes) -> str:
    try:
        value = json.loads(body, object_hook=_blank_free_text)
    except ValueError:
        return body.decode("latin-1")
    if isinstance(value, dict) and isinstance(value.get("error"), dict):
        inner = value["error"].get("innerError")
        value["error"]["innerError"] = sorted(inner) if isinstance(inner, dict) else inner
        value["error"]["message"] = isinstance(value["error"].get("message"), str)
    return json.dumps(value, sort_keys=True)


def _blank_free_text(obj: dict[str, Any]) -> dict[str, Any]:
    for name in _FREE_TEXT:
        if isinstance(obj.get(name), str):
            obj[name] = ""
    return obj
