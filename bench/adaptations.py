"""Do the stub's library adaptations earn their keep? Each one ON beside OFF, in one run.

Issue 12: every adaptation of a library's internals lives in one fenced module
(`server/_connexion.py`, `server/_uvicorn.py`) and stays only if it pays. This script measures
the ones kept for speed, each with the stock library behaviour as its peer:

  spec validated once   `create_app(Settings(memory=True))`, ms: `_validate_spec_once` (a
                        document that passed once is not validated again in the process) vs
                        Connexion's stock `OpenAPISpecification._validate_spec` (the meta-schema
                        check in every `add_api`: /v1.0, /beta and the control API). Two rows:
                        the first app of a fresh process (a child process per figure: what one
                        `vevents serve` start pays) and any later app in the same process (what
                        a test suite building an app per test pays).
  parameter validator   requests/s through Connexion's request validation: `_ParameterValidator`
                        (each parameter's JSON Schema validator compiled once, each parameter
                        checked once) vs Connexion's stock `ParameterValidator` in `validator_map`
                        (a deep copy and a new validator per parameter per request).
  direct handlers       requests/s through the operations: `DirectHandlerApp` (operations call
                        `handler(scope, receive)`) vs a stock `connexion.AsyncApp` (Connexion's
                        operation wrapper inspects the handler's signature, builds its arguments
                        and reads the body on every request; with its ContextMiddleware put back,
                        and each handler behind a two-line adapter that takes Connexion's
                        arguments and calls it with the scope and receive Connexion's context
                        holds - the handlers themselves are unchanged). GETs only: the stock
                        wrapper consumes the request body the handlers read themselves.
  fast path             GET requests/s with `Settings.fast_path` on vs off (the product's own
                        switch, `--no-fast-path`); docs/benchmarks.md has the same over wrk.

The request workloads use the seed's webinar and a token minted for the stub's secret (strict
auth, as users run it). "parameter validator" and "direct handlers" run with the fast path
off in both variants, so every request takes Connexion's stack (as every request the fast path
does not take: PATCHes, lists, creates, odd queries); their mix is a GET by id, a GET by id with
`$select=displayName,status`, and (parameter validator) a PATCH of `displayName`.

Requests are ASGI calls made in-process (no socket, nothing listens: the network is not what
is measured), one at a time, so requests/s is the inverse of one request's CPU time through
the app. Every answer's status is checked; a variant that answers differently stops the run
(exit 1) - a faster wrong answer is not a result.

Rounds interleave the variants (ON, OFF, OFF, ON, ...: the order flips every round) so that a
busy moment on a shared machine hurts both alike; each figure is the median over rounds, and
the gain's range over rounds is printed beside it.

    python bench/adaptations.py                       # about 45 s on 2 busy cores
    python bench/adaptations.py --rounds 1 --requests 20   # a few seconds: the harness works

The OFF variants are made here, by monkeypatching for the duration of one app's construction
(the product has no switch for them, on purpose: they are not features); the app keeps what it
was built with. `OpenAPISpecification._validate_spec` is put back as it was after each OFF
build, and the script checks it before exiting.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import connexion
from connexion.context import _receive, _scope  # the stock operation's context (OFF variant only)
from connexion.middleware.context import ContextMiddleware
from connexion.resolver import Resolver
from connexion.spec import OpenAPISpecification
from connexion.validators import ParameterValidator

import vevents.server.app as app_module
from vevents.server import _connexion
from vevents.server.auth import mint_token
from vevents.server.settings import Settings
from vevents.spec import contract

HERE = Path(__file__).resolve().parent
SAMPLE = contract().sample.event_id
EVENT = f"/v1.0/solutions/virtualEvents/webinars/{SAMPLE}"


# ---------------------------------------------------------------- the OFF variants
@contextlib.contextmanager
def stock_spec_validation() -> Iterator[None]:
    """Connexion's own `_validate_spec` (every `add_api` validates) while the block builds apps."""
    installed = OpenAPISpecification.__dict__.get("_validate_spec")  # None: inherited, nothing installed yet
    noop = app_module.install_validate_spec_once
    OpenAPISpecification._validate_spec = classmethod(_connexion._validate_spec.__func__)  # type: ignore[method-assign]
    app_module.install_validate_spec_once = lambda: None  # type: ignore[assignment]
    try:
        yield
    finally:
        if installed is None:
            del OpenAPISpecification._validate_spec
        else:
            OpenAPISpecification._validate_spec = installed  # type: ignore[method-assign]
        app_module.install_validate_spec_once = noop  # type: ignore[assignment]


