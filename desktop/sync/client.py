"""The laptop's sync cycle over HTTP: enrol, sign in, hello, push until empty, attachments up,
pull until empty, attachments down. Every failure becomes a SyncError with a Chinese message,
and nothing is lost: the outbox entry of an edit only leaves the queue once the server said so,
and a pulled page is stored together with its cursor."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import logging
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from desktop.services.store import Store
from desktop.sync import replica, trust
from desktop.sync.bundle_file import box_public, new_box_key, new_signing_key, signing_public
from desktop.sync.errors import SyncError
from desktop.sync.lock import SyncLocked, sync_lock
from desktop.sync.protocol import (
    API,
    AUDIT_BATCH_BYTES,
    AUDIT_DETAIL_CHARS,
    AUDIT_SUMMARY_CHARS,
    BLOB_CHUNK,
    PULL_PAGE,
    PUSH_BATCH,
    PUSH_REQUEST_MAX,
    SCHEMA_VERSION,
    OutgoingChange,
    PullPage,
    PushResult,
    cut_text,
)

Progress = Callable[[str, int, int], None]  # (stage, done, total)
BUSY_WAIT_MAX = 30 * 60.0  # a first sync waits at most this long in all for a busy server
BUSY_RETRY_DEFAULT = 15.0  # seconds, when a busy server names no Retry-After

log = logging.getLogger(__name__)


class Cancelled(SyncError):
    def __init__(self) -> None:
        super().__init__("同步已取消:已完成的部分已保存,下次同步会从断点继续。", "cancelled")


@dataclass
class SyncResult:
    pushed: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # per table
    push_status: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # applied, conflict...
    pulled: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    evicted: int = 0
    purged: int = 0
    audit_up: int = 0
    blobs_up: int = 0
    blobs_down: int = 0
    cursor: int = 0
    reenrolled: bool = False
    reenrol_reason: str = ""  # "copy": a copied or restored file; "unregistered": the server lost the device
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "pushed": dict(self.pushed), "push_status": dict(self.push_status), "pulled": dict(self.pulled),
            "evicted": self.evicted, "purged": self.purged, "audit_up": self.audit_up, "blobs_up": self.blobs_up, "blobs_down": self.blobs_down,
            "cursor": self.cursor, "reenrolled": self.reenrolled, "reenrol_reason": self.reenrol_reason,
            "seconds": round(self.seconds, 2),
        }


def _counts(result: SyncResult) -> str:
    """The figures of a sync for the log: counts per table and status, never a value."""
    return json.dumps({k: v for k, v in result.as_dict().items() if k != "seconds"}, sort_keys=True)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


class Connection:
    """HTTP to the server with tokens renewed as they expire."""

    def __init__(self, url: str, username: str, password: str, *, timeout: float = 60.0,
                 transport: httpx.BaseTransport | None = None, fingerprint: str | None = None,
                 from_pin: bool = False, insecure: bool = False) -> None:
        self.url = url.rstrip("/")
        self.username = username
        self.password = password
        # the certificate this connection accepts (None: normal CA verification); from_pin: the one
        # pinned at enrolment rather than one given for this run
        self.fingerprint = fingerprint
        self.from_pin = from_pin
        self.insecure = insecure
        self.http = httpx.Client(base_url=self.url, timeout=timeout, transport=transport,
                                 verify=trust.ssl_context(fingerprint))
        self.token: str | None = None
        self.device_id: str | None = None

    def close(self) -> None:
        self.http.close()

    def _raise(self, resp: httpx.Response) -> None:
        try:
            body = resp.json()
        except ValueError:
            body = {}
        code = body.get("code", "http") if isinstance(body, dict) else "http"
        message = body.get("message") if isinstance(body, dict) else None
        if code == "bad_credentials":
            raise SyncError("用户名或密码不正确", code)
        if resp.status_code == 404 and not message:
            raise SyncError(f"{self.url} 不是网格台账同步服务器(找不到同步接口)", "not_server")
        raise SyncError(message or f"服务器返回错误 {resp.status_code}", code,
                        retry_after=_seconds(resp.headers.get("Retry-After")) if resp.status_code == 503 else None)

    def _refused_tls(self, exc: httpx.HTTPError) -> SyncError | None:
        """A certificate the connection would not accept, as the message that says what to do."""
        mismatch = trust.mismatch_in(exc)
        if mismatch is not None and self.fingerprint:
            code = "fingerprint_changed" if self.from_pin else "fingerprint_mismatch"
            return SyncError(trust.changed_message(self.url, self.fingerprint, mismatch.presented,
                                                   from_pin=self.from_pin), code)
        if trust.unverified_in(exc) is not None:
            try:
                presented = trust.fetch_fingerprint(self.url, timeout=5.0)
            except SyncError:
                presented = None
            return SyncError(trust.untrusted_message(self.url, presented), "untrusted_cert")
        return None

    def request(self, method: str, path: str, *, auth: bool = True, **kw: Any) -> httpx.Response:
        if trust.needs_insecure(self.url) and self.fingerprint:
            # A laptop that pinned a certificate never falls back to clear text, --insecure or not:
            # that downgrade is exactly what an attacker on the LAN would ask for.
            raise SyncError(trust.downgrade_message(self.url), "insecure_downgrade")
        if trust.needs_insecure(self.url) and not self.insecure:
            raise SyncError(trust.insecure_warning(self.url), "insecure")
        for attempt in range(2):
            headers = kw.pop("headers", {}) or {}
            if auth:
                if self.token is None:
                    self.sign_in()
                headers["Authorization"] = f"Bearer {self.token}"
            try:
                resp = self.http.request(method, API + path, headers=headers, **kw)
            except httpx.ConnectError as exc:
                refused = self._refused_tls(exc)
                if refused is not None:
                    raise refused from exc
                raise SyncError(f"无法连接服务器 {self.url}:请检查网络和服务器地址。本机数据未受影响。",
                                "network") from exc
            except httpx.TimeoutException as exc:
                raise SyncError(f"连接服务器 {self.url} 超时:网络太慢或服务器无响应,可稍后重试(会从断点继续)。",
                                "timeout") from exc
            except httpx.TransportError as exc:
                raise SyncError(f"与服务器的连接中断({type(exc).__name__}),可稍后重试(会从断点继续)。",
                                "network") from exc
            if resp.status_code == 401 and auth and attempt == 0:
                code = _code(resp)
                if code in ("token_expired", "bad_token", "no_token"):
                    self.token = None
                    continue
            if resp.status_code >= 400:
                self._raise(resp)
            return resp
        raise SyncError("登录已过期且无法续期,请重新同步", "auth")

    def json(self, method: str, path: str, body: Any = None, *, auth: bool = True) -> Any:
        resp = self.request(method, path, auth=auth, content=orjson.dumps(body) if body is not None else None,
                            headers={"Content-Type": "application/json"})
        try:
            return orjson.loads(resp.content)
        except orjson.JSONDecodeError as exc:
            raise SyncError("服务器的回答无法识别,可能不是网格台账同步服务器", "not_server") from exc

    def sign_in(self) -> None:
        if self.device_id is None:
            raise SyncError("本机尚未登记到服务器", "reenrol")
        data = self.json("POST", "/auth/token", {"username": self.username, "password": self.password,
                                                  "device_id": self.device_id}, auth=False)
        self.token = data["access_token"]


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, min(float(value), 3600.0)) if value else None
    except ValueError:  # an HTTP date instead of seconds: wait the default
        return None


def hello_when_admitted(conn: Connection, body: dict[str, Any], *, progress: Progress,
                        sleep: Callable[[float], Any], check_cancel: Callable[[], None],
                        busy_wait: float = BUSY_WAIT_MAX) -> dict[str, Any]:
    """The hello, waited for while the server is busy with other first syncs (503 with
    Retry-After): each wait is the server's Retry-After plus up to half again at random (so a
    crowd refused together does not come back together), announced through `progress`, cut short
    by a cancel, and given up after `busy_wait` seconds in all."""
    waited = 0.0
    while True:
        try:
            return conn.json("POST", "/sync/hello", body)
        except SyncError as exc:
            if exc.code != "server_busy":
                raise
            if waited >= busy_wait:
                raise SyncError(f"服务器繁忙:已等待 {round(waited / 60)} 分钟仍未轮到本机首次同步,"
                                "请稍后再同步(本机数据未受影响)。", "server_busy") from exc
            delay = (exc.retry_after or BUSY_RETRY_DEFAULT) * random.uniform(1.0, 1.5)
            delay = max(1.0, min(delay, busy_wait - waited))
            progress(f"服务器繁忙,{round(delay)} 秒后重试", 0, 0)
            sleep(delay)
            check_cancel()
            waited += delay


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """What the process holds before a sync (the app, its libraries) out of the garbage
    collector's sight while it runs: a first push allocates millions of objects, and every full
    collection walked the whole app again (a third of the laptop's time). Given back afterwards,
    so nothing that became garbage meanwhile is kept; left alone when something else froze it."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _code(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("code"))
    except (ValueError, AttributeError):
        return ""


class SyncClient:
    """One laptop database syncing with one server as one user."""

    def __init__(self, store: Store, url: str, username: str, password: str, *,
                 progress: Progress | None = None, cancel: threading.Event | None = None,
                 transport: httpx.BaseTransport | None = None, page_size: int = PULL_PAGE,
                 batch_size: int = PUSH_BATCH, fingerprint: str | None = None, insecure: bool = False,
                 busy_wait: float = BUSY_WAIT_MAX, sleep: Callable[[float], None] | None = None) -> None:
        """`fingerprint`: the server certificate's, given for this run (with --fingerprint, or just
        confirmed by the user): it replaces the pinned one once the server answered through it.
        Without it the pinned one applies, and without a pin the normal CA verification.
        `insecure`: plain http to another computer is accepted (otherwise refused).
        `busy_wait`: how long in all a first sync waits for a busy server (503 with Retry-After);
        `sleep`: how it waits (tests inject it)."""
        self.store = store
        pinned = store.meta(trust.PIN_KEY)
        self.new_fingerprint = trust.normalise_fingerprint(fingerprint) if fingerprint else None
        if self.new_fingerprint == pinned:
            self.new_fingerprint = None
        self.conn = Connection(url, username, password, transport=transport,
                               fingerprint=self.new_fingerprint or pinned,
                               from_pin=self.new_fingerprint is None and pinned is not None, insecure=insecure)
        self.progress = progress or (lambda stage, done, total: None)
        self.cancel = cancel or threading.Event()
        self.page_size = page_size
        self.batch_size = batch_size
        self.busy_wait = busy_wait  # longest total wait for a busy server before giving up
        self.sleep = sleep or (lambda seconds: self.cancel.wait(seconds))
        self.user: dict[str, Any] | None = None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled()

    # --- enrolment and hello -----------------------------------------------------------------
    def _keys(self) -> tuple[bytes, bytes]:
        sign = self.store.meta("sync_sign_private")
        box = self.store.meta("sync_box_private")
        if sign is None or box is None:
            sign, box = new_signing_key().hex(), new_box_key().hex()
            self.store.set_meta("sync_sign_private", sign)
            self.store.set_meta("sync_box_private", box)
        return bytes.fromhex(sign), bytes.fromhex(box)

    def enrol(self) -> None:
        info = self.conn.json("GET", "/info", auth=False)
        pinned = self.store.meta("sync_server_id")
        if pinned and pinned != info["server_id"] and self.store.meta("sync_device_id"):
            raise SyncError(
                "该服务器与本机上次同步的服务器不是同一台(服务器标识不同)。为防止数据混乱,已停止同步。", "foreign_server"
            )
        sign, box = self._keys()
        import platform

        body = {
            "username": self.conn.username, "password": self.conn.password,
            "file_id": self.store.meta("file_id"), "name": platform.node()[:100] or None,
            "sign_public": signing_public(sign).hex(), "box_public": box_public(box).hex(),
            "predecessor": self.store.meta("sync_device_id") or self.store.meta("sync_predecessor"),
        }
        data = self.conn.json("POST", "/devices/enrol", body, auth=False)
        enrolment = {
            "sync_server_id": info["server_id"], "sync_server_sign": info["sign_public"],
            "sync_server_box": info["box_public"], "sync_device_id": data["device_id"],
            "sync_epoch": data["epoch"], "sync_server_url": self.conn.url,
        }
        if self.conn.fingerprint and trust.is_protected(self.conn.url):
            # the certificate these keys came through: every later connection must present it
            enrolment[trust.PIN_KEY] = self.conn.fingerprint
        self.store.set_metas(enrolment)  # one transaction: the keys and the pin together
        self._repinned()
        self.conn.device_id = data["device_id"]
        self.conn.token = data["access_token"]

    def _repinned(self) -> None:
        """A fingerprint given for this run is now the pinned one (recorded in the audit trail)."""
        fp = self.new_fingerprint
        if fp and self.store.meta(trust.PIN_KEY) == fp:
            self.new_fingerprint = None
            self.conn.from_pin = True
            replica.audit(self.store, self.conn.username, f"核对并记下服务器 {self.conn.url} 的证书指纹",
                          {"server": self.conn.url, "fingerprint": trust.format_fingerprint(fp)})

    def hello(self, result: SyncResult) -> dict[str, Any]:
        if replica.check_identity(self.store):
            result.reenrolled, result.reenrol_reason = True, "copy"
        if not self.store.meta("sync_device_id"):
            self.enrol()
            if self.store.meta("sync_predecessor") and not result.reenrolled:
                result.reenrolled, result.reenrol_reason = True, result.reenrol_reason or "copy"
        self.conn.device_id = self.store.meta("sync_device_id")
        for attempt in range(2):
            data = self._hello_when_admitted({
                "file_id": self.store.meta("file_id"), "epoch": self.store.meta("sync_epoch") or "",
                "schema_version": SCHEMA_VERSION, "cursor": int(self.store.meta(replica.CURSOR) or 0),
                # for the office's device list; a server that does not know the field ignores it
                "pending": replica.pending_count(self.store),
            })
            status = data.get("status")
            if status == "ok":
                self.store.set_meta("sync_epoch", data["epoch"])
                if self.new_fingerprint and trust.is_protected(self.conn.url):
                    self.store.set_metas({trust.PIN_KEY: self.new_fingerprint})  # the server answered through it
                    self._repinned()
                return data
            if status == "reenrol" and attempt == 0:
                # A copied or restored file: enrol again as a new device (its unsent changes
                # keep their place in the queue; nothing is sent under the old device id).
                self.store.set_meta("sync_predecessor", self.store.meta("sync_device_id") or "")
                self.store.set_meta("file_id", _new_file_id())
                self.enrol()
                result.reenrolled, result.reenrol_reason = True, "copy"
                continue
            raise SyncError(data.get("message") or f"服务器拒绝同步({status})", str(status))
        raise SyncError("设备登记失败,请联系管理员", "reenrol")

    def _hello_when_admitted(self, body: dict[str, Any]) -> dict[str, Any]:
        return hello_when_admitted(self.conn, body, progress=self.progress, sleep=self.sleep,
                                   check_cancel=self._check_cancel, busy_wait=self.busy_wait)

    # --- the cycle -------------------------------------------------------------------------
    def run(self) -> SyncResult:
        """One whole cycle, holding the database's sync lock (a second sync of the same file, in
        this process or another, is refused with code "busy" and changes nothing)."""
        t0 = time.perf_counter()
        result = SyncResult()
        try:
            try:
                with sync_lock(self.store), _heap_frozen():
                    self._run(result)
            except SyncLocked as exc:
                raise SyncError(str(exc), exc.code) from exc
            except SyncError:
                raise
            except httpx.HTTPError as exc:  # pragma: no cover - mapped in Connection.request
                raise SyncError(f"网络错误:{exc}", "network") from exc
            finally:
                result.seconds = time.perf_counter() - t0
        except SyncError as exc:  # the code and the counts so far (a server's sentence may quote a record)
            log.warning("sync with %s failed (%s) after %.2f s: %s", self.conn.url, exc.code, result.seconds,
                        _counts(result))
            raise
        except Exception:
            log.error("sync with %s failed after %.2f s: %s", self.conn.url, time.perf_counter() - t0,
                      _counts(result), exc_info=True)
            raise
        log.info("sync with %s done in %.2f s: %s", self.conn.url, result.seconds, _counts(result))
        return result

    def _run(self, result: SyncResult) -> None:
        from desktop.services.auth import hash_password

        self.progress("连接服务器", 0, 0)
        try:
            self.conn.device_id = self.store.meta("sync_device_id")
            hello = self.hello(result)
        except SyncError as exc:
            if exc.code == "disabled" or exc.code == "device_disabled":
                raise
            if exc.code == "reenrol" and self.store.meta("sync_device_id"):
                # the server has no (valid) record of this device: enrol again, and say why
                result.reenrol_reason = "unregistered"
                self.store.set_meta("sync_predecessor", self.store.meta("sync_device_id") or "")
                with self.store.engine.begin() as c:
                    c.exec_driver_sql("DELETE FROM local_meta WHERE key IN ('sync_device_id', 'sync_epoch')")
                hello = self.hello(result)
            else:
                raise
        self.user = hello["user"]
        replica.set_local_user(self.store, self.user, hash_password(self.conn.password))
        if self.store.key is not None:  # an encrypted laptop: this user can now unlock it too
            from desktop.services.session import grant

            grant(self.store, self.user["username"], self.conn.password,
                  display=self.user.get("display_name"), role=self.user.get("role"))
        replica.mark_local_only(self.store)
        self._check_cancel()
        self.push_all(result)
        self.audit_up(result)
        self.blobs_up(result)
        grids = self.user.get("grids")
        old = replica.stored_scope(self.store)
        result.evicted += replica.evict_outside(self.store, grids)
        self.store.set_meta(replica.SCOPE, json.dumps(grids))
        cursor = int(self.store.meta(replica.CURSOR) or 0)
        if old is not False and cursor and grids is not None:
            # grids newly assigned: fetch what they already held, up to the cursor
            added = sorted(set(grids) - set(old or [])) if old is not None else []
            if added:
                self.pull_all(result, only_grids=added, until=cursor)
        elif isinstance(old, list) and grids is None and cursor:
            # now sees the whole community (e.g. became a supervisor): pull everything again
            # (applying is idempotent; fields with unsent edits keep their local value)
            self.store.set_meta(replica.CURSOR, "0")
        self.pull_all(result)
        self.blobs_down(result)
        if replica.rebuild_search_if_dirty(self.store):
            self.progress("重建搜索索引", 1, 1)
        if result.purged:
            replica.scrub(self.store)
        result.cursor = int(self.store.meta(replica.CURSOR) or 0)
        self.store.set_meta("sync_last_at", _now())
        self.store.set_meta("sync_last_result", json.dumps(result.as_dict(), ensure_ascii=False))
        replica.audit(self.store, self.conn.username, f"与服务器 {self.conn.url} 同步",
                    {"server": self.conn.url, **result.as_dict()})

    def push_all(self, result: SyncResult) -> None:
        """Send the outbox in batches, one request at a time and in order. While the server
        merges a batch, this laptop records the previous batch's answer and reads the next one
        (a first push of a whole street keeps both ends busy)."""
        from concurrent.futures import ThreadPoolExecutor

        total = replica.pending_count(self.store)
        done = 0
        batch = replica.read_push_page(self.store, after=0, limit=self.batch_size)
        if not batch:
            self.progress("上传修改", 0, total)
            return
        with ThreadPoolExecutor(1, thread_name_prefix="gl-push") as pool:
            self._check_cancel()
            self.progress("上传修改", done, total)
            pending = pool.submit(self._push_one, batch)
            following = replica.read_push_page(self.store, after=batch[-1]["seq"], limit=self.batch_size)
            while True:
                results = pending.result()
                if following and not self.cancel.is_set():
                    pending = pool.submit(self._push_one, following)
                counts = replica.acknowledge(self.store, results, batch)
                for st, n in counts.items():
                    result.push_status[st] += n
                for ch, r in zip(batch, results, strict=False):
                    if r.get("status") != "deferred":
                        result.pushed[ch["table"]] += 1
                done += len(batch)
                self._check_cancel()
                if not following:
                    break
                self.progress("上传修改", done, total)
                # deferred changes stay queued; reading goes on after each batch so they never loop forever
                batch = following
                following = replica.read_push_page(self.store, after=batch[-1]["seq"], limit=self.batch_size)
        self.progress("上传修改", done, max(done, total))

    def _push_one(self, batch: list[OutgoingChange]) -> list[PushResult]:
        body = {"changes": batch}
        if len(batch) == 1 and len(orjson.dumps(body)) > PUSH_REQUEST_MAX:
            # one change the server can never take (its text is far past the field lengths, e.g.
            # from a hand-edited file): set it aside here, shown like one the server set aside,
            # so it never blocks the changes behind it
            mb = len(orjson.dumps(body)) / (1024 * 1024)
            return [{"seq": batch[0]["seq"], "status": "rejected", "code": "too_large",
                     "message": f"这条修改有 {mb:.0f} MB,远超字段长度上限,服务器无法接收,已留在本机待处理"}]
        return self.conn.json("POST", "/sync/push", body)["results"]

    def pull_all(self, result: SyncResult, *, only_grids: list[str] | None = None,
                 until: int | None = None) -> None:
        """Pull pages until the server has nothing newer. The next page is fetched while the
        current one is applied (the server and the laptop work at the same time); a page and its
        cursor are stored together, so a crash or a cancel keeps every applied page."""
        from concurrent.futures import ThreadPoolExecutor

        cursor = 0 if only_grids is not None else int(self.store.meta(replica.CURSOR) or 0)
        initial = cursor == 0 and only_grids is None

        def fetch(after: int) -> PullPage:
            body: dict[str, Any] = {"cursor": after, "limit": self.page_size}
            if only_grids is not None:
                body.update(only_grids=only_grids, until=until)
            return self.conn.json("POST", "/sync/pull", body)

        with ThreadPoolExecutor(1, thread_name_prefix="gl-pull") as pool:
            pending = pool.submit(fetch, cursor)
            try:
                while True:
                    page = pending.result()
                    self._check_cancel()
                    more = bool(page.get("more"))
                    if more:
                        pending = pool.submit(fetch, int(page["cursor"]))
                    counts = replica.apply_page(self.store, page, initial=initial, bundle_cursor=only_grids is None)
                    for t, n in counts.items():
                        if t == "evicted":
                            result.evicted += n
                        elif t == "purged":
                            result.purged += n
                        else:
                            result.pulled[t] += n
                    self.progress("下载更新", sum(result.pulled.values()), 0)
                    if not more:
                        break
            finally:
                if not pending.done():
                    pending.cancel()
                    with contextlib.suppress(Exception):
                        pending.result()

    def audit_up(self, result: SyncResult) -> None:
        """Send this laptop's audit trail (who looked at, printed, exported what) to the server."""
        while True:
            self._check_cancel()
            sent = int(self.store.meta("sync_audit_sent") or 0)
            with self.store.engine.connect() as c:
                rows = c.exec_driver_sql(
                    "SELECT seq, at, actor, action, entity, entity_id, summary, detail FROM audit_log "
                    "WHERE seq > ? ORDER BY seq LIMIT 2000", (sent,)).all()
            if not rows:
                return
            entries: list[dict[str, Any]] = []
            size = 0
            for r in rows:  # cut as the server keeps them, in requests the server accepts
                entry = {"seq": r[0], "at": str(r[1]), "actor": r[2], "action": r[3], "entity": r[4],
                         "entity_id": r[5], "summary": cut_text(r[6], AUDIT_SUMMARY_CHARS),
                         "detail": cut_text(r[7], AUDIT_DETAIL_CHARS)}
                size += len(orjson.dumps(entry))
                if entries and size > AUDIT_BATCH_BYTES:
                    break
                entries.append(entry)
            self.conn.json("POST", "/audit", {"entries": entries})
            self.store.set_meta("sync_audit_sent", str(entries[-1]["seq"]))
            result.audit_up += len(entries)

    # --- attachments ---------------------------------------------------------------------------
    def blobs_up(self, result: SyncResult) -> None:
        with self.store.engine.connect() as c:
            shas = [r[0] for r in c.exec_driver_sql(
                "SELECT DISTINCT sha256 FROM attachment WHERE length(data) > 0 AND deleted_at IS NULL"
            )]
        if not shas:
            return
        missing: list[dict[str, Any]] = []
        for i in range(0, len(shas), 500):
            missing += self.conn.json("POST", "/blobs/missing", {"sha256": shas[i : i + 500]})["missing"]
        for n, item in enumerate(missing):
            self._check_cancel()
            self.progress("上传照片", n, len(missing))
            sha, offset = item["sha256"], int(item.get("received") or 0)
            with self.store.engine.connect() as c:
                row = c.exec_driver_sql("SELECT data FROM attachment WHERE sha256 = ? AND length(data) > 0",
                                        (sha,)).first()
            if row is None:
                continue
            data = bytes(row[0])
            while offset < len(data):
                self._check_cancel()
                resp = self.conn.request("PUT", f"/blobs/{sha}", params={"offset": offset, "size": len(data)},
                                         content=data[offset : offset + BLOB_CHUNK],
                                         headers={"Content-Type": "application/octet-stream"})
                answer = resp.json()
                if answer.get("complete"):
                    break
                new_offset = int(answer["received"])
                if new_offset <= offset and "error" not in answer:
                    offset = new_offset  # the server asks to resume elsewhere
                    continue
                offset = new_offset
            result.blobs_up += 1

    def blobs_down(self, result: SyncResult) -> None:
        from desktop.services.photos import thumbnail_of

        with self.store.engine.connect() as c:
            want = c.exec_driver_sql(
                "SELECT id, sha256, byte_size FROM attachment WHERE length(data) = 0 AND deleted_at IS NULL"
            ).all()
        for n, (att_id, sha, size) in enumerate(want):
            self._check_cancel()
            self.progress("下载照片", n, len(want))
            chunks: list[bytes] = []
            got = 0
            try:
                while got < size:
                    resp = self.conn.request("GET", f"/blobs/{sha}", params={"offset": got, "length": BLOB_CHUNK})
                    if not resp.content:
                        break
                    chunks.append(resp.content)
                    got += len(resp.content)
            except SyncError as exc:
                if exc.code == "blob_unknown":
                    continue  # not uploaded yet by its laptop: fetched on a later sync
                raise
            data = b"".join(chunks)
            if hashlib.sha256(data).hexdigest() != sha:
                continue
            with replica.raw_apply(self.store) as c:
                c.exec_driver_sql("UPDATE attachment SET data = ?, thumb = ? WHERE id = ?",
                                  (data, thumbnail_of(data), att_id))
            result.blobs_down += 1

    # --- supervisor: conflicts -------------------------------------------------------------------
    def conflicts(self, status: str = "open") -> list[dict[str, Any]]:
        self._ensure_signed_in()
        return self.conn.json("GET", f"/conflicts?status={status}")["conflicts"]

    def resolve(self, conflict_id: int, choice: str, values: dict[str, Any] | None = None) -> dict[str, Any]:
        self._ensure_signed_in()
        return self.conn.json("POST", f"/conflicts/{conflict_id}/resolve", {"choice": choice, "values": values})

    def audit(self, *, actor: str | None = None, action: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        """The community's audit trail on the server (supervisors and community admins)."""
        self._ensure_signed_in()
        params = {k: v for k, v in {"actor": actor, "action": action, "limit": limit}.items() if v}
        return orjson.loads(self.conn.request("GET", "/audit", params=params).content)["entries"]

    def _ensure_signed_in(self) -> None:
        self.conn.device_id = self.store.meta("sync_device_id")
        if not self.conn.device_id:
            raise SyncError("本机尚未与服务器同步过,请先同步一次", "reenrol")


def _new_file_id() -> str:
    from desktop.models import new_id

    return new_id()
