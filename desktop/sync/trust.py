"""Trust in the sync server, like SSH: the laptop pins the SHA-256 fingerprint of the server's
certificate (of its DER bytes) at enrolment, after the user compared it with the one the office
gave them, and checks it on every later connection; plain http is allowed only to this computer
itself, or when the user explicitly accepts it (--insecure).

With a fingerprint (pinned, given with --fingerprint, or just confirmed), a connection is accepted
only if the certificate the server presents has exactly that fingerprint: the check is made right
after the TLS handshake, before a single byte (password, token, record) is sent. Without one, the
normal CA verification applies (a server behind a reverse proxy with a certificate from a CA)."""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import ssl
from typing import Any
from urllib.parse import urlsplit

from desktop.sync.errors import SyncError

PIN_KEY = "sync_server_fingerprint"  # local_meta: the pinned fingerprint, written with the enrolment
INSECURE_KEY = "sync_insecure_url"  # local_meta: the http address the user accepted in the app


def _parts(url: str) -> tuple[str, str, int]:
    u = urlsplit(url.strip())
    scheme = (u.scheme or "http").lower()
    try:
        port = u.port or (443 if scheme == "https" else 80)
    except ValueError:
        port = 443 if scheme == "https" else 80
    return scheme, (u.hostname or ""), port


def is_protected(url: str) -> bool:
    """Whether the address is an encrypted (https) one."""
    return _parts(url)[0] == "https"


def is_loopback(url: str) -> bool:
    """Whether the address is this computer itself (plain http stays allowed there)."""
    host = _parts(url)[1].lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def needs_insecure(url: str) -> bool:
    """An unencrypted address of another computer: passwords and records would cross the network
    in clear, so only with the user's explicit consent."""
    return not is_protected(url) and not is_loopback(url)


def insecure_warning(url: str) -> str:
    return (f"{url} 是未加密的地址(http):登录密码和居民的个人信息会以明文经过网络,同一网络中的人可以看到或篡改。"
            "请让社区办公室为服务器启用加密(https),改用 https:// 地址;确需临时使用时才加 --insecure。")


def downgrade_message(url: str) -> str:
    return (f"本机已登记该服务器的证书指纹,不能改用未加密的地址 {url} 同步(--insecure 也不行)。"
            "请改用 https:// 地址;若服务器确已停用加密,请社区办公室确认后在本机重新登记。")


def normalise_fingerprint(text: str) -> str:
    """A fingerprint as typed or pasted (hex, colons, spaces or dashes optional, any case) as 64
    uppercase hex characters; ValueError with a Chinese message otherwise."""
    raw = "".join(text.split()).replace(":", "").replace("-", "")
    if raw[:7].upper() == "SHA256=" or raw[:7].upper() == "SHA-256":
        raw = raw[7:]
    if len(raw) != 64 or any(c not in "0123456789abcdefABCDEF" for c in raw):
        raise ValueError(f"证书指纹“{text.strip()[:100]}”格式不对:应为 64 位十六进制数字(SHA-256,冒号可有可无),"
                         "请照社区办公室给出的指纹完整填写。")
    return raw.upper()


def format_fingerprint(fp: str) -> str:
    """AA:BB:CC:… for display (groups of two, as `server make-cert` prints it)."""
    fp = fp.replace(":", "").upper()
    return ":".join(fp[i : i + 2] for i in range(0, len(fp), 2))


def short_fingerprint(fp: str) -> str:
    """The first eight bytes, for a status line."""
    return format_fingerprint(fp)[:23] + "…"


