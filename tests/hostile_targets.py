"""Hostile targets: small raw-socket servers on 127.0.0.1 whose answers are the attack.

The framing is the point, so no framework in between. Shared by the hostile catalogue
(tests/test_conformance_hostile.py) and the memory benchmark (bench/suite_memory.py). The servers
stop on their own: every connection handler gives up after `HANDLER_LIMIT` seconds, and the
listener closes when the `raw_server` block ends.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import socket
import struct
import threading
import time
import urllib.parse
import zlib
from collections.abc import Callable, Iterator

__all__ = ["HANDLER_LIMIT", "HOSTILE", "Handler", "body_on_204", "bomb_on_errors", "forwarding", "raw_server"]

Handler = Callable[[socket.socket, bytes], None]
# Longest a handler keeps a connection busy (the suite must have given up long before).
HANDLER_LIMIT = 20.0
# What a bomb decodes to: 64 times the suite's 4 MiB cap, ~260 KiB on the wire (under the wire cap).
BOMB_BYTES = 256 * 1024 * 1024


def _read_request(conn: socket.socket) -> bytes:
    """The next request on `conn`: its head, and its body after the blank line (b"" at the end)."""
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
    return head + b"\r\n\r\n" + body


@contextlib.contextmanager
def raw_server(handler: Handler, host: str = "127.0.0.1") -> Iterator[tuple[str, list[bytes]]]:
    """Serve `handler(conn, request)` per request; yields the base URL and every request seen (head and body).

    A handler's `prepare()`, if it has one, runs first (a bomb is built before the first request waits on it).
    """
    prepare = getattr(handler, "prepare", None)
    if callable(prepare):
        prepare()
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


def _head(status: str, *headers: str) -> bytes:
    return ("HTTP/1.1 " + status + "\r\n" + "".join(f"{line}\r\n" for line in headers) + "\r\n").encode("latin-1")


def _fixed(status: str, body: bytes, *headers: str) -> bytes:
    return _head(status, *headers, f"Content-Length: {len(body)}") + body


# ---------------------------------------------------------------------------- endless and huge bodies
def endless_json(conn: socket.socket, head: bytes) -> None:
    conn.sendall(_head("200 OK", "Content-Type: application/json", "Connection: close") + b"[")
    chunk = b"0," * 32768
    deadline = time.monotonic() + HANDLER_LIMIT
    while _until(deadline):
        conn.sendall(chunk)


def huge_declared(conn: socket.socket, head: bytes) -> None:
    size = 200 * 1024 * 1024
    conn.sendall(_head("201 Created", "Content-Type: application/json", f"Content-Length: {size}"))
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
    _drip(conn, _head("201 Created", "Content-Type: application/json", "Content-Length: 100000"), b" ")


def drip_headers(conn: socket.socket, head: bytes) -> None:
    _drip(conn, b"HTTP/1.1 201 Created\r\n", b"X-Slow: a\r\n")


# ---------------------------------------------------------------------------- compression bombs
@functools.cache
def _bomb(coding: str) -> bytes:
    """`BOMB_BYTES` of JSON (`[`, spaces, `]`) as a whole gzip or zlib (`deflate`) stream.

    Built from one compressed 1 MiB block repeated: after a full flush a deflate block depends on
    no history, so the copies decode one after the other (milliseconds, not seconds of deflate).
    """
    block = b" " * (1024 * 1024)
    count = BOMB_BYTES // len(block)
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = packer.compress(b"[") + packer.flush(zlib.Z_FULL_FLUSH)
    repeated = packer.compress(block) + packer.flush(zlib.Z_FULL_FLUSH)
    last = packer.compress(b"]") + packer.flush()
    deflated = first + repeated * count + last
    if coding == "gzip":
        crc = zlib.crc32(b"[")
        for _ in range(count):
            crc = zlib.crc32(block, crc)
        crc = zlib.crc32(b"]", crc)
        size = (count * len(block) + 2) % 2**32
        return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + deflated + struct.pack("<II", crc, size)
    check = zlib.adler32(b"[")
    for _ in range(count):
        check = zlib.adler32(block, check)
    return b"\x78\xda" + deflated + struct.pack(">I", zlib.adler32(b"]", check))


def _offers(head: bytes, coding: bytes) -> bool:
    return any(line.lower().startswith(b"accept-encoding:") and coding in line.lower() for line in head.split(b"\r\n"))


def gzip_bomb_negotiated(conn: socket.socket, head: bytes) -> None:
    """A gzip bomb to any request that offers gzip (the suite does, as Graph's SDKs do)."""
    if not _offers(head, b"gzip"):
        conn.sendall(_fixed("200 OK", b"[]", "Content-Type: application/json"))
        return
    conn.sendall(_fixed("200 OK", _bomb("gzip"), "Content-Type: application/json", "Content-Encoding: gzip"))


def gzip_bomb_unasked(conn: socket.socket, head: bytes) -> None:
    """A gzip bomb whatever the request offered (RFC 9110 lets a client refuse it; the suite must survive it)."""
    conn.sendall(_fixed("201 Created", _bomb("gzip"), "Content-Type: application/json", "Content-Encoding: gzip"))


def deflate_bomb(conn: socket.socket, head: bytes) -> None:
    conn.sendall(_fixed("200 OK", _bomb("deflate"), "Content-Type: application/json", "Content-Encoding: deflate"))


def endless_gzip(conn: socket.socket, head: bytes) -> None:
    """A chunked gzip stream that never ends: a little on the wire, megabytes once decoded."""
    conn.sendall(
        _head("200 OK", "Content-Type: application/json", "Content-Encoding: gzip", "Transfer-Encoding: chunked")
    )
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1024 * 1024)
    deadline = time.monotonic() + HANDLER_LIMIT
    while _until(deadline):
        data = packer.compress(block) + packer.flush(zlib.Z_SYNC_FLUSH)
        conn.sendall(f"{len(data):x}\r\n".encode() + data + b"\r\n")


