"""HTTPS for the stub: a local test CA made on first use, and the server certificate it signs.

Why the stub speaks HTTPS at all: Microsoft's JavaScript Graph client attaches the bearer token
only to `https://` URLs, so against a plain-HTTP stub every call arrives without a token and is
refused; other SDKs' authentication providers have similar rules. The CA is made locally with
`trustme` (no network), once per user, and reused by every later start, so a client told to
trust `ca.pem` once (`NODE_EXTRA_CA_CERTS`, `SSL_CERT_FILE`, httpx `verify=`) keeps trusting the
stub. The CA's key is never written: nothing else can ever be signed by it.

Files, in `directory` (default `$VEVENTS_TLS_DIR`, else `$XDG_CACHE_HOME/vevents/tls`, else
`~/.cache/vevents/tls`; the folder is made 0700):

    ca.pem          the CA certificate clients trust (0644)
    server.pem      the server certificate for 127.0.0.1, ::1 and localhost (0644)
    server-key.pem  its private key (0600)
"""

from __future__ import annotations

import contextlib
import datetime
import os
import ssl
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SERVER_NAMES", "TlsFiles", "default_directory", "local_ca"]

SERVER_NAMES = ("127.0.0.1", "::1", "localhost")
"""What the server certificate is valid for: the loopback addresses the stub binds by default."""

_CA_NAME = "vevents local test CA"
_RENEW_BEFORE = datetime.timedelta(days=7)
_LEAF_LIFETIME = datetime.timedelta(days=825)


@dataclass(frozen=True)
class TlsFiles:
    """The PEM files of a local CA and the server certificate it signed."""

    ca_cert: Path
    cert: Path
    key: Path

    @classmethod
    def in_directory(cls, directory: Path) -> TlsFiles:
        return cls(ca_cert=directory / "ca.pem", cert=directory / "server.pem", key=directory / "server-key.pem")


def default_directory(environ: Mapping[str, str] | None = None) -> Path:
    """Where `local_ca()` keeps its files when given no directory (one per user)."""
    env = os.environ if environ is None else environ
    if env.get("VEVENTS_TLS_DIR"):
        return Path(env["VEVENTS_TLS_DIR"]).expanduser()
    cache = Path(env["XDG_CACHE_HOME"]).expanduser() if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return cache / "vevents" / "tls"


def local_ca(directory: Path | None = None) -> TlsFiles:
    """The local CA's files in `directory`, made on first use and reused while they are valid.

    Files that are missing, unreadable, mismatched (key vs certificate, certificate vs CA) or
    about to expire are replaced as a set. Safe to call from several processes at once (the
    `--workers` of one stub, parallel test runs): creation happens under a lock file.
    """
    directory = Path(directory) if directory is not None else default_directory()
    files = TlsFiles.in_directory(directory)
    if _usable(files):
        return files
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    with _locked(directory / ".lock"):
        if not _usable(files):  # another process may have made them while we waited
            _create(files)
    return files


def _usable(files: TlsFiles) -> bool:
    """True if the three files exist, belong together and stay valid for a while."""
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature

    try:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(files.ca_cert))
        context.load_cert_chain(str(files.cert), str(files.key))  # the key matches the certificate
        ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        leaf = x509.load_pem_x509_certificate(files.cert.read_bytes())
        leaf.verify_directly_issued_by(ca)
    except (OSError, ssl.SSLError, ValueError, TypeError, InvalidSignature):
        return False
    horizon = datetime.datetime.now(datetime.UTC) + _RENEW_BEFORE
    return min(ca.not_valid_after_utc, leaf.not_valid_after_utc) > horizon


def _create(files: TlsFiles) -> None:
    import trustme

    ca = trustme.CA(organization_name=_CA_NAME)
    now = datetime.datetime.now(datetime.UTC)
    leaf = ca.issue_cert(
        *SERVER_NAMES,
        common_name="vevents stub",
        not_before=now - datetime.timedelta(hours=1),
        not_after=now + _LEAF_LIFETIME,
    )
    # The key first and the CA last: `_usable` fails until the whole set is in place.
    _write(files.key, leaf.private_key_pem.bytes(), 0o600)
    _write(files.cert, b"".join(blob.bytes() for blob in leaf.cert_chain_pems), 0o644)
    _write(files.ca_cert, ca.cert_pem.bytes(), 0o644)


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write `data` to `path` atomically, with `mode` from the first byte (never readable by
    others in between, as a chmod after writing would allow)."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    import fcntl

    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
