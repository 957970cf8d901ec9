"""`vevents check` against hostile targets: bounded time and memory, one line, never the token elsewhere.

Each target is a small raw-socket server on 127.0.0.1 (the framing is the point, so no framework
in between). The servers stop on their own: every connection handler gives up after a few
seconds, and the listener closes when the test ends.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from vevents.conformance._requests import AnswerOutOfBounds, GuardedAdapter, OtherHost
from vevents.conformance.target import MAX_BODY_BYTES, Target

pytestmark = pytest.mark.slow

TOKEN = "hostile-test-token-0123456789abcdef"
Handler = Callable[[socket.socket, bytes], None]
# Longest a handler keeps a connection busy (the suite must have given up long before).
HANDLER_LIMIT = 20.0


def _read_request(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")), 0
    )
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return head


@contextlib.contextmanager
def raw_server(handler: Handler, host: str = "127.0.0.1") -> Iterator[tuple[str, list[bytes]]]:
    """Serve `handler(conn, request_head)` per connection; yields the base URL and every request head seen."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    listener.listen(16)
    listener.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def serve_one(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(HANDLER_LIMIT)
            with contextlib.suppress(OSError):
                while not stop.is_set():
                    head = _read_request(conn)
                    if not head:
                        return
                    seen.append(head)
                    handler(conn, head)

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            threading.Thread(target=serve_one, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{listener.getsockname()[1]}/v1.0", seen
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def _until(deadline: float) -> bool:
    return time.monotonic() < deadline


def endless_json(conn: socket.socket, head: bytes) -> None:
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n[")
    chunk = b"0," * 32768
    deadline = time.monotonic() + HANDLER_LIMIT
    while _until(deadline):
        conn.sendall(chunk)


def huge_declared(conn: socket.socket, head: bytes) -> None:
    size = 200 * 1024 * 1024
    conn.sendall(f"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode())
    chunk = b" " * 65536
    deadline = time.monotonic() + HANDLER_LIMIT
    while _until(deadline) and size > 0:
        conn.sendall(chunk)
        size -= len(chunk)


def _drip(conn: socket.socket, start: bytes, drop: bytes) -> None:
    """Send `start`, then one `drop` every 0.3 s: each read gets something, the answer never ends."""
    conn.sendall(start)
    deadline = time.monotonic() + HANDLER_LIMIT
    while _until(deadline):
        conn.sendall(drop)
        time.sleep(0.3)


def drip_body(conn: socket.socket, head: bytes) -> None:
    _drip(conn, b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n", b" ")


def drip_headers(conn: socket.socket, head: bytes) -> None:
    _drip(conn, b"HTTP/1.1 201 Created\r\n", b"X-Slow: a\r\n")


def text_ok(conn: socket.socket, head: bytes) -> None:
    body = b"OK\n"
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n" + body)


def echo_headers(conn: socket.socket, head: bytes) -> None:
    """A 400 whose body repeats the request, Authorization included (as careless proxies do)."""
    lines = head.replace(b'"', b"'").decode("latin-1").split("\r\n")
    # The Authorization line first, so that it is within what a report quotes of a body.
    lines.sort(key=lambda line: not line.lower().startswith("authorization"))
    body = " | ".join(lines).encode()
    envelope = b'{"error": {"code": "badRequest", "message": "' + body + b'"}}'
    conn.sendall(
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(envelope)).encode()
        + b"\r\n\r\n"
        + envelope
    )


def _check(base_url: str, *extra: str) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """`vevents check` as a user runs it, in its own process; returns it, its wall time and its peak RSS (KiB)."""
    argv = [
        sys.executable,
        "-m",
        "vevents",
        "check",
        "--base-url",
        base_url,
        "--token",
        TOKEN,
        "--timeout",
        "2",
        "--max-retries",
        "0",
        *extra,
    ]
    started = time.monotonic()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    return done, time.monotonic() - started, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def _one_line_exit_2(done: subprocess.CompletedProcess[str], *words: str) -> None:
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vevents check: could not run: "), done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert TOKEN not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("handler", "words"),
    [
        (endless_json, ("larger than",)),
        (huge_declared, ("larger than",)),
        (drip_body, ("within 2 s",)),
        (drip_headers, ("within 2 s",)),
    ],
    ids=["endless-json-body", "200-MiB-body", "drip-fed-body", "drip-fed-headers"],
)
def test_unbounded_answers_end_the_run_in_bounded_time_and_memory(handler: Handler, words: tuple[str, ...]) -> None:
    with raw_server(handler) as (base_url, _):
        done, elapsed, peak_kib = _check(base_url)
    _one_line_exit_2(done, *words)
    # The 2 s deadline plus start-up; memory: the interpreter and its libraries, not the body.
    assert elapsed < 30, elapsed
    assert peak_kib < 400 * 1024, f"peak RSS {peak_kib // 1024} MiB"


def test_non_json_200_is_not_this_api() -> None:
    with raw_server(text_ok) as (base_url, _):
        done, _, _ = _check(base_url)
    _one_line_exit_2(done, "does not look like the Graph virtual events API", "text/plain")


def test_redirect_to_another_host_is_never_followed() -> None:
    with raw_server(text_ok, host="127.0.0.2") as (elsewhere, seen_elsewhere):

        def redirect(conn: socket.socket, head: bytes) -> None:
            path = head.split(b" ", 2)[1].decode()
            location = elsewhere.rsplit("/v1.0", 1)[0] + path
            conn.sendall(
                f"HTTP/1.1 307 Temporary Redirect\r\nLocation: {location}\r\nContent-Length: 0\r\n\r\n".encode()
            )

        with raw_server(redirect) as (base_url, seen_here):
            done, _, _ = _check(base_url)
    assert seen_here, "the suite never reached the target"
    assert seen_elsewhere == [], "a request went to the other host"
    _one_line_exit_2(done, "307")


def test_a_target_echoing_the_token_never_gets_it_printed() -> None:
    with raw_server(echo_headers) as (base_url, seen):
        done, _, _ = _check(base_url)
    assert any(TOKEN.encode() in head for head in seen)
    assert done.returncode == 2
    assert "$VEVENTS_TOKEN" in done.stderr
    _one_line_exit_2(done)


@pytest.mark.parametrize("handler", [endless_json, drip_body], ids=["endless-json-body", "drip-fed-body"])
def test_schemathesis_requests_are_bounded_too(handler: Handler) -> None:
    with raw_server(handler) as (base_url, _):
        target = Target(base_url, {"main": TOKEN}, timeout=2.0)
        session = requests.Session()
        session.mount("http://", GuardedAdapter(target))
        started = time.monotonic()
        with pytest.raises(AnswerOutOfBounds):
            session.get(base_url + "/solutions/virtualEvents/webinars")
    assert time.monotonic() - started < 10
    assert MAX_BODY_BYTES <= 8 * 1024 * 1024


def test_schemathesis_requests_never_leave_the_host() -> None:
    with raw_server(text_ok, host="127.0.0.2") as (elsewhere, seen_elsewhere):
        target = Target(elsewhere.replace("127.0.0.2", "127.0.0.1"), {"main": TOKEN}, timeout=2.0)
        session = requests.Session()
        session.mount("http://", GuardedAdapter(target))
        with pytest.raises(OtherHost):
            session.get(elsewhere + "/x", headers={"Authorization": f"Bearer {TOKEN}"})
    assert seen_elsewhere == []