# ---------------------------------------------------------------------------- huge headers
def huge_headers(conn: socket.socket, head: bytes) -> None:
    """An answer whose headers never end (1 KiB lines): past any parser's limit."""
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    line = b"X-Padding: " + b"a" * 1024 + b"\r\n"
    deadline = time.monotonic() + HANDLER_LIMIT
    sent = 0
    while _until(deadline) and sent < 64 * 1024 * 1024:
        conn.sendall(line * 64)
        sent += len(line) * 64


# ---------------------------------------------------------------------------- terminal escape sequences
# Clear the screen, set the window title, colour, a NUL, a bidi override, and a forged verdict line.
ESCAPES = b"\x1b[2J\x1b]0;pwned\x07\x1b[32mconformant\x1b[0m\x00\xe2\x80\xae\r\n35 checks: 35 passed - conformant"


def escapes_in_body(conn: socket.socket, head: bytes) -> None:
    """Every answer a JSON-labelled 400 whose body is raw escape sequences (and so not JSON either)."""
    body = b'{"error": {"code": "badRequest", "message": "' + ESCAPES + b'"}}'
    conn.sendall(_fixed("400 Bad Request", body, "Content-Type: application/json"))


def escapes_in_headers(conn: socket.socket, head: bytes) -> None:
    """Escape sequences in a header value and in the reason phrase (HTTP forbids both)."""
    body = b'{"value": []}'
    reason = b"OK \x1b[31mred\x1b[0m"
    conn.sendall(
        b"HTTP/1.1 200 "
        + reason
        + b"\r\nContent-Type: application/json\r\nX-Note: \x1b]0;pwned\x07\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def escapes_in_text(conn: socket.socket, head: bytes) -> None:
    """A 200 that is not this API, its body full of escape sequences."""
    conn.sendall(_fixed("200 OK", ESCAPES, "Content-Type: text/plain; charset=utf-8"))


# ---------------------------------------------------------------------------- a real target, one framing fault
Rewrite = Callable[[int, str, list[tuple[str, str]], bytes], bytes]
"""(status, reason, headers, body) of the upstream answer -> the bytes sent instead."""


def _serialize(status: int, reason: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    kept = [
        f"{name}: {value}" for name, value in headers if name.lower() not in ("content-length", "transfer-encoding")
    ]
    if status not in (204, 304):
        kept.append(f"Content-Length: {len(body)}")
    return _head(f"{status} {reason}", *kept) + (body if status not in (204, 304) else b"")


def forwarding(upstream: str, rewrite: Rewrite = _serialize) -> Handler:
    """Each request sent on to `upstream` (the stub, served elsewhere), its answer written back by `rewrite`."""
    parts = urllib.parse.urlsplit(upstream)
    prepare = getattr(rewrite, "prepare", None)

    def handler(conn: socket.socket, request: bytes) -> None:
        head, _, body = request.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection", "accept-encoding")}
        upstream_conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=HANDLER_LIMIT)
        try:
            upstream_conn.request(method, target, body=body or None, headers=headers)
            answer = upstream_conn.getresponse()
            conn.sendall(rewrite(answer.status, answer.reason, answer.getheaders(), answer.read()))
        finally:
            upstream_conn.close()

    if prepare is not None:
        handler.prepare = prepare  # type: ignore[attr-defined]
    return handler


def body_on_204(status: int, reason: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    """Every 204 (a cancel's answer) carries `Content-Length: 2` and `{}`, which HTTP forbids."""
    if status != 204:
        return _serialize(status, reason, headers, body)
    kept = [f"{name}: {value}" for name, value in headers if name.lower() != "content-length"]
    return _head(f"{status} {reason}", *kept, "Content-Length: 2") + b"{}"


def bomb_on_errors(status: int, reason: str, headers: list[tuple[str, str]], body: bytes) -> bytes:
    """Every 4xx answer (Schemathesis's random ids, the suite's refusals) a gzip bomb; the rest as they were."""
    if status < 400:
        return _serialize(status, reason, headers, body)
    kept = [(name, value) for name, value in headers if name.lower() not in ("content-encoding",)]
    return _serialize(status, reason, [*kept, ("Content-Encoding", "gzip")], _bomb("gzip"))


bomb_on_errors.prepare = functools.partial(_bomb, "gzip")  # type: ignore[attr-defined]

for _handler, _coding in ((gzip_bomb_negotiated, "gzip"), (gzip_bomb_unasked, "gzip"), (deflate_bomb, "deflate")):
    _handler.prepare = functools.partial(_bomb, _coding)  # type: ignore[attr-defined]


HOSTILE: dict[str, Handler] = {
    "endless-json-body": endless_json,
    "200-MiB-body": huge_declared,
    "drip-fed-body": drip_body,
    "drip-fed-headers": drip_headers,
    "gzip-bomb-negotiated": gzip_bomb_negotiated,
    "gzip-bomb-unasked": gzip_bomb_unasked,
    "deflate-bomb": deflate_bomb,
    "endless-gzip-body": endless_gzip,
    "huge-headers": huge_headers,
    "escapes-in-body": escapes_in_body,
    "escapes-in-headers": escapes_in_headers,
    "escapes-in-text": escapes_in_text,
}
"""Every hostile target, by the name the catalogue and the benchmark print."""