@contextlib.contextmanager
def stock_parameter_validator() -> Iterator[None]:
    """Connexion's `ParameterValidator` in the `validator_map` of the apps the block builds."""
    overrides = app_module.VALIDATOR_MAP_OVERRIDES
    app_module.VALIDATOR_MAP_OVERRIDES = {**overrides, "parameter": ParameterValidator}
    try:
        yield
    finally:
        app_module.VALIDATOR_MAP_OVERRIDES = overrides


class _StockApp(connexion.AsyncApp):
    """`StubApp` on a stock AsyncApp: Connexion's own operation wrapper around each handler."""


def _through_connexion(handler: Callable[[Any, Any], Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def operation(**_arguments: Any) -> Any:  # `**`: Connexion passes every parameter it parsed
        return await handler(_scope.get(), _receive.get())

    return operation


class _AdaptingResolver(Resolver):
    def __init__(self, function_resolver: Callable[[str], Any]) -> None:
        super().__init__(lambda operation_id: _through_connexion(function_resolver(operation_id)))


@contextlib.contextmanager
def stock_operations() -> Iterator[None]:
    """A stock `connexion.AsyncApp` (with its ContextMiddleware) for the apps the block builds."""
    saved = app_module.StubApp, app_module._UNUSED_MIDDLEWARE, app_module.Resolver
    app_module.StubApp = _StockApp  # type: ignore[misc,assignment]
    app_module._UNUSED_MIDDLEWARE = tuple(m for m in saved[1] if m is not ContextMiddleware)
    app_module.Resolver = _AdaptingResolver  # type: ignore[misc]
    try:
        yield
    finally:
        app_module.StubApp, app_module._UNUSED_MIDDLEWARE, app_module.Resolver = saved  # type: ignore[misc]


# ---------------------------------------------------------------- requests, in-process
@dataclass(frozen=True)
class Call:
    method: str
    path: str
    query: str = ""
    body: bytes = b""
    status: int = 200


GET = Call("GET", EVENT)
GET_SELECT = Call("GET", EVENT, "$select=displayName,status")
PATCH = Call("PATCH", EVENT, body=json.dumps({"displayName": "Benchmark webinar"}).encode())


async def call(app: Any, request: Call, token: str) -> tuple[int, bytes]:
    """One ASGI HTTP request, as a server on 127.0.0.1 would hand it over."""
    headers = [(b"host", b"127.0.0.1"), (b"authorization", f"Bearer {token}".encode())]
    if request.body:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(request.body)).encode())]
    scope = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": request.method, "scheme": "http", "path": request.path, "raw_path": request.path.encode(),
        "query_string": request.query.encode(), "root_path": "", "headers": headers,
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000), "extensions": {}, "state": {},
    }  # fmt: skip
    pending = [{"type": "http.request", "body": request.body, "more_body": False}]
    status = 0
    body = bytearray()

    async def receive() -> dict[str, Any]:
        if pending:
            return pending.pop()
        await asyncio.sleep(3600)  # a real client would not disconnect here
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await app(scope, receive, send)
    return status, bytes(body)


async def requests_per_second(app: Any, mix: tuple[Call, ...], count: int, token: str, label: str) -> float:
    started = time.perf_counter()
    for number in range(count):
        request = mix[number % len(mix)]
        status, body = await call(app, request, token)
        if status != request.status:
            raise SystemExit(
                f"{label}: {request.method} {request.path}?{request.query} answered {status}, "
                f"expected {request.status}: {body[:300]!r}"
            )
    return count / (time.perf_counter() - started)


# ---------------------------------------------------------------- the comparisons
@dataclass
class Row:
    name: str
    what: str
    unit: str
    higher_is_better: bool
    on: list[float] = field(default_factory=list)
    off: list[float] = field(default_factory=list)

    def gains(self) -> list[float]:
        """ON's advantage per round, as a ratio > 1 when ON is faster."""
        pairs = zip(self.on, self.off, strict=True)
        return [on / off if self.higher_is_better else off / on for on, off in pairs]


def build(settings: Settings, stock: Callable[[], contextlib.AbstractContextManager[None]] | None = None) -> Any:
    with stock() if stock is not None else contextlib.nullcontext():
        return app_module.create_app(settings)


def create_app_ms(stock: bool) -> float:
    started = time.perf_counter()
    build(Settings(memory=True), stock_spec_validation if stock else None)
    return (time.perf_counter() - started) * 1000


_FIRST_APP = """
import sys, time
sys.path.insert(0, {here!r})
import adaptations
print(adaptations.create_app_ms(stock={stock}))
"""