def fingerprint_of(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest().upper()


def _handshake(url: str, ctx: ssl.SSLContext, timeout: float) -> bytes:
    """A TLS handshake with the server at `url` (nothing is sent): the certificate it presents."""
    scheme, host, port = _parts(url)
    if not host:
        raise SyncError(f"服务器地址 {url} 不完整:请写成 https://服务器IP:端口。", "bad_url")
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock, \
                ctx.wrap_socket(sock, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    except ssl.SSLCertVerificationError:
        raise
    except TimeoutError as exc:
        raise SyncError(f"连接服务器 {url} 超时:请检查网络和服务器地址。", "timeout") from exc
    except ssl.SSLError as exc:
        raise SyncError(f"无法与 {url} 建立加密连接:该地址可能不是加密(https)服务器,请核对地址和端口"
                        "(未加密的服务器地址以 http:// 开头)。", "tls") from exc
    except OSError as exc:
        raise SyncError(f"无法连接服务器 {url}:请检查网络和服务器地址。本机数据未受影响。", "network") from exc
    if not der:
        raise SyncError(f"服务器 {url} 没有出示证书,无法建立可信的加密连接。", "tls")
    return der


def fetch_fingerprint(url: str, timeout: float = 10.0) -> str | None:
    """The fingerprint of the certificate the server at `url` presents now (to show to the user
    before pinning it); None for an http address. Network failures raise SyncError."""
    if not is_protected(url):
        return None
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # only to read the certificate; nothing is sent
    return fingerprint_of(_handshake(url, ctx, timeout))


def verified_by_ca(url: str, timeout: float = 10.0) -> bool:
    """Whether the server's certificate passes the normal CA verification (this computer's trust
    store, the address's name): then it needs no pin (e.g. a proxy with a CA's certificate, which
    is renewed every few months). Network failures raise SyncError."""
    if not is_protected(url):
        return False
    try:
        _handshake(url, ssl.create_default_context(), timeout)
    except ssl.SSLCertVerificationError:
        return False
    return True


class FingerprintMismatch(ssl.SSLError):
    """The server presented a certificate other than the pinned one (raised in the handshake)."""

    def __init__(self, presented: str) -> None:
        super().__init__(f"certificate fingerprint {presented} is not the pinned one")
        self.presented = presented


class _PinnedContext(ssl.SSLContext):
    """Accepts exactly one certificate, by fingerprint, whoever signed it: the check runs as soon
    as the handshake is done, before the connection is handed to httpx."""

    expected: str = ""

    def wrap_socket(self, sock: socket.socket, *args: Any, **kwargs: Any) -> ssl.SSLSocket:
        tls = super().wrap_socket(sock, *args, **kwargs)
        der = tls.getpeercert(binary_form=True)
        presented = fingerprint_of(der) if der else ""
        if presented != self.expected:
            tls.close()
            raise FingerprintMismatch(presented)
        return tls

    def wrap_bio(self, *args: Any, **kwargs: Any) -> ssl.SSLObject:
        # TLS inside a TLS proxy tunnel: no point after the handshake to check at, so refused
        raise ssl.SSLError("a pinned connection through an https proxy is not supported")


def ssl_context(expected: str | None) -> ssl.SSLContext:
    """For httpx's `verify`: pinned to `expected`, or the normal CA verification without it."""
    if not expected:
        return ssl.create_default_context()
    ctx = _PinnedContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the fingerprint, checked in wrap_socket, replaces the CA check
    ctx.expected = expected
    return ctx


def mismatch_in(exc: BaseException) -> FingerprintMismatch | None:
    """The fingerprint refusal behind an httpx connection error, if that was the cause."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        if isinstance(e, FingerprintMismatch):
            return e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


def unverified_in(exc: BaseException) -> ssl.SSLCertVerificationError | None:
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        if isinstance(e, ssl.SSLCertVerificationError):
            return e
        seen.add(id(e))
        e = e.__cause__ or e.__context__
    return None


def changed_message(url: str, pinned: str, presented: str, *, from_pin: bool) -> str:
    """The refusal of a certificate other than the expected one: what happened, what to do."""
    if not from_pin:
        return (f"服务器 {url} 出示的证书指纹 {format_fingerprint(presented)} 与您提供的指纹 "
                f"{format_fingerprint(pinned)} 不一致,已停止连接,没有发送密码或数据。"
                "请与社区办公室核对指纹(可能填错了,也可能有人冒充服务器)。")
    return (f"服务器的证书与本机登记时核对过的不一致,已停止同步,没有发送密码或数据(本机数据未受影响)。"
            f"登记时的指纹:{format_fingerprint(pinned)};现在出示的:{format_fingerprint(presented)}。"
            "请先向社区办公室核实服务器证书是否确实更换过:若已更换,请向办公室要新的指纹,在“同步”页点"
            "“重新核对指纹”逐段核对后同步(命令行:gridledger sync --fingerprint 新指纹);"
            "若没有更换,可能有人在冒充服务器,请不要继续,并告知管理员。")


def untrusted_message(url: str, presented: str | None) -> str:
    shown = f"服务器出示的证书指纹为 {format_fingerprint(presented)}。" if presented else ""
    return (f"无法验证服务器 {url} 的证书(不是受信任机构签发的,例如办公室自己生成的证书),已停止连接,没有发送密码或数据。"
            f"{shown}请与社区办公室给出的指纹逐段核对:一致时用 --fingerprint 指纹 重新同步"
            "(应用的“同步”页会显示指纹请您核对)。")
