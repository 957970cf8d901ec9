"""HTTPS: the local test CA (`vevents.server.tls`), `vevents serve --tls` and `--tls-cert/--tls-key`.

The files are checked on disk (modes, reuse, repair); the serving is checked over real sockets
with a client that trusts only the CA in question, so a certificate for the wrong name, from
the wrong CA or not served at all fails the handshake.
"""

from __future__ import annotations

import os
import re
import ssl
import stat
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from click.testing import CliRunner
from conftest import SAMPLE_ID, SECRET

from vevents.cli import main
from vevents.server.app import create_app
from vevents.server.auth import mint_token
from vevents.server.background import serve_in_background
from vevents.server.settings import Settings
from vevents.server.tls import TlsFiles, default_directory, local_ca

_LISTENING = re.compile(r"listening on (https?://\S+)")
_SAMPLE_PATH = f"/v1.0/solutions/virtualEvents/webinars/{quote(SAMPLE_ID, safe='')}"


def _trusting(ca_file: Path) -> ssl.SSLContext:
    """A client context that trusts `ca_file` and nothing else."""
    return ssl.create_default_context(cafile=str(ca_file))


def _get_sample(base_url: str, verify: ssl.SSLContext | bool, timeout: float = 10) -> httpx.Response:
    with httpx.Client(verify=verify, timeout=timeout) as client:
        return client.get(base_url + _SAMPLE_PATH, headers={"Authorization": f"Bearer {mint_token(secret=SECRET)}"})


# ------------------------------------------------------------------ the local CA on disk


def test_local_ca_writes_the_key_private_and_the_folder_closed(tmp_path: Path) -> None:
    files = local_ca(tmp_path / "tls")
    assert files == TlsFiles.in_directory(tmp_path / "tls")
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    assert stat.S_IMODE(files.cert.stat().st_mode) == 0o644
    assert stat.S_IMODE(files.ca_cert.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "tls").stat().st_mode) == 0o700
    assert b"PRIVATE KEY" in files.key.read_bytes() and b"PRIVATE KEY" not in files.ca_cert.read_bytes()
    # The CA's own key is never written: only the three files (and the lock) are there.
    assert sorted(p.name for p in (tmp_path / "tls").iterdir()) == [".lock", "ca.pem", "server-key.pem", "server.pem"]


def test_local_ca_is_reused_on_later_calls(tmp_path: Path) -> None:
    first = local_ca(tmp_path)
    contents = [first.ca_cert.read_bytes(), first.cert.read_bytes(), first.key.read_bytes()]
    second = local_ca(tmp_path)
    assert [second.ca_cert.read_bytes(), second.cert.read_bytes(), second.key.read_bytes()] == contents


@pytest.mark.parametrize("damage", ["missing key", "foreign key", "foreign ca", "garbage cert"])
def test_local_ca_replaces_a_damaged_set(tmp_path: Path, damage: str) -> None:
    files = local_ca(tmp_path / "mine")
    other = local_ca(tmp_path / "other")
    old_ca = files.ca_cert.read_bytes()
    if damage == "missing key":
        files.key.unlink()
    elif damage == "foreign key":
        files.key.write_bytes(other.key.read_bytes())
    elif damage == "foreign ca":
        files.ca_cert.write_bytes(other.ca_cert.read_bytes())
    else:
        files.cert.write_text("not a certificate")
    repaired = local_ca(tmp_path / "mine")
    assert repaired.ca_cert.read_bytes() not in (old_ca, other.ca_cert.read_bytes())
    context = _trusting(repaired.ca_cert)
    context.load_cert_chain(str(repaired.cert), str(repaired.key))  # the set belongs together again


def test_local_ca_made_by_several_callers_at_once_is_one_set(tmp_path: Path) -> None:
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: local_ca(tmp_path), range(4)))
    assert len(set(results)) == 1
    assert local_ca(tmp_path).ca_cert.read_bytes() == results[0].ca_cert.read_bytes()


def test_default_directory_is_per_user_and_can_be_moved() -> None:
    assert default_directory({"VEVENTS_TLS_DIR": "/x/tls", "XDG_CACHE_HOME": "/c"}) == Path("/x/tls")
    assert default_directory({"XDG_CACHE_HOME": "/c"}) == Path("/c/vevents/tls")
    assert default_directory({}) == Path.home() / ".cache" / "vevents" / "tls"


# ------------------------------------------------------------------ serving over HTTPS


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_stub_serves_https_trusted_through_the_local_ca(tmp_path: Path, host: str) -> None:
    files = local_ca(tmp_path)
    with serve_in_background(create_app(Settings(memory=True)), tls=files) as base_url:
        assert base_url.startswith("https://127.0.0.1:")
        response = _get_sample(base_url.replace("127.0.0.1", host), _trusting(files.ca_cert))
    assert response.status_code == 200 and response.json()["id"] == SAMPLE_ID


def test_https_stub_is_refused_by_a_client_that_does_not_trust_the_ca(tmp_path: Path) -> None:
    files = local_ca(tmp_path / "served")
    stranger = local_ca(tmp_path / "stranger")
    with serve_in_background(create_app(Settings(memory=True)), tls=files) as base_url:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            _get_sample(base_url, _trusting(stranger.ca_cert))
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            _get_sample(base_url, True)  # the system's trust store does not know the local CA


# ------------------------------------------------------------------ `vevents serve`


