"""Issue 5: token handling beyond the auth table of test_server_auth.py.

- Algorithm attacks: `alg: none` in every spelling, RS256/ES256 tokens, the HS/RS confusion
  (an HS256 token keyed with an RSA public key PEM; an RS256-labelled token carrying an HMAC
  made with the stub's own secret), HS384/HS512 with the right secret, `jku`/`x5u`/`kid` headers
  that point elsewhere (never fetched).
- Claims: audience, issuer, tenant, expiry and not-before edge cases, malformed claim types.
- The verification cache cannot be tricked by a tampered copy of a token it has cached.
- Nothing secret reaches the logs or a response: the secret, a full token, or a token's signature.
- Signatures are compared in constant time (`hmac.compare_digest`), checked by behaviour.

Every refusal is 401 `InvalidAuthenticationToken` with `WWW-Authenticate`, as Graph answers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from conftest import OTHER_TENANT, OTHER_USER, SAMPLE_ID, SECRET, Stub
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from reliability import served

from vevents.server.auth import GRAPH_AUDIENCES, SEED_ORGANIZER, SEED_TENANT, InvalidToken, TokenVerifier, mint_token

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
RSA_PUBLIC_PEM = RSA_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
EC_KEY = ec.generate_private_key(ec.SECP256R1())


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "aud": GRAPH_AUDIENCES[0],
        "iss": f"https://sts.windows.net/{SEED_TENANT}/",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "tid": SEED_TENANT,
        "oid": SEED_ORGANIZER,
        "sub": SEED_ORGANIZER,
        "scp": "VirtualEvent.ReadWrite",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _hs256(**overrides: Any) -> str:
    return jwt.encode(_claims(**overrides), SECRET, algorithm="HS256")


def _raw(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes] | None = None) -> str:
    """A token assembled by hand: any header, any signature (or none)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = sign(signing_input.encode()) if sign else b""
    return f"{signing_input}.{_b64(signature)}"


def _hmac(key: bytes, digest: Any = hashlib.sha256) -> Callable[[bytes], bytes]:
    return lambda message: hmac.new(key, message, digest).digest()


# name -> the token (a factory: times are taken when the test runs)
REFUSED: dict[str, Callable[[], str]] = {
    # ---- algorithms
    "alg none": lambda: _raw({"alg": "none", "typ": "JWT"}, _claims()),
    "alg None": lambda: _raw({"alg": "None", "typ": "JWT"}, _claims()),
    "alg NONE with the real HMAC as signature": lambda: _raw({"alg": "NONE"}, _claims(), _hmac(SECRET.encode())),
    "no alg header": lambda: _raw({"typ": "JWT"}, _claims(), _hmac(SECRET.encode())),
    "alg as a list": lambda: _raw({"alg": ["HS256"]}, _claims(), _hmac(SECRET.encode())),
    "RS256 with a key of its own": lambda: jwt.encode(_claims(), RSA_KEY, algorithm="RS256"),
    "ES256 with a key of its own": lambda: jwt.encode(_claims(), EC_KEY, algorithm="ES256"),
    "HS/RS confusion: HS256 keyed with an RSA public key PEM": lambda: _raw(
        {"alg": "HS256", "typ": "JWT"}, _claims(), _hmac(RSA_PUBLIC_PEM)
    ),
    "HS/RS confusion: RS256 label, HMAC of the real secret": lambda: _raw(
        {"alg": "RS256", "typ": "JWT"}, _claims(), _hmac(SECRET.encode())
    ),
    "HS512 with the real secret": lambda: _raw({"alg": "HS512"}, _claims(), _hmac(SECRET.encode(), hashlib.sha512)),
    "HS384 with the real secret": lambda: _raw({"alg": "HS384"}, _claims(), _hmac(SECRET.encode(), hashlib.sha384)),
    "HS256 with an empty secret": lambda: _raw({"alg": "HS256"}, _claims(), _hmac(b"")),
    "HS256 keyed with the secret's SHA-256": lambda: _raw(
        {"alg": "HS256"}, _claims(), _hmac(hashlib.sha256(SECRET.encode()).digest())
    ),
    "signature stripped": lambda: _hs256().rsplit(".", 1)[0] + ".",
    "signature of another token": lambda: _hs256(oid=OTHER_USER).rsplit(".", 1)[0] + "." + _hs256().rsplit(".")[2],
    # ---- audience
    "no audience": lambda: _hs256(aud=None),
    "audience of Azure management": lambda: _hs256(aud="https://management.azure.com"),
    "audience that only starts like Graph": lambda: _hs256(aud="https://graph.microsoft.com.evil.example"),
    "audience of a lookalike app id": lambda: _hs256(aud="00000003-0000-0000-c000-000000000001"),
    # ---- issuer and tenant
    "no issuer": lambda: _hs256(iss=None),
    "issuer of an attacker": lambda: _hs256(iss=f"https://evil.example/{SEED_TENANT}/"),
    "issuer without its tenant": lambda: _hs256(iss="https://sts.windows.net/common/"),
    "issuer of the other tenant, tid ours": lambda: _hs256(iss=f"https://sts.windows.net/{OTHER_TENANT}/"),
    "no tid": lambda: _hs256(tid=None),
    "tid not a GUID": lambda: _hs256(
        tid="contoso.onmicrosoft.com", iss="https://sts.windows.net/contoso.onmicrosoft.com/"
    ),
    "tid as a number": lambda: _hs256(tid=42),
    "no oid": lambda: _hs256(oid=None),
    "oid empty": lambda: _hs256(oid=""),
    # ---- lifetime
    "expired a second ago": lambda: _hs256(exp=int(time.time()) - 1),
    "expired, with a future nbf": lambda: _hs256(exp=int(time.time()) - 60, nbf=int(time.time()) + 60),
    "no exp": lambda: _hs256(exp=None),
    "exp not a number": lambda: _hs256(exp="tomorrow"),
    "exp far in the past": lambda: _hs256(exp=1, iat=0, nbf=0),
    "not valid for another minute": lambda: _hs256(nbf=int(time.time()) + 60),
    "issued in the future": lambda: _hs256(iat=int(time.time()) + 3600),
    # ---- shape
    "two segments": lambda: ".".join(_hs256().split(".")[:2]),
    "four segments": lambda: _hs256() + ".e30",
    "header not JSON": lambda: "bm90IGpzb24." + _hs256().split(".", 1)[1],
    "header a JSON list": lambda: _b64(b"[]") + "." + _hs256().split(".", 1)[1],
    "claims a JSON list": lambda: _raw({"alg": "HS256"}, [], _hmac(SECRET.encode())),  # type: ignore[arg-type]
    "30 KB of base64": lambda: "a" * 15_000 + "." + "b" * 15_000 + ".c",
    "non-ASCII token": lambda: _hs256()[:-3] + "é" + "x",
}

