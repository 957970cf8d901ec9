"""`vevents check` against hostile targets: bounded time and memory, one line, never the token elsewhere.

Each target is a small raw-socket server on 127.0.0.1 (tests/hostile_targets.py: the framing is
the point, so no framework in between), shared with bench/suite_memory.py.
"""

from __future__ import annotations

import resource
import socket
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest
import requests
from fakes import STUB, serve, tokens
from hostile_targets import (
    HOSTILE,
    Handler,
    body_on_204,
    drip_body,
    drip_headers,
    endless_json,
    forwarding,
    huge_declared,
    raw_server,
)

from vevents.conformance import CheckConfig, Outcome, run
from vevents.conformance._requests import AnswerOutOfBounds, GuardedAdapter, OtherHost
from vevents.conformance.transport import MAX_BODY_BYTES, Target

pytestmark = pytest.mark.slow

TOKEN = "hostile-test-token-0123456789abcdef"


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


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("gzip-bomb-negotiated", ("decodes to more than 4 MiB", "gzip")),
        ("gzip-bomb-unasked", ("decodes to more than 4 MiB", "gzip")),
        ("deflate-bomb", ("decodes to more than 4 MiB", "deflate")),
        ("endless-gzip-body", ("decodes to more than 4 MiB",)),
        ("huge-headers", ("broken HTTP", "headers exceed")),
    ],
)
def test_bombs_and_huge_headers_end_the_run_in_bounded_time_and_memory(name: str, words: tuple[str, ...]) -> None:
    with raw_server(HOSTILE[name]) as (base_url, _):
        done, elapsed, peak_kib = _check(base_url)
    _one_line_exit_2(done, *words)
    assert elapsed < 30, elapsed
    # A 1 GiB bomb decoded whole would be 1 GiB; the cap keeps a run at the interpreter's own size.
    assert peak_kib < 400 * 1024, f"peak RSS {peak_kib // 1024} MiB"


def _raw_controls(text: str) -> list[str]:
    """Control and format characters a terminal would act on (the layout's newlines aside)."""
    return sorted({repr(char) for char in text if char != "\n" and unicodedata.category(char) in ("Cc", "Cf")})


@pytest.mark.parametrize("name", ["escapes-in-body", "escapes-in-headers", "escapes-in-text"])
def test_escape_sequences_reach_no_terminal_log_or_report(name: str, tmp_path: Path) -> None:
    reports = ("--report-json", str(tmp_path / "report.json"), "--junit-xml", str(tmp_path / "report.xml"))
    with raw_server(HOSTILE[name]) as (base_url, _):
        done, _, _ = _check(base_url, *reports)
    assert done.returncode in (1, 2), done.stdout + done.stderr
    written = [path.read_text(encoding="utf-8", errors="replace") for path in sorted(tmp_path.iterdir())]
    for text in (done.stdout, done.stderr, *written):
        assert _raw_controls(text) == [], text
        assert "pwned" not in text or "\\x1b]0;pwned" in text, text
    if done.returncode == 2:
        _one_line_exit_2(done)


def test_a_body_on_a_204_is_a_violation_of_the_cancel_not_an_unreachable_target() -> None:
    # The stub behind a front that adds `Content-Length: 2` and `{}` to every 204 (a cancel's answer).
    with serve(STUB) as stub_url, raw_server(forwarding(stub_url, body_on_204)) as (base_url, _):
        result = run(CheckConfig(base_url=base_url, token=tokens()["main"], checks=("vevents",), max_examples=2))
    assert result.exit_code == 1
    assert not [item.reason for item in result.results if item.outcome is Outcome.ERROR]
    found = [violation for item in result.results for violation in item.violations]
    # Each operation answering 204 (cancel, publish) is named with its evidence, one violation each.
    assert any(violation.title.split()[1].endswith("/cancel") for violation in found), [v.title for v in found]
    assert all("Content-Length: 2" in violation.message for violation in found)
    assert all(violation.repro and violation.repro[0].startswith("curl") for violation in found)
