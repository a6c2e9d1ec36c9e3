"""A new laptop joins its community server: the database is made encrypted (the user's password
unlocks it) before anything arrives, the first sync fills it, and only a complete first sync
leaves a database behind (desktop.services.first_run.new_database). Shared by the app's
首次使用向导; every failure is one Chinese sentence with what to do."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from desktop.db.keys import new_key
from desktop.services.first_run import new_database
from desktop.services.store import Store
from desktop.sync import trust
from desktop.sync.client import SyncClient, SyncError, SyncResult

LEFT_NOTHING = "本机没有留下任何文件。"


def check_address(url: str) -> str:
    """The server address as the client uses it, or a SyncError saying what is wrong with it."""
    text = (url or "").strip().rstrip("/")
    if text and "://" not in text:  # as the 同步 page reads it: https, but for this computer itself
        text = ("http://" if trust.is_loopback("http://" + text) else "https://") + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SyncError("服务器地址不正确:请填写社区管理员给您的地址,例如 http://192.168.1.10:8000 或 "
                        "https://sync.example.cn", "address")
    try:
        _ = parts.port
    except ValueError:
        raise SyncError(f"服务器地址 {text} 中的端口不正确:端口应为 1–65535 的数字,例如 :8000。", "address") from None
    return text


def _sentence(exc: SyncError, url: str) -> SyncError:
    """The client's message, said for a laptop that keeps nothing of a failed first sync."""
    code = exc.code
    if code == "network":
        text = f"无法连接服务器 {url}:请检查服务器地址(含端口)、网络连接,或请社区管理员确认服务器已开启,再重试。"
    elif code == "timeout":
        text = f"连接服务器 {url} 超时:网络太慢或服务器无响应,请稍后重试。"
    elif code == "bad_credentials":
        text = "用户名或密码不正确:请核对后重试(密码区分大小写);忘记密码可请社区管理员在服务器上重置。"
    elif code == "not_server":
        text = f"{url} 不是网格台账同步服务器:请核对地址和端口(向社区管理员确认)。"
    elif code == "cancelled":
        text = "已取消加入社区服务器。"
    else:  # the server's own sentence (a disabled user, an old client…), with whom to ask if it has none
        said = str(exc).rstrip("。")
        text = f"服务器拒绝了加入:{said}。" + ("" if "联系" in said else "请联系社区管理员。")
    return SyncError(f"{text}{LEFT_NOTHING}", code)


def join_server(path: Path, url: str, username: str, password: str, *, fingerprint: str | None = None,
                insecure: bool = False, progress: Callable[[str, int, int], None] | None = None,
                cancel: threading.Event | None = None) -> SyncResult:
    """Make the laptop's database by a first sync with the server at `url` as `username`; returns
    what the sync did. The user can then sign in with the same name and password.
    `fingerprint`: the certificate the user compared; the client accepts only it and pins it with
    the enrolment (desktop/sync/trust.py). `insecure`: the user accepted plain http to another
    computer after the warning."""
    url = check_address(url)
    if not (username or "").strip():
        raise SyncError("请填写您在社区服务器上的用户名(由社区管理员分配)。", "input")
    if not password:
        raise SyncError("请填写您在社区服务器上的密码。", "input")
    username = username.strip()
    with new_database(path) as tmp:
        store = Store.open(tmp, create=True, key=new_key())  # encrypted before anything arrives
        try:
            client = SyncClient(store, url, username, password, progress=progress, cancel=cancel,
                                fingerprint=fingerprint, insecure=insecure)
            try:
                result = client.run()
            except SyncError as exc:
                raise _sentence(exc, url) from exc
            finally:
                client.close()
        finally:
            store.close()
    return result