ACCEPTED: dict[str, Callable[[], str]] = {
    "the app-id audience": lambda: _hs256(aud=GRAPH_AUDIENCES[1]),
    "a v2.0 issuer": lambda: _hs256(iss=f"https://login.microsoftonline.com/{SEED_TENANT}/v2.0"),
    "an upper-case tid": lambda: _hs256(tid=SEED_TENANT.upper(), iss=f"https://sts.windows.net/{SEED_TENANT.upper()}/"),
    "a kid header (ignored: one key)": lambda: jwt.encode(_claims(), SECRET, algorithm="HS256", headers={"kid": "k1"}),
}


def _get(http: httpx.Client, stub: Stub, token: str) -> httpx.Response:
    authorization = f"Bearer {token}".encode()  # bytes: a non-ASCII token goes out as UTF-8
    return http.get(stub.event_url("webinars", SAMPLE_ID), headers={b"Authorization": authorization})


@pytest.mark.parametrize("name", list(REFUSED))
def test_forged_or_wrong_token_is_401(module_stub: Stub, http: httpx.Client, name: str) -> None:
    response = _get(http, module_stub, REFUSED[name]())
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("name", list(ACCEPTED))
def test_valid_token_variants_are_accepted(module_stub: Stub, http: httpx.Client, name: str) -> None:
    assert _get(http, module_stub, ACCEPTED[name]()).status_code == 200


def test_the_other_tenant_cannot_cancel_with_a_valid_token_of_its_own(module_stub: Stub, http: httpx.Client) -> None:
    token = mint_token(secret=SECRET, tenant=OTHER_TENANT, user=SEED_ORGANIZER)  # same user id, other tenant
    headers = {"Authorization": f"Bearer {token}"}
    response = http.post(module_stub.event_url("events", SAMPLE_ID, "cancel"), headers=headers)
    assert response.status_code == 404
    assert module_stub.store.find(SAMPLE_ID, "webinars")[0].status == "published"