def first_app_ms(stock: bool) -> float:
    """`create_app_ms` in a fresh process (imports done, nothing validated yet): what one
    `vevents serve` or `vevents check` start pays (with the adaptation: /beta is the same
    document as /v1.0, so two validations instead of three)."""
    code = _FIRST_APP.format(here=str(HERE), stock=stock)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the first-app child failed: {done.stderr[-2000:]}")
    return float(done.stdout.split()[-1])


async def run(rounds: int, count: int) -> list[Row]:
    settings = Settings(memory=True)
    token = mint_token(secret=settings.secret)
    full_stack = settings.replace(fast_path=False)
    print("building the apps (each variant once; the spec is validated for the first) ...", flush=True)
    apps = {
        "parameter": (build(full_stack), build(full_stack, stock_parameter_validator)),
        "direct": (build(full_stack), build(full_stack, stock_operations)),
        "fast": (build(settings), build(full_stack)),
    }
    mixes = {"parameter": (GET, GET_SELECT, PATCH), "direct": (GET, GET_SELECT), "fast": (GET, GET_SELECT)}
    rows = {
        "first-app": Row("spec validated once", "first create_app in a process", "ms", False),
        "later-app": Row("spec validated once", "each later create_app (tests, fixtures)", "ms", False),
        "parameter": Row("parameter validator", "GET, GET $select, PATCH via Connexion", "req/s", True),
        "direct": Row("direct handlers", "GET, GET $select via Connexion", "req/s", True),
        "fast": Row("fast path", "GET, GET $select", "req/s", True),
    }
    for key, (on_app, off_app) in apps.items():  # both variants answer alike, body for body
        for request in mixes[key]:
            answers = [await call(variant, request, token) for variant in (on_app, off_app)]
            if answers[0] != answers[1]:
                raise SystemExit(
                    f"{key}: ON and OFF answer {request.method} {request.path}?{request.query} "
                    f"differently: {answers[0][0]} {answers[0][1][:200]!r} vs {answers[1][0]} "
                    f"{answers[1][1][:200]!r}"
                )
    warm = max(10, count // 10)
    for key, (on_app, off_app) in apps.items():  # warm-up
        await requests_per_second(on_app, mixes[key], warm, token, f"{key} ON")
        await requests_per_second(off_app, mixes[key], warm, token, f"{key} OFF")
    create_app_ms(stock=False)
    create_app_ms(stock=True)
    for number in range(rounds):
        order = (True, False) if number % 2 == 0 else (False, True)
        for on in order:
            (rows["first-app"].on if on else rows["first-app"].off).append(first_app_ms(stock=not on))
            (rows["later-app"].on if on else rows["later-app"].off).append(create_app_ms(stock=not on))
        for key, (on_app, off_app) in apps.items():
            for on in order:
                figure = await requests_per_second(
                    on_app if on else off_app, mixes[key], count, token, f"{key} {'ON' if on else 'OFF'}"
                )
                (rows[key].on if on else rows[key].off).append(figure)
        print(
            f"round {number + 1}/{rounds}, gains: "
            + ", ".join(f"{key} {row.gains()[-1]:.2f}x" for key, row in rows.items()),
            flush=True,
        )
    return list(rows.values())


def table(rows: list[Row]) -> str:
    lines = [
        "| adaptation | measured | unit | ON (median) | OFF (median) | gain (median) | gain range |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        gains = row.gains()
        lines.append(
            f"| {row.name} | {row.what} | {row.unit} | {statistics.median(row.on):.1f} | "
            f"{statistics.median(row.off):.1f} | {statistics.median(gains):.2f}x | "
            f"{min(gains):.2f}-{max(gains):.2f}x |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Measure each of the stub's speed adaptations of Connexion ON vs OFF, interleaved, in-process "
        "(see the module docstring for what each row compares)."
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=7,
        help="rounds; each measures every variant once, ON and OFF in alternating order, and the "
        "table shows medians over rounds (default: 7)",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=1000,
        help="requests per variant per round for the request workloads (default: 1000; about "
        "1-3 ms each on a busy 2-core machine)",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.requests < 1:
        parser.error("--rounds and --requests must be at least 1")
    started = time.perf_counter()
    rows = asyncio.run(run(args.rounds, args.requests))
    if OpenAPISpecification._validate_spec.__func__ is not _connexion._validate_spec_once:  # type: ignore[attr-defined]
        print("the stock _validate_spec was left installed", file=sys.stderr)
        return 1
    print()
    print(
        f"{args.rounds} rounds, {args.requests} requests per variant per round, "
        f"{time.perf_counter() - started:.0f} s; gain = ON's advantage (>1: the adaptation is faster)"
    )
    print(table(rows))
    print()
    print("DirectHandlerApp is measured against stock operations through an adapter (handlers unchanged);")
    print("_JSONBodyValidator is for correctness (int32/int64, bad charset -> 400), not measured here.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