@contextmanager
def _serve(*args: str) -> Iterator[tuple[str, list[str]]]:
    """`vevents serve --memory --port 0 ARGS` as a subprocess: (base URL, the lines it announced)."""
    command = [sys.executable, "-m", "vevents", "serve", "--port", "0", "--log-level", "warning", *args]
    env = {**os.environ, "VEVENTS_SECRET": SECRET}
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env) as process:
        assert process.stdout is not None
        lines: list[str] = []
        try:
            for line in process.stdout:
                lines.append(line.rstrip("\n"))
                if line.lstrip().startswith("curl "):
                    break
            match = next((m for line in lines if (m := _LISTENING.search(line))), None)
            assert match, "\n".join(lines)
            yield match.group(1), lines
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def test_serve_tls_prints_the_ca_and_serves_https_with_it(tmp_path: Path) -> None:
    tls_dir = tmp_path / "tls"
    with _serve("--memory", "--tls", "--tls-dir", str(tls_dir)) as (base_url, lines):
        files = TlsFiles.in_directory(tls_dir)
        assert base_url.startswith("https://127.0.0.1:")
        text = "\n".join(lines)
        assert f"NODE_EXTRA_CA_CERTS={files.ca_cert}" in text and f"SSL_CERT_FILE={files.ca_cert}" in text
        assert f"--cacert {files.ca_cert}" in text
        assert _get_sample(base_url, _trusting(files.ca_cert)).status_code == 200


@pytest.mark.slow
def test_serve_tls_with_workers_reuses_the_same_ca(tmp_path: Path) -> None:
    files = local_ca(tmp_path / "tls")
    ca = files.ca_cert.read_bytes()
    options = ["--tls", "--tls-dir", str(tmp_path / "tls"), "--db", str(tmp_path / "w.db"), "--workers", "2"]
    with _serve(*options) as (base_url, _lines):
        for _ in range(4):  # a new connection each time, accepted by either worker
            # The URL is announced once bound; workers may take a while to start on a busy machine.
            assert _get_sample(base_url, _trusting(files.ca_cert), timeout=60).status_code == 200
    assert files.ca_cert.read_bytes() == ca


def operator_certificate(directory: Path) -> tuple[Path, Path, Path]:
    """A certificate for 127.0.0.1 from an operator's own CA (not the local test CA):
    (certificate, key, CA file), written into `directory`."""
    import trustme

    ca = trustme.CA(organization_name="operator CA")
    leaf = ca.issue_cert("127.0.0.1")
    cert, key, ca_file = directory / "cert.pem", directory / "key.pem", directory / "ca.pem"
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    leaf.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(ca_file))
    return cert, key, ca_file


def test_serve_with_an_operator_certificate(tmp_path: Path) -> None:
    cert, key, ca_file = operator_certificate(tmp_path)
    with _serve("--memory", "--tls-cert", str(cert), "--tls-key", str(key)) as (base_url, lines):
        assert base_url.startswith("https://")
        assert "NODE_EXTRA_CA_CERTS" not in "\n".join(lines)  # the operator knows their own CA
        assert _get_sample(base_url, _trusting(ca_file)).status_code == 200


def test_serve_refuses_a_key_without_its_certificate(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["serve", "--memory", "--tls-key", str(local_ca(tmp_path).key)])
    assert result.exit_code == 2 and "--tls-key is the key of --tls-cert" in result.output


def test_serve_refuses_a_certificate_file_without_a_key(tmp_path: Path) -> None:
    cert = local_ca(tmp_path).cert
    result = CliRunner().invoke(main, ["serve", "--memory", "--port", "0", "--tls-cert", str(cert)])
    assert result.exit_code == 1 and f"cannot serve {cert} with key {cert}" in result.output


def test_serve_refuses_a_key_that_does_not_match(tmp_path: Path) -> None:
    mine, other = local_ca(tmp_path / "a"), local_ca(tmp_path / "b")
    result = CliRunner().invoke(
        main, ["serve", "--memory", "--port", "0", "--tls-cert", str(mine.cert), "--tls-key", str(other.key)]
    )
    assert result.exit_code == 1 and f"cannot serve {mine.cert}" in result.output


def test_tls_settings_travel_through_the_environment(tmp_path: Path) -> None:
    files = local_ca(tmp_path)
    settings = Settings(tls_cert=str(files.cert), tls_key=str(files.key), tls_dir="/d")
    assert settings.tls
    assert Settings.from_env(settings.to_env()) == settings
    assert Settings.from_env({"VEVENTS_TLS": "1"}).tls


@pytest.mark.parametrize(("host", "warned"), [("0.0.0.0", True), ("127.0.0.2", False)])
def test_serve_tls_banner_says_which_names_the_certificate_covers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], host: str, warned: bool
) -> None:
    # Only the banner: a test binds nothing but loopback (0.0.0.0 is every interface).
    from vevents.server.cli import _announce

    _announce(Settings(memory=True, host=host), 8443, [], local_ca(tmp_path))
    out = capsys.readouterr().out
    assert out.startswith(f"vevents stub listening on https://{host}:8443")
    assert ("names 127.0.0.1, ::1, localhost only" in out) is warned


def test_local_ca_replaces_a_certificate_that_names_the_ca_but_is_signed_by_another_key(tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    files = local_ca(tmp_path)
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    leaf = x509.load_pem_x509_certificate(files.cert.read_bytes())
    # Same subject, issuer name and public key (so the key file still matches): only the signature is wrong.
    forged = (
        x509.CertificateBuilder()
        .subject_name(leaf.subject)
        .issuer_name(ca.subject)
        .public_key(leaf.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(leaf.not_valid_before_utc)
        .not_valid_after(leaf.not_valid_after_utc)
        .sign(ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
    )
    files.cert.write_bytes(forged.public_bytes(serialization.Encoding.PEM))
    repaired = local_ca(tmp_path)
    assert repaired.ca_cert.read_bytes() != ca.public_bytes(serialization.Encoding.PEM)
    x509.load_pem_x509_certificate(repaired.cert.read_bytes()).verify_directly_issued_by(
        x509.load_pem_x509_certificate(repaired.ca_cert.read_bytes())
    )