@pytest.fixture
def listener() -> Iterator[tuple[str, list[bytes]]]:
    """A TCP listener on 127.0.0.1 that records every connection made to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                seen.append(conn.recv(1024))

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}", seen
    stop.set()
    thread.join(2)
    sock.close()


def test_key_urls_in_the_header_are_never_fetched(
    module_stub: Stub, http: httpx.Client, listener: tuple[str, list[bytes]]
) -> None:
    url, seen = listener
    for header in (
        {"alg": "RS256", "jku": f"{url}/keys"},
        {"alg": "RS256", "x5u": f"{url}/cert"},
        {"alg": "RS256", "kid": f"{url}/kid"},
        {"alg": "HS256", "jku": f"{url}/keys"},
    ):
        token = jwt.encode(
            _claims(), RSA_KEY if header["alg"] == "RS256" else "k" * 32, algorithm=header["alg"], headers=header
        )
        assert _get(http, module_stub, token).status_code == 401
    time.sleep(0.3)
    assert seen == []


def test_a_tampered_copy_of_a_cached_token_is_refused(module_stub: Stub, http: httpx.Client) -> None:
    token = _hs256()
    assert _get(http, module_stub, token).status_code == 200  # now cached
    header, claims, signature = token.split(".")
    middle = len(signature) // 2
    flipped = signature[:middle] + ("A" if signature[middle] != "A" else "B") + signature[middle + 1 :]
    assert _get(http, module_stub, f"{header}.{claims}.{flipped}").status_code == 401
    other_claims = _b64(json.dumps(_claims(oid=OTHER_USER, exp=int(time.time()) + 9999)).encode())
    assert _get(http, module_stub, f"{header}.{other_claims}.{signature}").status_code == 401
    assert _get(http, module_stub, token).status_code == 200  # the original is still good


def test_signatures_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # Behaviour, not source: every signature check of the verifier goes through hmac.compare_digest.
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    verifier = TokenVerifier(secret=SECRET, delegated_scopes=["VirtualEvent.ReadWrite"], application_scopes=[])
    good = _hs256()
    verifier.authenticate(f"Bearer {good}")
    bad = good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB")
    with pytest.raises(Exception, match="Signature verification failed"):
        verifier.authenticate(f"Bearer {bad}")
    assert len(calls) == 2
    assert all(len(a) == len(b) == 32 for a, b in calls)  # the HS256 MACs themselves


def test_the_verifier_judges_exp_and_nbf_by_its_injected_clock() -> None:
    # One clock for the cache and for a token seen the first time: a test moves it, never sleeps.
    now = time.time()
    clock = [now]
    verifier = TokenVerifier(
        secret=SECRET, delegated_scopes=["VirtualEvent.ReadWrite"], application_scopes=[], clock=lambda: clock[0]
    )
    cached = _hs256(exp=int(now) + 60)
    verifier.authenticate(f"Bearer {cached}")
    later = _hs256(exp=int(now) + 120, nbf=int(now) - 1)
    clock[0] = now + 90
    with pytest.raises(InvalidToken, match="expired"):
        verifier.authenticate(f"Bearer {cached}")
    assert verifier.authenticate(f"Bearer {later}").tenant == SEED_TENANT
    clock[0] = now + 121
    with pytest.raises(InvalidToken, match="expired"):
        verifier.authenticate(f"Bearer {_hs256(exp=int(now) + 120)}")  # never cached: the same clock
    clock[0] = now - 30  # the wall clock has passed this token's nbf, the verifier's has not
    with pytest.raises(InvalidToken, match="not yet valid"):
        verifier.authenticate(f"Bearer {_hs256(nbf=int(now) - 1)}")


# ---------------------------------------------------------------- secrets in logs
def _all_cases() -> list[str]:
    return [make() for make in (*REFUSED.values(), *ACCEPTED.values())] + [mint_token(secret=SECRET)]


@pytest.mark.slow
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_secret_or_token_in_logs_or_responses(tmp_path: Path, log_format: str) -> None:
    tokens = _all_cases()
    bodies: list[str] = []
    args = ["--log-format", log_format]
    with served(tmp_path / "logs.db", log_level="debug", args=args) as server, httpx.Client(timeout=10) as http:
        for token in tokens:
            headers = {b"Authorization": f"Bearer {token}".encode(), b"client-request-id": b"log-test"}
            for method, url, body in (
                ("GET", server.url("webinars", SAMPLE_ID), None),
                ("POST", server.url("webinars", SAMPLE_ID, "publish"), None),
                ("PATCH", server.url("townhalls", SAMPLE_ID), {"displayName": "x"}),
            ):
                response = http.request(method, url, headers=headers, json=body)
                bodies.append(json.dumps(dict(response.headers)) + response.text)
        http.get(server.url("webinars", "not-an-id"), headers={"Authorization": f"Bearer {tokens[-1]}"})
    logs = server.log.read_text()
    assert "log-test" in logs or "GET" in logs, "nothing was logged: the test would prove nothing"
    exposed = [SECRET, *tokens, *(t.split(".")[2] for t in tokens if t.count(".") == 2 and len(t.split(".")[2]) > 8)]
    for text, where in ((logs, "the logs"), ("\n".join(bodies), "a response")):
        leaked = [value[:20] + "..." for value in exposed if value and value in text]
        assert not leaked, f"{len(leaked)} secret values in {where}: {leaked[:3]}"
