"""TLS and trust with real processes: certificates made by `gridledger server make-cert`, a real
`gridledger serve --certfile --keyfile`, real `gridledger sync` clients. The laptop pins the
certificate's fingerprint at enrolment and refuses another one afterwards (before sending anything,
and writing nothing); plain http to another computer needs --insecure; `serve` refuses a
certificate that does not fit its key, or an expired one, without starting."""

from __future__ import annotations

import hashlib
import re
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from desktop.services.session import unlock
from desktop.services.store import Store
from desktop.sync import trust
from desktop.sync.client import SyncClient, SyncError
from server.tls import TlsError, check_pair
from tests.sync.harness import BIN, PASSWORD, ServeProcess, free_port


def gl(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN), *args], input=stdin, capture_output=True, text=True, timeout=300)


def make_cert(out: Path, *hosts: str) -> str:
    """A certificate made by `gridledger server make-cert`; its fingerprint as printed."""
    args = ["server", "make-cert", "--out", str(out)]
    for h in hosts:
        args += ["--host", h]
    done = gl(*args)
    assert done.returncode == 0, done.stderr
    m = re.search(r"证书指纹.*?([0-9A-F]{2}(?::[0-9A-F]{2}){31})", done.stdout)
    assert m, done.stdout
    return m.group(1).replace(":", "")


class TlsServe(ServeProcess):
    """A real `gridledger serve` over https on a loopback port."""

    scheme = "https"
    startup_seconds = 60.0

    def __init__(self, db_url: str, cert_dir: Path, port: int | None = None) -> None:
        self.cert_dir = cert_dir
        super().__init__(db_url, port=port)

    def serve_args(self) -> list[str]:
        return [*super().serve_args(), "--certfile", str(self.cert_dir / "gridledger-server.crt"),
                "--keyfile", str(self.cert_dir / "gridledger-server.key")]


def sync(db: Path, url: str, *extra: str, user: str = "admin") -> subprocess.CompletedProcess:
    return gl("--db", str(db), "sync", "--server", url, "--user", user, "--password-stdin", "--quiet", *extra,
              stdin=PASSWORD + "\n")


