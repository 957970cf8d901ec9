"""The suite sends through one guarded transport (conformance/transport.py): no other module of it
imports an HTTP client, and the transport's rules hold one by one (raw-socket targets, in-process)."""

from __future__ import annotations

import ast
import contextlib
import gzip
import json
import socket
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from hostile_targets import HOSTILE, Handler, raw_server

import vevents.conformance
from vevents.conformance.errors import BrokenAnswer, ForeignHost, UnusableAnswer
from vevents.conformance.escaping import printable
from vevents.conformance.exchange import LOGGED_BODY_BYTES, Exchange, Headers
from vevents.conformance.framing import answer_problems, answer_violations, broken_answer_violation
from vevents.conformance.transport import MAX_DECODED_BYTES, Target

CONFORMANCE = Path(vevents.conformance.__file__).resolve().parent
# The transport, and the requests face Schemathesis needs (a thin adapter over it).
SENDERS = frozenset({"transport.py", "_requests.py"})
HTTP_CLIENTS = frozenset(
    {
        "httpx",
        "httpcore",
        "requests",
        "urllib3",
        "http.client",
        "urllib.request",
        "socket",
        "ssl",
        "h11",
        "h2",
        "aiohttp",
    }
)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imported(tree: ast.AST) -> set[str]:
    """Every module a file imports at run time (imports under `if TYPE_CHECKING:` send nothing)."""
    found: set[str] = set()

    def walk(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for branch in node.orelse:
                walk(branch)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            walk(child)

    walk(tree)
    return found


def _clients(modules: set[str]) -> set[str]:
    return {name for name in modules if any(name == client or name.startswith(client + ".") for client in HTTP_CLIENTS)}


def test_only_the_transport_and_its_adapter_import_an_http_client() -> None:
    offenders = {
        str(path.relative_to(CONFORMANCE)): sorted(_clients(_imported(ast.parse(path.read_text()))))
        for path in sorted(CONFORMANCE.rglob("*.py"))
        if path.name not in SENDERS or path.parent != CONFORMANCE
    }
    assert {name: found for name, found in offenders.items() if found} == {}


@pytest.mark.parametrize(
    ("source", "caught"),
    [
        ("import httpx", True),
        ("from http import client", True),
        ("import urllib3.exceptions", True),
        ("from socket import create_connection", True),
        ("def f():\n    import requests", True),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import requests", False),
        ("import http\nimport json\nfrom urllib import parse", False),
    ],
)
def test_the_import_rule_sees_every_form_of_import(source: str, caught: bool) -> None:
    assert bool(_clients(_imported(ast.parse(source)))) is caught


def test_the_senders_do_import_their_client() -> None:
    # If these were renamed, the rule above would pass on nothing.
    assert "httpcore" in _imported(ast.parse((CONFORMANCE / "transport.py").read_text()))
    assert "requests" in _imported(ast.parse((CONFORMANCE / "_requests.py").read_text()))


# ---------------------------------------------------------------------------- the transport's rules, one by one
def _answer(status: str, body: bytes, *headers: str) -> Handler:
    head = f"HTTP/1.1 {status}\r\n" + "".join(f"{line}\r\n" for line in headers)
    data = (head + f"Content-Length: {len(body)}\r\n\r\n").encode("latin-1") + body

    def handler(conn: socket.socket, request: bytes) -> None:
        conn.sendall(data)

    return handler


BODY = json.dumps({"value": [{"id": "x", "subject": "é"}]}).encode()


@contextlib.contextmanager
def _target(base_url: str) -> Iterator[Target]:
    target = Target(base_url, {"main": "transport-test-token-0123456789"}, timeout=2.0)
    try:
        yield target
    finally:
        target.close()


def _raw_deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return packer.compress(data) + packer.flush()


@pytest.mark.parametrize(
    ("coding", "encoded"),
    [
        ("gzip", gzip.compress(BODY)),
        ("deflate", zlib.compress(BODY)),
        ("deflate", _raw_deflate(BODY)),  # RFC 9110 says zlib-wrapped; some servers send it raw
        ("identity", BODY),
        ("gzip, gzip", gzip.compress(gzip.compress(BODY))),
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw", "identity", "gzip-twice"],
)
def test_answers_are_decoded_as_their_content_encoding_says(coding: str, encoded: bytes) -> None:
    handler = _answer("200 OK", encoded, "Content-Type: application/json", f"Content-Encoding: {coding}")
    with raw_server(handler) as (base_url, seen), _target(base_url) as target:
        exchange = target.call("GET", "/solutions/virtualEvents/webinars")
    assert exchange.content == BODY and exchange.problems == ()
    assert b"accept-encoding: gzip, deflate" in seen[0].lower()


def test_an_encoding_the_suite_did_not_offer_is_evidence_not_a_crash() -> None:
    handler = _answer("200 OK", b"\x8b\x00\x1b[2J", "Content-Type: application/json", "Content-Encoding: br")
    with raw_server(handler) as (base_url, _), _target(base_url) as target:
        exchange = target.call("GET", "/solutions/virtualEvents/webinars")
    assert exchange.content == b"\x8b\x00\x1b[2J"
    assert exchange.problems and "Content-Encoding: br" in exchange.problems[0]
    assert [v.title for v in answer_violations([exchange])] == [
        "GET /v1.0/solutions/virtualEvents/webinars answered outside HTTP's or the contract's framing"
    ]
    assert "\x1b" not in exchange.describe() and "\\x1b[2J" in exchange.describe()


@pytest.mark.parametrize(
    "encoded", [b"not gzip at all", gzip.compress(BODY)[:-12]], ids=["not-gzip-data", "truncated-gzip"]
)
def test_gzip_that_does_not_decode_is_evidence(encoded: bytes) -> None:
    handler = _answer("200 OK", encoded, "Content-Type: application/json", "Content-Encoding: gzip")
    with raw_server(handler) as (base_url, _), _target(base_url) as target:
        exchange = target.call("GET", "/solutions/virtualEvents/webinars")
    assert exchange.problems and "gzip" in exchange.problems[0], exchange.problems


def test_a_bomb_the_request_did_not_negotiate_is_capped_decoded_too() -> None:
    with (
        raw_server(HOSTILE["gzip-bomb-unasked"]) as (base_url, _),
        _target(base_url) as target,
        pytest.raises(UnusableAnswer, match="decodes to more than 4 MiB"),
    ):
        target.call("GET", "/solutions/virtualEvents/webinars", headers={"Accept-Encoding": "identity"})
    assert MAX_DECODED_BYTES <= 8 * 1024 * 1024


def test_a_body_on_a_204_is_recorded_and_its_connection_never_reused() -> None:
    answers = iter([_answer("204 No Content", b"{}"), _answer("200 OK", BODY, "Content-Type: application/json")])

    def handler(conn: socket.socket, request: bytes) -> None:
        next(answers)(conn, request)

    with raw_server(handler) as (base_url, seen), _target(base_url) as target:
        canceled = target.call("POST", "/solutions/virtualEvents/webinars/x/cancel")
        after = target.call("GET", "/solutions/virtualEvents/webinars")
    assert canceled.status == 204 and "Content-Length: 2" in canceled.problems[0]
    # Sent on a new connection: on the old one the `{}` would have been read as the next status line.
    assert after.status == 200 and after.content == BODY and after.problems == ()
    assert len(seen) == 2


def test_headers_past_the_parsers_limit_are_a_broken_answer_with_evidence() -> None:
    with (
        raw_server(HOSTILE["huge-headers"]) as (base_url, _),
        _target(base_url) as target,
        pytest.raises(BrokenAnswer) as caught,
    ):
        target.call("GET", "/solutions/virtualEvents/webinars")
    assert "headers exceed" in caught.value.evidence and caught.value.repro.startswith("curl")
    assert (
        broken_answer_violation(caught.value).title
        == "GET /v1.0/solutions/virtualEvents/webinars answered with broken HTTP"
    )


def test_the_run_log_keeps_bounded_prefixes_and_the_caller_the_whole_body() -> None:
    big = json.dumps({"value": ["x" * 1000] * 100}).encode()
    with (
        raw_server(_answer("200 OK", big, "Content-Type: application/json")) as (base_url, _),
        _target(base_url) as target,
        target.recording([]) as mine,
    ):
        exchange = target.call("GET", "/solutions/virtualEvents/webinars")
    assert exchange.content == big and mine == [exchange]
    assert len(target.exchanges[-1].content) == LOGGED_BODY_BYTES and target.exchanges[-1].truncated


def test_no_request_leaves_for_another_host() -> None:
    with _target("http://127.0.0.1:9/v1.0") as target, pytest.raises(ForeignHost):
        target.send("GET", "http://127.0.0.2:9/v1.0/x", {"Authorization": "Bearer t"}, None, token_role="main")
    assert target.exchanges == []


def test_target_text_is_printable() -> None:
    assert printable("a\x1b[31mb\x00c\u202ed\té") == "a\\x1b[31mb\\x00c\\u202ed é"
    assert printable("one\ntwo\r", keep_newlines=True) == "one\ntwo\\x0d"


@pytest.mark.parametrize(
    ("content_type", "body", "problem"),
    [
        ("application/json", b'{"value": []}', None),
        ("application/json;odata.metadata=minimal;charset=utf-8", b"{}", None),
        ("text/plain", b"5", None),  # a $count answer
        ("application/json", b'{"value": [', "not JSON"),
        ("text/html", b'{"value": []}', "not application/json"),
        ("", b'{"value": []}', "no Content-Type"),
    ],
)
def test_an_answer_says_what_it_is_and_is_it(content_type: str, body: bytes, problem: str | None) -> None:
    headers = Headers({"Content-Type": content_type} if content_type else {})
    exchange = Exchange("GET", "http://127.0.0.1/v1.0/x", "main", (), None, 200, headers, body)
    found = answer_problems(exchange)
    assert (found == []) if problem is None else (len(found) == 1 and problem in found[0]), found
