"""TLS for `gridledger serve`: a self-signed certificate for an office without a CA
(`gridledger server make-cert`), and the checks made before the server starts with --certfile and
--keyfile (readable, a certificate and its own key, within its validity). Each failure is one
Chinese sentence (TlsError); the server is then not started.

The fingerprint is the SHA-256 of the certificate's DER bytes, the same one the laptops pin at
enrolment (desktop/sync/trust.py), printed so that users can compare it."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import shlex
import socket
import stat
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

CERT_NAME = "gridledger-server.crt"
KEY_NAME = "gridledger-server.key"
DEFAULT_DAYS = 1825
MAX_DAYS = 3650


class TlsError(Exception):
    """A certificate or key that cannot be used; str() is the Chinese message."""


@dataclass(frozen=True)
class CertInfo:
    fingerprint: str  # 64 uppercase hex characters
    not_after: datetime
    names: tuple[str, ...]


def fingerprint_of(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest().upper()


def format_fingerprint(fp: str) -> str:
    return ":".join(fp[i : i + 2] for i in range(0, len(fp), 2))


def _names(cert: x509.Certificate) -> tuple[str, ...]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return ()
    return tuple([*san.get_values_for_type(x509.DNSName), *(str(ip) for ip in san.get_values_for_type(x509.IPAddress))])


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise TlsError(f"找不到{what} {path}:请检查路径(可用 gridledger server make-cert 生成自签名证书)。") from exc
    except IsADirectoryError as exc:
        raise TlsError(f"{what} {path} 是一个文件夹,请指定文件。") from exc
    except PermissionError as exc:
        raise TlsError(f"无权读取{what} {path}:请用有权读取它的用户运行服务器,或调整文件权限。") from exc
    except OSError as exc:
        raise TlsError(f"无法读取{what} {path}({exc.strerror or exc}):请检查文件。") from exc


def check_pair(certfile: str | Path, keyfile: str | Path, *, now: datetime | None = None) -> CertInfo:
    """The certificate and key `serve` would use, checked: both readable PEM, the key the
    certificate's own, and today within the certificate's validity."""
    certfile, keyfile = Path(certfile), Path(keyfile)
    cert_bytes = _read(certfile, "证书文件")
    key_bytes = _read(keyfile, "私钥文件")
    if os.name != "nt":  # as the token secret: a key others can read is no secret
        mode = stat.S_IMODE(keyfile.stat().st_mode)
        if mode & 0o077:
            raise TlsError(f"私钥文件 {keyfile} 其他用户也能访问(权限 {mode:04o}):"
                           f"请执行 chmod 600 {shlex.quote(str(keyfile))} 后再启动。")
    try:
        cert = x509.load_pem_x509_certificate(cert_bytes)
    except ValueError as exc:
        raise TlsError(f"证书文件 {certfile} 不是 PEM 格式的证书:请检查是否选错了文件(私钥与证书是两个文件)。") from exc
    try:
        key = serialization.load_pem_private_key(key_bytes, password=None)
    except TypeError as exc:
        raise TlsError(f"私钥文件 {keyfile} 设有密码,服务器无法在无人值守时使用:请使用不设密码的私钥"
                       "(并把文件权限设为只有服务器用户可读)。") from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise TlsError(f"私钥文件 {keyfile} 不是 PEM 格式的私钥:请检查是否选错了文件。") from exc
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if key.public_key().public_bytes(enc, pub) != cert.public_key().public_bytes(enc, pub):
        raise TlsError(f"私钥文件 {keyfile} 与证书文件 {certfile} 不匹配(不是同一对):"
                       "请使用与该证书一起生成的私钥,或重新生成证书。")
    now = now or datetime.now(UTC)
    if now < cert.not_valid_before_utc:
        raise TlsError(f"证书 {certfile} 要到 {cert.not_valid_before_utc:%Y-%m-%d %H:%M} (UTC) 才生效:"
                       "请检查服务器的系统时间。")
    if now > cert.not_valid_after_utc:
        raise TlsError(f"证书 {certfile} 已于 {cert.not_valid_after_utc:%Y-%m-%d} 过期:请生成或申请新证书,"
                       "并通知各网格员核对新的证书指纹。")
    return CertInfo(fingerprint_of(cert.public_bytes(serialization.Encoding.DER)), cert.not_valid_after_utc,
                    _names(cert))


def default_hosts() -> list[str]:
    names = ["localhost", "127.0.0.1"]
    host = socket.gethostname()
    if host and host not in names:
        names.insert(0, host)
    return names


def _san(hosts: list[str]) -> list[x509.GeneralName]:
    out: list[x509.GeneralName] = []
    for h in hosts:
        try:
            out.append(x509.IPAddress(ipaddress.ip_address(h.strip("[]"))))
        except ValueError:
            name = h.strip().lower()
            if not name or any(c in name for c in " /:@") or len(name) > 253:
                raise TlsError(f"“{h}”不是有效的主机名或 IP 地址:请写服务器的 IP(如 192.168.1.10)"
                               "或主机名(如 gl-server.local)。") from None
            out.append(x509.DNSName(name))
    return out


def make_cert(out: str | Path, hosts: list[str], days: int = DEFAULT_DAYS, *, force: bool = False) -> tuple[Path, Path, CertInfo]:
    """A new self-signed certificate for `hosts` (names and IP addresses) and its key (0600)
    in `out`. Refuses to overwrite existing files unless `force`."""
    if not 1 <= days <= MAX_DAYS:
        raise TlsError(f"有效天数 {days} 不合适:请给 1 到 {MAX_DAYS} 之间的天数。")
    hosts = hosts or default_hosts()
    names = _san(hosts)
    out = Path(out)
    cert_path, key_path = out / CERT_NAME, out / KEY_NAME
    if not force:
        for p in (cert_path, key_path):
            if p.exists():
                raise TlsError(f"{p} 已存在:为免覆盖正在使用的证书,已停止。确要重新生成请加 --force"
                               "(之后各网格员需核对新的指纹)。")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TlsError(f"无法创建文件夹 {out}({exc.strerror or exc}):请换一个有写入权限的位置。") from exc
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, hosts[0][:64]),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "GridLedger sync server"),
    ])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject).issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    try:
        _write(key_path, key_pem, 0o600)
        _write(cert_path, cert_pem, 0o644)
    except OSError as exc:
        key_path.unlink(missing_ok=True)
        raise TlsError(f"无法写入 {out}({exc.strerror or exc}):请换一个有写入权限的位置。") from exc
    return cert_path, key_path, CertInfo(fingerprint_of(cert.public_bytes(serialization.Encoding.DER)),
                                         cert.not_valid_after_utc, _names(cert))


def _write(path: Path, data: bytes, mode: int) -> None:
    """Written to a new file created with `mode` (a key is never readable by others, not even
    for a moment), then moved into place."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, mode)  # whatever the umask
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