def local_state(db: Path) -> dict[str, object]:
    """What a sync could have written on the laptop: its meta values, audit trail and queue."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {
            "meta": sorted(con.execute("SELECT key, value FROM local_meta").fetchall()),
            "audit": con.execute("SELECT count(*), max(seq) FROM audit_log").fetchone(),
            "outbox": con.execute("SELECT count(*), max(seq) FROM sync_outbox").fetchone(),
        }
    finally:
        con.close()


def meta(db: Path, key: str) -> str | None:
    store = Store.open(db)
    try:
        return store.meta(key)
    finally:
        store.close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> dict[str, tuple[Path, str]]:
    base = tmp_path_factory.mktemp("certs")
    return {name: (base / name, make_cert(base / name, "127.0.0.1", "localhost")) for name in ("a", "b")}


def test_make_cert_writes_a_private_key_and_prints_the_fingerprint_laptops_pin(certs, tmp_path):
    out, fp = certs["a"]
    cert, key = out / "gridledger-server.crt", out / "gridledger-server.key"
    assert key.stat().st_mode & 0o777 == 0o600
    loaded = x509.load_pem_x509_certificate(cert.read_bytes())
    assert hashlib.sha256(loaded.public_bytes(serialization.Encoding.DER)).hexdigest().upper() == fp
    san = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert check_pair(cert, key).fingerprint == fp
    # never over a certificate in use, unless asked
    again = gl("server", "make-cert", "--out", str(out))
    assert again.returncode != 0 and "已存在" in again.stderr and "Traceback" not in again.stderr
    assert check_pair(cert, key).fingerprint == fp
    bad = gl("server", "make-cert", "--out", str(tmp_path / "x"), "--host", "not a host")
    assert bad.returncode != 0 and "不是有效的主机名或 IP 地址" in bad.stderr and not (tmp_path / "x").exists()


def test_https_sync_pins_the_certificate_and_refuses_a_swapped_one(certs, tmp_path):
    (dir_a, fp_a), (dir_b, fp_b) = certs["a"], certs["b"]
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    assert gl("server", "--database", db_url, "add-user", "admin", "--role", "community_admin",
              "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    srv = TlsServe(db_url, dir_a).start()
    try:
        # no fingerprint, a self-signed certificate: refused before the password is sent, the
        # fingerprint shown to compare, and the new laptop file removed
        fresh = tmp_path / "fresh.db"
        done = sync(fresh, srv.url)
        assert done.returncode == 3 and "无法验证服务器" in done.stderr and trust.format_fingerprint(fp_a) in done.stderr
        assert "--fingerprint" in done.stderr and not fresh.exists()
        # a wrong fingerprint given in advance: refused, nothing kept
        done = sync(fresh, srv.url, "--fingerprint", fp_b)
        assert done.returncode == 3 and "与您提供的指纹" in done.stderr and not fresh.exists()
        # the right one, as the office would dictate it (colons, lower case): enrolled and pinned
        laptop = tmp_path / "laptop.db"
        done = sync(laptop, srv.url, "--fingerprint", trust.format_fingerprint(fp_a).lower(), "--no-encrypt")
        assert done.returncode == 0, done.stderr
        assert meta(laptop, trust.PIN_KEY) == fp_a and meta(laptop, "sync_device_id")
        # later syncs need no fingerprint: the pinned one is checked
        assert sync(laptop, srv.url).returncode == 0
    finally:
        srv.stop()
    # someone swaps the server's certificate (same address, same data)
    swapped = TlsServe(db_url, dir_b, port=srv.port).start()
    try:
        before = local_state(laptop)
        done = sync(laptop, swapped.url)
        assert done.returncode == 3 and "Traceback" not in done.stderr
        assert "与本机登记时核对过的不一致" in done.stderr and "没有发送密码或数据" in done.stderr
        assert trust.format_fingerprint(fp_a) in done.stderr and trust.format_fingerprint(fp_b) in done.stderr
        assert "证书是否确实更换过" in done.stderr and "--fingerprint" in done.stderr  # what to do
        assert local_state(laptop) == before  # nothing written
        # the office confirms the renewal and gives the new fingerprint: re-pinned, synced
        done = sync(laptop, swapped.url, "--fingerprint", fp_b)
        assert done.returncode == 0, done.stderr
        assert meta(laptop, trust.PIN_KEY) == fp_b
        con = sqlite3.connect(laptop)
        try:
            assert con.execute("SELECT count(*) FROM audit_log WHERE summary LIKE '核对并记下%'").fetchone()[0] == 2
        finally:
            con.close()
        assert sync(laptop, swapped.url).returncode == 0
    finally:
        swapped.stop()


def test_plain_http_to_another_computer_needs_insecure(tmp_path):
    db = tmp_path / "laptop.db"
    done = sync(db, "http://192.0.2.10:8765")
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "未加密" in done.stderr and "明文" in done.stderr and "--insecure" in done.stderr
    assert not db.exists()  # refused before anything was created or asked
    bad = sync(db, "https://192.0.2.10:8765", "--fingerprint", "12:34")
    assert bad.returncode != 0 and "64 位十六进制" in bad.stderr and not db.exists()


def test_insecure_reaches_the_server_and_loopback_http_stays_allowed(tmp_path):
    """Unit level: the client refuses http to another computer without `insecure` (nothing is
    sent), and sends with it; http to this computer needs nothing."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(503, json={"code": "unavailable", "message": "维护中"})

    store = Store.open(tmp_path / "l.db", create=True)
    try:
        for url, insecure, sent in (("http://10.1.2.3:8765", False, False), ("http://10.1.2.3:8765", True, True),
                                    ("http://127.0.0.1:8765", False, True), ("http://localhost:8765", False, True)):
            seen.clear()
            client = SyncClient(store, url, "u", PASSWORD, transport=httpx.MockTransport(answer), insecure=insecure)
            with pytest.raises(SyncError) as err:
                client.run()
            client.close()
            assert bool(seen) == sent, url
            assert (err.value.code == "insecure") == (not sent)
    finally:
        store.close()


