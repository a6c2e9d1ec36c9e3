"""The 同步 page and an https server with a self-signed certificate (uvicorn with TLS in this
process): the fingerprint is shown to compare before it is pinned, the page says whether the
connection is encrypted, a swapped certificate is refused with what to do, and re-pinning after a
renewal goes through the same comparison. Plain http to another computer asks first."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
import uvicorn
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from desktop.services.demo import generate
from desktop.services.store import Store
from desktop.sync import replica, trust
from server import service
from server.app import Settings, create_app
from server.store import ServerStore
from server.tls import make_cert
from tests.sync.harness import PASSWORD, free_port
from tests.ui.test_sync_page import JOB_TIMEOUT, fill, finish, open_page
from ui.pages.sync import fingerprint_lines
from ui.workers import wait_all


class TlsThreadServer:
    """uvicorn with TLS on a loopback port, in this process."""

    def __init__(self, db_url: str, store: ServerStore, cert_dir: Path, port: int) -> None:
        self.port = port
        self.url = f"https://127.0.0.1:{port}"
        app = create_app(Settings.load(db_url, development=True), store)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off",
                                ssl_certfile=str(cert_dir / "gridledger-server.crt"),
                                ssl_keyfile=str(cert_dir / "gridledger-server.key"))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> TlsThreadServer:
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            assert time.time() < deadline, "sync server did not start"
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def world(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    store = ServerStore(db_url)
    service.add_user(store, "wgz001", PASSWORD, "supervisor")
    certs = {}
    for name in ("a", "b"):
        _, _, info = make_cert(tmp_path / name, ["127.0.0.1"])
        certs[name] = (tmp_path / name, info.fingerprint)
    laptop = Store.open(tmp_path / "laptop.db", create=True)
    generate(laptop, households=10, seed=3)
    yield db_url, store, certs, laptop
    wait_all(10000)
    laptop.close()
    store.close()


def serve(db_url: str, store: ServerStore, cert_dir: Path, port: int) -> TlsThreadServer:
    return TlsThreadServer(db_url, store, cert_dir, port).start()


def dialog(qtbot, page) -> QMessageBox:
    qtbot.waitUntil(lambda: page.trust_dialog is not None and page.trust_dialog.isVisible(), timeout=JOB_TIMEOUT)
    return page.trust_dialog


def press(qtbot, box: QMessageBox, text: str) -> None:
    [button] = [b for b in box.buttons() if b.text() == text]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_fingerprint_compared_before_pinning_and_a_swapped_certificate_refused(qtbot, world):
    db_url, store, certs, laptop = world
    (dir_a, fp_a), (dir_b, fp_b) = certs["a"], certs["b"]
    port = free_port()
    srv = serve(db_url, store, dir_a, port)
    before = replica.pending_count(laptop)
    page = open_page(qtbot, laptop, "wgz001")
    fill(qtbot, page, srv.url)
    assert "加密连接" in page.protection.text() and "核对" in page.protection.text()
    # the first sync shows the fingerprint; cancelling it syncs nothing and pins nothing
    qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
    box = dialog(qtbot, page)
    assert fingerprint_lines(fp_a) in box.text() and "社区办公室" in box.text()
    assert not page.sync_button.isEnabled()  # no second request while the question is open
    press(qtbot, box, "取消")
    qtbot.waitUntil(lambda: page.trust_dialog is None)
    assert page.job is None and "未经确认" in page.error.text() and page.error.isVisibleTo(page)
    assert laptop.meta(trust.PIN_KEY) is None and replica.pending_count(laptop) == before
    # compared and confirmed: synced over https, the fingerprint pinned and shown short
    qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
    press(qtbot, dialog(qtbot, page), "指纹一致,信任")
    finish(qtbot, page)
    assert not page.error.isVisibleTo(page), page.error.text()
    assert laptop.meta(trust.PIN_KEY) == fp_a and replica.pending_count(laptop) == 0
    assert trust.short_fingerprint(fp_a) in page.protection.text() and "加密连接" in page.protection.text()
    wait_all(10000)
    srv.stop()

    # the certificate is swapped: refused, nothing written, and the page says what to do
    srv = serve(db_url, store, dir_b, port)
    try:
        with laptop.engine.connect() as c:
            meta_before = sorted(c.exec_driver_sql("SELECT key, value FROM local_meta").all())
        assert not page.repin_button.isVisibleTo(page)
        qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
        assert page.trust_dialog is None  # a pinned server: no question, the pin is checked
        finish(qtbot, page)
        assert "与本机登记时核对过的不一致" in page.error.text() and "重新核对指纹" in page.error.text()
        assert trust.format_fingerprint(fp_b) in page.error.text()
        assert page.repin_button.isVisibleTo(page)
        with laptop.engine.connect() as c:
            assert sorted(c.exec_driver_sql("SELECT key, value FROM local_meta").all()) == meta_before
        # the office confirms the renewal: the new fingerprint is compared beside the old one
        qtbot.mouseClick(page.repin_button, Qt.MouseButton.LeftButton)
        box = dialog(qtbot, page)
        assert fingerprint_lines(fp_a) in box.text() and fingerprint_lines(fp_b) in box.text()
        assert "确实更换过" in box.text()
        press(qtbot, box, "指纹一致,信任")
        finish(qtbot, page)
        assert not page.error.isVisibleTo(page), page.error.text()
        assert laptop.meta(trust.PIN_KEY) == fp_b and not page.repin_button.isVisibleTo(page)
        assert trust.short_fingerprint(fp_b) in page.protection.text()
    finally:
        wait_all(10000)
        srv.stop()


def test_the_page_says_when_a_connection_is_not_encrypted(qtbot, world):
    _, _, _, laptop = world
    page = open_page(qtbot, laptop, "wgz001")
    fill(qtbot, page, "http://127.0.0.1:8765")
    assert page.protection.text().startswith("未加密(本机地址")
    assert page.protection.property("role") == "hint"
    fill(qtbot, page, "http://192.0.2.10:8765")
    assert page.protection.text().startswith("未加密:") and "明文" in page.protection.text()
    assert page.protection.property("role") == "error"
    # syncing there asks first; refusing it sends nothing and remembers nothing
    qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
    box = dialog(qtbot, page)
    assert "明文" in box.text() and page.job is None
    press(qtbot, box, "取消")
    qtbot.waitUntil(lambda: page.trust_dialog is None)
    assert page.job is None and "https://" in page.error.text()
    assert laptop.meta(trust.INSECURE_KEY) is None


def _ca_and_leaf(out: Path) -> Path:
    """A small CA and a certificate it issued for 127.0.0.1 (as a proxy's would be); the CA's file."""
    import ipaddress
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test office CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    leaf = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(leaf_key.public_key()).serial_number(2)
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    out.mkdir()
    (out / "gridledger-server.crt").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (out / "gridledger-server.key").write_bytes(leaf_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    (out / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return out / "ca.pem"


def test_a_certificate_from_a_trusted_ca_needs_no_fingerprint(qtbot, world, tmp_path, monkeypatch):
    db_url, store, certs, laptop = world
    monkeypatch.setenv("SSL_CERT_FILE", str(_ca_and_leaf(tmp_path / "ca")))  # this computer trusts the CA
    port = free_port()
    srv = serve(db_url, store, tmp_path / "ca", port)
    page = open_page(qtbot, laptop, "wgz001")
    try:
        fill(qtbot, page, srv.url)
        qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
        finish(qtbot, page)
        assert page.trust_dialog is None and not page.error.isVisibleTo(page), page.error.text()
        assert replica.pending_count(laptop) == 0 and laptop.meta(trust.PIN_KEY) is None  # verified, not pinned
    finally:
        wait_all(10000)
        srv.stop()
    # a self-signed certificate at the same address is not taken silently: it is shown to compare
    srv = serve(db_url, store, certs["b"][0], port)
    try:
        qtbot.mouseClick(page.sync_button, Qt.MouseButton.LeftButton)
        box = dialog(qtbot, page)
        assert fingerprint_lines(certs["b"][1]) in box.text()
        press(qtbot, box, "取消")
        qtbot.waitUntil(lambda: page.trust_dialog is None)
        assert laptop.meta(trust.PIN_KEY) is None
    finally:
        wait_all(10000)
        srv.stop()


def test_a_bare_address_is_https_except_this_computer():
    from ui.pages.sync import normalize_url

    assert normalize_url(" 192.168.1.10:8765/ ") == "https://192.168.1.10:8765"
    assert normalize_url("gl-server.local") == "https://gl-server.local"
    assert normalize_url("127.0.0.1:8765") == "http://127.0.0.1:8765"
    assert normalize_url("localhost:8765") == "http://localhost:8765"
    assert normalize_url("http://192.168.1.10:8765") == "http://192.168.1.10:8765"  # as typed
