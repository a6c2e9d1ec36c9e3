"""The server certificate's fingerprint as the first-run assistant shows it (a real TLS listener
with a self-signed certificate on 127.0.0.1)."""

from __future__ import annotations

import datetime as dt
import hashlib
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from desktop.sync import trust
from desktop.sync.errors import SyncError


def self_signed(folder: Path) -> tuple[Path, Path, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sync.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30)).sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file, cert.public_bytes(serialization.Encoding.DER)


@contextmanager
def tls_listener(folder: Path) -> Iterator[tuple[str, str]]:
    """https://127.0.0.1:PORT and the SHA-256 of its certificate."""
    cert, key, der = self_signed(folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            try:
                with context.wrap_socket(conn, server_side=True):
                    pass
            except (ssl.SSLError, OSError):
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{port}", hashlib.sha256(der).hexdigest().upper()
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.fixture
def tls_server(tmp_path) -> Iterator[tuple[str, str]]:
    with tls_listener(tmp_path) as server:
        yield server


def test_the_fingerprint_is_the_sha256_of_the_certificate(tls_server):
    url, expected = tls_server
    assert trust.is_protected(url) and not trust.is_protected("http://127.0.0.1:8000")
    assert trust.fetch_fingerprint(url, timeout=5) == expected
    assert trust.fetch_fingerprint("http://127.0.0.1:9") is None  # http: nothing to compare


def test_fingerprints_as_typed_and_as_shown():
    fp = "ab" * 32
    shown = trust.format_fingerprint(fp)
    assert shown.startswith("AB:AB:") and len(shown) == 32 * 3 - 1
    assert trust.normalise_fingerprint(shown) == fp.upper()
    assert trust.normalise_fingerprint(" AB ab:" + "ab" * 30) == fp.upper()


def test_nothing_listening_is_one_chinese_sentence():
    with pytest.raises(SyncError) as err:
        trust.fetch_fingerprint("https://127.0.0.1:9", timeout=2)
    assert err.value.code == "network" and "无法连接服务器" in str(err.value)