def test_a_pinned_laptop_never_falls_back_to_plain_http(tmp_path):
    """Once a fingerprint is pinned, http to another computer is refused even with --insecure,
    and nothing is sent (an attacker on the LAN cannot downgrade the laptop to clear text)."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(503, json={"code": "unavailable", "message": "维护中"})

    store = Store.open(tmp_path / "l.db", create=True)
    try:
        store.set_metas({trust.PIN_KEY: "AB" * 32})
        client = SyncClient(store, "http://10.1.2.3:8765", "u", PASSWORD,
                            transport=httpx.MockTransport(answer), insecure=True)
        with pytest.raises(SyncError) as err:
            client.run()
        client.close()
        assert seen == []
        assert err.value.code == "insecure_downgrade"
        assert "已登记该服务器的证书指纹" in str(err.value)
    finally:
        store.close()


def _expired_pair(out: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "old")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now - timedelta(days=400)).not_valid_after(now - timedelta(days=1))
            .sign(key, hashes.SHA256()))
    out.mkdir()
    (out / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (out / "k.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    (out / "k.pem").chmod(0o600)
    return out / "c.pem", out / "k.pem"


def test_serve_refuses_a_certificate_that_does_not_fit_and_does_not_start(certs, tmp_path):
    (dir_a, _), (dir_b, _) = certs["a"], certs["b"]
    old_cert, old_key = _expired_pair(tmp_path / "old")
    port = str(free_port())
    cases = [
        (dir_a / "gridledger-server.crt", dir_b / "gridledger-server.key", "不匹配"),
        (old_cert, old_key, "已于"),
        (tmp_path / "missing.crt", dir_a / "gridledger-server.key", "找不到证书文件"),
        (dir_a / "gridledger-server.key", dir_a / "gridledger-server.key", "不是 PEM 格式的证书"),
        (dir_a / "gridledger-server.crt", tmp_path, "是一个文件夹"),
    ]
    for cert, key, says in cases:
        done = subprocess.run([str(BIN), "serve", "--dev", "--database", f"sqlite:///{tmp_path / 's.db'}",
                               "--port", port, "--certfile", str(cert), "--keyfile", str(key)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode != 0 and says in done.stderr and "服务器未启动" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
    assert not (tmp_path / "s.db").exists()  # refused before the database was opened
    only = gl("serve", "--dev", "--certfile", str(dir_a / "gridledger-server.crt"))
    assert only.returncode != 0 and "需要一起提供" in only.stderr
    key_b = dir_b / "gridledger-server.key"
    key_b.chmod(0o644)
    try:
        with pytest.raises(TlsError, match="其他用户也能访问.*chmod 600"):
            check_pair(dir_b / "gridledger-server.crt", key_b)
    finally:
        key_b.chmod(0o600)
    with pytest.raises(TlsError, match="已于"):
        check_pair(dir_a / "gridledger-server.crt", dir_a / "gridledger-server.key",
                   now=datetime.now(UTC) + timedelta(days=1900))


def test_fingerprint_text():
    fp = "AB" * 32
    assert trust.normalise_fingerprint(trust.format_fingerprint(fp).lower()) == fp
    assert trust.normalise_fingerprint(" ab" * 32) == fp
    assert trust.format_fingerprint(fp).count(":") == 31
    for bad in ("", "AB" * 31, "AB" * 33, "ZZ" * 32):
        with pytest.raises(ValueError, match="64 位十六进制"):
            trust.normalise_fingerprint(bad)
    assert trust.is_protected("https://10.0.0.1:8765") and not trust.is_protected("http://10.0.0.1:8765")
    assert trust.fetch_fingerprint("http://10.0.0.1:8765") is None


def test_the_first_run_join_pins_the_compared_certificate_and_a_wrong_one_leaves_nothing(certs, tmp_path):
    """The assistant's join (desktop/sync/join.py) over https: the fingerprint the user compared is
    the only certificate accepted, and it is pinned with the enrolment; a different one stops the
    join before the password is sent and leaves no file on the laptop."""
    from desktop.sync.join import join_server

    (dir_a, fp_a), (_dir_b, fp_b) = certs["a"], certs["b"]
    db_url = f"sqlite:///{tmp_path / 'server.db'}"
    assert gl("server", "--database", db_url, "add-user", "admin", "--role", "community_admin",
              "--password-stdin", stdin=PASSWORD + "\n").returncode == 0
    srv = TlsServe(db_url, dir_a).start()
    try:
        wrong = tmp_path / "wrong" / "gridledger.db"
        wrong.parent.mkdir()
        with pytest.raises(SyncError) as err:
            join_server(wrong, srv.url, "admin", PASSWORD, fingerprint=fp_b)
        assert "本机没有留下任何文件" in str(err.value)
        assert sorted(p.name for p in wrong.parent.iterdir()) == []
        laptop = tmp_path / "laptop" / "gridledger.db"
        laptop.parent.mkdir()
        assert trust.fetch_fingerprint(srv.url) == fp_a
        join_server(laptop, srv.url, "admin", PASSWORD, fingerprint=fp_a)
    finally:
        srv.stop()
    key = unlock(laptop, "admin", PASSWORD)  # encrypted with the user's password before the first row
    assert key is not None
    store = Store.open(laptop, key=key)
    try:
        assert store.meta(trust.PIN_KEY) == fp_a and store.meta("sync_device_id")
    finally:
        store.close()
